"""safetext: the one home of one-line-safe text (secrets first, then collapse, inert, cut)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperspace_deploy import safetext
from paperspace_deploy.redact import run_secrets

SRC = Path(__file__).resolve().parents[2] / "src" / "paperspace_deploy"
SECRET = "s3cr3t-Canary-Value-0123456789"


@pytest.fixture
def secret():
    secrets = run_secrets()
    saved = (list(secrets._forms), secrets._pattern)
    secrets.add(SECRET)
    yield SECRET
    secrets._forms, secrets._pattern = saved


def test_one_line_scrubs_before_the_cut(secret):
    # the cut falls inside the secret: cutting first would leave a head no scrub matches
    text = "x" * 290 + secret
    out = safetext.one_line(text, 300)
    assert secret[:8] not in out and "***" in out


def test_one_line_collapses_controls_and_is_inert():
    out = safetext.one_line("a\r\n::error::x\u2028\u202e ##[set-output name=a]b\x1b[31m")
    assert not re.search(r"[\x00-\x1f\u2028\u202e]", out)
    assert "##[" not in out and "::error::" not in out.replace(safetext.ZWSP, "")[:3]


def test_neutralize_scrubs_before_percent_escaping(secret):
    # escaping first would turn a '%' in the secret into '%25' and still match nothing
    out = safetext.neutralize(f"a%{secret}\n::warning::x")
    assert secret not in out and "%0A" in out and "a%25***" in out


def test_collapse_keeps_commands_for_plain_terminals():
    assert safetext.collapse("x\n::error::y") == "x ::error::y"


def test_no_copies_of_the_one_line_helpers_outside_safetext():
    # one home: api/errors.untrusted, console.one_line, report/github.neutralize were copies
    copies = []
    for path in SRC.rglob("*.py"):
        if path.name == "safetext.py":
            continue
        for m in re.finditer(
            r"^def (one_line|untrusted|neutralize|_one_line)\(", path.read_text(), re.M
        ):
            copies.append(f"{path.relative_to(SRC)}: {m.group(1)}")
    assert copies == []
