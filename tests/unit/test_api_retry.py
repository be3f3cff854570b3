"""Backoff, Retry-After parsing and the deadline (pure functions)."""

from __future__ import annotations

import email.utils
import random

import pytest

from paperspace_deploy.api.retry import Deadline, RetryPolicy, parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("2", 2.0),
        (" 17 ", 17.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("-3", None),
    ],
)
def test_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_http_date_future_and_past():
    now = 1_700_000_000.0
    future = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(future, now=lambda: now) == pytest.approx(42, abs=1)
    past = email.utils.formatdate(now - 3600, usegmt=True)
    assert parse_retry_after(past, now=lambda: now) == 0.0


def test_full_jitter_backoff_is_bounded_and_grows():
    policy = RetryPolicy(base=0.5, cap=4)
    rng = random.Random(7)
    for retry in range(10):
        limit = min(4, 0.5 * 2**retry)
        samples = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0 <= s <= limit for s in samples)
        assert max(samples) > limit * 0.8  # jitter spreads over the whole window


def test_deadline_counts_down_with_injected_clock():
    now = [100.0]
    d = Deadline(10, clock=lambda: now[0])
    assert d.remaining() == 10 and not d.expired()
    now[0] = 107.5
    assert d.remaining() == 2.5 and d.elapsed() == 7.5
    now[0] = 111
    assert d.remaining() == 0 and d.expired()
    assert Deadline(None).remaining() == float("inf")


def test_backoff_floor_keeps_at_least_that_share_of_the_ceiling():
    policy = RetryPolicy(base=2, cap=60, floor=0.5)
    rng = random.Random(7)
    delays = [policy.backoff(3, rng) for _ in range(200)]  # ceiling min(60, 2 * 8) = 16
    assert min(delays) >= 8 and max(delays) <= 16
    assert min(RetryPolicy(base=2, cap=60).backoff(3, rng) for _ in range(200)) < 8  # full jitter


def test_deadline_timeout_is_none_without_a_limit():
    assert Deadline(None).timeout() is None
    t = [100.0]
    deadline = Deadline(5, clock=lambda: t[0])
    t[0] = 103.0
    assert deadline.timeout() == 2.0
