"""The BuildKit path: `docker buildx build` through the docker CLI (the default where it works).

The CLI runs from an argv list (never a shell), in its own process group, with our environment
minus credentials and with DOCKER_CONFIG pointing at a private directory (dockerconfig.py): the
registry login BuildKit needs (private base images, cache import/export, `--push`) is in that
directory's config.json, never in argv, env or ~/.docker; build secrets are 0600 files beside it.

Single-platform builds are `--load`ed into the engine and pushed from there (push.py), as on the
Engine API path: one push and one digest check for both builders. Builds the engine cannot hold
(several platforms, attestations) are pushed by BuildKit itself (`--push`), their digest read
from `--metadata-file`, and checked against the registry the same way.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.image.build import BuildRequest
from paperspace_deploy.image.console import Console
from paperspace_deploy.image.engine import stream_with_deadline
from paperspace_deploy.image.stream import TAIL_LINES, LineSplitter
from paperspace_deploy.safetext import one_line

PROBE_TIMEOUT = 30.0  # seconds for `docker buildx inspect`
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
KEYWORDS = ("auto", "engine", "buildx")
INSTALL_HINT = (
    "install the docker CLI with the buildx plugin (Debian 13/Ubuntu: apt-get install docker.io "
    "docker-buildx; Docker's repository: docker-ce-cli docker-buildx-plugin; GitHub-hosted "
    "runners have it), or use builder engine"
)
CONTAINER_BUILDER = (
    "use a docker-container builder: `docker buildx create --name psd --driver docker-container "
    "--use` (on GitHub: docker/setup-buildx-action) and pass its name as the builder; see "
    "docs/building.md"
)
_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")
_BUILDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_SECRET_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
_STEP = re.compile(r"^#(\d+) (.*)$")
# never handed to the docker CLI: registry/API credentials and the action's inputs
_SECRET_ENV = ("REGISTRY_PASSWORD", "PAPERSPACE_API_KEY")


def child_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for the docker CLI: ours minus credentials (DOCKER_*, proxies, HOME and
    the ACTIONS_* cache variables stay, so `cache-from/cache-to type=gha` can work)."""
    return {k: v for k, v in environ.items() if k not in _SECRET_ENV and not k.startswith("INPUT_")}


# where the action image (Dockerfile) and Debian put the CLI: a workflow `env: PATH:` reaches the
# action's container as it is, so PATH alone is not enough
CLI_LOCATIONS = ("/usr/local/bin/docker", "/usr/bin/docker")


def docker_cli(environ: Mapping[str, str]) -> str | None:
    found = shutil.which("docker", path=environ.get("PATH", os.defpath))
    return found or next((p for p in CLI_LOCATIONS if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class Builder:
    """The buildx builder instance a build runs on (`docker buildx inspect`)."""

    name: str | None  # None: the CLI's current builder
    driver: str  # docker, docker-container, kubernetes, remote
    buildkit: str = ""  # e.g. v0.8+unknown (the engine's builtin BuildKit) or v0.13.2
    platforms: tuple[str, ...] = ()

    @property
    def builtin(self) -> bool:
        """The engine's own BuildKit (`docker` driver): one platform, no cache export."""
        return self.driver == "docker"


def _run(argv: list[str], env: Mapping[str, str], deadline: Deadline) -> tuple[int, str, str]:
    timeout = max(0.1, min(PROBE_TIMEOUT, deadline.remaining()))
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, env=dict(env), timeout=timeout
    )
    out = done.stdout.decode("utf-8", "replace")
    return done.returncode, out, done.stderr.decode("utf-8", "replace")


def parse_inspect(text: str, name: str | None) -> Builder:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key not in fields:
            fields[key] = value.strip()
    version = fields.get("buildkit version") or fields.get("buildkit") or ""
    platforms = tuple(p.strip().rstrip("*") for p in fields.get("platforms", "").split(",") if p)
    return Builder(name, fields.get("driver", "unknown"), version, platforms)


def probe(name: str | None, env: Mapping[str, str], deadline: Deadline) -> Builder | str:
    """The builder, or why buildx cannot be used."""
    docker = docker_cli(env)
    if docker is None:
        return "no docker CLI on PATH"
    try:  # one call: a missing plugin fails here too ("'buildx' is not a docker command")
        argv = [docker, "buildx", "inspect", *([name] if name else [])]
        code, out, err = _run(argv, env, deadline)
    except subprocess.TimeoutExpired:
        return f"docker buildx did not answer within {PROBE_TIMEOUT:.0f} s"
    except OSError as exc:
        return f"cannot run {docker}: {one_line(str(exc), 200)}"
    if code != 0:
        said = one_line(err, 200)
        what = f"builder {name!r}" if name else "the current buildx builder"
        return f"{what} is not usable (`docker buildx inspect` exited {code}" + (
            f": {said})" if said else ")"
        )
    return parse_inspect(out, name)


def start_probe(
    requested: str, env: Mapping[str, str], deadline: Deadline
) -> Callable[[], Builder | str]:
    """Probe the builder in the background (the CLI and its plugin start in ~0.15 s, while the
    context preview runs); the returned call waits for the answer."""
    import concurrent.futures

    if requested not in KEYWORDS and not _BUILDER_NAME.match(requested):
        raise InputError(
            f"unknown builder {one_line(requested, 80)!r}",
            hint="use auto, engine, buildx or the name of a buildx builder instance",
        )
    name = None if requested in KEYWORDS else requested
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="psd-probe")
    future = pool.submit(probe, name, env, deadline)
    pool.shutdown(wait=False)
    return future.result


def choose_builder(
    requested: str,
    found_by: Callable[[], Builder | str],
    console: Console,
    features: list[str],
) -> Builder | None:
    """The BuildKit builder to use, or None for the Engine API path."""
    found = found_by()
    if isinstance(found, Builder):
        return found
    if requested != "auto":
        raise InputError(f"builder {requested} needs docker buildx: {found}", hint=INSTALL_HINT)
    used = "; ".join(features[:6]) + (f" and {len(features) - 6} more" if len(features) > 6 else "")
    message = (
        f"docker buildx is not available ({found}): building with the Docker Engine API's legacy "
        "builder instead of BuildKit"
    )
    install = INSTALL_HINT.removesuffix(", or use builder engine")
    if features:  # the build will fail or differ: a warning
        console.warn(
            f"{message}. This Dockerfile uses BuildKit-only features that will fail or differ: "
            f"{used}. To build with BuildKit: {install}"
        )
    else:  # a plain Dockerfile builds the same on both: one line, no annotation
        console.info(f"notice: {message}. To build with BuildKit: {install}")
    return None


@dataclass
class Secret:
    """One `--secret` for BuildKit: a value (written to a private file), an env var or a file."""

    id: str
    value: str | None = None
    env: str | None = None
    src: str | None = None


def check_secrets(secrets: list[Secret], environ: Mapping[str, str]) -> None:
    for s in secrets:
        if not _SECRET_ID.match(s.id):
            raise InputError(
                f"invalid secret id {one_line(s.id, 60)!r}",
                hint="secret ids may use letters, digits, '.', '_' and '-'",
            )
        if s.env is not None:
            if not _ENV_NAME.match(s.env):
                raise InputError(f"secret {s.id}: invalid environment variable name {s.env!r}")
            if s.env not in environ:
                raise InputError(
                    f"secret {s.id}: environment variable {s.env} is not set",
                    hint="set it in the step's env, or drop the secret",
                )
        if s.src is not None:
            if any(c in s.src for c in ',"\n\r'):
                raise InputError(f'secret {s.id}: the file path may not contain , " or newlines')
            if not os.path.isfile(s.src):
                raise InputError(f"secret {s.id}: {s.src} is not a regular file")


def secret_args(secrets: list[Secret], write: Callable[[str, str], Path]) -> list[str]:
    """The `--secret` values; inline values go to private 0600 files (`write(id, value)`), so
    no secret is in argv or in the CLI's environment."""
    out = []
    for s in secrets:
        if s.value is not None:
            out.append(f"id={s.id},src={write(s.id, s.value)}")
        elif s.env is not None:
            out.append(f"id={s.id},env={s.env}")
        else:
            out.append(f"id={s.id},src={s.src}")
    return out


def check_ssh(specs: list[str]) -> None:
    for spec in specs:
        ident, _, paths = spec.partition("=")
        if not _SECRET_ID.match(ident) or any(c in spec for c in '"\n\r'):
            raise InputError(
                f"invalid ssh value {one_line(spec, 80)!r}",
                hint="use `default` (the SSH agent in SSH_AUTH_SOCK) or id=/path/to/key",
            )
        for path in filter(None, paths.split(",")):
            if not os.path.exists(path):
                raise InputError(f"ssh {ident}: {path} does not exist")


def cache_type(spec: str) -> str:
    """`type=gha,scope=x` -> gha; a plain reference is a registry cache."""
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() == "type":
            return value.strip()
    return "registry"


def cache_ref(spec: str) -> str | None:
    """The image reference of a registry cache (`ref=` or the plain value)."""
    if "=" not in spec:
        return spec.strip() or None
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() == "ref":
            return value.strip()
    return None


def enabled(value: str | None) -> bool:
    """provenance/sbom: unset, false, 0 or off disable; anything else (true, mode=max) asks."""
    return value is not None and value.strip().lower() not in ("", "false", "0", "off", "no")


def needs_builder_push(req: BuildRequest) -> bool:
    """What the engine's image store cannot hold: several platforms, attestations."""
    return len(req.platforms) > 1 or enabled(req.provenance) or enabled(req.sbom)


def unsupported(req: BuildRequest, builder: Builder, containerd_store: bool) -> list[str]:
    """What this builder cannot do of what was asked (the `docker` driver's limits)."""
    if not builder.builtin:
        return []
    found = []
    if not containerd_store:
        if len(req.platforms) > 1:
            found.append(f"several platforms ({', '.join(req.platforms)})")
        if enabled(req.provenance):
            found.append("provenance attestations")
        if enabled(req.sbom):
            found.append("SBOM attestations")
    for spec in req.cache_to:
        if cache_type(spec) != "inline":
            found.append(f"cache-to type={cache_type(spec)}")
    for spec in req.cache_from:
        if cache_type(spec) not in ("registry", "inline"):
            found.append(f"cache-from type={cache_type(spec)}")
    return found


def buildx_argv(
    docker: str,
    req: BuildRequest,
    refs: list[str],
    files: Path,
    *,
    output: str,
    builder: Builder,
    secret_args: list[str],
) -> list[str]:
    """`docker buildx build ...`; `--flag=value` so no value can be read as another flag.

    output: load (into the engine), push (BuildKit pushes) or none (build only)."""
    dockerfile = Path(req.dockerfile)
    if not dockerfile.is_absolute():  # the CLI reads -f relative to its cwd, not the context
        dockerfile = req.context / dockerfile
    argv = [docker, "buildx", "build", "--progress=plain"]
    if builder.name:
        argv.append(f"--builder={builder.name}")
    argv += [f"--iidfile={files / 'iid'}", f"--metadata-file={files / 'metadata.json'}"]
    argv.append(f"--file={dockerfile}")
    if req.target:
        argv.append(f"--target={req.target}")
    if req.platforms:
        argv.append(f"--platform={','.join(req.platforms)}")
    argv += [f"--build-arg={k}={v}" for k, v in req.build_args.items()]
    argv += [f"--label={k}={v}" for k, v in req.labels.items()]
    argv += [f"--cache-from={c}" for c in req.cache_from]
    argv += [f"--cache-to={c}" for c in req.cache_to]
    argv += [f"--secret={s}" for s in secret_args]
    argv += [f"--ssh={s}" for s in req.ssh]
    if req.network:
        argv.append(f"--network={req.network}")
    # attestations only when asked: an image the engine can load, a digest that is the image's
    argv.append(f"--provenance={req.provenance if enabled(req.provenance) else 'false'}")
    argv.append(f"--sbom={req.sbom if enabled(req.sbom) else 'false'}")
    if req.pull:
        argv.append("--pull")
    if req.no_cache:
        argv.append("--no-cache")
    argv += [f"--tag={ref}" for ref in refs]
    if output == "load":
        argv.append("--load")
    elif output == "push":
        argv.append("--push")
    argv.append(str(req.context))
    return argv


def _lines(pipe: IO[bytes]) -> Iterator[str]:
    """Whole lines as they arrive; closes the pipe at EOF (this runs in the reader thread,
    which alone may touch the descriptor)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    splitter = LineSplitter()
    with pipe:
        while chunk := os.read(pipe.fileno(), 65536):
            yield from splitter.feed(decoder.decode(chunk))
    yield from splitter.feed(decoder.decode(b"", final=True))
    yield from splitter.flush()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Stop the CLI and its plugin process (their own process group), TERM then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(KILL_GRACE)


@dataclass
class BuildxLog:
    """What the plain progress output tells beyond the lines: failed cache imports."""

    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    cache_steps: dict[str, str] = field(default_factory=dict)  # step -> cache reference
    cache_failures: list[str] = field(default_factory=list)

    def feed(self, line: str) -> None:
        self.tail.append(line)
        m = _STEP.match(line)
        if not m:
            return
        step, text = m.groups()
        if text.startswith("importing cache manifest from "):
            self.cache_steps[step] = text.removeprefix("importing cache manifest from ")
        elif text.startswith("ERROR") and step in self.cache_steps:
            ref = self.cache_steps.pop(step)
            self.cache_failures.append(f"{ref}: {text.removeprefix('ERROR:').strip()}")


@dataclass
class BuildxResult:
    image_id: str  # sha256:... (the config digest; for a pushed index, the index digest)
    digest: str | None  # the manifest (or index) digest BuildKit pushed (output=push)
    cache_failures: list[str]


def run_buildx_build(
    argv: list[str],
    files: Path,
    console: Console,
    deadline: Deadline,
    title: str,
    env: Mapping[str, str],
    cwd: Path,
    builder: Builder,
) -> BuildxResult:
    """Run the build; return the image ID (--iidfile) and pushed digest (--metadata-file)."""
    log = BuildxLog()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # buildx writes its progress to stderr
            env=dict(env),
            cwd=cwd,
            start_new_session=True,  # one group to kill: the CLI and its buildx plugin
        )
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]}: {one_line(str(exc), 200)}") from None
    pipe = proc.stdout
    assert pipe is not None
    try:
        with console.untrusted(title):
            for line in stream_with_deadline(
                lambda: _lines(pipe), deadline=deadline, phase="build", on_abort=lambda: _kill(proc)
            ):
                log.feed(line)
                console.raw(line)
        code = proc.wait()
    finally:  # deadline, Ctrl-C or SIGTERM: the CLI must not build on unattended
        _kill(proc)
    if code != 0:
        _report_failure(code, log, console, failure_hint("\n".join(log.tail), builder))
    image_id = _read(files / "iid").strip()
    digest = None
    try:
        metadata = json.loads(_read(files / "metadata.json") or "{}")
    except ValueError:
        metadata = {}
    if isinstance(metadata, dict):
        value = metadata.get("containerimage.digest")
        digest = value if isinstance(value, str) and _IMAGE_ID.fullmatch(value) else None
    if not _IMAGE_ID.fullmatch(image_id):
        image_id = digest or ""
    return BuildxResult(image_id, digest, log.cache_failures)


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(1024 * 1024)
    except OSError:
        return ""


def failure_hint(text: str, builder: Builder) -> str | None:
    """What to do about the common BuildKit failures seen on real engines."""
    low = text.lower()
    if "network bridge not found" in low:
        return (
            "the engine has no bridge network (dockerd --bridge=none): set the build's network "
            "to host or none"
        )
    if ("unknown flag" in low or "unknown instruction" in low or "parse error" in low) and (
        builder.builtin and builder.buildkit.startswith(("v0.8", "v0.9", "v0.10"))
    ):
        return (
            f"the engine's builtin BuildKit ({builder.buildkit}) has an old Dockerfile frontend "
            "(no heredocs, COPY --link, RUN --network): upgrade the Docker engine (23 or later), "
            f"or {CONTAINER_BUILDER}"
        )
    if "exec format error" in low:
        return (
            "a RUN step ran a binary for another CPU: building for another platform needs QEMU "
            "(docker/setup-qemu-action) or a native builder"
        )
    if "failed to do request" in low or "failed to resolve source metadata" in low:
        return (
            "BuildKit could not fetch a base image from its registry (for the requested "
            "platform); check the image name, the platform and the registry login"
        )
    return None


def _report_failure(code: int, log: BuildxLog, console: Console, hint: str | None) -> None:
    if console.github:  # the live output is folded away in the group: repeat its end
        with console.untrusted("Failed build (last lines):", fold=False):
            for line in log.tail:
                console.raw(line)
    errors = [line for line in log.tail if line.lstrip().startswith("ERROR")]
    last = errors[-1] if errors else next((x for x in reversed(log.tail) if x.strip()), "")
    raise InputError(
        f"docker buildx build failed with exit code {code}"
        + (f": {one_line(last, 300)}" if last else ""),
        hint=hint or "the build output above shows the failing step",
    )


def image_or_unavailable(result: BuildxResult) -> str:
    if not result.image_id:
        raise Unavailable(
            "docker buildx build succeeded but reported no image ID (--iidfile) or digest"
        )
    return result.image_id
