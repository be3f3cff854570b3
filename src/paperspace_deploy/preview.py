"""Preview deployments: one per pull request, capped, cleaned up on close, swept after a TTL.

* **preview**: the spec is deployed as `<name>-pr-<number>` (a template with `{name}` and
  `{number}`, checked against the platform's name rule) with the repository owner's caps: at most
  `max_replicas` replicas (default 1), autoscaling removed, and a machine type from the allow-list
  -- outside it the spec is refused with the allowed list, or downgraded to `machine_type` when
  one is set. The deploy itself is the ordinary deploy stage (`deploy.run_deploy`).
* **cleanup** (the pull request closed): `DELETE /deployments/{id}` of that PR's preview; no
  preview (already deleted, never created) is a no-op, so it can run any number of times.
* **sweep** (a schedule): deletes previews whose TTL (default 3 days) has passed. Only names that
  match the preview pattern for the spec's name (`demo-pr-<digits>`) are ever considered.

How old a preview is: the API stores no labels we could set (unknown keys are stripped, the
spec's `metadata` only records git headers), so the age is read from what `GET
/projects/{id}/deployments` returns (reference §2.5): the newest of the deployment's `dtCreated`
and its latest spec's `externalApplied` / `dtHealthy`. Each deploy submits a new spec, so the TTL
counts from the last push. A preview without any readable timestamp is kept and reported.

Never for a pull request from a fork (its code must not reach a deployment with our key), and a
preview is never deployed from a privileged event (`ci_context.PRIVILEGED_EVENTS`: they run with
secrets).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from paperspace_deploy import options
from paperspace_deploy.errors import InputError, UsageError

if TYPE_CHECKING:
    from paperspace_deploy.deploy import DeployRequest
    from paperspace_deploy.io import Io

DEFAULT_TEMPLATE = "{name}-pr-{number}"
DEFAULT_TTL = 3 * 86400.0
MIN_TTL, MAX_TTL = options.MIN_TTL, options.MAX_TTL
MAX_PREVIEW_REPLICAS = 10
_MACHINE = re.compile(r"[A-Za-z0-9+()._-]{1,64}")


class PreviewRefused(InputError):
    """The spec or the run may not become a preview (a cap, a fork, the wrong event)."""


# ------------------------------------------------------------------------------------- policy
def parse_ttl(text: str, what: str = "preview-ttl") -> float:
    """'3d', '72h', '90m', '1w', '3600s' -> seconds (1 minute .. 1 year): options.ttl."""
    try:
        return options.ttl(text)
    except options.OptionError as exc:
        raise InputError(f"{what} {exc}", hint="for example 3d (the default), 72h or 90m") from None


def ttl_text(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{int(seconds)} seconds"


def parse_machine_types(text: str | None, what: str = "preview-machine-types") -> tuple[str, ...]:
    """A comma-, space- or newline-separated allow-list; empty means any machine type."""
    names = [n for n in re.split(r"[\s,]+", text or "") if n]
    for name in names:
        if not _MACHINE.fullmatch(name):
            raise InputError(f"{what}: {name[:64]!r} is not a machine type name")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class PreviewPolicy:
    name_template: str = DEFAULT_TEMPLATE
    max_replicas: int = 1
    machine_types: tuple[str, ...] = ()  # allow-list; empty: any
    machine_type: str | None = None  # the downgrade for a spec outside the allow-list
    ttl: float = DEFAULT_TTL  # seconds after the last deploy

    def __post_init__(self) -> None:
        check_template(self.name_template)
        if (
            isinstance(self.max_replicas, bool)
            or not 1 <= self.max_replicas <= MAX_PREVIEW_REPLICAS
        ):
            raise InputError(
                f"preview-max-replicas must be 1..{MAX_PREVIEW_REPLICAS}, got {self.max_replicas!r}"
            )
        if self.machine_type is not None:
            if not _MACHINE.fullmatch(self.machine_type):
                raise InputError(f"preview-machine-type {self.machine_type[:64]!r} is not valid")
            if self.machine_types and self.machine_type not in self.machine_types:
                raise InputError(
                    f"preview-machine-type {self.machine_type} is not in preview-machine-types "
                    f"({', '.join(self.machine_types)})"
                )
        if not MIN_TTL <= self.ttl <= MAX_TTL:
            raise InputError("preview-ttl must be between 1 minute and 365 days")


def policy_from_inputs(
    template: str = "",
    max_replicas: str = "",
    machine_types: str = "",
    machine_type: str = "",
    ttl: str = "",
) -> PreviewPolicy:
    """The policy from action inputs / CLI flags as given (strings; empty means the default)."""
    replicas = 1
    if max_replicas.strip():
        if not max_replicas.strip().isdigit():
            raise InputError(f"preview-max-replicas must be a number, got {max_replicas[:20]!r}")
        replicas = int(max_replicas.strip())
    return PreviewPolicy(
        name_template=template.strip() or DEFAULT_TEMPLATE,
        max_replicas=replicas,
        machine_types=parse_machine_types(machine_types),
        machine_type=machine_type.strip() or None,
        ttl=parse_ttl(ttl) if ttl.strip() else DEFAULT_TTL,
    )


def check_template(template: str) -> str:
    try:
        return options.name_template(template)
    except options.OptionError as exc:
        raise InputError(
            f"preview-name template {exc}", hint=f"the default is {DEFAULT_TEMPLATE}"
        ) from None


def _name_rule() -> tuple[re.Pattern[str], int]:
    """The deployment name rule from the spec schema (the one home of the platform's rule)."""
    from paperspace_deploy.spec.schema import schema

    prop = schema()["properties"]["name"]
    return re.compile(prop["pattern"]), int(prop["maxLength"])


def preview_name(policy: PreviewPolicy, name: str, number: int) -> str:
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise InputError(f"the pull request number must be positive, got {number!r}")
    made = policy.name_template.format(name=name, number=number)
    pattern, limit = _name_rule()
    if len(made) > limit or not made.isprintable() or not pattern.search(made):
        raise InputError(
            f"preview name {made[:150]!r} breaks the deployment name rule "
            f"({pattern.pattern}, at most {limit} characters)",
            hint="shorten the spec's name or the preview-name template",
        )
    return made


def name_pattern(policy: PreviewPolicy, name: str) -> re.Pattern[str]:
    """Full-match pattern of every preview name of `name` (any PR number)."""
    regex = ""
    for literal, fld, _, _ in string.Formatter().parse(policy.name_template):
        regex += re.escape(literal)
        if fld == "name":
            regex += re.escape(name)
        elif fld == "number":
            regex += r"[1-9][0-9]{0,9}"
    return re.compile(regex)


def preview_spec(
    spec: Mapping[str, Any], number: int, policy: PreviewPolicy
) -> tuple[dict[str, Any], list[str]]:
    """The preview's spec (a copy) and what was changed, or PreviewRefused for a machine type
    outside the allow-list when no downgrade is set."""
    data = copy.deepcopy(dict(spec))
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InputError("the spec has no name, so there is no preview name")
    data["name"] = preview_name(policy, name, number)
    notes = [f"name: {name} -> {data['name']}"]
    res = data.get("resources")
    if not isinstance(res, dict):
        raise InputError("the spec has no resources block")
    key = "machineType" if "machineType" in res or "instanceType" not in res else "instanceType"
    machine = res.get(key)
    if policy.machine_types and machine not in policy.machine_types:
        allowed = ", ".join(policy.machine_types)
        if policy.machine_type is None:
            raise PreviewRefused(
                f"machine type {str(machine)[:64]} is not allowed for previews "
                f"(preview-machine-types: {allowed})",
                hint="use one of them in the spec, or set preview-machine-type to downgrade "
                "previews to an allowed type",
            )
        res[key] = policy.machine_type
        notes.append(f"machine type: {machine} -> {policy.machine_type} (allowed: {allowed})")
    replicas = res.get("replicas", 1)
    if (
        isinstance(replicas, int)
        and not isinstance(replicas, bool)
        and replicas > policy.max_replicas
    ):
        res["replicas"] = policy.max_replicas
        notes.append(f"replicas: {replicas} -> {policy.max_replicas} (preview-max-replicas)")
    if "autoscaling" in res:
        del res["autoscaling"]
        notes.append("autoscaling: off (a preview runs a fixed number of replicas)")
    return data, notes


# ----------------------------------------------------------------------------------- guards
def check_allowed(environ: Mapping[str, str], mode: str) -> None:
    """Refuse fork pull requests (every mode) and privileged events (preview)."""
    from paperspace_deploy import ci_context

    if ci_context.detect(environ).fork:
        raise PreviewRefused(
            f"mode '{mode}' never runs for a pull request from a fork",
            hint="a fork's code must not be deployed with the repository's key",
        )
    event = environ.get("GITHUB_EVENT_NAME", "")
    if mode == "preview" and event in ci_context.PRIVILEGED_EVENTS:
        raise PreviewRefused(
            f"mode 'preview' deploys the pull request's code; it refuses to run on {event}",
            hint="trigger previews on pull_request (opened, synchronize, reopened)",
        )


def pr_number(environ: Mapping[str, str], mode: str) -> int:
    from paperspace_deploy import ci_context

    pr = ci_context.detect(environ).pr
    if not pr or not pr.isdigit():
        raise UsageError(
            f"mode '{mode}' needs a pull request and this run is not for one",
            hint="run it on pull_request events",
        )
    return int(pr)


# ------------------------------------------------------------------------------------- deploy
@dataclass
class PreviewResult:
    name: str
    number: int
    expires_at: datetime  # UTC: the TTL counted from this deploy
    notes: list[str]
    spec: dict[str, Any]  # the preview's spec (for the cost estimate)
    result: Any  # deploy.DeployResult

    @property
    def endpoint(self) -> str | None:
        return getattr(self.result, "endpoint", None)

    def outputs(self) -> dict[str, str]:
        return {"preview-name": self.name, "endpoint": self.endpoint or ""}

    def info(self, policy: PreviewPolicy) -> Any:
        from paperspace_deploy.pr_comment import PreviewInfo

        state = getattr(self.result, "state", None)
        return PreviewInfo(self.name, self.endpoint, self.expires_at, state, ttl_text(policy.ttl))


@dataclass
class PreviewRequest:
    """What `preview`, `cleanup` and `sweep` need, built the same way by both faces: the
    ordinary `DeployRequest` (spec, project, key, URL, deadline, wait), the owner's caps and the
    pull request's number (None for sweep, which has none)."""

    deploy: DeployRequest
    policy: PreviewPolicy
    number: int | None = None

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], deploy: DeployRequest, mode: str, environ: Mapping[str, str]
    ) -> PreviewRequest:
        policy = PreviewPolicy(
            name_template=values.get("preview-name") or DEFAULT_TEMPLATE,
            max_replicas=values.get("preview-max-replicas") or 1,
            machine_types=tuple(dict.fromkeys(values.get("preview-machine-types") or ())),
            machine_type=values.get("preview-machine-type") or None,
            ttl=values.get("preview-ttl") or DEFAULT_TTL,
        )
        number = values.get("pr")
        if mode != "sweep" and number is None:
            number = pr_number(environ, mode)
        return cls(deploy, policy, number)


def capped(
    req: DeployRequest, number: int, policy: PreviewPolicy
) -> tuple[DeployRequest, list[str]]:
    """The request for the preview: the linted spec renamed `<name>-pr-<number>` and capped
    (PreviewRefused outside the allow-list); the rest of the request unchanged."""
    from paperspace_deploy import deploy

    loaded = req.spec or deploy.load_spec(req.spec_path, req.image, req.display)
    assert loaded.data is not None  # load_spec refuses a spec that did not parse
    data, notes = preview_spec(loaded.data, number, policy)
    return dataclasses.replace(req, spec=dataclasses.replace(loaded, data=data)), notes


def expiry(policy: PreviewPolicy, started: datetime) -> datetime:
    return started + timedelta(seconds=policy.ttl)


def deploy_preview(
    req: DeployRequest,
    number: int,
    policy: PreviewPolicy,
    io: Io,
    *,
    log: Callable[[str], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PreviewResult:
    """Lint, apply the caps, deploy `<name>-pr-<number>` through the deploy stage (the same
    `run_deploy` as every deploy) and return it with its expiry. (The job runs the same steps
    with a plan in between: job.py.)"""
    from paperspace_deploy import deploy

    check_allowed(io.environ, "preview")
    ours, notes = capped(req, number, policy)
    started = now()
    result = deploy.run_deploy(ours, io, log=log)
    assert ours.spec is not None and ours.spec.data is not None
    data = ours.spec.data
    return PreviewResult(data["name"], number, expiry(policy, started), notes, data, result)


# ------------------------------------------------------------------------- cleanup and sweep
def spec_name(spec_path: str | Path, display: str | None = None) -> str:
    """The spec's `name` (cleanup and sweep need only that; the spec may have other errors)."""
    from paperspace_deploy.spec import lint_file

    loaded = lint_file(Path(spec_path), display)
    name = (loaded.data or {}).get("name") if isinstance(loaded.data, dict) else None
    if not isinstance(name, str) or not name:
        raise InputError(
            f"{display or spec_path}: the spec has no name, so no preview can be found"
        )
    return name


def _client(environ: Mapping[str, str], api_key: str | None, api_url: str | None,
            timeout: float, log: Callable[[str], None],
            client_options: Mapping[str, Any] | None) -> Any:  # fmt: skip
    from paperspace_deploy.api.client import ApiClient
    from paperspace_deploy.api.retry import Deadline

    key = api_key or environ.get("PAPERSPACE_API_KEY")
    return ApiClient(key, api_url, environ=environ, deadline=Deadline(timeout), on_event=log,
                     **dict(client_options or {}))  # fmt: skip


def _project(project_id: str | None, environ: Mapping[str, str]) -> str:
    from paperspace_deploy.deploy.prepare import project_id as checked

    return checked(project_id or environ.get("PAPERSPACE_PROJECT_ID"))


@dataclass
class CleanupResult:
    name: str
    deployment_id: str | None
    deleted: bool  # False: there was nothing to delete


def cleanup_preview(
    name: str,
    number: int,
    policy: PreviewPolicy,
    *,
    environ: Mapping[str, str],
    project_id: str | None = None,
    api_key: str | None = None,
    api_url: str | None = None,
    timeout: float = 120.0,
    log: Callable[[str], None] = lambda _m: None,
    client_options: Mapping[str, Any] | None = None,
) -> CleanupResult:
    """Delete pull request `number`'s preview of `name`; a no-op when there is none."""
    from paperspace_deploy.api.errors import NotFound

    check_allowed(environ, "cleanup")
    target = preview_name(policy, name, number)
    pid = _project(project_id, environ)
    client = _client(environ, api_key, api_url, timeout, log, client_options)
    try:
        found = client.find_deployment(pid, target)
        if found is None or not isinstance(found.get("id"), str):
            log(f"{target}: no preview deployment; nothing to clean up")
            return CleanupResult(target, None, False)
        try:
            client.delete_deployment(found["id"])
        except NotFound:  # deleted meanwhile (a concurrent cleanup or the sweep)
            return CleanupResult(target, found["id"], False)
        log(f"{target}: deleted preview deployment {found['id']}")
        return CleanupResult(target, found["id"], True)
    finally:
        client.close()


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def last_activity(deployment: Mapping[str, Any]) -> datetime | None:
    """The newest of dtCreated and the latest spec's externalApplied / dtHealthy."""
    found = deployment.get("latestSpec")
    spec: Mapping[str, Any] = found if isinstance(found, dict) else {}
    stamps = [
        _when(deployment.get("dtCreated")),
        _when(spec.get("externalApplied")),
        _when(spec.get("dtHealthy")),
    ]
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


@dataclass
class SweepResult:
    deleted: list[str] = field(default_factory=list)
    kept: list[tuple[str, datetime]] = field(default_factory=list)  # (name, expires at)
    unknown_age: list[str] = field(default_factory=list)  # no readable timestamp: kept
    ignored: int = 0  # deployments whose names are not previews of this spec

    def lines(self) -> list[str]:
        out = [f"deleted expired preview {n}" for n in self.deleted]
        out += [f"kept {n} (expires {e.strftime('%Y-%m-%d %H:%M UTC')})" for n, e in self.kept]
        out += [f"kept {n}: its age is unknown (no timestamp)" for n in self.unknown_age]
        return out


def sweep_previews(
    name: str,
    policy: PreviewPolicy,
    *,
    environ: Mapping[str, str],
    project_id: str | None = None,
    api_key: str | None = None,
    api_url: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    timeout: float = 300.0,
    log: Callable[[str], None] = lambda _m: None,
    client_options: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Delete the previews of `name` whose TTL has passed; nothing else is ever touched."""
    from paperspace_deploy.api.errors import NotFound

    check_allowed(environ, "sweep")
    pattern = name_pattern(policy, name)
    pid = _project(project_id, environ)
    now = now or datetime.now(UTC)
    ttl = timedelta(seconds=policy.ttl)
    out = SweepResult()
    client = _client(environ, api_key, api_url, timeout, log, client_options)
    try:
        for item in list(client.paginate(f"/projects/{quote(pid, safe='')}/deployments")):
            dep_name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(dep_name, str) or not pattern.fullmatch(dep_name):
                out.ignored += 1
                continue
            last = last_activity(item)
            if last is None:
                out.unknown_age.append(dep_name)
                continue
            if now < last + ttl:
                out.kept.append((dep_name, last + ttl))
                continue
            if not dry_run and isinstance(item.get("id"), str):
                with contextlib.suppress(NotFound):  # already gone
                    client.delete_deployment(item["id"])
            out.deleted.append(dep_name)
            verb = "would delete" if dry_run else "deleted"
            log(f"{dep_name}: {verb} (last deploy {last:%Y-%m-%d %H:%M} UTC)")
    finally:
        client.close()
    return out
