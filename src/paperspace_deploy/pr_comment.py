"""One sticky pull-request comment per spec and workflow, edited in place on each push.

The comment starts with a hidden marker, `<!-- paperspace-deploy:<workflow>:<spec> -->` (values
reduced to a safe alphabet), which is how the next run finds it again. It holds the lint findings
(errors first), the plan's changes (already redacted by `specdiff.PlanResult.as_dict`), the cost
estimate and, for previews, the endpoint and its expiry.

Every value that came from a spec, a server or the run goes through report/markdown.py's `cell()`
/ `code()` (HTML-escaped, Markdown made inert, no autolinks) after `@` and `#` get a word joiner,
so spec text cannot ping people or reference issues either. A 403 (a fork pull request's
read-only token, or a job without `pull-requests: write`) is a notice, not a failure; any other
GitHub failure is reported as a warning: the comment never fails the run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.spec.findings import Finding, Severity

if TYPE_CHECKING:
    from paperspace_deploy.io import Io
    from paperspace_deploy.job import JobResult

COMMENT_SECONDS = 60.0  # the comment is a courtesy: it never holds up the run for long
MAX_BODY = 60000  # characters; GitHub refuses more than 65,536
MAX_FINDINGS = 50
MAX_CHANGES = 80
CELL = 200
_MARKER_SAFE = re.compile(r"[^A-Za-z0-9._/+=@-]")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_RUN_URL = re.compile(
    r"https://[A-Za-z0-9.-]+(?::\d{1,5})?/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/\d+"
)
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTICE: 2}
_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.NOTICE: "ℹ️"}


def _marker_part(text: str, limit: int = 100) -> str:
    part = _MARKER_SAFE.sub("_", text.strip())
    part = re.sub(r"-{2,}", "-", part)  # "--" may not appear inside an HTML comment
    return part[:limit] or "_"


def marker(workflow: str, spec: str) -> str:
    """The hidden first line that identifies this workflow's comment for this spec."""
    return f"<!-- paperspace-deploy:{_marker_part(workflow)}:{_marker_part(spec)} -->"


# Secret values the run knows, replaced in every untrusted value BEFORE it is escaped: escaping
# turns `ghp_x` into `ghp&#95;x`, which a scan of the raw body misses but GitHub shows as `ghp_x`.
_SECRETS: ContextVar[tuple[str, ...]] = ContextVar("pr_comment_secrets", default=())


def _text(value: Any, limit: int = CELL, *, inline_code: bool = False) -> str:
    """Untrusted text, escaped for a comment: `@name` and `#123` no longer link or notify
    (inside <code> GitHub links neither, so image digests keep copying cleanly there)."""
    from paperspace_deploy.report.markdown import cell

    raw = "" if value is None else str(value)
    for secret in _SECRETS.get():
        raw = raw.replace(secret, "***")
    if not inline_code:
        raw = re.sub(r"([@#])(?=\w)", "\\1\u2060", raw)
    return cell(raw, limit)


def _code(value: Any, limit: int = CELL) -> str:
    return f"<code>{_text(value, limit, inline_code=True)}</code>"


@dataclass
class PreviewInfo:
    name: str
    endpoint: str | None  # bare host or https://host
    expires_at: datetime | None  # UTC; None when unknown
    state: str | None = None  # healthy, submitted, deleted, ...
    ttl_text: str | None = None  # "3 days"


@dataclass
class CommentContent:
    spec: str  # the spec's display path
    workflow: str  # GITHUB_WORKFLOW, or what the caller names the check
    findings: Sequence[Finding] = ()
    plan: Any = None  # specdiff.PlanResult (its as_dict() redacts secret-looking values)
    cost: Any = None  # cost.CostEstimate
    preview: PreviewInfo | None = None
    notes: Sequence[str] = ()
    failure: str | None = None  # the run's error message, already secret-free
    commit: str | None = None
    run_url: str | None = None


def run_url(environ: Mapping[str, str]) -> str | None:
    """This workflow run's page, when the runner's variables form a plausible URL."""
    server = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo, run_id = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_RUN_ID", "")
    url = f"{server}/{repo}/actions/runs/{run_id}"
    return url if _RUN_URL.fullmatch(url) else None


def _status(content: CommentContent) -> str:
    errors = sum(1 for f in content.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in content.findings if f.severity is Severity.WARNING)
    if content.failure or errors:
        what = f"{errors} error(s)" if errors else "failed"
        return f"❌ {what}"
    if warnings:
        return f"⚠️ {warnings} warning(s)"
    return "✅ ready"


def _findings(findings: Sequence[Finding]) -> list[str]:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    out = [f"#### Lint: {errors} error(s), {warnings} warning(s)", ""]
    if not findings:
        return [*out, "No problems found.", ""]
    ordered = sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 3), f.sort_key()))
    out += ["| | Location | Rule | Message |", "|---|---|---|---|"]
    for f in ordered[:MAX_FINDINGS]:
        where = _code(f"{f.path}:{f.line}:{f.col}")
        icon = _ICON.get(f.severity, "")
        out.append(
            f"| {icon} {f.severity.value} | {where} | {_text(f.rule)} | {_text(f.message)} |"
        )
    if len(ordered) > MAX_FINDINGS:
        out.append(f"\n…and {len(ordered) - MAX_FINDINGS} more in the workflow run's log.")
    return [*out, ""]


def _value(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return _code(text)


def _plan(plan: Any) -> list[str]:
    data = plan.as_dict()  # redacted here, in specdiff: never re-implemented
    name = _code(data.get("name"))
    changes = data.get("changes") or []
    if not data.get("exists"):
        head = f"Would **create** deployment {name} ({len(changes)} field(s))."
    elif not changes:
        return ["#### Plan", "", f"No changes: deployment {name} already runs this spec.", ""]
    else:
        head = f"Would **update** deployment {name}: {len(changes)} change(s)."
    out = ["#### Plan", "", head, "", "| | Field | Live | This spec |", "|---|---|---|---|"]
    sign = {"added": "+", "removed": "−", "changed": "~"}
    for c in changes[:MAX_CHANGES]:
        out.append(
            f"| {sign.get(c.get('kind'), '~')} | {_code(c.get('path'))} | "
            f"{_value(c.get('before'))} | {_value(c.get('after'))} |"
        )
    if len(changes) > MAX_CHANGES:
        out.append(f"\n…and {len(changes) - MAX_CHANGES} more (run `paperspace-deploy plan`).")
    return [*out, ""]


def _endpoint(endpoint: str | None) -> str:
    if not endpoint:
        return "not known yet"
    host = endpoint.removeprefix("https://").rstrip("/")
    if _HOST.fullmatch(host) and len(host) <= 253:
        return f"[{_text(host)}](https://{host})"  # a plain host name: safe to link
    return _code(endpoint)


def _preview(p: PreviewInfo) -> list[str]:
    out = ["#### Preview", "", "| | |", "|---|---|", f"| Deployment | {_code(p.name)} |"]
    if p.state == "deleted":
        return [*out, "| State | deleted (the pull request was closed) |", ""]
    out.append(f"| Endpoint | {_endpoint(p.endpoint)} |")
    if p.state:
        out.append(f"| State | {_text(p.state, 40)} |")
    if p.expires_at is not None:
        when = p.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        after = f" ({_text(p.ttl_text, 40)} after the last deploy)" if p.ttl_text else ""
        out.append(f"| Expires | {when}{after}; the nightly sweep deletes it then |")
    return [*out, ""]


def render_comment(content: CommentContent, secrets: Sequence[str] = ()) -> str:
    """The comment's Markdown, at most MAX_BODY characters, marker first; any of `secrets`
    (the run's masked values) is replaced by *** in the text and, escaped, in the result."""
    from paperspace_deploy.redact import run_secrets

    # every variant of the run's secrets goes before any text is cut or escaped
    content = run_secrets().scrub_data(content)
    known = tuple(sorted({s for s in secrets if len(s.strip()) >= 4}, key=len, reverse=True))
    token = _SECRETS.set(known)
    try:
        body = _render(content)
    finally:
        _SECRETS.reset(token)
    for secret in known:  # belt and braces, raw and escaped, for text escaped elsewhere
        body = body.replace(secret, "***").replace(_text(secret, len(secret) * 8), "***")
    return _cap(body)


def _render(content: CommentContent) -> str:
    from paperspace_deploy.cost import render_markdown

    lines = [
        marker(content.workflow, content.spec),
        f"### paperspace-deploy · {_code(content.spec)} · {_status(content)}",
        "",
    ]
    if content.failure:
        lines += [f"> **Error:** {_text(content.failure, 1000)}", ""]
    lines += _findings(content.findings)
    if content.plan is not None:
        lines += _plan(content.plan)
    if content.cost is not None:
        lines += [render_markdown(content.cost, heading="####")]
    if content.preview is not None:
        lines += _preview(content.preview)
    lines += [f"- {_text(n, 500)}" for n in content.notes[:20]]
    footer = []
    if content.commit:
        footer.append(f"for {_code(content.commit[:12], 12)}")
    if content.run_url and _RUN_URL.fullmatch(content.run_url):
        footer.append(f"by this [workflow run]({content.run_url})")
    if lines[-1] != "":
        lines.append("")
    lines.append(f"<sub>{' '.join(['Updated', *footer])}; edited in place on every push.</sub>")
    return "\n".join(lines) + "\n"


def _cap(body: str) -> str:
    """Cut at a line boundary (each line is self-contained Markdown/HTML) below MAX_BODY."""
    if len(body) <= MAX_BODY:
        return body
    note = "\n\n…(cut: the comment reached GitHub's size limit; the run's log has everything)\n"
    head = body[: MAX_BODY - len(note)]
    return head[: head.rfind("\n")] + note


# ------------------------------------------------------------------------------------ posting
@dataclass
class CommentOutcome:
    action: str  # created | updated | unchanged | skipped | failed
    comment_id: int | None = None
    url: str | None = None
    message: str | None = None  # skipped: a notice; failed: a warning
    api_calls: int = 0

    @property
    def level(self) -> str | None:
        """How the caller should report `message`: notice, warning, or nothing."""
        return {"skipped": "notice", "failed": "warning"}.get(self.action)


def find_comment(client: Any, repo: str, number: int, mark: str) -> dict[str, Any] | None:
    """Our comment: its body starts with the marker; a bot's first (others may quote it)."""
    found = []
    for comment in client.list_issue_comments(repo, number):
        body = comment.get("body")
        if isinstance(body, str) and body.startswith(mark) and isinstance(comment.get("id"), int):
            found.append(comment)
    bots = [c for c in found if (c.get("user") or {}).get("type") == "Bot"]
    return (bots or found or [None])[0]


def upsert_comment(client: Any, repo: str, number: int, body: str) -> CommentOutcome:
    """Edit the comment that carries `body`'s marker, or create it; raises GitHubError."""
    from paperspace_deploy.github_api import GitHubAmbiguousWrite, GitHubNotFound

    mark = body.split("\n", 1)[0]
    existing = find_comment(client, repo, number, mark)
    if existing is not None:
        if existing.get("body") == body:
            return CommentOutcome("unchanged", existing["id"], existing.get("html_url"))
        try:
            made = client.update_issue_comment(repo, existing["id"], body)
            return CommentOutcome("updated", made["id"], made.get("html_url"))
        except GitHubNotFound:  # deleted since we listed it: post a new one
            pass
    try:
        made = client.create_issue_comment(repo, number, body)
    except GitHubAmbiguousWrite:  # it may have landed: look before posting again
        landed = find_comment(client, repo, number, mark)
        if landed is not None and landed.get("body") == body:
            return CommentOutcome("created", landed["id"], landed.get("html_url"))
        made = client.create_issue_comment(repo, number, body)
    return CommentOutcome("created", made["id"], made.get("html_url"))


def publish(
    content: CommentContent,
    *,
    environ: Mapping[str, str],
    token: str | None = None,
    api_url: str | None = None,
    repo: str | None = None,
    number: int | None = None,
    secrets: Sequence[str] = (),
    deadline: Deadline | float | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> CommentOutcome:
    """Post or edit the sticky comment for `content`; never raises for a GitHub failure.

    `deadline`: a Deadline, an absolute `time.monotonic()` time (the action's), or None for
    COMMENT_SECONDS; the comment never takes longer than COMMENT_SECONDS either way."""
    from paperspace_deploy import ci_context
    from paperspace_deploy.errors import DeployError
    from paperspace_deploy.github_api import GitHubClient, GitHubForbidden

    repo = repo or environ.get("GITHUB_REPOSITORY") or ""
    if number is None:
        pr = ci_context.detect(environ).pr
        number = int(pr) if pr and pr.isdigit() else None
    if not repo or number is None:
        why = "PR comment skipped: this run is not for a pull request"
        return CommentOutcome("skipped", message=why)
    body = render_comment(content, secrets)
    if not isinstance(deadline, Deadline):
        left = COMMENT_SECONDS if deadline is None else deadline - time.monotonic()
        deadline = Deadline(max(0.0, min(COMMENT_SECONDS, left)))
    client = None
    try:
        options = dict(client_options or {})
        client = GitHubClient(token, api_url, environ=environ, deadline=deadline, **options)
        outcome = upsert_comment(client, repo, number, body)
    except GitHubForbidden as exc:
        outcome = CommentOutcome(
            "skipped",
            message=f"PR comment skipped: GitHub refused it ({exc.status}); a pull request from a "
            "fork gets a read-only token, otherwise give the job `pull-requests: write`",
        )
    except DeployError as exc:
        outcome = CommentOutcome("failed", message=f"PR comment not posted: {exc}")
    if client is not None:
        outcome.api_calls = client.stats.calls
        client.close()
    return outcome


# ------------------------------------------------------------------------------- after the job
@dataclass
class CommentRequest:
    """The `comment` and `github-token` inputs (the token falls back to GITHUB_TOKEN)."""

    enabled: bool = False
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> CommentRequest:
        return cls(bool(values.get("comment")), values.get("github-token") or None)


def contents(
    result: JobResult,
    environ: Mapping[str, str],
    *,
    spec_shown: str | None = None,
    failure: str | None = None,
    policy: Any = None,
) -> list[CommentContent]:
    """One comment per spec the job read: its findings (errors first), the plan when it is of
    that spec, its cost estimate and, for previews, the endpoint and expiry (or that it is
    gone). `spec_shown` names the spec when lint did not run (cleanup)."""
    from paperspace_deploy import ci_context

    specs = list(result.lint.result.files) if result.lint is not None else []
    if not specs and spec_shown:
        specs = [spec_shown]
    findings = list(result.lint.result.findings) if result.lint is not None else []
    ctx = ci_context.detect(environ)
    workflow = environ.get("GITHUB_WORKFLOW") or "paperspace-deploy"
    plan_of = result.plan.name if result.plan is not None else None
    out = []
    for shown in specs:
        preview = None
        if result.preview is not None and policy is not None:
            preview = result.preview.info(policy)
        elif result.cleanup is not None:
            preview = PreviewInfo(result.cleanup.name, None, None, "deleted")
        single = len(specs) == 1  # the plan, preview and failure are of the one spec deployed
        out.append(CommentContent(
            spec=shown, workflow=workflow,
            findings=[f for f in findings if f.path == shown],
            plan=result.plan if single and plan_of else None,
            cost=result.costs.get(shown),
            preview=preview if single else None,
            notes=list(result.preview_notes) if single else [],
            failure=failure,
            commit=ctx.head_sha or ctx.sha, run_url=run_url(environ),
        ))  # fmt: skip
    return out


def post_comments(
    items: Sequence[CommentContent], request: CommentRequest, io: Io, **kw: Any
) -> list[CommentOutcome]:
    """Post or edit each comment. Every secret the run knows is scrubbed from the content's
    data before anything is escaped (an escaped secret would no longer match a scrub)."""
    if request.token:
        io.secrets.add(request.token)
    outcomes = []
    for item in items:
        clean = io.secrets.scrub_data(item)
        outcomes.append(publish(clean, environ=io.environ, token=request.token, **kw))
    return outcomes
