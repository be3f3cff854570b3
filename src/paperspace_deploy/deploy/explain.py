"""The server's validation issues as findings at spec lines -- also when the server is vague.

Flat zod issues name a field (["config","resources","ports",0]) and map to its line. A zod union
answers ONE issue for the whole `config` ("Invalid input", code `invalid_union`): then the spec
is explained from our own shape check (`spec/shapes.py`: the closest API shape and how the spec
differs, at file:line:col), and the server's `unionErrors` of the branch our spec fits are
reported under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paperspace_deploy.safetext import one_line
from paperspace_deploy.spec.findings import Finding, Severity

MAX_ISSUES = 50


def _locate(loaded: Any, path: Sequence[str | int]) -> tuple[int, int]:
    # locate() falls back to the nearest existing ancestor, then (1, 1)
    if not hasattr(loaded, "locate"):
        return (1, 1)
    try:
        return loaded.locate(list(path), key=True)
    except TypeError:  # a locate without `key` (tests, older callers)
        return loaded.locate(list(path))


def _field_path(issue: Mapping[str, Any]) -> list[str | int]:
    where = list(issue.get("path") or [])
    return where[1:] if where[:1] == ["config"] else where


def issues_to_findings(
    issues: Sequence[Mapping[str, Any]], loaded: Any, path: str
) -> list[Finding]:
    """Map zod issue paths (["config","resources","ports",0]) back to spec lines."""
    findings = []
    for issue in issues[:MAX_ISSUES]:
        if not isinstance(issue, Mapping):
            continue
        where = _field_path(issue)
        line, col = _locate(loaded, where)
        shown = one_line(".".join(str(p) for p in where), 200) or "(top level)"
        message = one_line(issue.get("message", "invalid"), 300)
        text = f"Paperspace rejected {shown}: {message}"
        findings.append(Finding(path, line, col, Severity.ERROR, "api-validation", text))
    return findings


def is_vague(issues: Sequence[Mapping[str, Any]]) -> bool:
    """An issue about the whole body or config (or a union) names nothing a user can fix."""
    return any(
        isinstance(i, Mapping) and (i.get("code") == "invalid_union" or len(_field_path(i)) == 0)
        for i in issues
    )


def _union_branch(issues: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The issues of the union branch whose apiVersion matched (fewest issues on a tie)."""
    branches: list[list[Mapping[str, Any]]] = []
    for issue in issues:
        for err in issue.get("unionErrors") or [] if isinstance(issue, Mapping) else []:
            found = err.get("issues") if isinstance(err, Mapping) else err
            if isinstance(found, list):
                branches.append([i for i in found if isinstance(i, Mapping)])
    fitting = [b for b in branches if not any(_field_path(i)[-1:] == ["apiVersion"] for i in b)]
    return min(fitting or [[]], key=len)


def _said(issue: Mapping[str, Any]) -> str:
    where = one_line(".".join(map(str, _field_path(issue))), 80)
    message = one_line(issue.get("message", "?"), 80)
    return f"{where}: {message}" if where else message


def rejection_findings(
    issues: Sequence[Mapping[str, Any]], loaded: Any, path: str, config: Mapping[str, Any]
) -> list[Finding]:
    """Findings for a 400: the issues themselves, or for a vague answer our own explanation.
    `latest` with v0 fields is always explained (the flat answer, "resources.machineType:
    Required", does not say that the spec is in another shape)."""
    from paperspace_deploy.spec.shapes import explain, latest_v0_problems

    if not is_vague(issues) and not latest_v0_problems(config):
        return issues_to_findings(issues, loaded, path)

    said = "; ".join(_said(i) for i in issues[:3] if isinstance(i, Mapping))
    findings = []
    for problem in explain(config):
        line, col = _locate(loaded, problem.path)
        findings.append(Finding(path, line, col, Severity.ERROR, "api-shape", problem.message))
    branch = [i for i in _union_branch(issues) if _field_path(i)]
    if not is_vague(issues):
        branch = list(issues)
    if findings:
        first = findings[0]
        text = f"Paperspace rejected the spec ({said}); {first.message}"
        findings[0] = Finding(first.path, first.line, first.col, first.severity, first.rule, text)
        return findings + issues_to_findings(branch, loaded, path)
    if branch:  # the spec fits a shape: the server's reasons in that branch are the real ones
        return issues_to_findings(branch, loaded, path)
    line, col = _locate(loaded, ())
    return [Finding(path, line, col, Severity.ERROR, "api-validation",
                    f"Paperspace rejected the spec ({said}) without naming a field; our checks "
                    "find it fits the API's shape, so the server applies a rule we do not know; "
                    "compare it with the documented examples")]  # fmt: skip
