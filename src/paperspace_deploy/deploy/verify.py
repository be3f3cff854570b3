"""`--verify PATH`: once the rollout is healthy, GET the endpoint + PATH until it answers 2xx/3xx.

`dtHealthy` says the readiness probe passed inside the cluster; this checks what a user
reaches: the public endpoint, its endpoint security and the path. With `basicAuthKey` set the
request carries `Authorization: Basic base64("paperspace:<key>")`, as the platform's endpoint
security and the emulator's run-mode proxy expect: a literal key is used as it is; for
`secret:NAME` (the platform holds the value) the value is read from the environment variable
PAPERSPACE_SECRET_<NAME> -- only that prefix, so a spec cannot name some other variable of the
runner to be sent. The value joins the run's secrets (scrubbed from all we write).

Redirects are not followed (a 3xx is an answer, and the key must not go to another host) and
the body is never read. Attempts ramp like the rollout polls (`WaitOptions.pause`) until the
run's deadline, at least one of them. Only the validated endpoint URL is contacted, and never
with the API key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from paperspace_deploy.deploy.session import Run
from paperspace_deploy.errors import UsageError, VerifyFailed
from paperspace_deploy.safetext import one_line

SECRET_PREFIX = "secret:"
SECRET_ENV = "PAPERSPACE_SECRET_"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
USERNAME = "paperspace"  # the platform's fixed basic-auth user
TIMEOUT = (5.0, 10.0)  # connect, read: one attempt


@dataclass
class VerifyResult:
    path: str
    url: str
    status: int | None = None  # the last HTTP status; None: no answer at all
    attempts: int = 0
    problem: str = ""  # the last failure, one line
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    @property
    def shown(self) -> str:
        """For outputs and the summary: the status, or `unreachable`."""
        return str(self.status) if self.status is not None else "unreachable"


def basic_auth_key(config: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """The endpoint's basic-auth key for the spec's `basicAuthKey` (None: not protected);
    UsageError when it is a `secret:` whose value the environment does not hold."""
    key = config.get("basicAuthKey")
    if not isinstance(key, str) or not key:
        return None
    if not key.startswith(SECRET_PREFIX):
        return key
    name = key[len(SECRET_PREFIX) :]
    if not _NAME.fullmatch(name):
        raise UsageError(f"--verify: basicAuthKey {one_line(key, 80)!r} is not secret:NAME")
    value = environ.get(SECRET_ENV + name, "")
    if not value.strip():
        raise UsageError(
            f"--verify: the endpoint is protected by basicAuthKey secret:{name}, and "
            f"{SECRET_ENV}{name} is not set; nothing was deployed",
            hint=f"set {SECRET_ENV}{name} to that secret's value (in a workflow: env: "
            f"{{{SECRET_ENV}{name}: ${{{{ secrets.{name} }}}}}}), or drop verify-path",
        )
    return value


def verify(run: Run, endpoint: str, path: str, auth: str | None) -> VerifyResult:
    """GET endpoint + path until 2xx/3xx or the run's deadline (at least one attempt)."""
    import requests

    from paperspace_deploy.api.transport import BoundedAdapter

    result = VerifyResult(path=path, url=endpoint.rstrip("/") + path)
    session = requests.Session()
    session.trust_env = False  # no netrc credentials, no proxy rewriting the auth
    adapter = BoundedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    headers = {"User-Agent": "paperspace-deploy verify"}
    if auth is not None:
        import base64

        token = base64.b64encode(f"{USERNAME}:{auth}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    t0 = time.monotonic()
    last: str | None = None  # the first answer is always logged, then only changes
    try:
        while True:
            if run.stop.is_set():
                raise run.interrupted()
            budget = max(1.0, min(run.deadline.remaining(), sum(TIMEOUT)))
            timeout = (min(TIMEOUT[0], budget), min(TIMEOUT[1], budget))
            result.attempts += 1
            with adapter.guard(budget) as cut:
                try:
                    resp = session.get(result.url, headers=headers, timeout=timeout, stream=True,
                                       allow_redirects=False)  # fmt: skip
                    result.status = resp.status_code
                    resp.close()
                    result.problem = "" if result.ok else f"HTTP {resp.status_code}"
                except requests.RequestException as exc:
                    result.status = None
                    kind = (
                        f"no answer within {budget:.0f} s" if cut.is_set() else type(exc).__name__
                    )
                    result.problem = f"{kind} ({one_line(exc, 200)})"
            if result.problem != last:
                run.log(f"verify: GET {one_line(result.url, 300)}: "
                        f"{result.problem or f'HTTP {result.status}'}")  # fmt: skip
                last = result.problem
            if result.ok or run.deadline.expired():
                break
            run.poll_pause(time.monotonic() - t0)
    finally:
        session.close()
        result.seconds = time.monotonic() - t0
    return result


def failure(result: VerifyResult, dep_id: str | None, spec_id: str | None) -> VerifyFailed:
    return VerifyFailed(
        f"verify failed: GET {one_line(result.url, 300)} answered "
        f"{result.problem or 'nothing'} ({result.attempts} attempt(s) in {result.seconds:.1f} s);"
        f" the rollout itself is healthy (deployment {dep_id}, spec {spec_id})",
        hint="check the path and the app's routes, and basicAuthKey "
        f"({SECRET_ENV}<NAME> for secret:NAME); raise --timeout if the app needs longer",
    )
