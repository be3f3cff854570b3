"""build -> tag -> push -> verify digest: the orchestration behind `build_and_push`.

Order matters for fast, clear failures: every local check (paths, tags, image name, registry
match, context hygiene) runs before the first engine call; the registry login runs before the
build so a wrong password fails in seconds, not after a long build.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from paperspace_deploy import ci_context as ci
from paperspace_deploy.errors import InputError, Unavailable
from paperspace_deploy.image.build import BuildRequest, run_build
from paperspace_deploy.image.console import Console, one_line
from paperspace_deploy.image.context import (
    describe_sensitive,
    read_dockerignore,
    resolve_context,
    resolve_dockerfile,
    secret_looking_build_args,
    sensitive_files,
    workspace_of,
)
from paperspace_deploy.image.engine import connect, describe_host
from paperspace_deploy.image.labels import oci_labels
from paperspace_deploy.image.options import BuildOptions, BuildResult
from paperspace_deploy.image.push import Credentials, login, push_tag, with_retries
from paperspace_deploy.image.reference import registry_of
from paperspace_deploy.image.stream import buildkit_features
from paperspace_deploy.image.tags import compute_tags, version_of
from paperspace_deploy.io import Io

DOCKERFILE_SCAN_LIMIT = 1024 * 1024


def _mask_secrets(console: Console, opts: BuildOptions, creds: Credentials | None) -> None:
    """Register every secret and its derived encodings before anything can print them."""
    if creds:
        console.mask(creds.password)
        console.mask(base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode())
        header = json.dumps(creds.auth_config()).encode()  # docker-py's X-Registry-Auth
        console.mask(base64.urlsafe_b64encode(header).decode())
    for name in secret_looking_build_args(opts.build_args):
        console.mask(opts.build_args[name])


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


def build_and_push(opts: BuildOptions, io: Io) -> BuildResult:
    """The image stage's one entry point: build, tag, push and verify, within `opts.deadline`."""
    deadline = opts.deadline.at if opts.deadline.seconds is not None else None
    return run_pipeline(opts, io, deadline=deadline)


def run_pipeline(opts: BuildOptions, io: Io, *, deadline: float | None = None) -> BuildResult:
    console = Console(io)
    registry, creds = _credentials(opts)
    _mask_secrets(console, opts, creds)
    for note in opts.notes:
        console.warn(note)

    # -- local checks: no engine yet -------------------------------------------------------
    context = resolve_context(opts.context, io.cwd)
    workspace = workspace_of(io.environ, io.cwd)
    dockerfile_path, dockerfile = resolve_dockerfile(opts.dockerfile, context, io.cwd, workspace)
    ctx = ci.detect(io.environ)
    tags = compute_tags(opts.tags, ctx, opts.tag_rules)
    if not tags:
        tags = ["latest"]
        console.info("no CI context and no --tag given: tagging 'latest'")
    refs = [f"{opts.image}:{t}" for t in tags]
    push = opts.push if opts.push is not None else not ctx.is_pull_request
    if opts.push is None and not push:
        console.info("pull request build: the image is not pushed (pass --push to push anyway)")
    labels = oci_labels(ctx, version_of(ctx, tags), io.environ, opts.labels)

    found = sensitive_files(context, dockerfile)
    if found:
        message = describe_sensitive(found, read_dockerignore(context) is not None)
        if opts.fail_on_sensitive_context:
            raise InputError(message, hint="or drop --fail-on-sensitive-context")
        console.warn(message)
    risky = secret_looking_build_args(opts.build_args)
    if risky:
        console.warn(
            f"build arg(s) {', '.join(risky)} look like secrets: build args are stored in the "
            "image history (docker history shows them); do not pass secrets as build args"
        )
    with open(dockerfile_path, encoding="utf-8", errors="replace") as fh:
        features = buildkit_features(fh.read(DOCKERFILE_SCAN_LIMIT))
    _check_docker_host(console, io)
    builder = "engine"
    if opts.builder != "engine":  # probes `docker buildx version`; engine: exactly as before
        from paperspace_deploy.image.buildx import choose_builder

        builder = choose_builder(opts.builder, io.environ, console, deadline)

    console.info(f"image: {opts.image}")
    console.info("tags: " + ", ".join(tags))
    console.info(f"push: {'yes' if push else 'no'}" + (f" (registry {registry})" if push else ""))

    # -- engine ------------------------------------------------------------------------------
    import requests
    from docker import errors as docker_errors

    client = connect(io.environ)
    try:
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
        request = BuildRequest(
            context=context,
            dockerfile=dockerfile,
            build_args=dict(opts.build_args),
            labels=labels,
            target=opts.target,
            platform=opts.platform,
            cache_from=list(opts.cache_from),
            pull=opts.pull,
            no_cache=opts.no_cache,
            buildkit_features=features,
        )
        title = f"Build {opts.image}"
        if builder == "buildx":  # tags via -t, loaded into the engine; pushed from there
            image_id = _buildx_build(client, request, refs, console, deadline, title, io)
        else:
            image_id = run_build(client, request, console, deadline, title)
        console.info(f"built {image_id} in {time.monotonic() - started:.1f} s")
        for tag in tags if builder == "engine" else ():
            client.tag(image_id, opts.image, tag)
        if not push:
            return BuildResult(image_id, refs, None, None, pushed=False)
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


def _buildx_build(
    client: Any,
    request: BuildRequest,
    refs: list[str],
    console: Console,
    deadline: float | None,
    title: str,
    io: Io,
) -> str:
    from docker.errors import NotFound

    from paperspace_deploy.image.buildx import run_buildx_build

    console.info("builder: docker buildx (BuildKit), loaded into the engine")
    image_id = run_buildx_build(request, refs, console, deadline, title, io.environ, io.cwd)
    try:  # the CLI's context/builder may load into another engine than DOCKER_HOST
        client.inspect_image(refs[0])
    except NotFound:
        raise InputError(
            f"docker buildx built {refs[0]} but the engine at {describe_host(io.environ)} "
            "does not have it",
            hint="make the docker CLI's context and buildx builder use the same engine as "
            "DOCKER_HOST (docker buildx use default), or use --builder engine",
        ) from None
    return image_id


def _push_all(
    client: Any,
    opts: BuildOptions,
    tags: list[str],
    creds: Credentials | None,
    registry: str,
    console: Console,
    deadline: float | None,
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
    if check.warning:
        console.warn(check.warning)
    elif check.tag_digest and check.tag_digest != digest:
        console.warn(
            f"tag {tags[0]} now points at {check.tag_digest} (a concurrent push?); "
            f"deploying by digest {digest} keeps what this run built"
        )
    else:
        console.info(f"registry confirms {digest}")
