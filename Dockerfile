# The GitHub Action's image. Released versions do not build this per job: the release workflow
# pushes it to GHCR and pins action.yml to its digest (see .github/workflows/release.yml).
# BASE_IMAGE is a build arg so tests can build it from a locally made base (no hub reachable).
ARG BASE_IMAGE=python:3.12-slim
# The docker CLI and its buildx plugin (BuildKit builds, the action's default builder), copied
# from an image that has both; the build args name the source so tests can build this image from
# local files (tests/helpers/action_images.py). Both binaries are static in the default source.
ARG DOCKER_CLI_IMAGE=docker:28-cli
FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BASE_IMAGE}
ARG DOCKER_CLI_PATH=/usr/local/bin/docker
ARG BUILDX_PATH=/usr/local/libexec/docker/cli-plugins/docker-buildx
COPY --from=docker-cli ${DOCKER_CLI_PATH} /usr/local/bin/docker
COPY --from=docker-cli ${BUILDX_PATH} /usr/local/libexec/docker/cli-plugins/docker-buildx

LABEL org.opencontainers.image.title="paperspace-deploy" \
      org.opencontainers.image.description="Lint, build and deploy Paperspace deployment specs" \
      org.opencontainers.image.licenses="MIT"

# Unbuffered so our ::commands:: and the log stay in order; no .pyc files written at run time
# (they would land root-owned in the mounted workspace).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first (a cached layer): every file pinned by hash, nothing resolved at build time.
COPY requirements/ /app/requirements/
RUN python -m pip install --require-hashes --no-deps \
        -r /app/requirements/runtime.txt -r /app/requirements/toolkit.txt \
        -r /app/requirements/build.txt

# The package itself, built with the hashed setuptools above (no unpinned build isolation), then
# the build tools removed again.
COPY . /tmp/src
RUN python -m pip install --no-deps --no-build-isolation /tmp/src \
    && python -m pip uninstall -y setuptools wheel \
    && rm -rf /tmp/src
COPY entrypoint.py /app/entrypoint.py

# No USER (actions must run as root to read the workspace) and no WORKDIR reliance (the runner
# mounts the workspace and sets --workdir itself).
# Absolute interpreter path: a workflow `env: PATH: ...` is passed into the container as is.
ENTRYPOINT ["/usr/local/bin/python", "/app/entrypoint.py"]
