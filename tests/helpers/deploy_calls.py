"""The deploy stage called the way Python callers do: `DeployRequest.for_spec` + `plan` /
`run_deploy`, with the keywords the tests use (quiet unless given an Io or a log)."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

from paperspace_deploy import deploy
from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.io import Io


def request(
    spec: Any = None,
    *,
    environ: dict[str, str],
    project_id: str,
    wait: bool = True,
    wait_options: deploy.WaitOptions | None = None,
    timeout: float | None = 900.0,
    deadline: Deadline | None = None,
    **kw: Any,
) -> deploy.DeployRequest:
    options = wait_options or deploy.WaitOptions()
    options.wait = wait
    return deploy.DeployRequest.for_spec(
        spec if isinstance(spec, str | Path) or spec is not None else kw.pop("spec"),
        project_id=project_id, environ=environ, wait=options, timeout=timeout,
        deadline=deadline, **kw,
    )  # fmt: skip


def quiet(environ: dict[str, str], given: Io | None = None) -> Io:
    return given or Io(stdout=io.StringIO(), stderr=io.StringIO(), environ=environ)


def run_deploy(
    spec: Any = None,
    *,
    io: Io | None = None,
    on_event: Any = None,
    stop: threading.Event | None = None,
    **kw: Any,
) -> deploy.DeployResult:
    req = request(spec, **kw)
    return deploy.run_deploy(req, quiet(kw["environ"], io), log=on_event, stop=stop)


def plan(spec: Any = None, *, io: Io | None = None, **kw: Any) -> Any:
    req = request(spec, **kw)
    return deploy.plan(req, quiet(kw["environ"], io))
