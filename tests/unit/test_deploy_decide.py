"""The wait loop's decision (deploy/decide.py) and spec identification (deploy/identify.py),
fed recorded API data: no HTTP, no clock, no sleeping."""

from __future__ import annotations

import pytest

from paperspace_deploy.api.errors import ApiError
from paperspace_deploy.deploy import identify
from paperspace_deploy.deploy.decide import (
    Act,
    Memo,
    Polled,
    Target,
    classify,
    decide,
    our_runs,
)
from paperspace_deploy.deploy.result import WaitOptions, endpoint_url, valid_id

CONFIG = {"apiVersion": "v1", "name": "demo", "image": "nginx:2",
          "resources": {"machineType": "C4", "ports": [80]}}  # fmt: skip
OPTS = WaitOptions(poll_interval=1, grace=60, error_grace=30)
T0 = 1000.0


def target(**kw):
    base = dict(deployment_id="d1", config=CONFIG, sha=None, prev_spec="s-old", t_upsert=T0)
    return Target(**{**base, **kw})


def spec(spec_id, data=None, **fields):
    return {"id": spec_id, "data": CONFIG if data is None else data, "externalApplied": None,
            "dtHealthy": None, "error": None, "metadata": None, **fields}  # fmt: skip


def dep(latest):
    return {"id": "d1", "endpoint": "d1.example.com", "latestSpec": latest}


OLD = spec("s-old", {**CONFIG, "image": "nginx:1"}, externalApplied="t", dtHealthy="t")
APPLIED = {"externalApplied": "2024-05-01T00:00:00Z"}


def step(polled, memo=None, now=T0 + 1, tgt=None, **kw):
    return decide(tgt or target(**kw), memo or Memo(), polled, now, OPTS)


def test_the_previous_specs_healthy_is_never_success():
    d = step(Polled(dep(OLD)))
    assert d.act is Act.WAIT and "still the previous one" in d.message


def test_our_spec_healthy_with_every_default_filled_by_the_server():
    stored = {**CONFIG, "enabled": True, "resources": {**CONFIG["resources"], "replicas": 1}}
    d = step(Polled(dep(spec("s-new", stored, dtHealthy="t", **APPLIED))))
    assert (d.act, d.memo.our) == (Act.HEALTHY, "s-new")


def test_a_server_that_adds_an_unknown_default_needs_the_history_to_be_sure():
    stored = {**CONFIG, "region": "ny2"}  # not a documented default: compatible, not equal
    first = step(Polled(dep(spec("s-new", stored, dtHealthy="t", **APPLIED))))
    assert first.act is Act.FETCH_HISTORY
    history = [spec("s-new", stored), OLD]
    d = step(Polled(dep(spec("s-new", stored, dtHealthy="t", **APPLIED)), history=history))
    assert (d.act, d.memo.our) == (Act.HEALTHY, "s-new")  # the only version since the upsert
    two_new = [spec("s-new", stored), spec("s-mid", {**CONFIG, "image": "x"}), OLD]
    d = step(Polled(dep(spec("s-new", stored)), history=two_new))
    assert d.act is Act.WAIT and d.memo.our is None  # not alone any more: not proven ours


def test_our_git_sha_proves_a_compatible_spec_ours_and_another_sha_disproves_it():
    stored = {**CONFIG, "region": "ny2"}
    mine = {"gitHeaders": {"x-git-sha": "abc"}}
    d = step(Polled(dep(spec("s-new", stored, metadata=mine, **APPLIED, dtHealthy="t"))),
             sha="abc")  # fmt: skip
    assert (d.act, d.memo.our) == (Act.HEALTHY, "s-new")
    theirs = {"gitHeaders": {"x-git-sha": "fff"}}
    live = spec("s-new", CONFIG, metadata=theirs, **APPLIED, dtHealthy="t")
    d = step(Polled(dep(live), history=[live, OLD]), sha="abc")
    assert d.act is Act.WAIT and d.memo.our is None  # equal data, other commit: not ours


def test_a_newer_different_spec_supersedes_ours_and_an_identical_one_is_followed():
    memo = Memo(our="s-new")
    other = spec("s-next", {**CONFIG, "image": "nginx:3"})
    history = [other, spec("s-new"), OLD]
    d = step(Polled(dep(other), history=history), memo)
    assert d.act is Act.SUPERSEDED and d.message == "s-next"
    twin = spec("s-twin", CONFIG, **APPLIED, dtHealthy="t")
    d = step(Polled(dep(twin), history=[twin, spec("s-new"), OLD]), memo)
    assert (d.act, d.memo.our) == (Act.HEALTHY, "s-twin") and "following it" in d.notes[0]
    older_still_shown = step(Polled(dep(OLD), history=history), memo)
    assert older_still_shown.act is Act.WAIT


def test_404_is_tolerated_for_the_grace_then_means_deleted():
    assert step(Polled(None), now=T0 + 10).act is Act.WAIT
    d = step(Polled(None), now=T0 + 61)
    assert d.act is Act.FAILED and "deleted while waiting" in d.message


def test_pre_apply_error_fails_at_once():
    d = step(Polled(dep(spec("s-new", error="integration download failed"))))
    assert d.act is Act.FAILED and "could not apply spec s-new" in d.message


SPELLINGS = ["errored", "error", "Errored", "failed", "Failed", "ERROR", "CrashLoopBackOff",
             "ErrImagePull", "ImagePullBackOff"]  # fmt: skip


@pytest.mark.parametrize("state", SPELLINGS)
def test_failure_words_in_any_spelling_fail_after_the_grace(state):
    inst = {"id": "i1", "instanceId": "demo-1", "state": state, "stateMessage": "Back-off"}
    runs = [{"id": "r-new", "replicas": 1, "instances": [inst]}]
    live = dep(spec("s-new", **APPLIED))
    first = step(Polled(live, runs=runs), now=T0 + 5)
    assert first.act is Act.WAIT and first.memo.first_bad == T0 + 5
    later = step(Polled(live, runs=runs), first.memo, now=T0 + 36)
    assert later.act is Act.FAILED and f"demo-1 {state}: Back-off" in later.message


def test_classify_unknown_states_are_neither_success_nor_failure():
    assert classify("Running") == classify("healthy") == classify("pending") == "progress"
    assert classify("CrashLoopBackOff") == classify("error") == "failed"
    assert classify("Wobbling") == "unknown"
    runs = [{"id": "r-new", "replicas": 1, "readyReplicas": 1,
             "instances": [{"id": "i1", "instanceId": "demo-1", "state": "Wobbling"}]}]  # fmt: skip
    d = step(Polled(dep(spec("s-new", **APPLIED)), runs=runs), now=T0 + 100)
    assert d.act is Act.WAIT and "unknown state 'Wobbling'" in d.message


def test_only_runs_of_our_spec_count():
    old_crash = {
        "id": "r-old",
        "replicas": 1,
        "instances": [{"id": "i-old", "state": "errored", "stateMessage": "boom"}],
    }
    ours = {"id": "r-new", "replicas": 1,
            "instances": [{"id": "i-new", "state": "running"}]}  # fmt: skip
    seen = frozenset({"r-old", "i-old"})
    for order in ([old_crash, ours], [ours, old_crash]):
        d = step(Polled(dep(spec("s-new", **APPLIED)), runs=order), now=T0 + 999,
                 seen_before=seen, tgt=None)  # fmt: skip
        assert d.act is Act.WAIT and "boom" not in d.message
    # a server rolling one run in place: only the new instances of the old run are ours
    instances = [{"id": "i-old", "state": "errored"}, {"id": "i-new", "state": "error"}]
    in_place = {"id": "r-old", "replicas": 1, "instances": instances}
    assert [i["id"] for r in our_runs([in_place], seen) for i in r["instances"]] == ["i-new"]


def test_disabled_with_no_run_or_a_draining_zero_replica_run_of_ours():
    off = {**CONFIG, "enabled": False}
    live = dep(spec("s-new", off, **APPLIED))
    tgt = target(config=off, seen_before=frozenset({"r-old", "i"}))
    for runs in (
        [],
        [{"id": "r-drain", "replicas": 0, "instances": []}],
        [{"id": "r-old", "replicas": 1, "instances": [{"id": "i", "state": "running"}]}],
    ):
        d = decide(tgt, Memo(), Polled(live, runs=runs), T0 + 1, OPTS)
        assert d.act is Act.DISABLED, runs
    still_up = [{"id": "r-new", "replicas": 1, "instances": []}]
    assert decide(tgt, Memo(), Polled(live, runs=still_up), T0 + 1, OPTS).act is Act.WAIT


def test_a_verbatim_server_without_replicas_is_not_taken_for_disabled():
    live = dep(spec("s-new", {k: v for k, v in CONFIG.items()}, **APPLIED))  # no replicas key
    d = step(Polled(live, runs=[]))
    assert d.act is Act.WAIT  # our config says replicas 1 (the default), so wait for healthy


def test_identify_find_ours_only_after_the_previous_spec():
    history = [spec("s3", {**CONFIG, "image": "x"}), spec("s2"), OLD, spec("s0")]
    assert identify.find_ours(history, "s-old", CONFIG, None) == "s2"
    assert identify.find_ours([OLD, spec("s0")], "s-old", CONFIG, None) is None
    assert identify.is_newer(history, "s3", "s2") and not identify.is_newer(history, "s-old", "s2")


def test_validated_outputs():
    assert endpoint_url("d1.Example.com") == "https://d1.example.com"
    assert endpoint_url("http://127.0.0.1:8123") == "http://127.0.0.1:8123"  # run mode
    for bad in (
        "x\n::set-output name=a::b",
        "ftp://x",
        "http://x/y?z",
        "a b",
        "",
        None,
        5,
        "x" * 300,
        "http://x\n::warning::y",
    ):
        assert endpoint_url(bad) is None
    assert valid_id("6f1c2f7e-8a9b-4c3d-9e0f-1a2b3c4d5e6f", "id")
    for bad in ("a\nb", "", None, "x" * 200, "../x"):
        with pytest.raises(ApiError):
            valid_id(bad, "deployment id")
