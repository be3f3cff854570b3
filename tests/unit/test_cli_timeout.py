import argparse

import pytest

from paperspace_deploy.commands import timeout_seconds


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600)])
def test_durations(text, seconds):
    assert timeout_seconds(text) == seconds


@pytest.mark.parametrize("text", ["0", "-1", "abc", "7h", "m", ""])
def test_bad_durations_are_usage_errors(text):
    with pytest.raises(argparse.ArgumentTypeError):
        timeout_seconds(text)
