"""The job summary's findings table, rendered the way GitHub renders it (cmark-gfm, GitHub's own
Markdown library) and checked as HTML: one renderer for the action and `lint --format github`,
errors before warnings before notices, grouped per file, links to lines, long tables folded,
and no Markdown from a spec coming alive."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from paperspace_deploy.io import Io
from paperspace_deploy.report.github_lint import report as github_report
from paperspace_deploy.report.result import LintResult, ReportContext, blob_url
from paperspace_deploy.report.summary import FOLD_ROWS, Summary, findings_markdown, render
from paperspace_deploy.spec import lint_bytes
from paperspace_deploy.spec.findings import Finding, Severity

SHA = "0123456789abcdef0123456789abcdef01234567"
ENV = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/app",
    "GITHUB_SHA": SHA,
}
ROOT = Path("/home/runner/work/app/app")


def to_html(markdown: str) -> str:
    """GitHub's renderer: cmark-gfm with the table, autolink and tagfilter extensions."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class Page(HTMLParser):
    """Tables (with the heading or <summary> above them), rows, links and <details>."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.links: list[str] = []
        self.details = 0
        self._title: list[str] = []
        self._capture: list[str] | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("h4", "summary"):
            self._capture = []
        elif tag == "details":
            self.details += 1
        elif tag == "table":
            self.tables.append({"title": "".join(self._title).strip(), "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_endtag(self, tag):
        if tag in ("h4", "summary") and self._capture is not None:
            self._title, self._capture = self._capture, None
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1]["rows"].append(self._row)
            self._row = None

    def handle_data(self, data):
        for sink in (self._capture, self._cell):
            if sink is not None:
                sink.append(data)


def finding(path: str, line: int, severity: Severity, msg: str = "m") -> Finding:
    return Finding(path, line, 1, severity, "unknown-key", msg)


def mixed() -> list[Finding]:
    """Findings in line order (as lint sorts them), severities mixed, three files."""
    out = []
    for path in ("a.yaml", "b.yaml", "c.yaml"):
        for line in range(1, 5):
            out.append(finding(path, line * 3, Severity.NOTICE))
            out.append(
                finding(
                    path, line * 3 + 1, Severity.ERROR if path != "a.yaml" else Severity.WARNING
                )
            )
            out.append(finding(path, line * 3 + 2, Severity.WARNING))
    return out  # fmt: skip


def test_findings_grouped_per_file_worst_first_with_links_and_folds():
    ctx = ReportContext.for_workspace(ROOT, {**ENV, "GITHUB_WORKSPACE": str(ROOT)})
    page = Page(to_html("\n".join(findings_markdown(mixed(), ctx))))
    files: dict[str, list[list[str]]] = {}
    for table in page.tables:
        header, *rows = table["rows"]
        assert header == ["", "Line", "Message"]
        title = table["title"]
        if " more in " in title:  # the folded rest of the file above
            count, path = title.split(" more in ")
            assert list(files)[-1] == path and int(count) == len(rows)
        else:
            path = title.split(":")[0]
            assert path not in files and len(rows) <= FOLD_ROWS
        files.setdefault(path, []).extend(rows)
    # files with errors first; a.yaml has only warnings and notices
    assert list(files) == ["b.yaml", "c.yaml", "a.yaml"]
    assert page.tables[0]["title"] == "b.yaml: ❌ 4 errors, ⚠️ 4 warnings, ℹ️ 4 notices"
    rank = {"error": 0, "warning": 1, "notice": 2}
    for rows in files.values():
        assert len(rows) == 12
        severities = [r[0].split("\xa0")[1] for r in rows]
        assert severities == sorted(severities, key=rank.__getitem__)  # errors, warnings, notices
        for severity in rank:
            lines = [int(r[1].split(":")[0]) for r in rows if r[0].split("\xa0")[1] == severity]
            assert lines == sorted(lines)
        assert all(":" in r[1] and "/" not in r[1] for r in rows)  # short: no path to break
        assert all(r[2].endswith(" unknown-key") for r in rows)  # the rule after the message
    assert page.details == 3  # each file has 12 rows: 10 in view, 2 folded
    assert f"https://github.com/acme/app/blob/{SHA}/b.yaml#L4" in page.links
    assert len(page.links) == len(mixed())


def test_short_tables_are_not_folded_and_links_need_a_known_commit():
    few = [finding("deploy/my app.yaml", 7, Severity.ERROR)]
    page = Page(to_html("\n".join(findings_markdown(few, ReportContext(ROOT, ROOT)))))
    assert page.details == 0 and page.tables[0]["title"] == "deploy/my app.yaml: ❌ 1 error"
    assert page.links == []  # no GITHUB_SHA etc.: plain text
    ctx = ReportContext.for_workspace(ROOT, ENV)
    page = Page(to_html("\n".join(findings_markdown(few, ctx))))
    assert page.links == [f"https://github.com/acme/app/blob/{SHA}/deploy/my%20app.yaml#L7"]


@pytest.mark.parametrize(
    "override",
    [
        {"GITHUB_SERVER_URL": "javascript:alert(1)//"},
        {"GITHUB_SERVER_URL": "http://github.com"},
        {"GITHUB_SERVER_URL": "https://github.com/x)[y](https://evil.example"},
        {"GITHUB_REPOSITORY": "acme/../evil"},
        {"GITHUB_REPOSITORY": "acme/app)"},
        {"GITHUB_SHA": "main"},
        {"GITHUB_SHA": ""},
    ],
)
def test_unsafe_link_parts_give_no_links(override):
    assert blob_url({**ENV, **override}) is None


def test_a_path_outside_the_repository_is_not_linked():
    ctx = ReportContext.for_workspace(ROOT, ENV)
    assert ctx.line_url("../../etc/passwd", 1) is None
    assert (
        ctx.line_url("a(b)c.yaml", 2) == f"https://github.com/acme/app/blob/{SHA}/a%28b%29c.yaml#L2"
    )


def cli_summary(res: LintResult, environ: dict[str, str], tmp_path: Path) -> str:
    path = tmp_path / "summary.md"
    env = {**environ, "GITHUB_STEP_SUMMARY": str(path)}
    github_report(
        res, Io(io.StringIO(), io.StringIO(), env), ReportContext.for_workspace(ROOT, env)
    )
    return path.read_text()


def test_cli_summary_does_not_turn_a_spec_key_into_a_link(tmp_path: Path):
    """Issue 9's drift: the CLI's summary escaped less than the action's."""
    spec = lint_bytes(b'"[pwn](https://evil.example)": 1\nname: a\n', "paperspace.yaml")
    assert any("[pwn](https://evil.example)" in f.message for f in spec.findings)
    res = LintResult(files=["paperspace.yaml"], findings=spec.findings)
    for markdown in (
        cli_summary(res, {}, tmp_path),
        render(Summary(mode="lint", specs=res.files, findings=res.findings)),
    ):
        html = to_html(markdown)
        assert "evil.example" in html  # shown ...
        assert Page(html).links == []  # ... never as a link
        assert "<a " not in html


def test_the_cli_and_the_action_render_the_same_table(tmp_path: Path):
    findings = mixed()
    ctx = ReportContext.for_workspace(ROOT, ENV)
    action = render(Summary(mode="lint", specs=["a.yaml"], findings=findings, report_context=ctx))
    cli = cli_summary(LintResult(["a.yaml", "b.yaml", "c.yaml"], findings), ENV, tmp_path)
    table = "\n".join(findings_markdown(findings, ctx))
    assert table in action and table in cli


def test_summary_cost_sections() -> None:
    """One section per spec, named when there are several; spec text in it is escaped."""
    from paperspace_deploy import cost

    prices = cost.load_prices()
    one = cost.estimate({"resources": {"machineType": "A4000", "replicas": 2}}, None, prices,
                        compared=False)  # fmt: skip
    odd = cost.estimate({"resources": {"machineType": "<b>x</b>"}}, None, prices, compared=False)
    single = render(Summary(mode="lint", costs={"app.yaml": one}))
    assert "### Cost estimate\n" in single and "| This spec (<code>A4000</code>) | 2 | $1.52 |" in (
        single
    )
    both = render(Summary(mode="lint", costs={"app.yaml": one, "w_[x].yaml": odd}))
    assert "### Cost estimate · <code>app.yaml</code>" in both
    assert "### Cost estimate · <code>w&#95;&#91;x&#93;.yaml</code>" in both
    assert "<b>" not in both and "No price known for <code>&lt;b&gt;x&lt;/b&gt;</code>" in both
