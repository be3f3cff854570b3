"""`mode: lint` in-process: annotations, the 10-per-type limit, outputs, summary, no secrets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paperspace_deploy.errors import ExitCode

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GOOD = """\
apiVersion: v1
name: hello
image: ghcr.io/octo/hello:1.0
containerRegistry: ghcr
resources:
  replicas: 1
  machineType: C4
  ports: [8080]
"""


def test_broken_spec_annotations_outputs_and_summary(runner) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(HERE / "data" / "broken.yaml", runner.workspace / "broken.yaml")
    result = runner.run(mode="lint", spec="broken.yaml")
    assert result.code == ExitCode.INVALID
    errors = result.annotations("error")
    assert {c.properties["file"] for c in errors} == {"broken.yaml"}
    lines = sorted(int(c.properties["line"]) for c in errors)
    assert lines == [4, 5, 7, 11]  # image, enabled, replicas, unknown key
    assert all(c.properties["title"].startswith("paperspace-deploy: ") for c in errors)
    assert result.outputs["lint-errors"] == "4"
    assert result.outputs["lint-warnings"] == "0"
    assert "❌ failed" in result.summary and "| 7:13 |" in result.summary
    assert "#### <code>broken.yaml</code>: ❌ 4 errors" in result.summary  # one table per file
    assert "the spec has 4 error(s)" in result.stdout


def test_good_spec_passes_with_offline_registry_list(runner) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    result = runner.run(mode="lint", container_registries="other\nghcr")
    assert result.code == ExitCode.OK, result.stdout
    assert result.outputs == {"lint-errors": "0", "lint-warnings": "0"}
    assert "✅ succeeded" in result.summary
    assert [c.name for c in result.commands] == ["group", "endgroup"]


def test_unknown_registry_connection_is_an_error_offline(runner) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    result = runner.run(mode="lint", container_registries="dockerhub")
    assert result.code == ExitCode.INVALID
    (err,) = result.annotations("error")
    assert "registry connection 'ghcr' not found" in err.data and err.properties["line"] == "4"


def test_fork_pr_without_key_skips_registry_check_with_notice(runner) -> None:  # type: ignore[no-untyped-def]
    import json

    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    event = runner.root / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"fork": True}}}}))
    runner.env.update(GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(event))
    result = runner.run(mode="lint")
    assert result.code == ExitCode.OK
    assert next(c.data for c in result.annotations("notice")).startswith("registry check skipped")
    assert "registry check skipped" in result.summary


def test_more_than_ten_errors_overflow_into_log_and_summary(runner) -> None:  # type: ignore[no-untyped-def]
    extra = "".join(f"unknownKey{i}: 1\n" for i in range(14))
    (runner.workspace / "app.yaml").write_text(GOOD + extra)
    result = runner.run(mode="lint", spec="app.yaml", container_registries="ghcr")
    assert result.code == ExitCode.INVALID
    assert result.outputs["lint-errors"] == "14"
    assert len(result.annotations("error")) == 10  # GitHub would drop the rest anyway
    for i in range(14):
        assert f"'unknownKey{i}'" in result.stdout  # every finding is in the log
        assert f"unknownKey{i}" in result.summary
    assert "4 more beyond GitHub's annotation limit" in result.stdout
    assert "4 finding(s) beyond GitHub's 10 annotations" in result.summary


def test_default_spec_search_and_missing_spec(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(mode="lint")
    assert result.code == ExitCode.USAGE
    assert "no spec file found in the workspace" in result.stdout
    (runner.workspace / ".paperspace").mkdir()
    (runner.workspace / ".paperspace" / "app.yaml").write_text(GOOD)
    result = runner.run(mode="lint", container_registries="ghcr")
    assert result.code == ExitCode.OK
    assert "<code>.paperspace/app.yaml</code>" in result.summary


@pytest.mark.parametrize(
    "spec,message",
    [
        ("../../etc/passwd", "must be inside the workspace"),
        ("/proc/self/environ", "must be inside the workspace"),
        ("missing.yaml", "spec file not found: missing.yaml"),
    ],
)
def test_path_refusals_through_the_action(runner, spec: str, message: str) -> None:  # type: ignore[no-untyped-def]
    result = runner.run(mode="lint", spec=spec)
    assert result.code == ExitCode.USAGE
    (err,) = result.annotations("error")
    assert message in err.data
    assert "Traceback" not in result.stdout


def test_symlink_to_secret_file_is_refused_without_echoing_it(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "config.json"
    secret.write_text("token: ghs_CANARYCANARYCANARY: oops\n")
    (runner.workspace / "paperspace.yaml").symlink_to(secret)
    result = runner.run(mode="lint")
    assert result.code == ExitCode.USAGE
    assert "refusing to follow symlink outside the workspace" in result.stdout
    assert "CANARY" not in result.stdout + result.summary


def test_fifo_spec_does_not_hang(runner) -> None:  # type: ignore[no-untyped-def]
    import os

    os.mkfifo(runner.workspace / "paperspace.yaml")
    result = runner.run(mode="lint", spec="paperspace.yaml")
    assert result.code == ExitCode.USAGE
    assert "not a regular file" in result.stdout


def test_lint_never_imports_docker_or_requests(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "paperspace.yaml").write_text(GOOD)
    code = (
        "import sys, io; from paperspace_deploy import action;"
        f"rc = action.main(environ={{'GITHUB_WORKSPACE': {str(tmp_path)!r}, 'INPUT_MODE': 'lint',"
        "'INPUT_CONTAINER-REGISTRIES': 'ghcr'}, stdout=io.StringIO());"
        "bad = [m for m in ('docker', 'requests', 'urllib3') if m in sys.modules];"
        "print(rc, bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr


def test_real_world_fixtures(runner) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(REPO / "tests" / "fixtures" / "real-world", runner.workspace / "fx")
    result = runner.run(mode="lint", spec="fx/*.yaml")
    specs = [p for p in (runner.workspace / "fx").glob("*.yaml")]
    assert result.summary.count("<code>fx/") >= len(specs)
    assert int(result.outputs["lint-errors"]) >= 0
    assert result.code in (ExitCode.OK, ExitCode.INVALID)
    assert all(c.properties.get("file", "fx/").startswith("fx/") for c in result.commands
               if c.name in ("error", "warning", "notice") and "file" in c.properties)  # fmt: skip


def test_registry_check_through_the_api(runner, emulator, registry) -> None:  # type: ignore[no-untyped-def]
    """Lint never asks the API (a notice says so); plan checks /container-registries."""
    emulator.add_registry("ghcr", registry)
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    api = {"api_key": emulator.key, "api_url": emulator.url, "project_id": emulator.project_id}
    linted = runner.run(mode="lint", **api)
    assert linted.code == ExitCode.OK and linted.annotations("notice")
    assert runner.run(mode="plan", **api).code == ExitCode.OK
    (runner.workspace / "paperspace.yaml").write_text(GOOD.replace("ghcr", "ghrc"))
    result = runner.run(mode="plan", **api)
    assert result.code == ExitCode.INVALID
    (err,) = result.annotations("error")
    assert "registry connection 'ghrc' not found in your team" in err.data
    assert "did you mean 'ghcr'" in err.data
