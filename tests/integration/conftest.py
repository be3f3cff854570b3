"""The `emulator` fixture: a real Paperspace API emulator on 127.0.0.1:<free port>, per test.

def test_x(emulator):
    emulator.url, emulator.key, emulator.project_id     # seeded
    emulator.state.timings.healthy_after = 0.2          # timings per test
    emulator.faults.add("status:503@GET /deployments/*x3")
    emulator.add_registry("ci", registry)               # a connection to a real registry
    emulator.env()                                       # environ for run_deploy / the CLI

The deploy/plan suite (test_deploy*.py, test_emulator_contract.py) runs under EVERY variance
profile (docs/emulator.md): the `variance` fixture is parametrised for those modules, so each test
id ends in `[default]`, `[defaults-filled]`, ..., `[combined]`. `PSD_VARIANCE=a,b` runs only those.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from paperspace_deploy.emulator import Emulator, Faults, State, Timings
from paperspace_deploy.emulator.variance import NAMES, Variance

KEY = "psd-test-key-0123456789"
PROJECT = "p0000000001"


@dataclass
class EmulatorHandle:
    server: Emulator
    key: str = KEY
    project_id: str = PROJECT

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def state(self) -> State:
        return self.server.state

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def env(self, **extra: str) -> dict[str, str]:
        return {"PAPERSPACE_API_URL": self.url, "PAPERSPACE_API_KEY": self.key, **extra}

    def add_registry(self, name: str, registry: Any, password: str | None = None) -> dict:
        return self.state.add_registry(
            {
                "name": name,
                "url": registry.url,
                "namespace": "",
                "username": registry.username,
                "password": registry.password if password is None else password,
                "kind": "other",
            }
        )

    def spec_count(self) -> int:
        return sum(len(d.specs) for d in self.state.deployments.values())


# one profile at a time, plus every profile that can be combined at once
COMBINED = (
    "defaults-filled,reject-unknown,zod-union,latest-v1-only,states-k8s,runs-many-oldest-first,"
    "disabled-draining,name-exact,small-pages,git-headers-strict,logs-oldest-first"
)
PROFILES = {"default": "", **{name: name for name in NAMES}, "combined": COMBINED}
VARIANCE_SUITE = ("test_deploy", "test_emulator_contract")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variance" in metafunc.fixturenames and metafunc.definition.path.name.startswith(
        VARIANCE_SUITE
    ):
        wanted = [n for n in os.environ.get("PSD_VARIANCE", "").split(",") if n]
        ids = [n for n in PROFILES if not wanted or n in wanted]
        metafunc.parametrize("variance", [PROFILES[n] for n in ids], ids=ids, indirect=True)


@pytest.fixture
def variance(request: pytest.FixtureRequest) -> Variance:
    """The emulator's variance profile(s) for this test (none outside the deploy suite)."""
    return Variance.parse(getattr(request, "param", ""))


@pytest.fixture
def emulator(variance: Variance) -> Iterator[EmulatorHandle]:
    state = State(Timings(apply_after=0.02, healthy_after=0.05))
    state.variance = variance
    state.add_key(KEY)
    state.add_project(PROJECT, "test-project")
    server = Emulator(state, Faults(seed=1)).start()
    try:
        yield EmulatorHandle(server)
    finally:
        server.stop()


def push_tiny_image(registry: Any, repo: str, tag: str = "v1") -> str:
    """Create a manifest in the real registry with plain HTTP uploads (no docker). Returns ref."""
    auth = (registry.username, registry.password)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    start = requests.post(f"{registry.url}/v2/{repo}/blobs/uploads/", auth=auth, timeout=10)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    if location.startswith("/"):
        location = registry.url + location
    sep = "&" if "?" in location else "?"
    put = requests.put(
        f"{location}{sep}digest={digest}",
        data=config,
        auth=auth,
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": digest,
            "size": len(config),
        },
        "layers": [],
    }
    resp = requests.put(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        data=json.dumps(manifest),
        auth=auth,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return f"{registry.host}/{repo}:{tag}"


@pytest.fixture
def tiny_image(registry: Any) -> str:
    return push_tiny_image(registry, f"psd-api-tests/{uuid.uuid4().hex[:10]}")


@pytest.fixture
def make_spec(tmp_path: Path):
    """`make_spec(name=..., image=..., **top_level_keys)` writes a valid v1 spec file."""
    return lambda **kw: write_spec(tmp_path, **kw)


def write_spec(directory: Path, name: str = "demo", image: str = ":image", **extra: Any) -> Path:
    """A valid v1 spec as YAML; `extra` adds or replaces top-level keys (None removes)."""
    import yaml

    data: dict[str, Any] = {
        "apiVersion": "v1",
        "name": name,
        "image": image,
        "resources": {"machineType": "C4", "ports": [8000], "replicas": 1},
    }
    for key, value in extra.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
