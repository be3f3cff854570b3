"""The broken-spec corpus: every file names the exact finding it must produce.

Expectation: a first-line comment `# expect: LINE:COL rule-id` (`// expect:` in .jsonc), or for
plain .json files a sidecar `<file>.expect` holding `LINE:COL rule-id`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperspace_deploy.spec import lint_file
from paperspace_deploy.spec.findings import Severity

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken"
CASES = sorted(p for p in BROKEN.iterdir() if p.suffix != ".expect")
EXPECT = re.compile(r"(?:#|//) expect: (\d+):(\d+) ([a-z0-9-]+)")


def expectation(path: Path) -> tuple[int, int, str]:
    sidecar = path.with_name(path.name + ".expect")
    text = sidecar.read_text() if sidecar.exists() else path.read_text().splitlines()[0]
    m = EXPECT.match(text) or re.match(r"(\d+):(\d+) ([a-z0-9-]+)", text)
    assert m, f"{path.name}: no expectation"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def test_corpus_is_big_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_broken_spec_reports_exact_finding(path: Path):
    line, col, rule = expectation(path)
    spec = lint_file(path, path.name)
    got = [(f.line, f.col, f.rule) for f in spec.findings]
    assert (line, col, rule) in got, f"{path.name}: expected {line}:{col} {rule}, got {got}"
    assert spec.findings, path.name
    # every corpus file fails lint (warnings-only files fail with --strict)
    assert spec.errors or any(f.severity is Severity.WARNING for f in spec.findings)
    for f in spec.findings:
        assert f.path == path.name
        assert len(f.message) < 600
        assert "\n" not in f.message


def test_pure_python_loader_gives_the_same_findings(monkeypatch: pytest.MonkeyPatch):
    """Without libyaml (CSafeLoader) the pure-Python parser is used: same findings."""
    import yaml

    with_c = {p: lint_file(p, p.name).findings for p in CASES}
    monkeypatch.delattr(yaml, "CSafeLoader")
    for path in CASES:
        pure = lint_file(path, path.name).findings
        if any(f.rule == "yaml-syntax" for f in pure):  # parser wording differs; rule must not
            assert [f.rule for f in pure] == [f.rule for f in with_c[path]], path.name
        else:
            assert pure == with_c[path], path.name
