"""Render `lint --format github`'s job summary the way a person sees it: GFM -> HTML (cmark-gfm,
GitHub's renderer) -> a headless Chromium screenshot.

    python scripts/render_summary.py OUT.png [SPEC ...]

Without SPEC it lints three fixtures with mixed findings. GitHub's stylesheet is used when
`npm install --prefix /tmp/psd-ghcss github-markdown-css` put it there (PSD_GH_CSS overrides the
path); otherwise a few lines of CSS stand in. Chromium: Debian's `chromium` package.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options

from paperspace_deploy.io import Io
from paperspace_deploy.report.github_lint import report
from paperspace_deploy.report.result import LintResult, ReportContext
from paperspace_deploy.spec import lint_file

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DEFAULT_SPECS = [
    FIXTURES / "reports" / "many-findings.yaml",
    FIXTURES / "broken" / "unknown-key-healthcheck.yaml",
    FIXTURES / "real-world" / "byte-barometer.paperspace.yaml",
]
CSS = Path(os.environ.get("PSD_GH_CSS", "/tmp/psd-ghcss/node_modules/github-markdown-css"))
FALLBACK_CSS = """body{font:14px -apple-system,Segoe UI,Helvetica,Arial,sans-serif}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:6px 13px}
code{background:#eff1f3;padding:.2em .4em;border-radius:6px}"""


def summary_markdown(specs: list[Path]) -> str:
    result = LintResult()
    for spec in specs:
        loaded = lint_file(spec, os.path.relpath(spec, REPO))
        result.files.append(loaded.path)
        result.findings += loaded.findings
    with tempfile.TemporaryDirectory() as tmp:
        environ = {
            "GITHUB_STEP_SUMMARY": str(Path(tmp, "summary.md")),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "paperspace-deploy/paperspace-deploy",
            "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            "GITHUB_WORKSPACE": str(REPO),
        }
        ctx = ReportContext.from_environ(environ, REPO)
        report(result, Io(io.StringIO(), io.StringIO(), environ), ctx)
        return Path(tmp, "summary.md").read_text("utf-8")


def page(markdown: str) -> str:
    body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    css_file = CSS / "github-markdown-light.css"
    css = css_file.read_text("utf-8") if css_file.exists() else FALLBACK_CSS
    return (
        "<!doctype html><meta charset=utf-8><style>" + css + "\nbody{margin:0;padding:24px;"
        "width:880px}</style><article class=markdown-body>" + body + "</article>"
    )


def screenshot(html: str, out: Path, height: int = 2400) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("chromium not found: apt-get install -y --no-install-recommends chromium")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "summary.html")
        src.write_text(html, "utf-8")
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--no-first-run", f"--user-data-dir={tmp}/p",
             "--hide-scrollbars", f"--window-size=930,{height}",
             f"--screenshot={out.resolve()}", src.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    specs = [Path(p).resolve() for p in sys.argv[2:]] or DEFAULT_SPECS
    markdown = summary_markdown(specs)
    out.with_suffix(".md").write_text(markdown, "utf-8")
    screenshot(page(markdown), out)
    print(f"{out} ({out.stat().st_size} bytes); Markdown in {out.with_suffix('.md')}")
