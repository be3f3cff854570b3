"""`paperspace-deploy lint` and `schema` as real subprocesses: exit codes, formats, paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[2]
GOOD = FIXTURES / "real-world" / "flask-template-app.paperspace.yaml"
WARN = FIXTURES / "real-world" / "byte-barometer.paperspace.yaml"
BAD = FIXTURES / "broken" / "unknown-key-healthcheck.yaml"


def lint(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "paperspace_deploy", "lint", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def test_exit_codes():
    assert lint(str(GOOD)).returncode == 0
    assert lint(str(WARN)).returncode == 0
    assert lint("--strict", str(WARN)).returncode == 1
    proc = lint(str(BAD))
    assert proc.returncode == 1
    shown = os.path.relpath(BAD)  # inside the workspace (here the cwd): relative to it
    assert (
        f"{shown}:8:1: error: unknown key 'healthcheck' at the top level "
        "(did you mean 'healthChecks'?)" in proc.stdout
    )
    proc = lint(str(GOOD), "missing.yaml")
    assert proc.returncode == 2
    assert "error: spec file not found: missing.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert lint("--format", "xml", str(GOOD)).returncode == 2


def test_default_search_list_and_none_found(tmp_path: Path):
    proc = lint(cwd=tmp_path)
    assert proc.returncode == 2 and "no spec file found" in proc.stderr
    (tmp_path / ".paperspace").mkdir()
    shutil.copy(GOOD, tmp_path / ".paperspace" / "app.yaml")
    shutil.copy(BAD, tmp_path / "paperspace.yml")
    proc = lint(cwd=tmp_path)
    assert proc.returncode == 1
    assert "paperspace.yml:8:1: error" in proc.stdout
    assert "checked 2 file(s)" in proc.stdout


def test_directories_and_globs(tmp_path: Path):
    for name in ("a", "b", "c"):
        (tmp_path / name / ".paperspace").mkdir(parents=True)
    shutil.copy(GOOD, tmp_path / "a" / "paperspace.yaml")
    shutil.copy(GOOD, tmp_path / "b" / ".paperspace" / "app.yaml")
    (tmp_path / "c" / "other.yaml").write_text("not: a spec\n")
    proc = lint("--format", "json", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["files"]) == 2
    proc = lint("--format", "json", "*/paperspace.yaml", "c/*.yaml", cwd=tmp_path)
    assert json.loads(proc.stdout)["files"] == ["a/paperspace.yaml", "c/other.yaml"]
    assert proc.returncode == 1
    proc = lint("nothing-*.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and "no files match" in proc.stderr


def test_output_file_and_sarif(tmp_path: Path):
    out = tmp_path / "lint.sarif"  # --output must be inside the workspace (here: the cwd)
    proc = lint("--format", "sarif", "--output", str(out), str(BAD), str(GOOD), cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(out.read_text())
    assert doc["version"] == "2.1.0"
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["unknown-key"]
    assert "unknown-key" in proc.stdout  # the log still shows the findings as text
    gl = tmp_path / "gl.json"
    assert lint("-f", "gitlab", "-o", str(gl), str(BAD), cwd=tmp_path).returncode == 1
    assert json.loads(gl.read_text())[0]["check_name"] == "unknown-key"


def test_github_format_relative_to_workspace(tmp_path: Path):
    ws = tmp_path / "ws"
    (ws / "deploy").mkdir(parents=True)
    shutil.copy(BAD, ws / "deploy" / "paperspace.yaml")
    env = {"PATH": "/usr/bin:/bin", "GITHUB_WORKSPACE": str(ws)}
    proc = lint("--format", "github", str(ws / "deploy" / "paperspace.yaml"), env=env, cwd=ws)
    assert proc.returncode == 1
    assert (
        "::error title=paperspace-deploy lint%3A unknown-key,file=deploy/paperspace.yaml,"
        "line=8,endLine=8,col=1,endColumn=12::unknown key 'healthcheck'" in proc.stdout
    )
    assert "deploy/paperspace.yaml:8:1: error:" in proc.stdout


def test_lint_imports_neither_docker_nor_requests():
    code = (
        "import sys\n"
        "from paperspace_deploy.cli import main\n"
        f"rc = main(['lint', {str(BAD)!r}, {str(FIXTURES / 'valid' / 'v1.toml')!r}])\n"
        "heavy = sorted(m for m in ('docker', 'requests', 'urllib3') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_schema_command_prints_the_schema():
    proc = subprocess.run(
        [sys.executable, "-m", "paperspace_deploy", "schema"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == json.loads(
        (REPO / "schemas" / "deployment-spec.schema.json").read_text()
    )


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "gitlab", "github"])
def test_every_format_on_the_whole_corpus(fmt: str):
    files = sorted(str(p) for p in (FIXTURES / "broken").iterdir() if p.suffix != ".expect")
    proc = lint("--format", fmt, *files)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and proc.stdout


def test_symlink_out_of_the_workspace_is_refused_without_echo(tmp_path: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    secret = tmp_path / "config.json"
    secret.write_text('{"auths": {"ghcr.io": {"auth": "c2VjcmV0LXRva2VuLXZhbHVl"}}, "x": 5}')
    (ws / "paperspace.json").symlink_to(secret)
    shutil.copy(GOOD, ws / "ok.yaml")
    env = {"PATH": "/usr/bin:/bin", "GITHUB_WORKSPACE": str(ws)}
    proc = lint("paperspace.json", "ok.yaml", "../config.json", env=env, cwd=ws)
    assert proc.returncode == 2
    assert "refusing to follow symlink outside the workspace: 'paperspace.json'" in proc.stderr
    assert "spec path must be inside the workspace" in proc.stderr
    assert "c2VjcmV0" not in proc.stdout + proc.stderr and "auths" not in proc.stdout
    assert "checked 1 file(s)" in proc.stdout  # the good file was still linted


def test_pre_commit_hook_matches_the_default_spec_names():
    import re

    import yaml

    from paperspace_deploy.spec import DEFAULT_SPEC_PATHS

    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "paperspace-deploy-lint"
    assert hook["language"] == "python" and hook["entry"] == "paperspace-deploy lint"
    files = re.compile(hook["files"])
    for name in DEFAULT_SPEC_PATHS:
        assert files.search(name) and files.search(f"apps/web/{name}"), name
    for name in ("paperspace.yaml.bak", "mypaperspace.yaml", "app.yaml", ".paperspace/x.yaml"):
        assert not files.search(name), name


def test_github_format_never_lets_spec_text_become_a_command(tmp_path: Path):
    spec = tmp_path / "paperspace.yaml"
    spec.write_text(
        "apiVersion: v1\n"
        'name: "x\\n::error::forged name"\n'
        "image: ghcr.io/org/app:1\n"
        "resources: {machineType: '::set-output name=a::b', ports: [8000]}\n"
        '"::stop-commands::tok": 1\n'
        '"##[error]legacy": 2\n'
        '"a%0A::warning::b": 3\n'
    )
    env = {"PATH": "/usr/bin:/bin", "GITHUB_WORKSPACE": str(tmp_path)}
    proc = lint("--format", "github", "paperspace.yaml", env=env, cwd=tmp_path)
    assert proc.returncode == 1
    for line in proc.stdout.splitlines():
        if line.lstrip().startswith("::"):
            assert line.startswith(
                (
                    "::error title=paperspace-deploy lint%3A ",
                    "::warning title=paperspace-deploy lint%3A ",
                )
            ), line
        assert "##[" not in line, line
    assert proc.stdout.count("::error title=") == 5  # name, 3 unknown keys, machineType


def test_offline_registry_list_checks_container_registry(tmp_path: Path):
    spec = tmp_path / "paperspace.yaml"
    spec.write_text(
        "apiVersion: v1\nname: app\nimage: ghcr.io/org/app:1\ncontainerRegistry: ghrc\n"
        "resources: {machineType: C4, ports: [8000]}\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    proc = lint("--registries", "ghcr,dockerhub", "paperspace.yaml", env=env, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "paperspace.yaml:4:20: error: registry connection 'ghrc' not found" in proc.stdout
    assert "did you mean 'ghcr'?" in proc.stdout and "[registry-unknown]" in proc.stdout
    names = tmp_path / "registries.txt"
    names.write_text("ghrc\n")
    proc = lint("--registries-file", str(names), "paperspace.yaml", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = lint("paperspace.yaml", env=env, cwd=tmp_path)  # no list: not checked, and says so
    assert proc.returncode == 0 and "[registry-check-skipped]" in proc.stdout
