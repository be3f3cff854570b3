"""The runner-parser port itself, checked against the cases in the runner's own tests, and the
GitHub adapter's output checked through it."""

from __future__ import annotations

import io

import pytest
from runner_commands import (
    HOSTILE_PAYLOADS,
    REGISTERED,
    parse_output_file,
    process,
    try_parse_legacy,
    try_parse_v2,
)

from paperspace_deploy.report.github import GitHub
from paperspace_deploy.safetext import neutralize

REG = REGISTERED


def test_v2_trims_leading_space_and_needs_registered_name() -> None:
    cmd = try_parse_v2("   ::warning k1=v1,::msg", REG | {"do-something"})
    assert cmd is not None and cmd.name == "warning" and cmd.properties == {"k1": "v1"}
    assert try_parse_v2("   >>>   ::warning::x", REG) is None
    assert try_parse_v2("::unknown::x", REG) is None
    assert try_parse_v2("\r::warning::x", REG) is not None  # a bare CR is white space


def test_v2_unescapes_and_drops_empty_properties() -> None:
    cmd = try_parse_v2("::error file=a%2Cb,line=,col=3::one%0Atwo 100%25", REG)
    assert cmd is not None
    assert cmd.properties == {"file": "a,b", "col": "3"}
    assert cmd.data == "one\ntwo 100%"


def test_legacy_form_matches_anywhere() -> None:
    cmd = try_parse_legacy(">>>   ##[error file=README.md;line=1]forged", REG)
    assert cmd is not None and cmd.name == "error" and cmd.data == "forged"
    assert try_parse_legacy("##[unknown]x", REG) is None


def test_stop_commands_state_machine() -> None:
    log = "\n".join(
        [
            "::stop-commands::tok123456",
            "::add-mask::hidden",
            "x ##[error]forged",
            "::tok123456::",
            "::warning::after",
        ]
    )
    assert [c.name for c in process(log)] == ["stop-commands", "warning"]


def test_output_file_parser() -> None:
    text = "a=1\nb<<EOF\nline1\nline2\nEOF\n\nc<<X\n\nX\n"
    assert parse_output_file(text) == {"a": "1", "b": "line1\nline2", "c": ""}
    with pytest.raises(ValueError, match="Matching delimiter"):
        parse_output_file("b<<EOF\nno end\n")
    with pytest.raises(ValueError, match="Invalid format"):
        parse_output_file("just a line\n")


PAYLOADS = HOSTILE_PAYLOADS


@pytest.mark.parametrize("payload", PAYLOADS)
def test_adapter_never_lets_payload_become_a_command(payload: str) -> None:
    out = io.StringIO()
    gh = GitHub(out, {})
    gh.annotate("error", payload, file=payload, title=payload)
    with gh.group(payload):
        out.write(neutralize(payload) + "\n")
    with gh.untrusted():
        out.write(payload + "\n")
    names = [c.name for c in process(out.getvalue())]
    assert names == ["error", "group", "endgroup", "stop-commands"], out.getvalue()
    error = process(out.getvalue())[0]
    # the message is kept word for word, except that `##[` is broken defensively
    assert error.data == payload.replace("##[", "#\u200b#[")
    assert error.properties["file"] == payload


def test_neutralize_handles_10000_lines() -> None:
    text = "\n".join(f"::warning::line {i}" for i in range(10_000))
    assert process(neutralize(text)) == []
