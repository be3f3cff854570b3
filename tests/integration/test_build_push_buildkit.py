"""Issue 15's feature table on the real engine: BuildKit through the real buildx (the default path)
against the Engine API's legacy builder (`builder="engine"`), at the BuildOptions ->
`build_and_push` level, with the real htpasswd registry.

Every row works on the default path; on the engine path it fails with a clear notice where
BuildKit is required; the arm64 request on this amd64 engine is an error on both. The engine
here has no bridge network, so BuildKit RUN steps use `network="host"` (a runner has a bridge).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import buildx_plugin
import pytest

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import DeployError
from paperspace_deploy.image.options import BuildOptions, BuildResult
from paperspace_deploy.image.pipeline import build_and_push
from paperspace_deploy.io import Io

pytestmark = [pytest.mark.docker, pytest.mark.integration]
CANARY = "cnry-" + uuid.uuid4().hex  # a build secret: never in a log, layer or history


@pytest.fixture
def buildx_config(tmp_path: Path, docker_host: str) -> Path:
    return buildx_plugin.buildx_config(tmp_path)


class Built:
    def __init__(self, result: BuildResult | None, error: DeployError | None, log: str) -> None:
        self.result, self.error, self.log = result, error, log

    @property
    def ok(self) -> bool:
        return self.result is not None


def build(
    ctx: Path,
    config: Path,
    registry,  # type: ignore[no-untyped-def]
    *,
    builder: str = "auto",
    push: bool = False,
    env: dict[str, str] | None = None,
    **fields,  # type: ignore[no-untyped-def]
) -> Built:
    environ = {
        "DOCKER_HOST": os.environ["DOCKER_HOST"],
        "DOCKER_CONFIG": str(config),
        "HOME": os.environ["HOME"],
        "PATH": os.environ["PATH"],
        "PAPERSPACE_DEPLOY_RETRY_BASE": "0.05",
        **(env or {}),
    }
    fields.setdefault("network", "host" if builder != "engine" else None)
    opts = BuildOptions(
        context=ctx,
        dockerfile=fields.pop("dockerfile", None),
        image=fields.pop("image", f"{registry.host}/bk/{uuid.uuid4().hex[:10]}"),
        tags=fields.pop("tags", ["v1"]),
        build_args=fields.pop("build_args", {}),
        labels=fields.pop("labels", {}),
        push=push,
        username=registry.username,
        password=registry.password,
        builder=builder,
        deadline=Deadline(240),
        **fields,
    )
    err = io.StringIO()
    try:
        result = build_and_push(
            opts, Io(stdout=io.StringIO(), stderr=err, environ=environ, cwd=ctx)
        )
        return Built(result, None, err.getvalue())
    except DeployError as exc:
        return Built(None, exc, err.getvalue() + f"\nerror: {exc}\nhint: {exc.hint}")


def context(tmp_path: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    ctx = tmp_path / f"ctx-{uuid.uuid4().hex[:6]}"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for rel, text in (files or {}).items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_text(text)
    return ctx


def docker(*args: str, config: Path | None = None, check: bool = True) -> str:
    environ = dict(os.environ)
    if config is not None:
        environ["DOCKER_CONFIG"] = str(config)
    done = subprocess.run(["docker", *args], capture_output=True, text=True, env=environ)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr[-500:]}")
    return done.stdout


def image_files(image: str) -> dict[str, tarfile.TarInfo]:
    """The image's file system (docker export of a created container)."""
    cid = docker("create", image, "x").strip()
    try:
        data = subprocess.run(["docker", "export", cid], capture_output=True, check=True).stdout
    finally:
        docker("rm", cid)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def image_text(image: str, path: str) -> str:
    cid = docker("create", image, "x").strip()
    try:
        data = subprocess.run(
            ["docker", "cp", f"{cid}:{path}", "-"], capture_output=True, check=True
        ).stdout
    finally:
        docker("rm", cid)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.getmembers()[0]
        fh = tar.extractfile(member)
        return fh.read().decode() if fh else ""


def saved_bytes(image: str) -> bytes:
    """Everything `docker save` holds: every layer, the config, the history."""
    return subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout


# -- the feature table ------------------------------------------------------------------------


def test_run_mounts_cache_bind_secret_and_ssh(tmp_path, buildx_config, registry, base_image):
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(50):
            if sock.exists():
                break
            time.sleep(0.1)
        ctx = context(
            tmp_path,
            f"FROM {base_image}\n"
            "RUN --mount=type=cache,target=/cache echo warm > /cache/x && cat /cache/x > /ok\n"
            "RUN --mount=type=bind,source=data.txt,target=/mnt/d.txt cat /mnt/d.txt > /bound\n"
            # the value is checked without naming it (a RUN line is in the image history)
            "RUN --mount=type=secret,id=tok v=$(cat /run/secrets/tok) && "
            f'test "${{#v}}" = {len(CANARY)} && test "${{v%%-*}}" = cnry && echo yes > /secret-ok\n'
            'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo yes > /ssh-ok\n',
            {"data.txt": "bound-data"},
        )
        ok = build(
            ctx, buildx_config, registry, secrets={"tok": CANARY}, ssh=["default"],
            env={"SSH_AUTH_SOCK": str(sock)},
        )  # fmt: skip
    finally:
        agent.terminate()
        agent.wait(10)
    assert ok.ok, ok.log
    image = ok.result.tags[0]
    assert "builder: BuildKit via docker buildx" in ok.log
    for path, text in [("/ok", "warm"), ("/bound", "bound-data"), ("/secret-ok", "yes"),
                       ("/ssh-ok", "yes")]:  # fmt: skip
        assert image_text(image, path).strip() == text
    assert "/run/secrets/tok" not in image_files(image)
    assert CANARY.encode() not in saved_bytes(image)  # no layer, config or history holds it
    assert CANARY not in ok.log

    engine = build(ctx, buildx_config, registry, builder="engine", secrets={"tok": CANARY})
    assert not engine.ok
    assert "the Docker Engine API path (legacy builder) cannot do what this build asks" in str(
        engine.error
    )
    assert "build secrets (tok)" in str(engine.error) and "builder auto or buildx" in engine.log
    assert "Step 1/" not in engine.log  # refused before anything was built


def test_mount_without_options_on_the_engine_fails_with_the_buildkit_notice(
    tmp_path, buildx_config, registry, base_image
):
    ctx = context(tmp_path, f"FROM {base_image}\nRUN --mount=type=cache,target=/c true\n")
    engine = build(ctx, buildx_config, registry, builder="engine")
    assert not engine.ok
    assert "BuildKit-only syntax (RUN --mount at line 2)" in engine.log
    assert "builder auto or buildx" in engine.log
    assert build(ctx, buildx_config, registry).ok


def test_copy_chmod_and_from_buildplatform_and_target_args(
    tmp_path, buildx_config, registry, base_image
):
    ctx = context(
        tmp_path,
        f"FROM --platform=$BUILDPLATFORM {base_image}\n"
        "ARG TARGETARCH TARGETPLATFORM\n"
        'RUN echo "tool_${TARGETPLATFORM%%/*}_${TARGETARCH}.tar.gz" > /url\n'
        "COPY --chmod=751 run.sh /run.sh\n",
        {"run.sh": "echo run"},
    )
    ok = build(ctx, buildx_config, registry)
    assert ok.ok, ok.log
    image = ok.result.tags[0]
    assert image_text(image, "/url").strip() == "tool_linux_amd64.tar.gz"
    assert image_files(image)["run.sh"].mode & 0o777 == 0o751

    engine = build(ctx, buildx_config, registry, builder="engine")
    assert not engine.ok
    assert "FROM --platform=$BUILDPLATFORM at line 1" in engine.log
    assert "COPY/ADD --chmod/--link/... at line 4" in engine.log


def test_automatic_platform_args_are_never_silently_empty_on_the_engine(
    tmp_path, buildx_config, registry, base_image
):
    ctx = context(
        tmp_path, f'FROM {base_image}\nARG TARGETARCH\nRUN echo "tool_${{TARGETARCH}}" > /url\n'
    )
    engine = build(ctx, buildx_config, registry, builder="engine")
    assert engine.ok, engine.log
    assert image_text(engine.result.tags[0], "/url").strip() == "tool_"  # what legacy does...
    assert "leaves BuildKit's automatic platform args empty: TARGETARCH (line 2)" in engine.log
    ok = build(ctx, buildx_config, registry)
    assert image_text(ok.result.tags[0], "/url").strip() == "tool_amd64"


def test_arm64_on_this_amd64_engine_is_an_error_on_both_paths(
    tmp_path, buildx_config, registry, base_image
):
    ctx = context(tmp_path, f"FROM {base_image}\nRUN echo hi > /hi\n")
    for builder in ("auto", "engine"):
        got = build(ctx, buildx_config, registry, builder=builder, platforms=["linux/arm64"],
                    push=True)  # fmt: skip
        assert not got.ok, (builder, got.log)
        assert "--- Push" not in got.log and "registry confirms" not in got.log
    assert "the legacy builder built a linux/amd64 image, but linux/arm64 was requested" in (
        got.log
    )


def test_an_unused_failing_stage_is_skipped_by_buildkit(
    tmp_path, buildx_config, registry, base_image
):
    ctx = context(
        tmp_path,
        f"FROM {base_image} AS broken\nRUN false\n\nFROM {base_image}\nRUN echo fine > /fine\n",
    )
    assert build(ctx, buildx_config, registry).ok
    engine = build(ctx, buildx_config, registry, builder="engine")
    assert not engine.ok and "RUN false" in engine.log


def test_per_dockerfile_dockerignore_on_both_paths(tmp_path, buildx_config, registry):
    ctx = context(
        tmp_path,
        "FROM scratch\nCOPY . /ctx/\n",
        {
            ".env": "TOKEN=x",
            "terraform.tfstate": "{}",
            "app.py": "print()",
            "docker/app.Dockerfile": "FROM scratch\nCOPY . /ctx/\n",
            "docker/app.Dockerfile.dockerignore": ".env\n*.tfstate\n",
            "outside/x": "x",
        },
    )
    seen = {}
    for builder in ("auto", "engine"):
        got = build(
            ctx, buildx_config, registry, builder=builder, dockerfile="docker/app.Dockerfile"
        )
        assert got.ok, got.log
        seen[builder] = sorted(n for n in image_files(got.result.tags[0]) if n.startswith("ctx/"))
        assert "ctx/.env" not in seen[builder] and "ctx/terraform.tfstate" not in seen[builder]
        assert "ctx/app.py" in seen[builder]
    assert seen["auto"] == seen["engine"]


# -- .dockerignore: the engine path sends what the docker CLI sends ---------------------------

TRICKY = {
    "bom_crlf": ("\ufeff.env\r\n*.log\r\n", [".env", "a.log", "app.py"]),
    "comments": ("# .env\n .env\n#secret\n  # spaced\n", [".env", "secret", "#secret", "# spaced"]),
    "reinclude": ("logs\n!logs/keep.txt\n", ["logs/a.txt", "logs/keep.txt", "logs/sub/keep.txt"]),
    "doublestar": ("**/*.pem\n**/.env\nbuild/**\n",
                   ["a.pem", "x/y/b.pem", "x/.env", "build/out/z", "buildx/file", ".env"]),
    "slash_dot": ("./tmp/\n/cache\ndocs/*.md\n",
                  ["tmp/x", "cache/y", "docs/a.md", "docs/sub/b.md", "cachex"]),
    "case": (".ENV\nReadme.md\n", [".env", ".ENV", "README.md", "Readme.md"]),
    "special": ("a[b]c\nfile|pipe\nq?x\n#hash\nlit\\[x\\]\n",
                ["a[b]c", "abc", "file|pipe", "q1x", "#hash", "lit[x]"]),
    "allbut": ("*\n!app\n!app/**\n", ["app/main.py", "app/sub/x.py", "other.txt", ".env"]),
    "nested": ("**/node_modules\n!keep/node_modules/pkg\n",
               ["node_modules/a", "x/node_modules/b", "keep/node_modules/pkg/c",
                "keep/node_modules/other/d"]),
    "dotdot": ("../x\nsub/../secret.txt\n", ["secret.txt", "x", "sub/ok"]),
    "self": (".dockerignore\nDockerfile\n*.tfstate\n", ["terraform.tfstate", "keep.txt"]),
    "non_utf8": (b"caf\xe9.txt\n.env\n", [b"caf\xe9.txt", "cafe.txt", ".env"]),
}  # fmt: skip


def make_tricky(root: Path, name: str) -> Path:
    ignore, files = TRICKY[name]
    root.mkdir(parents=True)
    for f in files:
        path = os.path.join(os.fsencode(root), f if isinstance(f, bytes) else os.fsencode(f))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(b"x")
    data = ignore if isinstance(ignore, bytes) else ignore.encode()
    (root / ".dockerignore").write_bytes(data)
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /ctx/\n")
    return root


def ctx_files(image: str) -> list[str]:
    return sorted(n for n in image_files(image) if n.startswith("ctx/"))


def test_engine_path_sends_what_the_docker_cli_sends(tmp_path, buildx_config, registry):
    """12 tricky contexts (BOM, CRLF, comments, negations, `**`, re-included files in excluded
    directories, `./` and trailing slashes, case, `#`/`[`/`|` in names, `..`, the build files,
    a non-UTF-8 byte): our engine path == `docker build` (legacy CLI) in every one; BuildKit
    agrees too except on the non-UTF-8 pattern, which its gRPC transfer mangles (the file is sent).
    """
    differ = {}
    for name in TRICKY:
        ctx = make_tricky(tmp_path / name, name)
        ours = build(ctx, buildx_config, registry, builder="engine")
        assert ours.ok, (name, ours.log)
        cli_tag = f"psd-cli-{name}-{uuid.uuid4().hex[:6]}"
        done = subprocess.run(
            ["docker", "build", "-q", "-t", cli_tag, str(ctx)],
            capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        bk = build(ctx, buildx_config, registry)
        assert bk.ok, (name, bk.log)
        assert ctx_files(ours.result.tags[0]) == ctx_files(cli_tag), name
        if ctx_files(bk.result.tags[0]) != ctx_files(cli_tag):
            differ[name] = sorted(set(ctx_files(bk.result.tags[0])) ^ set(ctx_files(cli_tag)))
        docker("rmi", cli_tag)
    assert differ == {"non_utf8": ["ctx/caf\udce9.txt"]}


def test_hostile_dockerignore_is_refused_not_followed(tmp_path, buildx_config, registry):
    ctx = context(tmp_path, "FROM scratch\nCOPY . /\n", {"a": "a"})
    (ctx / ".dockerignore").symlink_to("/dev/zero")
    got = build(ctx, buildx_config, registry)
    assert not got.ok and "is a symbolic link; refusing to follow it" in str(got.error)
    (ctx / ".dockerignore").unlink()
    (ctx / ".dockerignore").write_bytes(b"x" * (1024 * 1024 + 1))
    got = build(ctx, buildx_config, registry, builder="engine")
    assert not got.ok and "larger than 1024 KiB" in str(got.error)
    (ctx / ".dockerignore").write_bytes(b"[\n")
    got = build(ctx, buildx_config, registry, builder="engine")
    assert not got.ok and "pattern '['" in str(got.error)


# -- what the builtin `docker` driver cannot do ------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"platforms": ["linux/amd64", "linux/arm64"]}, "several platforms"),
        ({"cache_to": ["type=registry,ref=x/y:cache"]}, "cache-to type=registry"),
        ({"provenance": "mode=max"}, "provenance attestations"),
        ({"sbom": "true"}, "SBOM attestations"),
    ],
)
def test_docker_driver_limits_fail_naming_a_container_builder(
    tmp_path, buildx_config, registry, fields, named
):
    ctx = context(tmp_path, "FROM scratch\nCOPY Dockerfile /\n")
    started = time.monotonic()
    got = build(ctx, buildx_config, registry, push=True, **fields)
    assert not got.ok
    assert named in str(got.error) and "docker driver" in str(got.error)
    assert "docker-container" in (got.error.hint or "")
    assert "--- Build" not in got.log and time.monotonic() - started < 30  # before any build


def test_unknown_builder_name_is_a_clear_error(tmp_path, buildx_config, registry):
    ctx = context(tmp_path, "FROM scratch\nCOPY Dockerfile /\n")
    got = build(ctx, buildx_config, registry, builder="no-such-builder")
    assert not got.ok and "builder no-such-builder needs docker buildx" in str(got.error)
    assert "no-such-builder" in str(got.error) and "inspect" in str(got.error)


# -- cache: from the registry with credentials, no self-inflicted bust ------------------------


def test_cache_from_a_private_registry_after_a_fresh_runner(
    tmp_path, buildx_config, registry, base_image
):
    dockerfile = f"FROM {base_image}\nRUN echo slow-step > /out\nCOPY a /a\n"
    ctx = context(tmp_path, dockerfile, {"a": "1"})
    repo = f"{registry.host}/bk/cache-{uuid.uuid4().hex[:8]}"
    first = build(ctx, buildx_config, registry, image=repo, tags=["cache"], push=True,
                  cache_to=["type=inline"])  # fmt: skip
    assert first.ok, first.log
    # a fresh runner: neither the image nor BuildKit's cache is local any more
    docker("rmi", f"{repo}:cache")
    docker("builder", "prune", "-af", config=buildx_config)
    (ctx / "a").write_text("2")
    again = build(ctx, buildx_config, registry, image=repo, tags=["v2"],
                  cache_from=[f"{repo}:cache"])  # fmt: skip
    assert again.ok, again.log
    assert "importing cache manifest from" in again.log
    assert "RUN echo slow-step" in again.log and "CACHED" in again.log
    # "401" as a status, not inside a digest
    assert not re.search(r"\b401\b|unauthorized", again.log, re.I), again.log
    assert "cache-from" not in again.log.split("--- Build")[0]

    missing = build(ctx, buildx_config, registry, cache_from=[f"{repo}:nope"])
    assert missing.ok
    assert f"cache-from {repo}:nope" in missing.log and "ran without that cache" in missing.log

    # the engine path pulls the cache image (with our login) before the legacy build
    engine_first = build(ctx, buildx_config, registry, builder="engine", image=repo,
                         tags=["engine-cache"], push=True)  # fmt: skip
    assert engine_first.ok, engine_first.log
    docker("rmi", f"{repo}:engine-cache")
    engine = build(ctx, buildx_config, registry, builder="engine",
                   cache_from=[f"{repo}:engine-cache", f"{repo}:nope"])  # fmt: skip
    assert engine.ok, engine.log
    assert f"cache-from: pulled {repo}:engine-cache" in engine.log
    assert "Using cache" in engine.log
    assert f"cache-from {repo}:nope does not exist (yet)" in engine.log


def test_unchanged_rebuild_is_a_cache_hit_on_both_builders(
    tmp_path, buildx_config, registry, base_image
):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"head_commit": {"timestamp": "2024-05-01T10:20:30+02:00"}}))
    gh = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": "ab" * 20,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": "a/b",
    }
    ctx = context(tmp_path, f"FROM {base_image}\nRUN echo x > /x\nCOPY a /a\n", {"a": "1"})
    for builder in ("auto", "engine"):
        one = build(ctx, buildx_config, registry, builder=builder, env=gh)
        two = build(ctx, buildx_config, registry, builder=builder, env=gh)
        assert one.ok and two.ok, (one.log, two.log)
        assert one.result.image_id == two.result.image_id, builder  # nothing rebuilt
    inspect = json.loads(docker("image", "inspect", two.result.tags[0]))[0]
    assert inspect["Config"]["Labels"]["org.opencontainers.image.created"] == "2024-05-01T08:20:30Z"


# -- credentials: never in argv, env or ~/.docker; nothing left behind ------------------------


def test_push_leaves_no_config_or_secret_behind(
    tmp_path, buildx_config, registry, base_image, monkeypatch
):
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr("tempfile.tempdir", None)
    before = sorted(p.name for p in buildx_config.rglob("*"))
    ctx = context(tmp_path, f"FROM {base_image}\nRUN --mount=type=secret,id=tok true\n")
    got = build(ctx, buildx_config, registry, push=True, secrets={"tok": CANARY})
    assert got.ok, got.log
    assert got.result.digest_ref and "registry confirms" in got.log
    assert list(tmp.iterdir()) == []  # the private DOCKER_CONFIG and the secret file are gone
    after = sorted(p.name for p in buildx_config.rglob("*") if "buildx" not in p.parts)
    assert [n for n in after if n not in before and n != "buildx"] == []
    assert not (buildx_config / "config.json").exists()  # the login never reached the user's
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    assert token not in got.log and registry.password not in got.log and CANARY not in got.log
