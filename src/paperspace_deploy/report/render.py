"""The reporters by `--format` name; each renders the same `LintResult` in a `ReportContext`.

`github` is not here: it writes annotations and the job summary (report/github_lint.report).
"""

from __future__ import annotations

from collections.abc import Callable

from paperspace_deploy.report import gitlab, json, sarif, text
from paperspace_deploy.report.result import LintResult, ReportContext

Render = Callable[[LintResult, ReportContext], str]

REPORTERS: dict[str, Render] = {
    "text": text.render,
    "json": json.render,
    "sarif": sarif.render,
    "gitlab": gitlab.render,
}
