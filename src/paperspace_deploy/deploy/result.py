"""What a deploy returns, and the checks on every value the API hands us for it.

Ids and the endpoint become action outputs, summary lines and log lines, so they are validated
where they enter (a server could send `"endpoint": "x\\n::set-output ..."`): an id is 1-128 of
letters, digits and `-_.:`; an endpoint is a DNS host name (optionally `:port`) and becomes
`https://<host>` (an `http(s)://host[:port]` URL, as run mode's, stays as it is). Anything else
is refused (ids) or dropped with a notice (the endpoint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paperspace_deploy.api.errors import ApiError
from paperspace_deploy.safetext import one_line
from paperspace_deploy.spec.findings import Finding

if TYPE_CHECKING:
    from paperspace_deploy.deploy.logs import FailureLogs
    from paperspace_deploy.deploy.rollback import RollbackResult
    from paperspace_deploy.deploy.verify import VerifyResult

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")


def valid_id(value: Any, what: str) -> str:
    """`value` if it can be an id; ApiError (the server answered nonsense) otherwise."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    raise ApiError(
        f"the API answered an invalid {what} ({one_line(repr(value), 80)}); stopping",
        hint="check PAPERSPACE_API_URL points at the Paperspace API",
    )


def optional_id(value: Any, what: str) -> str | None:
    return None if value is None else valid_id(value, what)


def endpoint_url(host: Any) -> str | None:
    """`https://<host>` for a bare host name; an `http(s)://<host>[:port]` URL as it is (the
    emulator's run mode serves `http://127.0.0.1:PORT`); None for anything else (the value is
    never passed on)."""
    if not isinstance(host, str) or len(host) > 253:
        return None
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "https", host
    elif scheme.lower() not in ("http", "https"):
        return None
    rest = rest[:-1] if rest.endswith("/") else rest
    return f"{scheme.lower()}://{rest.lower()}" if _HOST.fullmatch(rest) else None


@dataclass
class WaitOptions:
    """How the rollout is polled. Adaptive: the pause after a poll is `ramp` x the time since
    the upsert, at least `first_poll`, at most `poll_interval` (± jitter, so concurrent runs do
    not poll in lockstep): a short rollout is seen within a fraction of its length, a long one
    settles at the steady interval. A 429 ends the ramp (the pause is then the interval, or the
    server's Retry-After when longer). `/runs` (only needed to see failing instances) is read
    again when its last copy is older than `runs_age`: half the time since the upsert, at most
    `runs_every` and half of `error_grace`, so a long rollout costs one call per poll, not two."""

    poll_interval: float = 5.0  # the steady interval
    jitter: float = 0.2
    grace: float = 60.0  # 404 / "spec not yet visible" tolerated this long after the upsert
    error_grace: float = 60.0  # an instance failing this long (continuously) fails the run
    first_poll: float = 0.25
    ramp: float = 0.25
    runs_every: float = 15.0
    wait: bool = True  # False: return right after the upsert (deliberately last)

    def pause(self, since_upsert: float, throttled: float | None = None) -> float:
        """The pause before the next poll, before jitter; `throttled`: the server answered 429
        (its Retry-After, or 0 when it named none)."""
        if throttled is not None:
            return max(self.poll_interval, throttled)
        return min(self.poll_interval, max(self.first_poll, self.ramp * since_upsert))

    def runs_age(self, since_upsert: float) -> float:
        """How old the last `/runs` answer may be and still be used for this poll."""
        return min(self.runs_every, self.error_grace / 2, since_upsert / 2)


@dataclass
class DeployResult:
    """`deployment_id`, `spec_id` pass `valid_id`; `endpoint` is None or `https://<dns host>`."""

    name: str
    project_id: str
    deployment_id: str | None
    spec_id: str | None
    endpoint: str | None  # https://<endpoint>
    state: str  # healthy | disabled | submitted | unchanged | failed
    outcome: str  # applied | adopted | reapplied | unchanged
    image: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    api_calls: int = 0
    retries: int = 0
    findings: list[Finding] = field(default_factory=list)
    observed_at: float | None = None  # monotonic time of the poll that proved success
    failure_logs: FailureLogs | None = None  # a failed rollout: its instances' last lines
    verify: VerifyResult | None = None  # --verify PATH
    rollback: RollbackResult | None = None  # --rollback-on-failure, after a failure

    @property
    def changed(self) -> bool:
        return self.outcome != "unchanged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "projectId": self.project_id,
            "deploymentId": self.deployment_id,
            "specId": self.spec_id,
            "endpoint": self.endpoint,
            "state": self.state,
            "outcome": self.outcome,
            "image": self.image,
            "durations": {k: round(v, 3) for k, v in self.durations.items()},
            "apiCalls": self.api_calls,
            "retries": self.retries,
            **({"verify": {"path": self.verify.path, "status": self.verify.status,
                           "attempts": self.verify.attempts}} if self.verify else {}),
            **({"rollback": self.rollback.as_dict()} if self.rollback else {}),
        }  # fmt: skip
