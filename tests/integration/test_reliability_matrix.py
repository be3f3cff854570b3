"""reliability.md §6.1, the bad-input matrix: one row per input, through the real entry points.

Each row runs `paperspace_deploy.cli.main(argv, Io(...))` in-process (or the action's `main` when
the row is about an action input) and asserts: the exit code of the project's convention
(errors.py), a specific message fragment, no traceback, a bounded output, and that the run
finished (a generous guard in a worker thread; no timed assertion). Rows that talk to the API
use the emulator; build rows use the real engine and registry (`. /tmp/psd-dev/env`).
The table in docs/reliability.md maps each row number to the test id below.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from canary import encodings, without_mask_lines
from runner_commands import process

from paperspace_deploy import action, cli
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = pytest.mark.integration

GUARD_S = 60.0  # "it finishes": a hang fails here instead of blocking the suite
OUTPUT_CAP = 16 * 1024  # bounded output for one bad input (action runs add masks and a group)
AWS_CANARY = "AKIAQ7CANARYX3Z5W2VK"  # token-shaped, never a real key
SHA = "0123456789abcdef0123456789abcdef01234567"

VALID = """\
apiVersion: v1
name: demo
image: nginx:1.25
resources:
  machineType: C4
  ports: [8000]
  replicas: 1
"""


def spec(*, name: str = "demo", image: str = "nginx:1.25", extra: str = "", res: str = "") -> str:
    """A v1 spec; `res` replaces the resources block body, `extra` adds top-level lines."""
    resources = res or "  machineType: C4\n  ports: [8000]\n  replicas: 1\n"
    return f"apiVersion: v1\nname: {name}\nimage: {image}\nresources:\n{resources}{extra}"


# ------------------------------------------------------------------------------------ harness
@dataclass
class Ctx:
    """What a row's setup can use: the workspace and, when the row asks, the services."""

    ws: Path
    env: dict[str, str]
    emulator: Any = None
    registry: Any = None
    scratch: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    code: int
    output: str  # stdout + stderr
    finished: bool


@dataclass(frozen=True)
class Row:
    row: str  # reliability.md §6.1 row number (with a letter for variants)
    what: str
    entry: str  # lint | deploy | build | action
    code: int
    fragments: tuple[str, ...]
    setup: Callable[[Ctx], Any]  # -> argv (CLI) or inputs (action)
    needs: tuple[str, ...] = ()  # emulator, registry, docker
    check: Callable[[Outcome, Ctx], None] | None = None
    secrets: tuple[str, ...] = ()  # values that must not appear (in any encoding)


def guarded(fn: Callable[[], int]) -> tuple[int, bool]:
    box: dict[str, int] = {}

    def target() -> None:
        try:
            box["code"] = fn()
        except SystemExit as exc:  # argparse usage errors
            box["code"] = int(exc.code or 0)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(GUARD_S)
    return box.get("code", -1), not t.is_alive()


def run_cli(argv: list[str], ctx: Ctx) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    usage = io.StringIO()  # argparse writes its usage errors to sys.stderr

    def call() -> int:
        with contextlib.redirect_stderr(usage):
            return cli.main(argv, Io(stdout=out, stderr=err, environ=ctx.env, cwd=ctx.ws))

    code, finished = guarded(call)
    return Outcome(code, out.getvalue() + err.getvalue() + usage.getvalue(), finished)


def run_action(inputs: dict[str, str], ctx: Ctx) -> Outcome:
    env = dict(ctx.env)
    for name, value in inputs.items():
        env[f"INPUT_{name.upper()}"] = value
    out = io.StringIO()
    code, finished = guarded(lambda: action.main(environ=env, stdout=out, stderr=out, cwd=ctx.ws))
    return Outcome(code, out.getvalue(), finished)


def write(ctx: Ctx, rel: str, content: str | bytes) -> str:
    path = ctx.ws / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return rel


def lint_text(content: str | bytes, rel: str = "paperspace.yaml") -> Callable[[Ctx], list[str]]:
    return lambda ctx: ["lint", write(ctx, rel, content)]


def lint_action(content: str | bytes, **inputs: str) -> Callable[[Ctx], dict[str, str]]:
    def setup(ctx: Ctx) -> dict[str, str]:
        return {"mode": "lint", "spec": write(ctx, "paperspace.yaml", content), **inputs}

    return setup


def deploy_args(ctx: Ctx, rel: str, *extra: str, image: str | None = "nginx:1.25") -> list[str]:
    argv = ["deploy", "--spec", rel, "--project-id", ctx.emulator.project_id]
    argv += ["--poll-interval", "0.05", "--timeout", "20", *extra]
    return argv + (["--image", image] if image else [])


def deploy_cli(content: str, *extra: str, image: str | None = "nginx:1.25"):  # type: ignore[no-untyped-def]
    return lambda ctx: deploy_args(ctx, write(ctx, "paperspace.yaml", content), *extra, image=image)


def action_deploy(ctx: Ctx, content: str = VALID, **inputs: str) -> dict[str, str]:
    return {
        "mode": "deploy",
        "spec": write(ctx, "paperspace.yaml", content),
        "api-url": ctx.emulator.url,
        "api-key": ctx.emulator.key,
        "project-id": ctx.emulator.project_id,
        **inputs,
    }


# ------------------------------------------------------------------------------ row helpers
def symlink_out(ctx: Ctx) -> dict[str, str]:
    secret = ctx.ws.parent / "runner_temp" / "_github_home" / ".docker" / "config.json"
    secret.parent.mkdir(parents=True)
    secret.write_text('{"auths": {"ghcr.io": {"auth": "Q0FOQVJZLVNZTUxJTks="}}}')
    (ctx.ws / "paperspace.yaml").symlink_to(secret)
    return {"mode": "lint", "spec": "paperspace.yaml"}


def symlink_loop(ctx: Ctx) -> dict[str, str]:
    (ctx.ws / "a.yaml").symlink_to(ctx.ws / "b.yaml")
    (ctx.ws / "b.yaml").symlink_to(ctx.ws / "a.yaml")
    return {"mode": "lint", "spec": "a.yaml"}


def fifo(ctx: Ctx) -> dict[str, str]:
    os.mkfifo(ctx.ws / "paperspace.yaml")
    return {"mode": "lint", "spec": "paperspace.yaml"}


def nested(depth: int) -> str:
    return "name: " + "[" * depth + "]" * depth + "\n"


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def no_upsert(out: Outcome, ctx: Ctx) -> None:
    assert ctx.emulator.state.upserts == 0, "nothing may reach the API after a local error"


def no_injected_commands(out: Outcome, ctx: Ctx) -> None:
    ours = {"add-mask", "group", "endgroup", "error", "warning", "notice", "stop-commands"}
    cmds = process(out.output)
    names = {c.name for c in cmds}
    assert names <= ours, names
    for c in cmds:  # every annotation is ours, on the spec file: none forged by the spec text
        if c.name in ("error", "warning", "notice"):
            assert c.properties.get("title", "").startswith("paperspace-deploy"), c
            assert c.properties.get("file", "paperspace.yaml") == "paperspace.yaml", c
    assert not [c for c in cmds if c.name == "add-mask" and c.data.strip() == "x"]


def schema_listener(ctx: Ctx) -> str:
    """A local port that counts connections: a `$schema` URL must never be fetched."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.1)
    ctx.scratch["schema_server"] = srv
    return f"http://127.0.0.1:{srv.getsockname()[1]}/x.json"


def schema_not_fetched_and_stripped(out: Outcome, ctx: Ctx) -> None:
    srv = ctx.scratch["schema_server"]
    try:
        conn, _ = srv.accept()
        conn.close()
        raise AssertionError("the $schema URL was fetched")
    except TimeoutError:
        pass
    finally:
        srv.close()
    (dep,) = ctx.emulator.state.deployments.values()
    assert dep.specs and all("$schema" not in s.data for s in dep.specs), dep.specs


def many_registries(ctx: Ctx) -> list[str]:
    ctx.emulator.state.timings.pull_check = False  # ghcr.io is not reachable from the tests
    for i in range(125):
        ctx.emulator.state.add_registry(
            {"name": f"reg-{i:03d}", "url": "https://ghcr.io", "username": "u", "password": "p"}
        )
    content = spec(image="ghcr.io/acme/app:1", extra="containerRegistry: reg-000\n")
    return deploy_args(ctx, write(ctx, "paperspace.yaml", content), image=None)


def registry_found(out: Outcome, ctx: Ctx) -> None:
    assert ctx.emulator.state.upserts == 1
    assert ctx.emulator.server.requests.get("GET /container-registries", 0) >= 2  # two pages


def key_trailing_newline(ctx: Ctx) -> dict[str, str]:
    inputs = action_deploy(ctx)
    inputs["api-key"] = ctx.emulator.key + "\n"
    return inputs | {"wait": "false"}  # the upsert is enough to prove the key was accepted


def key_only_in_masks(out: Outcome, ctx: Ctx) -> None:
    assert ctx.emulator.state.upserts == 1
    assert ctx.emulator.key not in without_mask_lines(out.output)


def build_ctx(ctx: Ctx, dockerfile: str = "FROM scratch\nLABEL psd.test=matrix\n") -> Path:
    (ctx.ws / "app").mkdir(exist_ok=True)
    (ctx.ws / "app" / "Dockerfile").write_text(dockerfile)
    return ctx.ws / "app"


MULTILINE_PASSWORD = 'psd-canary-line-one\npsd-canary%0A"line-two"'


def multiline_password(ctx: Ctx) -> dict[str, str]:
    build_ctx(ctx)
    return {
        "mode": "build",
        "context": "app",
        "image": f"{ctx.registry.host}/matrix/pw",
        "registry": ctx.registry.host,
        "username": ctx.registry.username,
        "password": MULTILINE_PASSWORD,
    }


def every_line_masked_first(out: Outcome, ctx: Ctx) -> None:
    masked = [c.data for c in process(out.output) if c.name == "add-mask"]
    for line in MULTILINE_PASSWORD.splitlines():
        assert line in masked, line


def ghcr_registry(ctx: Ctx) -> dict[str, str]:
    build_ctx(ctx)
    return {"mode": "build", "context": "app", "image": "127.0.0.1:9/acme/app",
            "registry": "https://GHCR.io/", "push": "false"}  # fmt: skip


def dockerfile_escape(ctx: Ctx) -> list[str]:
    build_ctx(ctx)
    return ["build", "app", "-f", "../../../etc/shadow", "--image", "psd-matrix/app", "--no-push"]


def sensitive_context(ctx: Ctx) -> list[str]:
    app = build_ctx(ctx)
    (app / ".env").write_text("TOKEN=psd-env-canary-value\n")
    (app / ".git").mkdir()
    (app / ".git" / "config").write_text("[core]\n")
    return ["build", "app", "--image", "psd-matrix/app", "--no-push",
            "--fail-on-sensitive-context"]  # fmt: skip


def env_file_never_read(out: Outcome, ctx: Ctx) -> None:
    assert "psd-env-canary-value" not in out.output
    assert ".env" in out.output and ".git" in out.output


def secret_build_arg(ctx: Ctx) -> list[str]:
    build_ctx(ctx, "FROM scratch\nARG NPM_TOKEN\nLABEL psd.test=matrix\n")
    return ["build", "app", "--image", "psd-matrix/buildarg", "--no-push",
            "--build-arg", "NPM_TOKEN=npm_psdCanaryBuildArg0123456789abcdef"]  # fmt: skip


def built_anyway(out: Outcome, ctx: Ctx) -> None:
    assert "sha256:" in out.output  # the image ID on stdout: a warning, not a failure


# ----------------------------------------------------------------------------------- the table
BAD, USE, OK = ExitCode.INVALID, ExitCode.USAGE, ExitCode.OK
ROWS: list[Row] = [
    Row("1", "spec: missing.yaml", "action", USE, ("spec file not found: missing.yaml",),
        lambda c: {"mode": "lint", "spec": "missing.yaml"}),
    Row("2", "spec: . (a directory)", "action", USE,
        ("no spec files (paperspace.*, .paperspace/app.*) under .",),
        lambda c: {"mode": "lint", "spec": "."}),
    Row("3", "spec: ../../etc/passwd", "action", USE, ("must be inside the workspace",),
        lambda c: {"mode": "lint", "spec": "../../etc/passwd"}),
    Row("4", "spec: /proc/self/environ", "action", USE, ("must be inside the workspace",),
        lambda c: {"mode": "lint", "spec": "/proc/self/environ"}),
    Row("5", "spec symlink -> runner's .docker/config.json", "action", USE,
        ("outside the workspace",), symlink_out, secrets=("Q0FOQVJZLVNZTUxJTks=", "auths")),
    Row("4b", "deploy --spec /proc/self/environ (CLI in CI)", "deploy", USE,
        ("spec path must be inside the workspace",),
        lambda c: deploy_args(c, "/proc/self/environ"), ("emulator",), check=no_upsert),
    Row("5b", "deploy, default paperspace.yaml symlinked outside (CLI in CI)", "deploy", USE,
        ("refusing to follow symlink outside the workspace", "paperspace.yaml"),
        lambda c: [a for a in deploy_args(c, symlink_out(c)["spec"]) if a != "paperspace.yaml"
                   and a != "--spec"], ("emulator",), check=no_upsert,
        secrets=("Q0FOQVJZLVNZTUxJTks=", "auths")),
    Row("5c", "plan --spec symlink outside (CLI in CI)", "plan", USE,
        ("refusing to follow symlink outside the workspace",),
        lambda c: ["plan", "--spec", symlink_out(c)["spec"], "--project-id",
                   c.emulator.project_id, "--image", "nginx:1.25"], ("emulator",),
        secrets=("Q0FOQVJZLVNZTUxJTks=", "auths")),
    Row("6", "symlink loop a -> b -> a", "action", USE, ("symlink loop",), symlink_loop),
    Row("7a", "spec is a FIFO", "action", USE, ("not a regular file",), fifo),
    Row("7b", "spec: /dev/zero", "action", USE, ("must be inside the workspace",),
        lambda c: {"mode": "lint", "spec": "/dev/zero"}),
    Row("8", "2 MiB spec file", "lint", BAD,
        ("[file-too-large]", "spec file too large (more than 1048576 bytes"),
        lint_text(b"#" * (2 * 1024 * 1024))),
    Row("9a", "empty file", "lint", BAD, ("[empty-file]",), lint_text(b"")),
    Row("9b", "only ---", "lint", BAD, ("[empty-file]",), lint_text("---\n")),
    Row("9c", "comment only", "lint", BAD, ("[empty-file]",), lint_text("# nothing\n")),
    Row("10", "invalid UTF-8", "lint", BAD, ("[encoding]", "offset 6"),
        lint_text(b"name: \xff\xfe\n")),
    Row("11", "NUL byte", "lint", BAD, ("[control-character]", "U+0000"),
        lint_text(b"name: a\x00b\n")),
    Row("12", "two documents", "lint", BAD, ("[multiple-documents]",),
        lint_text(VALID + "---\n" + VALID)),
    Row("13a", "top-level list", "lint", BAD, ("[top-level-type]", "list"),
        lint_text("- a\n- b\n")),
    Row("13b", "top-level scalar", "lint", BAD, ("[top-level-type]",), lint_text("hello\n")),
    Row("14a", "tab indentation", "lint", BAD, ("paperspace.yaml:3:1: error: YAML syntax error",),
        lint_text("name: demo\nresources:\n\tports: [1]\n")),
    Row("14b", "unclosed quote", "lint", BAD,
        ("paperspace.yaml:1:7: error: YAML syntax error", "[yaml-syntax]"),
        lint_text('name: "demo\nimage: x\n')),
    Row("15", "name: twice", "lint", BAD, ("[duplicate-key]", "'name'"),
        lint_text(VALID + "name: again\n")),
    Row("16a", "key 1:", "lint", BAD, ("[non-string-key]",), lint_text(VALID + "1: x\n")),
    Row("16b", "key true:", "lint", BAD, ("[non-string-key]",), lint_text(VALID + "true: x\n")),
    Row("17", "billion-laughs alias bomb", "lint", BAD, ("[alias-bomb]",), lint_text(BOMB)),
    Row("18", "[ nested 30,000 deep", "lint", BAD, ("[too-deep]", "64"),
        lint_text(nested(30_000))),
    Row("19a", "!!python/object/apply:os.system", "lint", BAD,
        ("[unsupported-tag]", "!!python/object/apply:os.system"),
        lint_text(VALID + "x: !!python/object/apply:os.system ['id']\n")),
    Row("19b", "!!binary", "lint", BAD, ("[unsupported-tag]", "binary"),
        lint_text(VALID + "x: !!binary aGVsbG8=\n")),
    Row("19c", "!!set", "lint", BAD, ("[unsupported-tag]", "set"),
        lint_text(VALID + "x: !!set {a, b}\n")),
    Row("20", "enabled: yes", "lint", BAD, ("$.enabled", "boolean", "'yes'"),
        lint_text(VALID + "enabled: yes\n")),
    Row("21", "ports: [012]", "lint", BAD, ("[leading-zero]",),
        lint_text(spec(res="  machineType: C4\n  ports: [012]\n  replicas: 1\n"))),
    Row("22", "ports: [22:22]", "lint", BAD, ("$.resources.ports[0]", "'22:22'"),
        lint_text(spec(res="  machineType: C4\n  ports: [22:22]\n  replicas: 1\n"))),
    Row("23a", "replicas: .nan", "lint", BAD, ("[non-finite-number]",),
        lint_text(spec(res="  machineType: C4\n  ports: [8000]\n  replicas: .nan\n"))),
    Row("23b", "replicas: .inf", "lint", BAD, ("[non-finite-number]",),
        lint_text(spec(res="  machineType: C4\n  ports: [8000]\n  replicas: .inf\n"))),
    Row("23c", "replicas: 1e3", "lint", BAD, ("$.resources.replicas",),
        lint_text(spec(res="  machineType: C4\n  ports: [8000]\n  replicas: 1e3\n"))),
    Row("24a", "replicas: -1", "lint", BAD, ("$.resources.replicas",),
        lint_text(spec(res="  machineType: C4\n  ports: [8000]\n  replicas: -1\n"))),
    Row("24b", "replicas: 1.5", "lint", BAD, ("$.resources.replicas",),
        lint_text(spec(res="  machineType: C4\n  ports: [8000]\n  replicas: 1.5\n"))),
    Row("24c", "replicas: true", "lint", BAD, ("$.resources.replicas",),
        lint_text(spec(res="  machineType: C4\n  ports: [8000]\n  replicas: true\n"))),
    Row("24d", "replicas: 10**30", "lint", BAD, ("$.resources.replicas",),
        lint_text(spec(res=f"  machineType: C4\n  ports: [8000]\n  replicas: {10**30}\n"))),
    Row("25", "env value 8080 (number)", "lint", BAD, ("$.env[0].value", "quote it"),
        lint_text(VALID + "env:\n  - name: PORT\n    value: 8080\n")),
    Row("26", "env value 2024-01-01 (unquoted date)", "deploy", OK, ("healthy",),
        deploy_cli(VALID + "env:\n  - name: DAY\n    value: 2024-01-01\n"), ("emulator",),
        check=lambda o, c: _sent_env(c, "2024-01-01")),
    Row("27a", "env name MY-VAR (accepted: valid for Paperspace)", "lint", OK, ("0 error(s)",),
        lint_text(VALID + "env:\n  - name: MY-VAR\n    value: x\n")),
    Row("27b", "duplicate env name", "lint", BAD, ("[duplicate-env]", "'A'"),
        lint_text(VALID + "env:\n  - name: A\n    value: x\n  - name: A\n    value: y\n")),
    Row("28", "value: secret:bad-name", "lint", BAD, ("[secret-name]",),
        lint_text(VALID + "env:\n  - name: A\n    value: secret:bad-name\n")),
    Row("29", "AKIA... env value plus an unrelated error", "lint", BAD,
        ("env[0].value looks like a plaintext credential (not shown)", "[unknown-key]"),
        lint_text(VALID + f"env:\n  - name: AWS_KEY\n    value: {AWS_CANARY}\nhealthcheck: {{}}\n"),
        secrets=(AWS_CANARY,)),
    Row("30", "typo healthcheck:", "lint", BAD, ("unknown key 'healthcheck'", "healthChecks"),
        lint_text(VALID + "healthcheck:\n  liveness: {path: /}\n")),
    Row("31", "apiVersion: v2", "lint", BAD, ("$.apiVersion", "v1"),
        lint_text(VALID.replace("apiVersion: v1", "apiVersion: v2"))),
    Row("32", "missing name, image and resources", "lint", BAD,
        ("missing required key 'name'", "missing required key 'image'",
         "missing required key 'resources'"),
        lint_text("apiVersion: v1\nregion: ny2\n")),
    Row("33a", 'name: "App_1" (accepted: Paperspace allows it)', "action", OK,
        ("0 error(s)",),
        lint_action(spec(name='"App_1"'))),
    Row("33b", "name of 200 characters", "action", BAD, ("[invalid-string]",),
        lint_action(spec(name="a" * 200))),
    Row("33c", "name with a newline and ::add-mask::x", "action", BAD, ("[invalid-string]",),
        lint_action(spec(name='"x\\n::add-mask::x"')), check=no_injected_commands),
    Row("34a", "image: My/Repo:tag (deploy)", "deploy", BAD,
        ("[image-reference]", "repository name must be lowercase"),
        deploy_cli(spec(image="My/Repo:tag"), image=None), ("emulator",), check=no_upsert),
    Row("34b", "image with whitespace", "lint", BAD, ("an image reference has no spaces",),
        lint_text(spec(image='"nginx :1.25"'))),
    Row("34c", "tag over 128 characters", "lint", BAD, ("[image-reference]",),
        lint_text(spec(image="nginx:" + "t" * 129))),
    Row("35", "image: ':image' and no --image", "deploy", BAD, ("image-placeholder", ":image"),
        deploy_cli(spec(image='":image"'), image=None), ("emulator",), check=no_upsert),
    Row("36a", "ports: []", "lint", BAD, ("$.resources.ports",),
        lint_text(spec(res="  machineType: C4\n  ports: []\n  replicas: 1\n"))),
    Row("36b", "ports: [0]", "lint", BAD, ("[out-of-range]",),
        lint_text(spec(res="  machineType: C4\n  ports: [0]\n  replicas: 1\n"))),
    Row("36c", "ports: [70000]", "lint", BAD, ("[out-of-range]",),
        lint_text(spec(res="  machineType: C4\n  ports: [70000]\n  replicas: 1\n"))),
    Row("37", "6 integrations", "lint", BAD, ("[too-many-integrations]",),
        lint_text(VALID + "integrations:\n" + "".join(
            f"  - name: v{i}\n    type: volume\n    path: /v{i}\n    size: 1Gi\n"
            for i in range(6)))),
    Row("38a", "900 KB string in name", "lint", BAD, ("[invalid-string]",),
        lint_text(spec(name="n" * 900_000)), check=lambda o, c: _bounded(o, 4096)),
    Row("38b", "5 MB string in name (over the byte cap)", "lint", BAD, ("[file-too-large]",),
        lint_text(spec(name="n" * 5_000_000)), check=lambda o, c: _bounded(o, 4096)),
    Row("39", "$schema: http://127.0.0.1:PORT/x.json", "deploy", OK, ("healthy",),
        lambda c: deploy_args(c, write(c, "paperspace.yaml",
                                       f"$schema: {schema_listener(c)}\n" + VALID)),
        ("emulator",), check=schema_not_fetched_and_stripped),
    Row("40a", "name: x ##[error file=README.md,line=1]forged", "action", BAD,
        ("[invalid-string]",), lint_action(spec(name='"x ##[error file=README.md,line=1]forged"')),
        check=no_injected_commands),
    Row("40b", "name: ::stop-commands::abcdefgh", "action", BAD, ("[invalid-string]",),
        lint_action(spec(name='"::stop-commands::abcdefgh"')), check=no_injected_commands),
    Row("41", "containerRegistry: nope", "deploy", BAD, ("'nope'", "[registry-unknown]"),
        deploy_cli(spec(image="ghcr.io/acme/app:1", extra="containerRegistry: nope\n")),
        ("emulator",), check=no_upsert),
    Row("42", "containerRegistry only on page 2 (125 connections)", "deploy", OK, ("healthy",),
        many_registries, ("emulator",), check=registry_found),
    Row("43", "fork PR, no API key, containerRegistry set", "action", OK,
        ("registry check skipped",),
        lambda c: lint_action(spec(extra="containerRegistry: ghcr\n"))(c)
        | {"__fork__": "1"}),
    Row("44", "deploy mode, api-key empty", "action", BAD,
        ("an API key is required (input api-key",),
        lambda c: {"mode": "deploy", "spec": write(c, "paperspace.yaml", VALID), "api-key": ""}),
    Row("45", "API key with a trailing newline", "action", OK, ("submitted",),
        key_trailing_newline, ("emulator",), check=key_only_in_masks),
    Row("46", "wrong API key", "deploy", BAD, ("rejected the API key", "401"),
        lambda c: [*deploy_args(c, write(c, "paperspace.yaml", VALID)),
                   "--api-key", "psd-wrong-key-canary-42"], ("emulator",), check=no_upsert,
        secrets=("psd-wrong-key-canary-42",)),
    Row("47", "unknown project-id", "deploy", BAD, ("project not found: p9999999999",),
        lambda c: [*deploy_args(c, write(c, "paperspace.yaml", VALID)),
                   "--project-id", "p9999999999"], ("emulator",), check=no_upsert),
    Row("48a", "timeout: abc", "action", BAD, ("input 'timeout' must be",),
        lambda c: {"mode": "deploy", "timeout": "abc"}),
    Row("48b", "timeout: -1", "action", BAD, ("input 'timeout' must be",),
        lambda c: {"mode": "deploy", "timeout": "-1"}),
    Row("48c", "timeout: 0", "action", BAD, ("input 'timeout' must be",),
        lambda c: {"mode": "deploy", "timeout": "0"}),
    Row("48d", "timeout: 100000", "action", BAD, ("input 'timeout' must be",),
        lambda c: {"mode": "deploy", "timeout": "100000"}),
    Row("49a", "wait: yes", "action", BAD, ("input 'wait' must be true/True/TRUE",),
        lambda c: {"mode": "deploy", "wait": "yes"}),
    Row("49b", "wait: 1", "action", BAD, ("input 'wait' must be true/True/TRUE",),
        lambda c: {"mode": "deploy", "wait": "1"}),
    Row("50", "registry password with newline, %0A and a quote", "action", BAD,
        ("rejected the login",), multiline_password, ("registry", "docker"),
        check=every_line_masked_first, secrets=(MULTILINE_PASSWORD,)),
    Row("51", "registry: https://GHCR.io/", "action", BAD,
        ("registry ghcr.io does not match the image's registry 127.0.0.1:9",), ghcr_registry),
    Row("52", "dockerfile: ../../../etc/shadow", "build", USE,
        ("dockerfile path must be inside the workspace",), dockerfile_escape),
    Row("52b", "action input dockerfile: ../../../etc/shadow", "action", USE,
        ("dockerfile path must be inside the workspace",),
        lambda c: {"mode": "build", "context": str(build_ctx(c).name), "image": "psd/app",
                   "push": "false", "dockerfile": "../../../etc/shadow"}),
    Row("53", ".env and .git in the context, no .dockerignore", "build", BAD,
        (".env", ".git"), sensitive_context, check=env_file_never_read),
    Row("54", "build arg NPM_TOKEN", "build", OK, ("NPM_TOKEN", "stored in the image history"),
        secret_build_arg, ("docker",), check=built_anyway,
        secrets=("npm_psdCanaryBuildArg0123456789abcdef",)),
]  # fmt: skip


def _sent_env(ctx: Ctx, value: str) -> None:
    """The API received the value as the same string (not a date, not reformatted)."""
    (dep,) = ctx.emulator.state.deployments.values()
    assert dep.specs[-1].data["env"][0]["value"] == value, dep.specs[-1].data


def _bounded(out: Outcome, limit: int) -> None:
    assert len(out.output) <= limit, len(out.output)


def _fork_event(ctx: Ctx) -> dict[str, str]:
    event = ctx.ws.parent / "event.json"
    event.write_text(
        '{"pull_request": {"number": 7, "head": {"repo": {"full_name": "evil/app", "fork": true}},'
        ' "base": {"repo": {"full_name": "octo/app"}}}}'
    )
    return {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.row}-{r.what}" for r in ROWS])
def test_bad_input(row: Row, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    ws = ws.resolve()
    env = {
        "HOME": os.environ["HOME"],
        "GITHUB_WORKSPACE": str(ws),
        "PAPERSPACE_DEPLOY_RETRY_BASE": "0.05",
        "PSD_GIT_SHA": SHA,
    }
    if row.entry == "action":
        files = tmp_path / "files"
        files.mkdir()
        env |= {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(files / "output"),
            "GITHUB_STEP_SUMMARY": str(files / "summary"),
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": "octo/app",
            "GITHUB_SHA": SHA,
            "GITHUB_REF": "refs/heads/main",
        }
    ctx = Ctx(ws=ws, env=env)
    if "emulator" in row.needs:
        ctx.emulator = request.getfixturevalue("emulator")
        env |= {"PAPERSPACE_API_URL": ctx.emulator.url, "PAPERSPACE_API_KEY": ctx.emulator.key}
    if "registry" in row.needs:
        ctx.registry = request.getfixturevalue("registry")
    if "docker" in row.needs or row.entry == "build":
        env["DOCKER_HOST"] = request.getfixturevalue("docker_host")
    args = row.setup(ctx)
    if isinstance(args, dict) and args.pop("__fork__", None):
        env |= _fork_event(ctx)
    outcome = run_action(args, ctx) if row.entry == "action" else run_cli(args, ctx)

    assert outcome.finished, f"row {row.row} did not finish within {GUARD_S} s"
    text = outcome.output
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert outcome.code == row.code, f"exit {outcome.code}, expected {row.code}:\n{text[-3000:]}"
    for fragment in row.fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text[-3000:]}"
    assert len(text) <= OUTPUT_CAP, f"{len(text)} bytes of output"
    visible = without_mask_lines(text)
    for secret in row.secrets:
        for kind, value in encodings(secret).items():
            assert value not in visible, f"secret leaked ({kind})"
    if row.check:
        row.check(outcome, ctx)


def test_matrix_lists_every_row_of_6_1() -> None:
    """The table above names rows 1..54; the ones without a row are in docs/reliability.md."""
    covered = {int("".join(ch for ch in r.row if ch.isdigit())) for r in ROWS}
    assert covered == set(range(1, 55)), sorted(set(range(1, 55)) - covered)
