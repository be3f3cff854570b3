"""A failing rollout on the real path, against the emulator over HTTP, under every variance
profile: the failing instances' logs (bounded, scrubbed, neutralised; an erroring logs route is
one warning), and --rollback-on-failure (restores the previous spec; never over a newer spec,
never without a previous one)."""

from __future__ import annotations

import io
import secrets
import threading
import time

import deploy_calls as dc
import pytest

from paperspace_deploy import deploy
from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode, RolloutFailed, Superseded
from paperspace_deploy.io import Io
from paperspace_deploy.redact import run_secrets
from paperspace_deploy.specdiff import same_spec

pytestmark = pytest.mark.integration
FAST = deploy.WaitOptions(poll_interval=0.02, grace=1.0, error_grace=0.03)
CRASH = [{"name": "PSD_EMULATOR_MODE", "value": "crash-loop"}]


def run(emulator, spec, **kw):
    kw.setdefault("wait_options", FAST)
    kw.setdefault("timeout", 10)
    kw.setdefault("image", "nginx:1.25")
    return dc.run_deploy(spec, project_id=emulator.project_id, environ=emulator.env(), **kw)


def failure(emulator, spec, **kw) -> tuple[RolloutFailed, deploy.DeployResult]:
    with pytest.raises(RolloutFailed) as err:
        run(emulator, spec, **kw)
    assert isinstance(err.value.result, deploy.DeployResult)
    return err.value, err.value.result


def cli(emulator, *argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Io(stdout=out, stderr=err, environ=emulator.env()))
    return code, out.getvalue(), err.getvalue()


def test_a_crash_loop_shows_the_failing_instances_last_lines_oldest_first(emulator, make_spec):
    token = f"tok-{secrets.token_hex(8)}"
    run_secrets().add(token)  # a secret of this run (as the action registers its inputs)
    exc, result = failure(emulator, make_spec(env=CRASH), image=f"example.com/app:{token}")
    assert result.state == "failed" and result.deployment_id and result.spec_id
    logs = result.failure_logs
    assert logs is not None and logs.warning is None and len(logs.instances) == 1
    (inst,) = logs.instances
    assert inst.instance.startswith("demo-")
    assert inst.lines[0] == "pulling image example.com/app:***"  # scrubbed, oldest first
    assert "CrashLoopBackOff" in inst.lines[-1]
    assert token not in repr(result.failure_logs) and token not in str(exc)


def test_the_cli_prints_them_and_still_exits_5(emulator, make_spec):
    spec = make_spec(env=CRASH)
    code, _out, err = cli(emulator, "deploy", "--spec", str(spec), "--project-id",
                          emulator.project_id, "--image", "nginx:1.25", "--poll-interval",
                          "0.02", "--error-grace", "0")  # fmt: skip
    assert code == ExitCode.ROLLOUT_FAILED, err
    assert "last 2 log line(s) of demo-" in err and "  pulling image nginx:1.25" in err
    assert "warning:" not in err


def test_a_failing_logs_route_is_one_warning_never_a_worse_exit(emulator, make_spec):
    emulator.faults.add("status:500@GET /deployments/*/logs x50")
    spec = make_spec(env=CRASH)
    code, _out, err = cli(emulator, "deploy", "--spec", str(spec), "--project-id",
                          emulator.project_id, "--image", "nginx:1.25", "--poll-interval",
                          "0.02", "--error-grace", "0")  # fmt: skip
    assert code == ExitCode.ROLLOUT_FAILED, err
    assert err.count("warning: could not read the instance logs") == 1, err
    assert "Traceback" not in err


def test_a_timeout_still_shows_the_logs_after_the_deadline(emulator, make_spec):
    env = [{"name": "PSD_EMULATOR_MODE", "value": "never-healthy"}]
    t0 = time.monotonic()
    exc, result = failure(emulator, make_spec(env=env), timeout=1.0)
    assert "timed out" in str(exc)
    assert result.failure_logs is not None and result.failure_logs.instances
    assert result.failure_logs.instances[0].lines[0] == "pulling image nginx:1.25"
    assert time.monotonic() - t0 < 1.0 + 5.0 + 1.0  # the logs' own bounded budget


def test_a_pre_apply_error_has_no_instances_and_says_so(emulator, make_spec):
    env = [{"name": "PSD_EMULATOR_MODE", "value": "pre-apply-error"}]
    _exc, result = failure(emulator, make_spec(env=env))
    assert result.failure_logs is not None and not result.failure_logs.instances
    assert "no instance of our spec" in (result.failure_logs.note or "")


# -- --rollback-on-failure -------------------------------------------------------------------


def test_rollback_re_applies_the_previous_spec_and_waits_for_it(emulator, make_spec):
    first = run(emulator, make_spec())
    dep = emulator.state.deployments[first.deployment_id]
    exc, result = failure(emulator, make_spec(env=CRASH), image="nginx:1.26",
                          rollback_on_failure=True)  # fmt: skip
    rollback = result.rollback
    assert rollback is not None and rollback.state == "healthy", rollback
    assert rollback.restored == first.spec_id and rollback.spec_id == dep.specs[-1].id
    assert len(dep.specs) == 3 and same_spec(dep.specs[-1].data, dep.specs[0].data)
    assert dep.specs[-1].data["image"] == "nginx:1.25"
    assert f"rollback: spec {rollback.spec_id} (a copy of {first.spec_id}) is healthy" in str(exc)
    assert result.failure_logs and result.failure_logs.instances  # our failure's logs, kept
    assert result.as_dict()["rollback"]["state"] == "healthy"


def test_a_rollback_that_fails_too_is_reported_beside_ours(emulator, make_spec):
    failure(emulator, make_spec(env=CRASH))  # the previous spec was broken as well
    exc, result = failure(emulator, make_spec(env=CRASH), image="nginx:1.26",
                          rollback_on_failure=True)  # fmt: skip
    assert result.rollback is not None and result.rollback.state == "failed"
    assert str(exc).startswith(f"rollout of spec {result.spec_id} failed")
    assert "; rollback: rollback to spec" in str(exc) and "CrashLoopBackOff" in str(exc)
    assert exc.exit_code == ExitCode.ROLLOUT_FAILED and emulator.spec_count() == 3


def test_no_rollback_without_a_previous_spec(emulator, make_spec):
    exc, result = failure(emulator, make_spec(env=CRASH), rollback_on_failure=True)
    assert result.rollback is not None and result.rollback.state == "skipped"
    assert "no previous spec" in str(exc) and emulator.spec_count() == 1


def test_no_rollback_without_the_option(emulator, make_spec):
    run(emulator, make_spec())
    _exc, result = failure(emulator, make_spec(env=CRASH), image="nginx:1.26")
    assert result.rollback is None and emulator.spec_count() == 2


def test_a_newer_spec_is_never_rolled_back_over(emulator, make_spec):
    first = run(emulator, make_spec())
    dep = emulator.state.deployments[first.deployment_id]
    spec = make_spec(env=CRASH)

    def another_run() -> None:  # a concurrent deploy of the same deployment
        while len(dep.specs) < 2:
            time.sleep(0.01)
        time.sleep(0.2)
        run(emulator, spec, wait=False, image="nginx:1.27")

    thread = threading.Thread(target=another_run)
    thread.start()
    try:
        with pytest.raises(Superseded) as err:
            run(emulator, spec, image="nginx:1.26", rollback_on_failure=True,
                wait_options=deploy.WaitOptions(poll_interval=0.02, grace=1.0,
                                                error_grace=30))  # fmt: skip
    finally:
        thread.join()
    assert err.value.exit_code == ExitCode.SUPERSEDED
    assert len(dep.specs) == 3 and dep.specs[-1].data["image"] == "nginx:1.27"  # untouched
    assert isinstance(err.value.result, deploy.DeployResult) and err.value.result.rollback is None


# -- polling -------------------------------------------------------------------------------------


def test_polls_start_fast_and_a_429_ends_the_ramp(emulator, make_spec):
    if emulator.state.variance.names:
        pytest.skip("the schedule does not depend on the API's readings: default profile only")
    emulator.state.timings.apply_after, emulator.state.timings.healthy_after = 0.1, 1.5
    wait = deploy.WaitOptions(poll_interval=1.0, grace=5.0, jitter=0)
    polls = emulator.server.requests

    def deploy_once(image: str) -> int:
        before = polls.get("GET /deployments/{id}", 0)
        assert run(emulator, make_spec(), image=image, wait_options=wait).state == "healthy"
        return polls.get("GET /deployments/{id}", 0) - before

    fast = deploy_once("nginx:1.25")
    assert fast >= 5  # 0.25 s pauses: several polls before the 1.5 s rollout is done
    emulator.faults.add("429:2@GET /deployments/*x1")  # Retry-After: 2 s, on the first poll
    throttled = deploy_once("nginx:1.26")
    assert throttled <= 2, throttled  # waited 2 s as asked, then no more fast polls
