"""A private DOCKER_CONFIG per run of the docker CLI: no credential in argv, env or ~/.docker.

BuildKit pulls base and cache images, and exports caches, with the CLI's credentials, which the
CLI reads from `$DOCKER_CONFIG/config.json`. So each run gets a fresh 0700 directory holding a
copy of the user's config.json with our registry's login added (and that registry's
credHelpers/credsStore entry dropped, or the helper would shadow it), plus links to the user's
`cli-plugins`, `buildx` (named builders, e.g. docker/setup-buildx-action's) and `contexts`
directories. Build secrets are written beside it (0600). The directory is removed when the run
ends, however it ends; nothing is written to the user's config.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_CONFIG = 1024 * 1024
LINKED = ("cli-plugins", "buildx", "contexts")


@dataclass(frozen=True)
class Login:
    registry: str  # normalised host: docker.io, ghcr.io, 127.0.0.1:5000
    username: str
    password: str

    @property
    def key(self) -> str:  # how config.json names Docker Hub
        return "https://index.docker.io/v1/" if self.registry == "docker.io" else self.registry

    def __repr__(self) -> str:
        return f"Login(registry={self.registry!r}, username={self.username!r})"


def user_config_dir(environ: Mapping[str, str]) -> Path | None:
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"])
    home = environ.get("HOME")
    return Path(home) / ".docker" if home else None


def _read_user_config(directory: Path | None) -> dict[str, Any]:
    """The user's config.json, read defensively: a regular file, capped, a JSON object."""
    if directory is None:
        return {}
    try:
        fd = os.open(
            directory / "config.json", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        )
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        data = os.read(fd, MAX_CONFIG + 1)
    finally:
        os.close(fd)
    try:
        config = json.loads(data.decode("utf-8")) if len(data) <= MAX_CONFIG else {}
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def config_with(user: dict[str, Any], logins: list[Login]) -> dict[str, Any]:
    """The user's config with our logins in `auths` (and nothing that would shadow them)."""
    config = dict(user)
    auths = dict(config.get("auths") or {}) if isinstance(config.get("auths"), dict) else {}
    helpers = (
        dict(config.get("credHelpers") or {}) if isinstance(config.get("credHelpers"), dict) else {}
    )
    for login in logins:
        token = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        for key in {login.key, login.registry}:
            auths.pop(key, None)
            helpers.pop(key, None)
        auths[login.key] = {"auth": token}
    if logins:
        # a credsStore answers for every registry and would ignore `auths`
        config.pop("credsStore", None)
    config["auths"] = auths
    if helpers:
        config["credHelpers"] = helpers
    else:
        config.pop("credHelpers", None)
    return config


@dataclass
class PrivateConfig:
    path: Path  # the DOCKER_CONFIG directory
    secrets_dir: Path

    def env(self, environ: Mapping[str, str]) -> dict[str, str]:
        return {**environ, "DOCKER_CONFIG": str(self.path)}

    def secret_file(self, secret_id: str, value: str) -> Path:
        path = self.secrets_dir / secret_id
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(value)
        return path


@contextlib.contextmanager
def private_config(environ: Mapping[str, str], logins: list[Login]) -> Iterator[PrivateConfig]:
    root = Path(tempfile.mkdtemp(prefix="psd-docker-"))  # 0700
    try:
        config_dir, secrets_dir = root / "config", root / "secrets"
        config_dir.mkdir(mode=0o700)
        secrets_dir.mkdir(mode=0o700)
        user_dir = user_config_dir(environ)
        config = config_with(_read_user_config(user_dir), logins)
        fd = os.open(config_dir / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(config, fh)
        for name in LINKED:
            source = user_dir / name if user_dir else None
            if source is not None and source.is_dir():
                os.symlink(source, config_dir / name, target_is_directory=True)
        yield PrivateConfig(config_dir, secrets_dir)
    finally:
        shutil.rmtree(root, ignore_errors=True)
