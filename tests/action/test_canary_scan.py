"""Canary scan: the action and the CLI run with canary secrets, and EVERY output -- the log
(stdout and stderr), GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, SARIF and other report files, the files
written into the workspace, crash files -- is searched for every variant of every canary:
plain, each CR/LF-separated part, base64 (three alignments, both alphabets), URL-encoded,
%25-escaped, HTML-entity-escaped, JSON-escaped, and the head or tail a cut leaves.

The canaries hold the characters those escapes change (`% & < > ' " + / =`, a CR-only break),
so each variant really differs. The paths: lint in every format, plan, deploy (the emulator
behind an API that echoes the key and the spec back in its errors), build + push through the
real dockerd and registry with build args and secrets that a RUN prints, and a crash.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from buildx_plugin import buildx_config
from canary import files_under, make, scan, written_since
from echo_api import echo_api

from paperspace_deploy.errors import ExitCode, run_guarded
from paperspace_deploy.redact import run_secrets

URL_SAFE = "%26'+="  # what may sit in a URL's userinfo (no / @ ? # or blanks)


def _canaries() -> dict[str, str]:
    return {
        "api-key": make("apikey"),  # a header value: printable ASCII, no blanks
        "github-token": make("ghtoken"),
        "registry-password": make("regpw", line_break="\r"),
        "basic-auth": make("basic"),
        "header": make("header"),
        "lfs-token": make("lfs", specials=URL_SAFE),
        "env-token": make("envtok"),
        "live-header": make("livehdr"),
        "live-lfs": make("livelfs", specials=URL_SAFE),
    }


def _spec(c: dict[str, str], name: str, image: str = "nginx:1.27") -> str:
    """Our spec: every plaintext credential the platform takes, as YAML double-quoted strings
    (JSON escapes are valid there), so the special characters survive."""
    q = json.dumps
    return (
        f"apiVersion: v1\nname: {name}\nimage: {q(image)}\n"
        "resources:\n  replicas: 1\n  machineType: C4\n  ports: [8080]\n"
        f"basicAuthKey: {q(c['basic-auth'])}\n"
        f"env:\n  - name: HF_TOKEN\n    value: {q(c['env-token'])}\n"
        "healthChecks:\n  readiness:\n    path: /\n    port: 8080\n    headers:\n"
        f"      - name: Authorization\n        value: {q('Bearer ' + c['header'])}\n"
        "integrations:\n  - type: git-lfs\n    name: weights\n"
        f"    url: {q('https://bob:' + c['lfs-token'] + '@git.example/w.git')}\n"
    )


def _live(c: dict[str, str], name: str) -> dict:
    """The live spec: other credentials under the same fields (the plan shows both sides)."""
    return {
        "apiVersion": "v1", "name": name, "image": "nginx:1.25",
        "resources": {"replicas": 1, "machineType": "C4", "ports": [8080]},
        "healthChecks": {"readiness": {"path": "/", "port": 8080, "headers": [
            {"name": "Authorization", "value": "Bearer " + c["live-header"]}]}},
        "integrations": [{"type": "git-lfs", "name": "weights",
                          "url": f"https://bob:{c['live-lfs']}@git.example/w.git"}],
    }  # fmt: skip


def _hostile_lint_spec(c: dict[str, str]) -> str:
    """Values lint quotes in its findings (an image, a region, an unknown key's value), each
    holding a secret the run knows from its environment or a credential inside a URL."""
    q = json.dumps
    return (
        f"apiVersion: v1\nname: lint-me\nimage: {q('bad image ' + c['api-key'])}\n"
        f"region: {q('https://bob:' + c['lfs-token'] + '@x.example')}\n"
        "resources:\n  machineType: C4\n  ports: [8080]\n"
        f"enabled: {q(c['github-token'])}\n"
        f"basicAuthKey: {q(c['basic-auth'])}\n"
        f"healthChecks:\n  liveness:\n    path: {q('/' + c['registry-password'])}\n"
    )


def _cli(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "paperspace_deploy", *args], input=stdin, capture_output=True,
        text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    return f"$ {' '.join(args[:1])} -> {done.returncode}\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    crash = tmp_path / "crash"
    crash.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "INPUT_", "CI_", "PAPERSPACE_"))}  # fmt: skip
    env.update(TMPDIR=str(crash), PAPERSPACE_DEPLOY_RETRY_BASE="0.01", NO_COLOR="1")
    return env


def test_cli_lint_plan_deploy_leak_no_canary(tmp_path, cli_env, emulator) -> None:  # type: ignore[no-untyped-def]
    c = _canaries()
    ws = tmp_path / "ws"
    ws.mkdir()
    name = f"canary-{uuid.uuid4().hex[:8]}"
    (ws / "paperspace.yaml").write_text(_spec(c, name))
    (ws / "lint-me.paperspace.yaml").write_text(_hostile_lint_spec(c))
    emulator.state.add_key(c["api-key"])
    emulator.state.upsert(emulator.project_id, _live(c, name))
    env = {**cli_env, "PAPERSPACE_API_KEY": c["api-key"], "GITHUB_TOKEN": c["github-token"],
           "REGISTRY_PASSWORD": c["registry-password"],
           "PAPERSPACE_PROJECT_ID": emulator.project_id}  # fmt: skip
    logs = []
    (ws / "reports").mkdir()
    inputs = files_under(ws)
    for runner_log in (False, True):  # plain, and as a runner's log (GITHUB_ACTIONS=true)
        run_env = {**env, "GITHUB_ACTIONS": "true"} if runner_log else env
        for fmt in ("text", "json", "sarif", "gitlab", "github"):
            logs.append(_cli(["lint", "--format", fmt, "lint-me.paperspace.yaml"], run_env, ws))
            out = f"reports/lint-{fmt}-{int(runner_log)}.out"
            logs.append(_cli(["lint", "--format", fmt, "--output", out, "*.yaml"], run_env, ws))
    with echo_api(emulator.url) as (relay, hits):  # reads pass, writes are echoed back
        for fmt in ("text", "json"):
            logs.append(_cli(["plan", "--format", fmt, "--api-url", relay], env, ws))
        logs.append(_cli(["deploy", "--api-url", relay, "--timeout", "30"], env, ws))
    assert any(echoed for _, _, echoed in hits), "the hostile API must have echoed a write"
    with echo_api() as (hostile, _):  # every request echoed
        logs.append(_cli(["plan", "--api-url", hostile], env, ws))
        logs.append(_cli(["deploy", "--api-url", hostile, "--timeout", "10"], env, ws))
    text = "\n".join(logs)
    assert "rejected the spec" in text or "Input validation failed" in text or "HTTP 400" in text
    assert "<redacted>" in text and "https://***@git.example" in text  # the plan's both sides
    artifacts = {"log": text, **written_since(inputs, ws, Path(cli_env["TMPDIR"]))}
    assert len(artifacts) > 8, artifacts.keys()  # the log and 8 report files
    assert scan(artifacts, c) == []


def test_cli_build_push_with_build_args_and_secrets(
    tmp_path, cli_env, registry, docker_host, base_image
) -> None:  # type: ignore[no-untyped-def]
    c = {"secret-file": make("sfile", line_break="\r"), "secret-env": make("senv"),
         "build-arg": make("barg"), "registry": registry.password}  # fmt: skip
    ws = tmp_path / "ws"
    ws.mkdir()
    secret_file = tmp_path / "npmrc"  # outside the workspace, as a runner's temp file is
    secret_file.write_text(c["secret-file"])
    (ws / "Dockerfile").write_text(
        f"FROM {base_image}\nARG NPM_TOKEN\n"
        "RUN --mount=type=secret,id=sf --mount=type=secret,id=se "
        "cat /run/secrets/sf; echo; base64 /run/secrets/sf; cat /run/secrets/se; echo; "
        'echo "arg=$NPM_TOKEN"; printf %s "$NPM_TOKEN" | base64; '
        'echo "::warning::$NPM_TOKEN"; echo "##[error]$(cat /run/secrets/se)"\n'
    )
    env = {**cli_env, "DOCKER_HOST": docker_host, "SE_VALUE": c["secret-env"],
           "DOCKER_CONFIG": str(buildx_config(tmp_path))}  # fmt: skip
    image = f"{registry.host}/canary/{uuid.uuid4().hex[:10]}"
    logs = []
    inputs = files_under(ws)
    for runner_log in (False, True):
        run_env = {**env, "GITHUB_ACTIONS": "true"} if runner_log else env
        logs.append(_cli([
            "build", "--context", ".", "--image", image, "--tag", f"v{int(runner_log)}",
            "--build-arg", f"NPM_TOKEN={c['build-arg']}", "--secret-file", f"sf={secret_file}",
            "--secret-env", "se=SE_VALUE", "--username", registry.username, "--password-stdin",
            "--push", "--network", "host", "--timeout", "240",
        ], run_env, ws, stdin=registry.password))  # fmt: skip
    text = "\n".join(logs)
    assert "-> 0" in text, text  # the build ran and pushed (the RUN printed every secret)
    assert scan({"log": text, **written_since(inputs, ws, Path(cli_env["TMPDIR"]))}, c) == []


def test_action_deploy_with_build_leaks_no_canary(
    runner, emulator, registry, docker_host, base_image, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    c = _canaries()
    # an action input's lines are its items, so a CR-only break goes into the password: wrong,
    # so the real registry rejects it and says so
    c.update(secret=make("bksecret"), barg=make("barg"), registry=registry.password,
             cr_password=make("crpw", line_break="\r"))  # fmt: skip
    name = f"canary-{uuid.uuid4().hex[:8]}"
    (runner.workspace / "paperspace.yaml").write_text(_spec(c, name, image=":image"))
    (runner.workspace / "Dockerfile").write_text(
        f"FROM {base_image}\nARG NPM_TOKEN\n"
        "RUN --mount=type=secret,id=tok cat /run/secrets/tok; echo; base64 /run/secrets/tok; "
        'echo "arg=$NPM_TOKEN"; printf %s "$NPM_TOKEN" | base64\n'
    )
    emulator.state.add_key(c["api-key"])
    emulator.state.upsert(emulator.project_id, _live(c, name))
    crash = tmp_path / "action-crash"
    crash.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(crash))
    runner.env.update(DOCKER_HOST=docker_host, RUNNER_DEBUG="1", GITHUB_TOKEN=c["github-token"],
                      DOCKER_CONFIG=str(buildx_config(tmp_path)))  # fmt: skip
    logs, outputs, summaries = [], [], []
    inputs = files_under(runner.workspace)
    with echo_api(emulator.url) as (relay, hits):
        for mode in ("lint", "plan", "deploy"):
            result = runner.run(
                mode=mode, context=".", image=f"{registry.host}/canary/{name}",
                build_args=f"NPM_TOKEN={c['barg']}", secrets=f"tok={c['secret']}",
                username=registry.username, password=registry.password, api_key=c["api-key"],
                api_url=relay, project_id=emulator.project_id, sarif_file=f"{mode}.sarif",
                network="host", timeout="240",
            )  # fmt: skip
            logs.append(result.stdout)
            outputs.append(json.dumps(result.outputs))
            summaries.append(result.summary)
        rejected = runner.run(
            mode="build", context=".", image=f"{registry.host}/canary/{name}",
            username=registry.username, password=c["cr_password"], build_args="A=1",
            secrets=f"tok={c['secret']}", timeout="120", network="host",
        )  # fmt: skip
        assert rejected.code != ExitCode.OK, rejected.stdout
        logs.append(rejected.stdout)
        summaries.append(rejected.summary)
    assert any(echoed for _, _, echoed in hits), "the deploy's write must have been echoed"
    assert "the build" in "\n".join(logs).lower() or "push" in "\n".join(logs).lower()
    artifacts = {"log": "\n".join(logs), "GITHUB_OUTPUT": "\n".join(outputs),
                 "GITHUB_STEP_SUMMARY": "\n".join(summaries),
                 **written_since(inputs, runner.workspace, crash)}  # fmt: skip
    assert scan(artifacts, c) == []


def test_crash_file_is_scrubbed(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secret = make("crash", line_break="\r")
    secrets = run_secrets()
    saved = (list(secrets._forms), secrets._pattern)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        secrets.add(secret)

        def bug() -> int:
            token = secret  # a local in the failing frame, and the message
            raise RuntimeError(f"bug while holding {token} and {json.dumps(token)}")

        outcome = run_guarded(bug)
    finally:
        secrets._forms, secrets._pattern = saved
    assert outcome.code == ExitCode.INTERNAL and outcome.message
    files = files_under(tmp_path)
    assert files, "a crash file was written"
    assert "RuntimeError" in "".join(files.values())
    assert scan({"message": outcome.message, **files}, {"crash": secret}) == []


def test_the_scan_finds_what_it_looks_for() -> None:
    """The scan itself can fail: each variant it claims to find, it finds."""
    import base64
    import html
    from urllib.parse import quote

    s = make("self", line_break="\r")
    head, _, tail = s.partition("\r")
    for shown in (s, quote(s, safe=""), html.escape(s), json.dumps(s), s.replace("%", "%25"),
                  base64.b64encode(b"x" + s.encode()).decode(), s[:200][:30] + "…",
                  "..." + s[-20:], head, tail):  # fmt: skip
        assert scan({"out": f"text {shown} text"}, {"s": s}), shown
    assert scan({"out": io.StringIO("clean").getvalue()}, {"s": s}) == []
