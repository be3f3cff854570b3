"""`paperspace-deploy schema`: print the deployment-spec JSON Schema (for editors and CI)."""

from __future__ import annotations

import argparse

from paperspace_deploy.io import Io


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, io: Io) -> int:
    from paperspace_deploy.spec.schema import schema_text

    text = schema_text()
    io.stdout.write(text if text.endswith("\n") else text + "\n")
    io.stdout.flush()
    return 0
