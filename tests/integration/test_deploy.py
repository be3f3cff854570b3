"""deploy and plan through the real HTTP path against the emulator (and the real registry)."""

from __future__ import annotations

import io
import json
import threading
import time

import deploy_calls as dc
import pytest

from paperspace_deploy import deploy, registry
from paperspace_deploy.api.errors import ApiUnavailable, AuthenticationFailed
from paperspace_deploy.api.retry import RetryPolicy
from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode, InputError, RolloutFailed, Superseded
from paperspace_deploy.io import Io

pytestmark = pytest.mark.integration
FAST = deploy.WaitOptions(poll_interval=0.02, grace=1.0, error_grace=0.03)


def run(emulator, spec, **kw):
    kw.setdefault("wait_options", FAST)
    kw.setdefault("timeout", 10)
    kw.setdefault("image", "nginx:1.25")
    return dc.run_deploy(
        spec, project_id=emulator.project_id, environ=emulator.env(**kw.pop("env", {})), **kw
    )


def cli(emulator, *argv, env=None):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Io(stdout=out, stderr=err, environ=emulator.env(**(env or {}))))
    return code, out.getvalue(), err.getvalue()


def test_create_then_update_then_unchanged(emulator, make_spec):
    spec = make_spec()
    first = run(emulator, spec)
    assert (first.state, first.outcome) == ("healthy", "applied")
    dep = emulator.state.deployments[first.deployment_id]
    assert first.spec_id == dep.specs[-1].id
    assert first.endpoint == f"https://{dep.endpoint}"
    second = run(emulator, spec, image="nginx:1.26")
    assert second.deployment_id == first.deployment_id and second.spec_id != first.spec_id
    assert dep.specs[-1].data["image"] == "nginx:1.26"
    third = run(emulator, spec, image="nginx:1.26", skip_unchanged=True)
    assert (third.state, third.outcome, third.changed) == ("unchanged", "unchanged", False)
    assert len(dep.specs) == 2


def test_git_headers_reach_spec_metadata(emulator, make_spec):
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_REF_NAME": "main",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_EVENT_NAME": "push",
    }
    result = run(emulator, make_spec(), env=env)
    spec = emulator.state.deployments[result.deployment_id].specs[-1]
    assert spec.metadata == {
        "gitHeaders": {
            "x-git-host": "github",
            "x-git-actor": "octocat",
            "x-git-owner": "acme",
            "x-git-repo": "app",
            "x-git-ref": "main",
            "x-git-sha": "a" * 40,
        }
    }


def test_disabled_succeeds_as_disabled(emulator, make_spec):
    result = run(emulator, make_spec(enabled=False))
    assert result.state == "disabled"
    zero = run(
        emulator,
        make_spec(name="zero", resources={"machineType": "C4", "ports": [80], "replicas": 0}),
    )
    assert zero.state == "disabled"


def test_pre_apply_error_fails_fast_with_platform_message(emulator, make_spec):
    env = [{"name": "PSD_EMULATOR_MODE", "value": "pre-apply-error"}]
    with pytest.raises(RolloutFailed, match=r"could not apply spec .*integration download failed"):
        run(emulator, make_spec(env=env))


def test_crash_loop_fails_with_instance_message(emulator, make_spec):
    env = [{"name": "PSD_EMULATOR_MODE", "value": "crash-loop"}]
    start = time.monotonic()
    # the state word varies by profile (errored, error, Errored, CrashLoopBackOff)
    with pytest.raises(
        RolloutFailed, match=r"failed: \S+ \w+: Back-off restarting .*CrashLoopBackOff"
    ):
        run(emulator, make_spec(env=env))
    assert time.monotonic() - start < 3  # failed on the signal, not at the 10 s deadline


def test_image_not_pullable_with_wrong_registry_password(emulator, registry, tiny_image, make_spec):
    emulator.add_registry("ci-registry", registry, password="wrong-password")
    spec = make_spec(image=tiny_image, containerRegistry="ci-registry")
    with pytest.raises(RolloutFailed) as info:
        run(emulator, spec, image=None)
    assert f'Failed to pull image "{tiny_image}"' in str(info.value)
    assert "unauthorized" in str(info.value)
    assert registry.password not in str(info.value)


def test_pullable_image_with_right_password(emulator, registry, tiny_image, make_spec):
    emulator.add_registry("ci-registry", registry)
    spec = make_spec(image=tiny_image, containerRegistry="ci-registry")
    assert run(emulator, spec, image=None).state == "healthy"


def test_unknown_registry_name_is_a_finding_at_its_line(emulator, make_spec):
    emulator.state.add_registry(
        {"name": "ci-registry", "url": "https://ghcr.io", "username": "u", "password": "p"}
    )
    spec = make_spec(containerRegistry="ci-regsitry")
    with pytest.raises(deploy.SpecRejected) as info:
        run(emulator, spec)
    (finding,) = info.value.findings
    line = spec.read_text().splitlines().index("containerRegistry: ci-regsitry") + 1
    assert (finding.rule, finding.line) == ("registry-unknown", line)
    assert "did you mean 'ci-registry'" in finding.message
    assert emulator.state.upserts == 0  # nothing changed


def test_wrong_project_id(emulator, make_spec):
    with pytest.raises(InputError, match="project not found: pwrong00001"):
        dc.run_deploy(make_spec(), project_id="pwrong00001", image="x", environ=emulator.env())


def test_bad_api_key_exit_1_without_echoing_it(emulator, make_spec):
    with pytest.raises(AuthenticationFailed) as info:
        run(emulator, make_spec(), env={"PAPERSPACE_API_KEY": "not-a-valid-key-42"})
    assert "not-a-valid-key-42" not in info.value.render()
    code, out, err = cli(
        emulator, "deploy", "--spec", str(make_spec()), "--project-id",
        emulator.project_id, "--image", "x", env={"PAPERSPACE_API_KEY": "not-a-valid-key-42"},
    )  # fmt: skip
    assert code == ExitCode.INVALID and "rejected the API key" in err
    assert "not-a-valid-key-42" not in out + err


def test_server_validation_issues_map_to_spec_lines(emulator, make_spec):
    # our lint only warns about a probe port outside resources.ports; this server rejects it
    emulator.state.server_rules.add("probe-port")
    spec = make_spec(healthChecks={"readiness": {"path": "/ready", "port": 9000}})
    with pytest.raises(deploy.SpecRejected) as info:
        run(emulator, spec)
    (finding,) = [f for f in info.value.findings if f.rule == "api-validation"]
    line = spec.read_text().splitlines()[finding.line - 1]
    assert line.strip() == "port: 9000"
    assert "healthChecks.readiness.port" in finding.message
    assert "must be one of resources.ports" in finding.message
    assert emulator.state.upserts == 0
    code, _, err = cli(
        emulator, "deploy", "--spec", str(spec), "--project-id", emulator.project_id,
        "--image", "nginx:1",
    )  # fmt: skip
    assert code == ExitCode.INVALID
    assert f"{spec}:{finding.line}:{finding.col}: error: Paperspace rejected" in err


def test_timeout_never_healthy(emulator, make_spec):
    emulator.state.forced_mode = "never-healthy"
    start = time.monotonic()
    with pytest.raises(RolloutFailed, match=r"timed out after .*not healthy yet"):
        run(emulator, make_spec(), timeout=1.0)
    assert time.monotonic() - start < 1.0 + 0.3  # deadline plus about one poll


def test_stale_healthy_previous_spec_is_not_success(emulator, make_spec):
    spec = make_spec()
    run(emulator, spec, image="nginx:1")  # healthy spec 1
    emulator.state.timings.visible_after = 0.3  # the new spec stays invisible for a while
    start = time.monotonic()
    result = run(emulator, spec, image="nginx:2")
    assert time.monotonic() - start >= 0.3  # did not accept the old spec's dtHealthy
    dep = emulator.state.deployments[result.deployment_id]
    assert result.spec_id == dep.specs[-1].id and dep.specs[-1].data["image"] == "nginx:2"


def test_stale_healthy_until_deadline_fails(emulator, make_spec):
    spec = make_spec()
    run(emulator, spec, image="nginx:1")
    emulator.state.timings.visible_after = 60
    with pytest.raises(RolloutFailed, match="not yet observed"):
        run(emulator, spec, image="nginx:2", timeout=1.0)


def test_new_deployment_404_tolerated_within_grace(emulator, make_spec):
    emulator.state.timings.visible_after = 0.2
    result = run(emulator, make_spec())
    assert result.state == "healthy"


def test_superseded_names_the_other_spec(emulator, make_spec):
    emulator.state.timings.healthy_after = 0.5
    other = {}

    def supersede(dep, spec):
        if spec.data["image"] == "nginx:mine":

            def later():
                time.sleep(0.1)
                d, _ = emulator.state.upsert(
                    dep.project_id, {**spec.data, "image": "nginx:theirs"},
                    mode=("healthy", None),
                )  # fmt: skip
                other["id"] = d.specs[-1].id

            threading.Thread(target=later, daemon=True).start()

    emulator.state.after_upsert.append(supersede)
    with pytest.raises(Superseded) as info:
        run(emulator, make_spec(), image="nginx:mine")
    assert other["id"] in str(info.value) and "nginx:theirs" in str(info.value)
    assert info.value.exit_code == ExitCode.SUPERSEDED


def test_deleted_while_waiting(emulator, make_spec):
    emulator.state.timings.healthy_after = 5

    def delete_soon(dep, spec):
        threading.Timer(0.1, emulator.state.delete, args=(dep.id,)).start()

    emulator.state.after_upsert.append(delete_soon)
    with pytest.raises(RolloutFailed, match="deleted while waiting"):
        run(emulator, make_spec(), wait_options=deploy.WaitOptions(0.02, grace=0.05))


def test_interrupt_during_wait_reports_what_was_submitted(emulator, make_spec):
    emulator.state.timings.healthy_after = 30
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    start = time.monotonic()
    with pytest.raises(deploy.Interrupted) as info:
        run(emulator, make_spec(), stop=stop, timeout=30)
    assert time.monotonic() - start < 1.5
    dep = next(iter(emulator.state.deployments.values()))
    assert dep.id in str(info.value) and dep.specs[-1].id in str(info.value)
    assert info.value.exit_code == ExitCode.INTERRUPTED


def test_no_wait_returns_after_upsert(emulator, make_spec):
    emulator.state.timings.healthy_after = 30
    result = run(emulator, make_spec(), wait=False)
    assert result.state == "submitted" and result.deployment_id


def test_lint_errors_stop_before_any_api_call(emulator, make_spec):
    spec = make_spec(resources={"machineType": "C4", "ports": "eighty"})
    with pytest.raises(deploy.SpecRejected):
        run(emulator, spec)
    assert emulator.server.total_requests() == 0


def test_two_concurrent_deploys_of_same_spec(emulator, make_spec):
    emulator.state.timings.healthy_after = 0.2
    spec = make_spec()
    results, errors = [], []

    def one():
        try:
            results.append(run(emulator, spec, timeout=10))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    assert not any(t.is_alive() for t in threads), "a deploy hung"
    assert errors == []
    assert len(emulator.state.deployments) == 1
    dep = next(iter(emulator.state.deployments.values()))
    assert {r.deployment_id for r in results} == {dep.id}
    assert all(r.state == "healthy" for r in results)
    assert {r.spec_id for r in results} <= {s.id for s in dep.specs}


def test_plan_diff_and_no_op(emulator, make_spec):
    spec = make_spec()
    new = dc.plan(spec, project_id=emulator.project_id, image="nginx:1", environ=emulator.env())
    assert not new.exists and new.changed
    run(emulator, spec, image="nginx:1")
    same = dc.plan(spec, project_id=emulator.project_id, image="nginx:1", environ=emulator.env())
    assert same.no_op and same.changes == []
    changed = dc.plan(spec, project_id=emulator.project_id, image="nginx:2", environ=emulator.env())
    assert [(c.path, c.before, c.after) for c in changed.changes] == [
        ("image", "nginx:1", "nginx:2")
    ]
    assert emulator.state.upserts == 1  # plan changed nothing


def test_cli_deploy_json_and_plan_text(emulator, make_spec):
    spec = str(make_spec())
    code, out, err = cli(
        emulator, "deploy", "--spec", spec, "--project-id", emulator.project_id,
        "--image", "nginx:1", "--format", "json", "--poll-interval", "0.02",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["state"] == "healthy" and result["endpoint"].startswith("https://")
    code, out, err = cli(
        emulator, "plan", "--spec", spec, "--project-id", emulator.project_id,
        "--image", "nginx:2",
    )  # fmt: skip
    assert code == 0 and '~ image: "nginx:1" -> "nginx:2"' in out


def test_cli_rollout_failure_exit_5(emulator, make_spec):
    env = [{"name": "PSD_EMULATOR_MODE", "value": "pre-apply-error"}]
    spec = str(make_spec(env=env))
    code, _, err = cli(
        emulator, "deploy", "--spec", spec, "--project-id", emulator.project_id,
        "--image", "nginx:1", "--poll-interval", "0.02",
    )  # fmt: skip
    assert code == ExitCode.ROLLOUT_FAILED and "could not apply" in err
    assert "Traceback" not in err


def test_cli_api_down_exit_3(make_spec):  # no emulator: the same under every profile
    out, err = io.StringIO(), io.StringIO()
    env = {"PAPERSPACE_API_URL": "http://127.0.0.1:9/v1", "PAPERSPACE_API_KEY": "k"}
    code = main(
        ["deploy", "--spec", str(make_spec()), "--project-id", "p0000000001", "--image",
         "nginx:1", "--timeout", "3"],
        Io(stdout=out, stderr=err, environ=env),
    )  # fmt: skip
    assert code == ExitCode.UNAVAILABLE and "unavailable" in err.getvalue().lower()
    assert "Traceback" not in err.getvalue()


def test_api_down_is_unavailable(make_spec):
    with pytest.raises(ApiUnavailable, match="failed after"):
        dc.run_deploy(
            make_spec(), project_id="p0000000001", image="x", timeout=5,
            environ={"PAPERSPACE_API_URL": "http://127.0.0.1:9/v1", "PAPERSPACE_API_KEY": "k"},
            client_options={"policy": RetryPolicy(base=0.01)},
        )  # fmt: skip


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_cli_signal_during_wait_exits_130_promptly(emulator, make_spec, sig):
    import os
    import signal
    import subprocess
    import sys

    emulator.state.timings.healthy_after = 60
    env = {**os.environ, **emulator.env()}
    with subprocess.Popen(
        [sys.executable, "-m", "paperspace_deploy", "deploy", "--spec", str(make_spec()),
         "--project-id", emulator.project_id, "--image", "nginx:1", "--poll-interval", "0.05"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        deadline = time.monotonic() + 10
        while emulator.state.upserts == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert emulator.state.upserts == 1
        time.sleep(0.1)
        sent = time.monotonic()
        proc.send_signal(getattr(signal, sig))
        _out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    dep = next(iter(emulator.state.deployments.values()))
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert elapsed < 2
    assert dep.id in err and dep.specs[-1].id in err and "Traceback" not in err


@pytest.mark.parametrize("mode", ["crash-loop", "pre-apply-error"])
def test_hostile_platform_messages_cannot_become_workflow_commands(emulator, make_spec, mode):
    hostile = "boom\n::add-mask::x\n##[error file=README.md]forged\r\n::stop-commands::t"

    def poison(dep, spec):
        spec.mode, spec.message = mode, hostile

    emulator.state.after_upsert.append(poison)
    code, out, err = cli(
        emulator, "deploy", "--spec", str(make_spec()), "--project-id", emulator.project_id,
        "--image", "nginx:1", "--poll-interval", "0.02", "--error-grace", "0", "--timeout", "30",
    )  # fmt: skip
    assert code == ExitCode.ROLLOUT_FAILED, err
    assert "boom" in err and "forged" in err
    for line in (out + err).splitlines():
        assert not line.lstrip().startswith("::") and "##[" not in line


def test_cli_bad_inputs_exit_codes(emulator, make_spec):
    spec = str(make_spec())
    code, _, err = cli(
        emulator, "deploy", "--spec", spec, "--project-id", emulator.project_id,
        "--image", "x", env={"PAPERSPACE_API_KEY": ""},
    )  # fmt: skip
    assert code == ExitCode.INVALID and "API key is required" in err
    code, _, err = cli(emulator, "deploy", "--spec", spec, "--timeout", "0", "--image", "x")
    assert code == ExitCode.USAGE and "--timeout" in err
    code, _, err = cli(emulator, "deploy", "--spec", spec, "--image", "x")
    assert code == ExitCode.INVALID and "project id is required" in err
    code, _, err = cli(emulator, "deploy", "--spec", spec, "--project-id", "p1;rm", "--image", "x")
    assert code == ExitCode.INVALID and "invalid format" in err
    code, _, err = cli(emulator, "deploy", "--spec", str(make_spec().parent / "missing.yaml"),
                       "--project-id", emulator.project_id, "--image", "x")  # fmt: skip
    assert code in (ExitCode.USAGE, ExitCode.INVALID) and "Traceback" not in err
    assert emulator.state.upserts == 0


def test_key_with_trailing_newline_is_trimmed(emulator, make_spec):
    result = run(emulator, make_spec(), env={"PAPERSPACE_API_KEY": emulator.key + "\n"})
    assert result.state == "healthy"


def test_offline_registry_list_replaces_the_api_lookup(emulator, make_spec):
    spec = make_spec(containerRegistry="team-ghcr")
    with pytest.raises(deploy.SpecRejected) as info:
        run(emulator, spec, registries=registry.from_offline(["team-ghcr-old"], None))
    assert "did you mean 'team-ghcr-old'" in info.value.findings[0].message
    assert "GET /container-registries" not in emulator.server.requests


# -------------------------------------------------------------- the live API's open behaviours
# (issue 10) These run under every variance profile like the rest of this file; the comments say
# which profile each one is about.


def test_v0alpha0_spec_without_port_first_deploy_and_update(emulator, variance, tmp_path):
    # defaults-filled: the server stores `port: 80`, `enabled: true`, `replicas: 1` we never sent
    spec = tmp_path / "legacy.yaml"
    spec.write_text("apiVersion: v0alpha0\nname: legacy\nimage: nginx:1\n"
                    "resources:\n  instanceType: C4\n")  # fmt: skip
    first = run(emulator, spec, image="nginx:1")
    dep = emulator.state.deployments[first.deployment_id]
    assert (first.state, first.spec_id) == ("healthy", dep.specs[-1].id)
    if "defaults-filled" in variance:
        assert dep.specs[-1].data["port"] == 80  # what makes byte equality fail
    second = run(emulator, spec, image="nginx:2")
    assert (second.state, second.outcome) == ("healthy", "applied")
    assert second.deployment_id == first.deployment_id
    assert second.spec_id == dep.specs[-1].id != first.spec_id
    code, out, err = cli(
        emulator, "deploy", "--spec", str(spec), "--project-id", emulator.project_id,
        "--image", "nginx:3", "--format", "json", "--poll-interval", "0.02",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["specId"] == dep.specs[-1].id  # the output names OUR new spec


def test_cli_crash_loop_any_spelling_exit_5_long_before_the_timeout(emulator, make_spec):
    # states-lower spells it `error`, states-legacy `Errored`, states-k8s `CrashLoopBackOff`
    env = [{"name": "PSD_EMULATOR_MODE", "value": "crash-loop"}]
    start = time.monotonic()
    code, _, err = cli(
        emulator, "deploy", "--spec", str(make_spec(env=env)), "--project-id",
        emulator.project_id, "--image", "nginx:1", "--poll-interval", "0.05",
        "--error-grace", "0.2", "--timeout", "60",
    )  # fmt: skip
    assert code == ExitCode.ROLLOUT_FAILED, err
    assert "Back-off restarting failed container" in err
    assert time.monotonic() - start < 10  # the instance message, not the 60 s deadline


def test_a_failing_old_run_never_fails_a_healthy_new_spec(emulator, make_spec):
    # runs-many: the previous spec's crash-looping run is still listed (first or last)
    crash = [{"name": "PSD_EMULATOR_MODE", "value": "crash-loop"}]
    spec = make_spec(env=crash)
    with pytest.raises(RolloutFailed):
        run(emulator, spec)
    emulator.state.timings.healthy_after = 0.3  # polls see the runs before dtHealthy
    result = run(emulator, make_spec(env=[{"name": "OK", "value": "1"}]))
    assert result.state == "healthy"


def test_disabling_a_running_deployment(emulator, make_spec):
    # disabled-draining: a 0-replica run stays listed for longer than this test runs
    run(emulator, make_spec())
    result = run(emulator, make_spec(enabled=False))
    assert result.state == "disabled"


def test_latest_with_v0_fields_is_an_error_before_any_request(emulator, tmp_path):
    spec = tmp_path / "app.yaml"
    spec.write_text("apiVersion: latest\nname: demo\nimage: nginx:1\nport: 7860\n"
                    "resources:\n  instanceType: A4000\n")  # fmt: skip
    code, _, err = cli(
        emulator, "deploy", "--spec", str(spec), "--project-id", emulator.project_id,
        "--image", "nginx:1",
    )  # fmt: skip
    assert code == ExitCode.INVALID
    assert f"{spec}:4:1: error: `port` is a v0alpha0 field" in err
    assert f"{spec}:6:3: error: `resources.instanceType` is a v0alpha0 field" in err
    assert (
        "rewrite it for v1: apiVersion: v1, resources: {machineType: A4000, ports: [7860]}" in err
    )
    assert emulator.server.total_requests() == 0


def test_a_server_that_refuses_latest_with_v0_fields_gets_an_actionable_message(
    emulator, variance, tmp_path
):
    # latest-v1-only (+ zod-union): the server answers one vague issue; we explain it
    from paperspace_deploy.spec import lint_file

    path = tmp_path / "app.yaml"
    path.write_text("apiVersion: latest\nname: demo\nimage: nginx:1\nport: 7860\n"
                    "resources:\n  instanceType: A4000\n")  # fmt: skip
    loaded = lint_file(path)  # plain lint: a warning only, so it reaches the server

    def send():
        return dc.run_deploy(spec=loaded, project_id=emulator.project_id, image="nginx:1",
                                 environ=emulator.env(), wait_options=FAST, timeout=10)  # fmt: skip

    if "latest-v1-only" not in variance:
        assert send().state == "healthy"  # the 2023 reading: accepted in the v0 shape
        return
    with pytest.raises(deploy.SpecRejected) as info:
        send()
    by_line = {(f.line, f.col): f.message for f in info.value.findings}
    head = by_line[(1, 1)]  # at the apiVersion key
    assert "Paperspace rejected the spec" in head and "(port, resources.instanceType)" in head
    assert (
        "rewrite it for v1: apiVersion: v1, resources: {machineType: A4000, ports: [7860]}" in head
    )
    assert "`port` is a v0alpha0 field" in by_line[(4, 1)]
    assert "resources.machineType" in by_line[(6, 3)]  # the key to rename, at its line
    assert emulator.state.upserts == 0


def test_public_registry_connection_offline_deploys_green_with_a_notice(emulator, make_spec):
    emulator.state.add_registry({"name": "hub", "url": "https://index.docker.io",
                                 "username": "acme", "password": "never-sent"})  # fmt: skip
    emulator.state.timings.healthy_after = 0.3  # a poll sees the instances' notice first
    spec = make_spec(image="docker.io/acme/private-app:1", containerRegistry="hub")
    code, out, err = cli(
        emulator, "deploy", "--spec", str(spec), "--project-id", emulator.project_id,
        "--poll-interval", "0.05",
    )  # fmt: skip
    assert code == 0, err
    assert "healthy" in out
    assert "not checked offline" in err and "--pull-check online" in err
