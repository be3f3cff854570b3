# The GitHub Action's image. Released versions do not build this per job: the release workflow
# pushes it to GHCR and pins action.yml to its digest (see .github/workflows/release.yml).
# BASE_IMAGE is a build arg so tests can build it from a locally made base (no hub reachable).
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

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
