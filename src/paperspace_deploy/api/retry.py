"""Deadlines, backoff with full jitter, and Retry-After parsing (reliability.md §4.2-4.4)."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


class Deadline:
    """One monotonic deadline for a whole run; every wait is `min(policy, remaining)`."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.start = clock()
        self.seconds = seconds
        self.at = math.inf if seconds is None else self.start + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.at

    def elapsed(self) -> float:
        return self.clock() - self.start

    def timeout(self) -> float | None:
        """For a blocking call's `timeout=`: the seconds left, or None when the run has no limit."""
        return None if self.seconds is None else self.remaining()


@dataclass
class RetryPolicy:
    attempts: int = 5  # per request, first try included
    base: float = 0.5  # seconds; backoff n sleeps uniform(floor * x, x), x = min(cap, base * 2**n)
    cap: float = 20.0
    floor: float = 0.0  # 0: full jitter; 0.5 waits at least half (a registry needs the pause)
    retry_after_cap: float = 60.0  # never park on an absurd Retry-After
    budget: int = 30  # retries per client (one run), so an outage cannot multiply them
    get_500_retries: int = 2  # 500 may be a bug, not a blip: retry GETs only a couple of times

    def backoff(self, retry: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * 2**retry)
        return rng.uniform(self.floor * ceiling, ceiling)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())  # a date in the past (clock skew) means now
