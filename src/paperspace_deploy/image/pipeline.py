"""build -> tag -> push -> verify digest: the orchestration behind `build_and_push`.

Order matters for fast, clear failures: every local check (paths, tags, image name, registry
match, .dockerignore, context hygiene, options the chosen builder cannot honour) runs before the
first engine call; the registry login runs before the build so a wrong password fails in
seconds, not after a long build.

Builders (options.BuildOptions.builder): BuildKit through `docker buildx build` (buildx.py) where
the CLI plugin works, else the Engine API's legacy builder (build.py) with a notice; either way
the image is checked against the requested platform, pushed through the engine (push.py) and its
digest read back from the registry (digest.py). Only builds the engine cannot hold (several
platforms, attestations) are pushed by BuildKit itself; their digest is checked the same way.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import stat
import time
from collections.abc import Callable
from typing import Any

from paperspace_deploy import ci_context as ci
from paperspace_deploy.api.retry import Deadline
from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.image.build import BuildRequest, run_build
from paperspace_deploy.image.console import Console
from paperspace_deploy.image.context import (
    SensitiveFile,
    describe_sensitive,
    resolve_context,
    resolve_dockerfile,
    secret_looking_build_args,
    sensitive_files,
)
from paperspace_deploy.image.context_tar import BuildContext, prepare
from paperspace_deploy.image.dockerfile import (
    SCAN_LIMIT,
    automatic_args,
    buildkit_features,
    mounts,
)
from paperspace_deploy.image.engine import connect, describe_host
from paperspace_deploy.image.labels import oci_labels
from paperspace_deploy.image.options import BuildOptions, BuildResult
from paperspace_deploy.image.platforms import check_image_platform, split_platforms
from paperspace_deploy.image.push import Credentials, login, push_tag, with_retries
from paperspace_deploy.image.reference import registry_of
from paperspace_deploy.image.tags import compute_tags, version_of
from paperspace_deploy.io import Io
from paperspace_deploy.safetext import one_line
from paperspace_deploy.workspace import workspace_root

_NETWORK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _mask_secrets(
    console: Console, opts: BuildOptions, creds: Credentials | None, environ: dict[str, str]
) -> None:
    """Register every secret and its derived encodings before anything can print them."""
    if creds:
        console.mask(creds.password)
        console.mask(base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode())
        header = json.dumps(creds.auth_config()).encode()  # docker-py's X-Registry-Auth
        console.mask(base64.urlsafe_b64encode(header).decode())
    for name in secret_looking_build_args(opts.build_args):
        console.mask(opts.build_args[name])
    values = list(opts.secrets.values())
    values += [environ[e] for e in opts.secret_envs.values() if environ.get(e)]
    values += [v for v in map(_secret_file_text, opts.secret_files.values()) if v]
    if any("type=gha" in c for c in [*opts.cache_from, *opts.cache_to]):
        values.append(environ.get("ACTIONS_RUNTIME_TOKEN", ""))
    for value in values:
        console.mask(value)
        for line in value.splitlines():
            console.mask(line)


SECRET_FILE_MASK_LIMIT = 1024 * 1024  # a build secret file is a token or a config, not data


def _secret_file_text(path: str) -> str | None:
    """A `--secret-file`'s contents, to mask like any secret (BuildKit reads the file itself;
    a RUN that prints it, or an error quoting it, must still show ***). Regular files only,
    without following a symlink at the end, and bounded: this read is only for the mask."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None  # buildx.check_secrets reports a missing or odd file
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, SECRET_FILE_MASK_LIMIT)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")


def _credentials(opts: BuildOptions) -> tuple[str, Credentials | None]:
    """The registry and the login for it (`BuildOptions.validate` checked that they match)."""
    registry = registry_of(opts.image)
    if opts.username and opts.password:
        return registry, Credentials(registry, opts.username, opts.password)
    return registry, None


def _check_docker_host(console: Console, io: Io) -> None:
    host = io.environ.get("DOCKER_HOST", "")
    if host.startswith("tcp://") and io.environ.get("DOCKER_TLS_VERIFY", "") in ("", "0"):
        name = host[len("tcp://") :].rsplit(":", 1)[0]
        if name not in ("127.0.0.1", "localhost", "[::1]", "::1"):
            console.warn(
                f"DOCKER_HOST={host} is plain TCP without TLS: anyone on that network "
                "controls the engine; set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH"
            )


def _secrets(opts: BuildOptions) -> list[Any]:
    from paperspace_deploy.image.buildx import Secret

    out = [Secret(i, value=v) for i, v in opts.secrets.items()]
    out += [Secret(i, env=e) for i, e in opts.secret_envs.items()]
    out += [Secret(i, src=p) for i, p in opts.secret_files.items()]
    ids = [s.id for s in out]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise InputError(f"secret id {dup!r} is given twice (secrets, secret-envs, secret-files)")
    return out


def _engine_refusals(opts: BuildOptions, request: BuildRequest, secrets: list[Any]) -> list[str]:
    """What only BuildKit can do, asked of the Engine API path (never silently dropped)."""
    from paperspace_deploy.image.buildx import cache_type, enabled

    found = []
    if len(request.platforms) > 1:
        found.append(f"several platforms ({', '.join(request.platforms)})")
    if secrets:
        found.append("build secrets (" + ", ".join(s.id for s in secrets) + ")")
    if opts.ssh:
        found.append("ssh forwarding")
    if opts.cache_to:
        found.append("cache-to")
    if enabled(opts.provenance) or enabled(opts.sbom):
        found.append("attestations (provenance, sbom)")
    found += [
        f"cache-from type={cache_type(c)}" for c in opts.cache_from if cache_type(c) != "registry"
    ]
    return found


def build_and_push(opts: BuildOptions, io: Io) -> BuildResult:
    """The image stage's one entry point: build, tag, push and verify, within `opts.deadline`."""
    return run_pipeline(opts, io)


def run_pipeline(opts: BuildOptions, io: Io) -> BuildResult:
    deadline = opts.deadline
    console = Console(io)
    registry, creds = _credentials(opts)
    _mask_secrets(console, opts, creds, dict(io.environ))
    for note in opts.notes:
        console.warn(note)

    # -- local checks: no engine yet -------------------------------------------------------
    context = resolve_context(opts.context, io.cwd)
    workspace = workspace_root(io.environ, io.cwd)
    dockerfile_path, _ = resolve_dockerfile(opts.dockerfile, context, io.cwd, workspace)
    ctx = ci.detect(io.environ)
    tags = compute_tags(opts.tags, ctx, opts.tag_rules, opts.image)
    if not tags:
        tags = ["latest"]
        console.info("no CI context and no --tag given: tagging 'latest'")
    refs = [f"{opts.image}:{t}" for t in tags]
    push = opts.push if opts.push is not None else not ctx.is_pull_request
    if opts.push is None and not push:
        console.info("pull request build: the image is not pushed (pass --push to push anyway)")
    labels = oci_labels(ctx, version_of(ctx, tags), io.environ, opts.labels)
    platforms = split_platforms(opts.platforms)
    if opts.network is not None and not _NETWORK.match(opts.network):
        raise InputError(f"invalid network {one_line(opts.network, 60)!r} (default, host, none)")

    with contextlib.ExitStack() as stack:
        builder, env, secret_args, found_by = None, dict(io.environ), [], None
        if opts.builder != "engine":
            from paperspace_deploy.image import buildx
            from paperspace_deploy.image.dockerconfig import Login, private_config

            logins = [Login(registry, creds.username, creds.password)] if creds else []
            cfg = stack.enter_context(private_config(io.environ, logins))
            env = cfg.env(buildx.child_env(io.environ))
            found_by = buildx.start_probe(opts.builder, env, deadline)  # runs meanwhile

        sent = prepare(context, dockerfile_path, workspace)  # reads the .dockerignore (checked)
        if opts.fail_on_sensitive_context:
            found = sensitive_files(sent)
            if found:
                raise InputError(_sensitive_message(sent, found),
                                 hint="or drop --fail-on-sensitive-context")  # fmt: skip
            hygiene = None
        else:  # only a warning: walk the context while the build runs (0.25 s for 20,000 files)
            hygiene = _in_background(lambda: sensitive_files(sent))
        risky = secret_looking_build_args(opts.build_args)
        if risky:
            console.warn(
                f"build arg(s) {', '.join(risky)} look like secrets: build args are stored in "
                "the image history (docker history shows them); use build secrets (secrets, "
                "secret-envs) instead"
            )
        with open(dockerfile_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(SCAN_LIMIT)
        features = buildkit_features(text)
        secrets = _secrets(opts)
        request = BuildRequest(
            context=context,
            dockerfile=str(dockerfile_path),
            build_args=dict(opts.build_args),
            labels=labels,
            target=opts.target,
            platforms=platforms,
            cache_from=list(opts.cache_from),
            pull=opts.pull,
            no_cache=opts.no_cache,
            buildkit_features=features,
            cache_to=list(opts.cache_to),
            ssh=list(opts.ssh),
            provenance=opts.provenance,
            sbom=opts.sbom,
            network=opts.network,
        )
        _check_docker_host(console, io)
        if found_by is not None:
            buildx.check_secrets(secrets, io.environ)
            buildx.check_ssh(opts.ssh)
            builder = buildx.choose_builder(opts.builder, found_by, console, features)
            if builder is not None:
                secret_args = buildx.secret_args(secrets, cfg.secret_file)
        if builder is None:
            _engine_checks(opts, request, secrets, text, console)
        else:
            _buildkit_checks(request, secrets, text, console)

        console.info(f"image: {opts.image}")
        console.info("tags: " + ", ".join(tags))
        console.info(
            f"push: {'yes' if push else 'no'}" + (f" (registry {registry})" if push else "")
        )
        return _run(
            opts, io, console, deadline, request, sent, builder, env, secret_args, tags, refs,
            push, registry, creds, stack, hygiene,
        )  # fmt: skip
    raise AssertionError("unreachable")


def _engine_checks(
    opts: BuildOptions, request: BuildRequest, secrets: list[Any], text: str, console: Console
) -> None:
    refused = _engine_refusals(opts, request, secrets)
    if refused:
        raise InputError(
            "the Docker Engine API path (legacy builder) cannot do what this build asks: "
            + "; ".join(refused),
            hint="build with BuildKit: builder auto or buildx with the docker buildx CLI plugin "
            "installed (see docs/building.md)",
        )
    if request.buildkit_features and opts.builder == "engine":
        console.warn(
            "builder engine (legacy builder) with BuildKit-only Dockerfile syntax: "
            + "; ".join(request.buildkit_features[:6])
        )
    empty = automatic_args(text)
    if empty:
        console.warn(
            "the legacy builder leaves BuildKit's automatic platform args empty: "
            + ", ".join(empty[:6])
            + "; pass them as build args or build with BuildKit"
        )


def _buildkit_checks(
    request: BuildRequest, secrets: list[Any], text: str, console: Console
) -> None:
    given = {s.id for s in secrets}
    ssh_ids = {spec.partition("=")[0] for spec in request.ssh}
    for m in mounts(text):
        if m.required:
            continue  # BuildKit itself fails the step when it is missing
        if m.kind == "secret" and m.id not in given:
            console.warn(
                f"the Dockerfile mounts secret {m.id!r} (line {m.line}) but no secret with that "
                "id was given: that RUN step runs without it"
            )
        elif m.kind == "ssh" and m.id not in ssh_ids:
            console.warn(
                f"the Dockerfile mounts ssh {m.id!r} (line {m.line}) but ssh {m.id} was not "
                "given: that RUN step runs without an agent"
            )


def _run(
    opts: BuildOptions,
    io: Io,
    console: Console,
    deadline: Deadline,
    request: BuildRequest,
    sent: BuildContext,
    builder: Any,
    env: dict[str, str],
    secret_args: list[str],
    tags: list[str],
    refs: list[str],
    push: bool,
    registry: str,
    creds: Credentials | None,
    stack: contextlib.ExitStack,
    hygiene: Callable[[], list[SensitiveFile]] | None,
) -> BuildResult:
    import requests
    from docker import errors as docker_errors

    client = connect(io.environ)
    try:
        if builder is not None:
            from paperspace_deploy.image.buildx import needs_builder_push, unsupported

            blocked = unsupported(request, builder, _containerd_store(client))
            if blocked:
                from paperspace_deploy.image.buildx import CONTAINER_BUILDER

                raise InputError(
                    f"the buildx builder{' ' + builder.name if builder.name else ''} "
                    f"({builder.driver} driver: the engine's builtin BuildKit) cannot do "
                    + "; ".join(blocked),
                    hint=CONTAINER_BUILDER,
                )
            builder_push = needs_builder_push(request)
        if push and creds:
            with_retries(
                lambda: login(client, creds, deadline),
                policy=opts.retry,
                deadline=deadline,
                console=console,
                what="login",
                registry=registry,
            )
        started = time.monotonic()
        title = f"Build {opts.image}"
        if builder is not None:
            output = ("push" if push else "none") if builder_push else "load"
            image_id, pushed_digest = _buildkit_build(
                client, request, refs, console, deadline, title, io, builder, env, secret_args,
                output, stack,
            )  # fmt: skip
        else:
            console.info("builder: Docker Engine API (legacy builder)")
            request.cache_from = _pull_cache(client, request.cache_from, creds, console, deadline)
            image_id = run_build(client, request, sent, console, deadline, title)
            pushed_digest = None
        console.info(f"built {image_id} in {time.monotonic() - started:.1f} s")
        if hygiene is not None and (found := hygiene()):
            console.warn(_sensitive_message(sent, found))  # before anything is pushed
        in_engine = builder is None or output == "load"
        if in_engine and len(request.platforms) == 1:
            what = "legacy builder" if builder is None else "BuildKit build"
            check_image_platform(client.inspect_image(image_id), request.platforms[0], what)
        if builder is None:
            for tag in tags:
                client.tag(image_id, opts.image, tag)
        if not push:
            return BuildResult(image_id, refs, None, None, pushed=False)
        if pushed_digest is not None:
            digest = pushed_digest
        elif builder is not None and output != "load":
            raise Unavailable("BuildKit pushed the image but reported no digest (--metadata-file)")
        else:
            digest = _push_all(client, opts, tags, creds, registry, console, deadline)
    except docker_errors.APIError as exc:  # a request the engine refused outside a stream
        text = one_line(str(exc.explanation or exc), 300)
        if exc.is_server_error():
            raise Unavailable(f"the Docker engine failed: {text}") from None
        raise InputError(f"the Docker engine refused the request: {text}") from None
    except requests.exceptions.RequestException as exc:
        raise Unavailable(
            f"lost the connection to the Docker daemon at {describe_host(io.environ)}: "
            f"{one_line(str(exc), 200)}"
        ) from None
    finally:
        client.close()

    _verify(opts, tags, digest, creds, console)
    digest_ref = f"{opts.image}@{digest}"
    console.info(f"pushed {digest_ref}")
    return BuildResult(image_id, refs, digest, digest_ref, pushed=True)


def _sensitive_message(sent: BuildContext, found: list[SensitiveFile]) -> str:
    return describe_sensitive(found, sent.ignore.name if sent.ignore else None)


def _in_background(work: Callable[[], list[SensitiveFile]]) -> Callable[[], list[SensitiveFile]]:
    """Run `work` in a thread; the returned call waits for it (a failed preview shows nothing:
    the build itself reports an unreadable context)."""
    import concurrent.futures

    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="psd-hygiene")
    future = pool.submit(work)
    pool.shutdown(wait=False)

    def result() -> list[SensitiveFile]:
        try:
            return future.result()
        except Exception:  # ContextError and friends: the build reported it already
            return []

    return result


def _containerd_store(client: Any) -> bool:
    """Whether the engine keeps images in containerd (multi-platform and attestations work with
    its builtin BuildKit then)."""
    try:
        info = client.info()
    except Exception:  # only a hint for the driver check
        return False
    status = info.get("DriverStatus") or []
    return any("io.containerd.snapshotter" in str(v) for pair in status for v in pair)


def _buildkit_build(
    client: Any,
    request: BuildRequest,
    refs: list[str],
    console: Console,
    deadline: Deadline,
    title: str,
    io: Io,
    builder: Any,
    env: dict[str, str],
    secret_args: list[str],
    output: str,
    stack: contextlib.ExitStack,
) -> tuple[str, str | None]:
    """(image ID, digest BuildKit pushed or None)."""
    import tempfile
    from pathlib import Path

    from docker.errors import NotFound

    from paperspace_deploy.image import buildx

    docker = buildx.docker_cli(env)
    assert docker is not None  # the probe found it
    files = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="psd-buildx-")))
    where = "loaded into the engine" if output == "load" else f"output: {output}"
    console.info(
        f"builder: BuildKit via docker buildx ({builder.name or 'current builder'}, "
        f"{builder.driver} driver{', ' + builder.buildkit if builder.buildkit else ''}), {where}"
    )
    argv = buildx.buildx_argv(
        docker, request, refs, files, output=output, builder=builder, secret_args=secret_args
    )
    result = buildx.run_buildx_build(argv, files, console, deadline, title, env, io.cwd, builder)
    for failure in result.cache_failures:
        console.warn(f"cache-from {one_line(failure, 300)}: the build ran without that cache")
    if output != "load":
        return buildx.image_or_unavailable(result), result.digest
    try:  # the CLI's context/builder may load into another engine than DOCKER_HOST
        image = client.inspect_image(refs[0])
    except NotFound:
        raise InputError(
            f"docker buildx built {refs[0]} but the engine at {describe_host(io.environ)} "
            "does not have it",
            hint="make the docker CLI's context and buildx builder use the same engine as "
            "DOCKER_HOST (docker buildx use default), or use builder engine",
        ) from None
    return result.image_id or str(image.get("Id") or ""), None


def _pull_cache(
    client: Any,
    specs: list[str],
    creds: Credentials | None,
    console: Console,
    deadline: Deadline,
) -> list[str]:
    """The legacy builder only uses cache images the engine already has: pull each (with our
    credentials for our registry); a missing or refused one is a warning, never silent."""
    from docker.errors import APIError

    from paperspace_deploy.image.buildx import cache_ref
    from paperspace_deploy.image.engine import abort, stream_with_deadline
    from paperspace_deploy.image.reference import split_image_arg
    from paperspace_deploy.image.stream import Failure, classify, event_error

    usable = []
    for spec in specs:
        ref = cache_ref(spec)
        if not ref:
            continue
        repo, tag = split_image_arg(ref)
        auth = creds.auth_config() if creds and registry_of(repo) == creds.registry else None

        def start(repo: str = repo, tag: str | None = tag, auth: Any = auth) -> Any:
            return client.pull(repo, tag=tag or "latest", stream=True, decode=True,
                               auth_config=auth)  # fmt: skip

        error = None
        try:
            for event in stream_with_deadline(
                start, deadline=deadline, phase=f"pull of {ref}", on_abort=lambda: abort(client)
            ):
                error = error or event_error(event)
        except APIError as exc:
            error = str(exc.explanation or exc)
        if error is None:
            console.info(f"cache-from: pulled {ref}")
            usable.append(f"{repo}:{tag or 'latest'}")
            continue
        kind = classify(error)
        why = {
            Failure.NOT_FOUND: "does not exist (yet)",
            Failure.AUTH: "was refused by its registry (credentials?)",
        }.get(kind, "could not be pulled")
        console.warn(f"cache-from {ref} {why} ({one_line(error, 200)}): the build runs without it")
    return usable


def _push_all(
    client: Any,
    opts: BuildOptions,
    tags: list[str],
    creds: Credentials | None,
    registry: str,
    console: Console,
    deadline: Deadline,
) -> str:
    digests: dict[str, str] = {}
    for tag in tags:

        def attempt(tag: str = tag) -> str:
            return push_tag(client, opts.image, tag, creds, console, deadline)

        digests[tag] = with_retries(
            attempt,
            policy=opts.retry,
            deadline=deadline,
            console=console,
            what="push",
            registry=registry,
        )
    distinct = set(digests.values())
    if len(distinct) != 1:
        raise Unavailable(f"the tags were pushed with different digests: {digests}")
    return distinct.pop()


def _verify(
    opts: BuildOptions, tags: list[str], digest: str, creds: Credentials | None, console: Console
) -> None:
    from paperspace_deploy.image.digest import check_manifest

    check = check_manifest(
        opts.image,
        tags[0],
        digest,
        creds.username if creds else None,
        creds.password if creds else None,
    )
    for note in check.notes:
        console.warn(note)
    if check.warning:
        console.warn(check.warning)
    elif check.tag_digest and check.tag_digest != digest:
        console.warn(
            f"tag {tags[0]} now points at {check.tag_digest} (a concurrent push?); "
            f"deploying by digest {digest} keeps what this run built"
        )
    else:
        console.info(f"registry confirms {digest}")
