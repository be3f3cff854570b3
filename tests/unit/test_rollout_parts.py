"""The pure parts of the real-path rollout: the adaptive poll schedule, reading log pages of
unknown shape, the rollback's refusals, verify's credential and path rules, the logs in the
job summary."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from paperspace_deploy import options
from paperspace_deploy.api.client import ClientStats
from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.deploy import logs
from paperspace_deploy.deploy.result import WaitOptions
from paperspace_deploy.deploy.rollback import skip_reason
from paperspace_deploy.deploy.session import Run
from paperspace_deploy.deploy.verify import basic_auth_key
from paperspace_deploy.errors import UsageError
from paperspace_deploy.report.summary import Summary, render

# -- the adaptive schedule --------------------------------------------------------------------


def schedule(opts: WaitOptions, until: float) -> list[float]:
    """Poll times (from the upsert) with the pauses `WaitOptions.pause` gives, no jitter."""
    t, times = 0.0, [0.0]
    while t < until:
        t += opts.pause(t)
        times.append(t)
    return times


def test_first_polls_are_sub_second_then_ramp_to_the_interval() -> None:
    opts = WaitOptions()
    assert opts.pause(0) == 0.25 and opts.pause(0.5) == 0.25
    assert opts.pause(8) == 2.0 and opts.pause(20) == opts.pause(600) == 5.0
    times = schedule(opts, 2.0)
    assert sum(1 for t in times if t < 1.0) == 4  # four polls in the first second
    # a rollout done at 2 s is seen within a quarter of its length
    assert min(t for t in times if t >= 2.0) - 2.0 <= 0.5
    # a 5 minute one costs fewer polls than a fixed 3 s schedule (100)
    assert len(schedule(opts, 300)) < 80


def test_a_short_interval_is_never_lengthened() -> None:
    assert WaitOptions(poll_interval=0.02).pause(0) == 0.02


def test_a_429_ends_the_ramp_and_retry_after_is_respected() -> None:
    opts = WaitOptions(poll_interval=5)
    assert opts.pause(0.1, throttled=0.0) == 5.0  # no Retry-After: the steady interval
    assert opts.pause(0.1, throttled=12.0) == 12.0

    class Client:
        stats = ClientStats()

    slept: list[float] = []
    run = Run(Client(), lambda _m: None, threading.Event(), Deadline(100), WaitOptions(jitter=0),
              random.Random(1))  # type: ignore[arg-type]  # fmt: skip
    run.sleep = slept.append  # type: ignore[method-assign]
    run.poll_pause(1.0)
    Client.stats.throttled, Client.stats.retry_after = 1, 7.0
    run.poll_pause(1.0)
    assert slept == [0.25, 7.0]


# -- log pages of unknown shape ---------------------------------------------------------------


def test_targets_are_our_instances_failing_first() -> None:
    runs = [
        {"id": "old", "instances": [{"id": "i0", "instanceId": "app-old", "state": "failed"}]},
        {"id": "r1", "instances": [{"id": "i1", "instanceId": "app-a", "state": "running"},
                                   {"id": "i2", "instanceId": "app-b", "state": "Errored"}]},
    ]  # fmt: skip
    assert logs.targets(runs, frozenset({"old", "i0"})) == ["app-b", "app-a"]
    assert logs.targets(None, frozenset()) == []


def test_entries_read_pages_bare_lists_strings_and_other_keys() -> None:
    page = {"hasMore": True, "nextPage": "c2", "items": [
        {"message": "one", "dtCreated": "2026-01-01T00:00:01.000Z", "instanceId": "a"},
        {"message": "theirs", "instanceId": "b"},  # the filter was ignored: dropped
        {"line": "two", "timestamp": "2026-01-01T00:00:02.000Z"},
        {"nothing": 1}, 42,
    ]}  # fmt: skip
    entries, cursor = logs._entries(page, "a")
    assert [text for _t, text in entries] == ["one", "two"] and cursor == "c2"
    assert logs._entries(["x", {"text": "y"}], "a")[0] == [(None, "x"), (None, "y")]
    assert logs._entries({"hasMore": True, "items": []}, "a")[1] is None  # no cursor: stop
    with pytest.raises(ValueError):
        logs._entries({"data": []}, "a")


class LogClient:
    """Pages of /logs, as a server that may ignore `order` answers them."""

    def __init__(self, pages: list[Any]) -> None:
        self.pages, self.calls = pages, 0
        self.deadline = Deadline(None)
        self.stats = ClientStats()

    def deployment_logs(self, _dep: str, **kw: Any) -> Any:
        self.calls += 1
        return self.pages[min(self.calls - 1, len(self.pages) - 1)]


def fetch(pages: list[Any], runs: Any = None) -> tuple[logs.FailureLogs, LogClient]:
    client = LogClient(pages)
    run = Run(client, lambda _m: None, threading.Event(), Deadline(0), WaitOptions(),
              random.Random(1))  # type: ignore[arg-type]  # fmt: skip
    runs = runs or [{"id": "r", "instances": [{"id": "i", "instanceId": "app-0",
                                               "state": "errored"}]}]  # fmt: skip
    return logs.for_failure(run, "dep", runs, frozenset()), client


def stamp(n: int) -> str:
    return f"2026-01-01T00:00:{n:02d}.000Z"


def test_newest_first_pages_come_out_oldest_first_and_secret_free() -> None:
    from paperspace_deploy.redact import run_secrets

    run_secrets().add("hunter2-secret-value")
    items = [{"message": f"line {n} hunter2-secret-value", "dtCreated": stamp(n)}
             for n in (3, 2, 1)]  # fmt: skip
    found, client = fetch([{"hasMore": False, "items": items}])
    assert found.instances[0].lines == ["line 1 ***", "line 2 ***", "line 3 ***"]
    assert client.calls == 1 and found.warning is None


def test_a_server_that_ignores_order_is_read_to_its_end_boundedly() -> None:
    pages = [{"hasMore": True, "nextPage": f"p{k}", "items": [
        {"message": f"l{2 * k + j}", "dtCreated": stamp(2 * k + j)} for j in (0, 1)]}
        for k in range(30)]  # fmt: skip
    found, client = fetch(pages)
    assert client.calls == logs.MAX_PAGES  # never more
    assert found.instances[0].lines[-1] == f"l{2 * logs.MAX_PAGES - 1}"
    assert found.instances[0].cut


def test_hostile_lines_are_one_safe_line_each_and_bounded() -> None:
    items = [{"message": "::warning::pwned\n##[error]x\x1b[31mred", "dtCreated": stamp(1)},
             {"message": "y" * 10_000, "dtCreated": stamp(2)}]  # fmt: skip
    found, _ = fetch([{"hasMore": False, "items": items}])
    lines = found.instances[0].lines
    assert lines[0] == "\u200b::warning::pwned" and lines[1].startswith("#\u200b#[error]x")
    assert "\x1b" not in lines[1] and len(lines[2]) <= logs.MAX_LINE + 1
    many = [{"message": "z" * 399, "dtCreated": stamp(n % 60)} for n in range(40)]
    runs = [{"id": "r", "instances": [{"id": f"i{k}", "instanceId": f"a{k}", "state": "failed"}
                                      for k in range(3)]}]  # fmt: skip
    found, _ = fetch([{"hasMore": False, "items": many}], runs)
    total = sum(len(line.encode()) + 1 for inst in found.instances for line in inst.lines)
    assert total <= logs.MAX_BYTES and found.instances[-1].cut


def test_an_unreadable_answer_is_a_warning_never_an_exception() -> None:
    found, _ = fetch([{"unexpected": True}])
    assert found.warning and "could not read the instance logs" in found.warning
    assert not found.instances


# -- rollback refusals ------------------------------------------------------------------------


def live(spec_id: str) -> dict[str, Any]:
    return {"id": "d", "latestSpec": {"id": spec_id}}


def test_rollback_only_over_our_own_failed_spec_to_a_known_previous_one() -> None:
    data = {"name": "demo", "image": "a"}
    assert skip_reason(live("ours"), "ours", "prev", data) is None
    assert "no previous spec" in (skip_reason(live("ours"), "ours", None, None) or "")
    assert "not known" in (skip_reason(live("ours"), "ours", "prev", None) or "")
    newer = skip_reason(live("newer"), "ours", "prev", data) or ""
    assert "newer spec is never rolled back over" in newer
    assert "gone" in (skip_reason(None, "ours", "prev", data) or "")


# -- verify's credential and path ---------------------------------------------------------------


def test_basic_auth_key_literal_secret_env_and_refusals() -> None:
    assert basic_auth_key({}, {}) is None
    assert basic_auth_key({"basicAuthKey": "plain-key"}, {}) == "plain-key"
    env = {"PAPERSPACE_SECRET_AUTH": "v4lue", "AUTH": "not-this-one"}
    assert basic_auth_key({"basicAuthKey": "secret:AUTH"}, env) == "v4lue"
    with pytest.raises(UsageError, match="PAPERSPACE_SECRET_OTHER is not set") as err:
        basic_auth_key({"basicAuthKey": "secret:OTHER"}, {"OTHER": "x"})
    assert "nothing was deployed" in str(err.value)
    with pytest.raises(UsageError, match="is not secret:NAME"):
        basic_auth_key({"basicAuthKey": "secret:../x"}, env)


@pytest.mark.parametrize("path", ["/", "/health", "/v1/ping?deep=1"])
def test_verify_paths(path: str) -> None:
    assert options.url_path(path) == path


@pytest.mark.parametrize("path", ["health", "//evil.example/", "/a b", "/a#b", "/a\\b", "/\n"])
def test_bad_verify_paths(path: str) -> None:
    with pytest.raises(options.OptionError):
        options.url_path(path)


# -- the job summary ----------------------------------------------------------------------------


def test_summary_logs_are_inert_and_stay_one_html_block() -> None:
    hostile = ["</pre><script>x</script>", "[click](http://evil)", "", "`code` *b* | pipe"]
    md = render(Summary(mode="deploy", ok=False, logs=[("app-0", hostile, True)]))
    assert "### Logs of the failing instances" in md
    assert "<script>" not in md and "</pre><script>" not in md and "](http" not in md
    block = md[md.index("<pre>") : md.index("</pre>")]
    assert "\n\n" not in block  # a blank line would end the HTML block
    assert "| pipe" in block and "older lines not shown" in md


def test_runs_are_read_again_by_age_so_a_long_wait_costs_one_call_a_poll() -> None:
    opts = WaitOptions()
    assert opts.runs_age(1.0) == 0.5  # a short rollout: fresh runs
    assert opts.runs_age(300) == 15.0  # a long one: every 15 s
    assert WaitOptions(error_grace=0.03).runs_age(300) == 0.015  # never later than the grace
