"""`paperspace-deploy build` against the real Docker engine and the real htpasswd registry
(started by .ci/services.sh; `. /tmp/psd-dev/env` for the dev instance)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests
from runner_commands import process

from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.docker, pytest.mark.integration]
SHA = "0123456789abcdef0123456789abcdef01234567"


def repo(registry, name):
    return f"{registry.host}/it/{name}-{uuid.uuid4().hex[:8]}"


def context(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for rel, text in (files or {}).items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_text(text)
    return ctx


def env(registry=None, **extra) -> dict[str, str]:
    e = {
        "DOCKER_HOST": os.environ["DOCKER_HOST"],
        "HOME": os.environ["HOME"],
        "PAPERSPACE_DEPLOY_RETRY_BASE": "0.05",
    }
    if registry:
        e |= {"REGISTRY_USERNAME": registry.username, "REGISTRY_PASSWORD": registry.password}
    return e | extra


def github_env(tmp_path, registry=None, ref="refs/heads/main", event="push", **extra):
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"repository": {"default_branch": "main"}, "number": 7}))
    return env(
        registry,
        GITHUB_ACTIONS="true",
        GITHUB_SHA=SHA,
        GITHUB_REF=ref,
        GITHUB_EVENT_NAME=event,
        GITHUB_EVENT_PATH=str(payload),
        GITHUB_REPOSITORY="acme/demo",
        GITHUB_WORKSPACE=str(tmp_path),
        **extra,
    )


def run(argv, environ, cwd):
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", *argv], Io(stdout=out, stderr=err, environ=environ, cwd=cwd))
    return code, out.getvalue(), err.getvalue()


def manifest_digest(registry, repository: str, reference: str) -> str | None:
    path = repository.split("/", 1)[1]
    r = requests.head(
        f"{registry.url}/v2/{path}/manifests/{reference}",
        auth=(registry.username, registry.password),
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    return r.headers.get("Docker-Content-Digest") if r.status_code == 200 else None


def engine():
    import docker

    return docker.APIClient(base_url=os.environ["DOCKER_HOST"], timeout=60)


def runner_commands(text: str) -> list[tuple[str, str]]:
    """The commands the runner would process from this output (stop-commands honoured)."""
    return [(c.name, c.data) for c in process(text)]


def test_scratch_build_push_digest_matches_the_registry(tmp_path, registry, docker_host):
    ctx = context(
        tmp_path, "FROM scratch\nCOPY hello.txt /hello.txt\n", {"hello.txt": uuid.uuid4().hex}
    )
    image = repo(registry, "scratch")
    code, out, err = run([str(ctx), "--image", image, "--tag", "v1"], env(registry), tmp_path)
    assert code == 0, err
    ref = out.strip()
    assert re.fullmatch(re.escape(image) + r"@sha256:[0-9a-f]{64}", ref)
    assert manifest_digest(registry, image, "v1") == ref.split("@")[1]
    assert manifest_digest(registry, image, ref.split("@")[1]) == ref.split("@")[1]
    assert ": Pushed" in err and "registry confirms" in err
    assert registry.password not in out + err
    assert not (Path(os.environ["HOME"]) / ".docker" / "config.json").exists()


def test_run_step_on_base_image_with_github_tags_labels_and_no_injected_commands(
    tmp_path, registry, base_image
):
    ctx = context(
        tmp_path,
        f"FROM {base_image}\n"
        'LABEL note="##[add-mask]hello"\n'
        'RUN echo "::add-mask::hello" && echo "  ::warning title=x::injected from RUN" '
        '&& echo "::set-output name=result::pass" && echo "x ##[error file=README.md]forged"\n',
    )
    image = repo(registry, "busybox")
    code, out, err = run([str(ctx), "--image", image], github_env(tmp_path, registry), tmp_path)
    assert code == 0, err
    digest = out.strip().split("@")[1]
    for tag in ("main", "sha-0123456", "latest"):
        assert manifest_digest(registry, image, tag) == digest, tag

    seen = runner_commands(out + err)
    names = {name for name, _ in seen}
    assert names <= {"add-mask", "group", "endgroup", "stop-commands"}, seen
    masks = {data for name, data in seen if name == "add-mask"}
    assert registry.password in masks and "hello" not in masks
    assert "::add-mask::hello" in err  # shown as text, inside the stop-commands block

    labels = engine().inspect_image(f"{image}:main")["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == SHA
    assert labels["org.opencontainers.image.source"] == "https://github.com/acme/demo"
    assert labels["org.opencontainers.image.version"] == "main"
    history = json.dumps(engine().history(f"{image}:main")) + json.dumps(labels)
    assert registry.password not in history


def test_second_build_reuses_the_cache(tmp_path, registry, base_image):
    ctx = context(tmp_path, f"FROM {base_image}\nRUN echo cached-step > /f\n")
    args = [str(ctx), "--image", repo(registry, "cache"), "--tag", "t", "--no-push"]
    assert run(args, env(), tmp_path)[0] == 0
    code, _, err = run(args, env(), tmp_path)
    assert code == 0 and "Using cache" in err


def test_wrong_password_fails_before_building(tmp_path, registry):
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "x"})
    e = env(registry, REGISTRY_PASSWORD="wrong-" + uuid.uuid4().hex)
    code, out, err = run([str(ctx), "--image", repo(registry, "auth")], e, tmp_path)
    assert code == ExitCode.INVALID
    assert f"error: registry {registry.host} rejected the login" in err
    assert "Step 1/" not in err  # pre-flight: no build started
    assert "Traceback" not in err and e["REGISTRY_PASSWORD"] not in out + err
    assert "attempt 2" not in err  # never retried


def test_push_without_credentials_is_denied(tmp_path, registry):
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "x"})
    code, _, err = run([str(ctx), "--image", repo(registry, "anon")], env(), tmp_path)
    assert code == ExitCode.INVALID
    assert "rejected the push (no basic auth credentials)" in err


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("with_credentials", [True, False])
def test_unreachable_registry_is_retried_then_unavailable(tmp_path, registry, with_credentials):
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "x"})
    image = f"127.0.0.1:{_closed_port()}/it/unreachable"
    e = env(registry if with_credentials else None)
    code, _, err = run([str(ctx), "--image", image], e, tmp_path)
    assert code == ExitCode.UNAVAILABLE, err
    assert "after 3 attempts" in err and "connection refused" in err
    assert "attempt 3/3" in err and "Traceback" not in err


def test_failing_run_step_shows_that_step_and_the_engine_error(tmp_path, base_image):
    ctx = context(
        tmp_path,
        f"FROM {base_image}\nRUN echo first-step\nRUN echo the-failing-output && false\n",
    )
    code, out, err = run([str(ctx), "--image", "local/fail", "--no-push"], env(), tmp_path)
    assert code == ExitCode.INVALID
    assert out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: the build failed at Step 3/")
    assert "returned a non-zero code: 1" in last
    assert "the-failing-output" in err and "Traceback" not in err


def test_failing_step_in_github_mode_repeats_the_tail_inside_a_stop_block(tmp_path, base_image):
    ctx = context(tmp_path, f'FROM {base_image}\nRUN echo "::add-mask::leak" && false\n')
    e = github_env(tmp_path)
    code, out, err = run([str(ctx), "--image", "local/fail-gh", "--no-push"], e, tmp_path)
    assert code == ExitCode.INVALID
    assert "Failed build step" in err
    # the error line itself (printed by cli.main, outside any block) carries no command
    seen = runner_commands(out + err)
    assert {name for name, _ in seen} <= {"group", "endgroup", "stop-commands"}, seen


def test_missing_dockerfile(tmp_path):
    (tmp_path / "ctx").mkdir()
    code, _, err = run([str(tmp_path / "ctx"), "--image", "local/x"], env(), tmp_path)
    assert code == ExitCode.USAGE
    assert "error: Dockerfile not found" in err and "hint:" in err


def test_dockerfile_outside_workspace_is_refused(tmp_path):
    ctx = context(tmp_path, "FROM scratch\n")
    code, _, err = run(
        [str(ctx), "-f", "/etc/passwd", "--image", "local/x"],
        env(GITHUB_WORKSPACE=str(tmp_path)),
        tmp_path,
    )
    assert code == ExitCode.USAGE and "dockerfile path must be inside the workspace" in err


def test_daemon_down_names_docker_host(tmp_path):
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "x"})
    sock = f"unix://{tmp_path}/missing.sock"
    started = time.monotonic()
    code, _, err = run([str(ctx), "--image", "local/x"], env(DOCKER_HOST=sock), tmp_path)
    assert code == ExitCode.UNAVAILABLE
    assert f"cannot reach the Docker daemon at {sock} (DOCKER_HOST)" in err
    assert "Traceback" not in err and time.monotonic() - started < 5


def test_pull_request_builds_but_does_not_push(tmp_path, registry):
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "pr"})
    image = repo(registry, "pr")
    e = github_env(tmp_path, registry, ref="refs/pull/7/merge", event="pull_request")
    code, out, err = run([str(ctx), "--image", image], e, tmp_path)
    assert code == 0, err
    assert out.strip().startswith("sha256:")
    assert "not pushed" in err
    assert manifest_digest(registry, image, "pr-7") is None


def test_deadline_stops_a_stalled_build_and_the_engine_cancels_it(tmp_path, base_image):
    marker = uuid.uuid4().hex
    ctx = context(tmp_path, f"FROM {base_image}\nRUN echo {marker} && sleep 20\n")
    started = time.monotonic()
    code, _, err = run(
        [str(ctx), "--image", "local/slow", "--no-push", "--no-cache", "--timeout", "3"],
        env(),
        tmp_path,
    )
    assert code == ExitCode.UNAVAILABLE
    assert "build did not finish before the run's deadline" in err
    assert time.monotonic() - started < 10
    # in-process, nothing exits: the cut stream alone must make the engine stop the build
    for _ in range(50):
        left = [c for c in engine().containers(all=True) if marker in c["Command"]]
        if not left:
            break
        time.sleep(0.1)
    assert not left


def test_sensitive_context_warns_and_can_fail(tmp_path):
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "x", ".env": "TOKEN=canary123"})
    args = [str(ctx), "--image", "local/hygiene", "--no-push"]
    code, _, err = run([*args, "--build-arg", "NPM_TOKEN=canary456"], env(), tmp_path)
    assert code == 0, err
    assert "warning: the build context sends files that may hold secrets" in err
    assert ".env (environment file)" in err
    assert "NPM_TOKEN look like secrets" in err and "canary" not in err
    code, _, err = run([*args, "--fail-on-sensitive-context"], env(), tmp_path)
    assert code == ExitCode.INVALID and "Step 1/" not in err
    (ctx / ".dockerignore").write_text(".env\n")
    code, _, err = run(args, env(), tmp_path)
    assert code == 0 and "may hold secrets" not in err


def test_buildkit_only_syntax_gets_a_hint(tmp_path):
    ctx = context(tmp_path, "FROM scratch\nCOPY --chmod=644 a /a\n", {"a": "x"})
    code, _, err = run([str(ctx), "--image", "local/bk", "--no-push"], env(), tmp_path)
    assert code == ExitCode.INVALID
    assert "requires BuildKit" in err and "hint: the Dockerfile uses BuildKit-only syntax" in err


def test_build_and_push_api_returns_the_digest_ref(tmp_path, registry):
    from paperspace_deploy.api.retry import Deadline
    from paperspace_deploy.image.options import BuildOptions
    from paperspace_deploy.image.pipeline import build_and_push

    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": uuid.uuid4().hex})
    image = repo(registry, "api")
    opts = BuildOptions(
        context=ctx,
        dockerfile=None,
        image=image,
        tags=["a", "b"],
        build_args={},
        labels={},
        tag_rules=(),
        username=registry.username,
        password=registry.password,
        deadline=Deadline(120),
    )
    err = io.StringIO()
    result = build_and_push(opts, Io(stdout=io.StringIO(), stderr=err, environ=env(), cwd=ctx))
    assert result.pushed and result.tags == [f"{image}:a", f"{image}:b"]
    assert result.digest_ref == f"{image}@{result.digest}"
    assert manifest_digest(registry, image, "b") == result.digest
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    assert auth not in err.getvalue()


def test_interrupt_during_build_stops_promptly_and_leaves_no_container(tmp_path, base_image):
    import signal
    import subprocess
    import sys

    marker = uuid.uuid4().hex
    ctx = context(tmp_path, f"FROM {base_image}\nRUN echo {marker} && sleep 30\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paperspace_deploy",
            "build",
            str(ctx),
            "--image",
            "local/int",
            "--no-push",
            "--no-cache",
        ],
        env=env() | {"PATH": os.environ.get("PATH", "")},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = "x"
    while line.strip() != marker:  # the RUN step is running (its output, not the Step line)
        line = proc.stderr.readline()
        assert line, "build ended early"
    assert [c for c in engine().containers(all=True) if marker in c["Command"]]
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == ExitCode.INTERRUPTED and "interrupted" in err
    assert time.monotonic() - started < 5
    for _ in range(50):  # the engine cancels the build and removes its container
        running = [c for c in engine().containers(all=True) if marker in c["Command"]]
        if not running:
            break
        time.sleep(0.1)
    assert not running


def _seed_docker_config(registry, password: str) -> tuple[Path, bytes]:
    path = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{registry.username}:{password}".encode()).decode()
    data = json.dumps({"auths": {registry.host: {"auth": token}}}, indent=1).encode()
    path.write_bytes(data)
    return path, data


def test_stored_wrong_password_does_not_shadow_the_given_one(tmp_path, registry):
    path, before = _seed_docker_config(registry, "stale-wrong-password")
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": uuid.uuid4().hex})
    e = env(registry, DOCKER_CONFIG=os.environ["DOCKER_CONFIG"])
    code, _, err = run([str(ctx), "--image", repo(registry, "cfg")], e, tmp_path)
    assert code == 0, err
    assert path.read_bytes() == before  # config.json untouched, byte for byte


def test_stored_right_password_does_not_hide_a_wrong_given_one(tmp_path, registry):
    # docker-py's login() without reauth would answer from config.json without asking the
    # registry; the pre-flight must really check the password we were given.
    path, before = _seed_docker_config(registry, registry.password)
    ctx = context(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": "x"})
    e = env(registry, REGISTRY_PASSWORD="wrong", DOCKER_CONFIG=os.environ["DOCKER_CONFIG"])
    code, _, err = run([str(ctx), "--image", repo(registry, "cfg")], e, tmp_path)
    assert code == ExitCode.INVALID and "rejected the login" in err
    assert "Step 1/" not in err
    assert path.read_bytes() == before


def test_target_platform_build_args_labels_and_cache_from_reach_the_engine(tmp_path):
    ctx = context(
        tmp_path,
        # (COPY first: the legacy builder cannot COPY onto a LABEL step under --platform)
        "FROM scratch AS first\nCOPY a /a\nARG GREETING\nLABEL greeting=$GREETING\n"
        "FROM scratch AS second\nCOPY b /b\n",
        {"a": "a", "b": "b"},
    )
    image = f"local/flags-{uuid.uuid4().hex[:8]}"
    code, out, err = run(
        [str(ctx), "--image", image, "--tag", "t", "--no-push", "--target", "first",
         "--platform", "linux/arm64", "--build-arg", "GREETING=hello", "--label", "team=ml",
         "--cache-from", "local/does-not-exist:latest", "--label",
         "org.opencontainers.image.title=custom"],
        env(), tmp_path,
    )  # fmt: skip
    assert code == 0, err
    info = engine().inspect_image(f"{image}:t")
    assert info["Id"] == out.strip()
    assert info["Architecture"] == "arm64"
    labels = info["Config"]["Labels"]
    assert labels["greeting"] == "hello" and labels["team"] == "ml"
    assert labels["org.opencontainers.image.title"] == "custom"
    assert "COPY b /b" not in err  # the second stage was not built
