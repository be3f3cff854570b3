"""Subcommands: argument parsing plus a thin run() that calls the stage modules."""

from __future__ import annotations

import argparse

MAX_TIMEOUT = 360 * 60  # GitHub's longest job; a deadline beyond it only hides a hang


def timeout_seconds(text: str) -> float:
    """`--timeout` for every command: seconds, or with a unit (`90s`, `15m`, `1h`)."""
    units = {"s": 1, "m": 60, "h": 3600}
    scale = units.get(text[-1:].lower(), 1)
    number = text[:-1] if text[-1:].lower() in units else text
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"timeout must be seconds or a duration like 15m, got {text!r}"
        ) from None
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError("timeout must be more than 0 and at most 6h")
    return value
