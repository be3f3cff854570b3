"""The action container's entry point: `python /app/entrypoint.py` (see Dockerfile).

Everything lives in `paperspace_deploy.action`; this file only turns the runner's cancellation
signal (SIGTERM after SIGINT, actions/runner ProcessInvoker) into KeyboardInterrupt so a cancelled
run still writes its outputs and summary, and returns the exit code.
"""

from __future__ import annotations

import signal
import sys


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    from paperspace_deploy.action import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
