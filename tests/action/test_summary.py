"""The job summary: escaping, overflow marks, safe links, and the 1 MiB cap."""

from __future__ import annotations

from pathlib import Path

from paperspace_deploy.report.github import GitHub
from paperspace_deploy.report.summary import Summary, render
from paperspace_deploy.spec.findings import Finding, Severity


def finding(i: int, sev: Severity = Severity.ERROR, msg: str = "bad") -> Finding:
    return Finding("app.yaml", i, 1, sev, "rule", f"{msg} {i}")


def test_sections_and_escaping() -> None:
    s = Summary(
        mode="deploy",
        specs=["app.yaml"],
        findings=[finding(1, msg="<script>x</script> | pipe\nnew")],
        plan_changes=[("~ image", '"a"', '"b|c"')],
        image="reg/app@sha256:abc",
        digest="sha256:abc",
        tags=["main"],
        deployment={"deployment-id": "d1", "endpoint": "https://x.paperspacegradient.com"},
    )
    md = render(s)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\| pipe<br>new" in md
    assert "### Plan" in md and "b\\|c" in md
    assert "| Digest | <code>sha256:abc</code> |" in md
    assert "[https&#58;//x.paperspacegradient.com](https://x.paperspacegradient.com)" in md


def test_unsafe_endpoint_is_not_a_link() -> None:
    md = render(Summary(mode="deploy", deployment={"endpoint": "javascript:alert(1)"}))
    assert "](" not in md
    md = render(Summary(mode="deploy", deployment={"endpoint": "x.com/a) [y](http://evil"}))
    assert "](http" not in md and "http://evil" not in md  # no link, no autolink
    md = render(Summary(mode="lint", specs=["a`b`[c](http://d).yaml"], findings=[]))
    assert "[c](" not in md and "`b`" not in md


def test_overflow_marked_beyond_ten_per_type() -> None:
    findings = [finding(i) for i in range(1, 13)] + [finding(20, Severity.WARNING)]
    md = render(Summary(mode="lint", specs=["app.yaml"], findings=findings))
    assert md.count("error&nbsp;¹") == 2 and "warning&nbsp;¹" not in md
    assert "2 finding(s) beyond GitHub's 10 annotations" in md


def test_huge_summaries_stay_under_one_mebibyte(tmp_path: Path) -> None:
    findings = [finding(i, msg="x" * 5000) for i in range(5000)]
    md = render(Summary(mode="lint", specs=["app.yaml"], findings=findings))
    assert "…and 4000 more" in md
    path = tmp_path / "summary.md"
    path.write_text("y" * (1024 * 1024 - 10_000))  # earlier steps already used most of it
    GitHub(environ={"GITHUB_STEP_SUMMARY": str(path)}).add_summary(md)
    assert path.stat().st_size < 1024 * 1024
    assert path.read_text().endswith("GitHub keeps at most 1 MiB._\n")
