"""`paperspace-deploy plan` (not implemented yet)."""

from __future__ import annotations

import argparse

from paperspace_deploy.errors import UsageError
from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, io: Io) -> int:
    raise UsageError("'plan' is not implemented yet")
