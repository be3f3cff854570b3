"""One deploy run's moving parts: the API client, the deadline, the stop event, the log."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.deploy.result import WaitOptions
from paperspace_deploy.errors import DeployError, ExitCode

if TYPE_CHECKING:
    from paperspace_deploy.api.client import ApiClient

Log = Callable[[str], None]


class Interrupted(DeployError):
    """SIGINT/SIGTERM while deploying: we stop, say what was submitted, exit 130."""

    exit_code = ExitCode.INTERRUPTED


@dataclass
class Run:
    client: ApiClient
    log: Log
    stop: threading.Event
    deadline: Deadline
    wait: WaitOptions
    rng: random.Random
    submitted: dict[str, str | None] = field(default_factory=dict)
    logged: set[str] = field(default_factory=set)

    def log_once(self, message: str) -> None:
        if message not in self.logged:
            self.logged.add(message)
            self.log(message)

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, min(seconds, self.deadline.remaining()))
        if self.stop.wait(seconds):
            raise self.interrupted()

    def interrupted(self) -> Interrupted:
        dep, spec = self.submitted.get("deployment"), self.submitted.get("spec")
        if dep:
            what = f"submitted deployment {dep}" + (f", spec {spec}" if spec else "")
            return Interrupted(f"interrupted; {what} (the rollout continues on Paperspace)")
        return Interrupted("interrupted before anything was submitted; nothing was changed")

    def poll_pause(self, since_upsert: float) -> None:
        """The adaptive pause (`WaitOptions.pause`); once the API has throttled us (a 429,
        already waited out by the client) the ramp is over for this run."""
        stats = self.client.stats
        throttled = stats.retry_after if stats.throttled else None
        base = self.wait.pause(since_upsert, throttled)
        self.sleep(base * (1 + self.rng.uniform(-self.wait.jitter, self.wait.jitter)))


def make_client(api_key: str | None, api_url: str | None, environ: Mapping[str, str],
                deadline: Deadline, log: Log, stop: threading.Event, marker: str,
                client_options: Mapping[str, Any] | None) -> ApiClient:  # fmt: skip
    from paperspace_deploy.api.client import ApiClient

    def sleep(seconds: float) -> None:
        if stop.wait(seconds):
            raise Interrupted("interrupted while retrying an API call")

    key = api_key if api_key else environ.get("PAPERSPACE_API_KEY")
    return ApiClient(key, api_url, environ=environ, deadline=deadline, on_event=log, sleep=sleep,
                     extra_headers={"x-psd-run": marker}, **dict(client_options or {}))  # fmt: skip
