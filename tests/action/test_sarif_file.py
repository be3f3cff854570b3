"""The `sarif-file` input and output, in-process: schema-valid SARIF that GitHub code scanning
accepts, written even when the spec is invalid, never through a symlink, never with a secret."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sarif_checks import github_ingestion_problems, schema_errors

from paperspace_deploy.errors import ExitCode

HERE = Path(__file__).resolve().parent
GOOD = """\
apiVersion: v1
name: hello
image: ghcr.io/octo/hello:1.0
resources:
  replicas: 1
  machineType: C4
  ports: [8080]
"""


def _sarif(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert schema_errors(doc) == []
    assert github_ingestion_problems(doc) == []
    return doc


def test_an_invalid_spec_still_gets_its_sarif(runner) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(HERE / "data" / "broken.yaml", runner.workspace / "broken.yaml")
    (runner.workspace / "reports").mkdir()
    result = runner.run(mode="lint", spec="broken.yaml", sarif_file="reports/lint.sarif")
    assert result.code == ExitCode.INVALID
    assert result.outputs["sarif-file"] == "reports/lint.sarif"
    (run,) = _sarif(runner.workspace / "reports" / "lint.sarif")["runs"]
    assert len(run["results"]) == int(result.outputs["lint-errors"]) == 4
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"]
                   for r in run["results"])  # fmt: skip
    assert lines == [4, 5, 7, 11]  # the same findings as the annotations
    for res in run["results"]:
        where = res["locations"][0]["physicalLocation"]["artifactLocation"]
        assert where == {"uri": "broken.yaml", "uriBaseId": "SRCROOT"}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == runner.workspace.as_uri() + "/"


def test_a_valid_spec_gets_an_empty_run(runner) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    result = runner.run(mode="lint", sarif_file="./paperspace-deploy.sarif")
    assert result.code == ExitCode.OK, result.stdout
    assert result.outputs["sarif-file"] == "paperspace-deploy.sarif"
    (run,) = _sarif(runner.workspace / "paperspace-deploy.sarif")["runs"]
    assert run["results"] == [] and run["tool"]["driver"]["name"] == "paperspace-deploy"


def test_without_the_input_nothing_is_written(runner) -> None:  # type: ignore[no-untyped-def]
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    result = runner.run(mode="lint")
    assert "sarif-file" not in result.outputs
    assert not list(runner.workspace.glob("*.sarif"))


def test_a_committed_symlink_is_replaced_not_followed(runner) -> None:  # type: ignore[no-untyped-def]
    """A pull request commits `lint.sarif -> <somewhere outside>`: the link is replaced by the
    file, and the target is neither created nor written."""
    outside = runner.root / "outside"
    outside.mkdir()
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    (runner.workspace / "lint.sarif").symlink_to(outside / "evil.pth")  # dangling
    (runner.workspace / "kept.sarif").symlink_to(outside / "kept.txt")
    (outside / "kept.txt").write_text("untouched")
    result = runner.run(mode="lint", sarif_file="lint.sarif")
    assert result.code == ExitCode.OK, result.stdout
    assert not (outside / "evil.pth").exists()
    assert not (runner.workspace / "lint.sarif").is_symlink()
    _sarif(runner.workspace / "lint.sarif")
    result = runner.run(mode="lint", sarif_file="kept.sarif")
    assert result.code == ExitCode.OK and (outside / "kept.txt").read_text() == "untouched"


def test_paths_out_of_the_workspace_are_refused(runner) -> None:  # type: ignore[no-untyped-def]
    outside = runner.root / "outside"
    outside.mkdir()
    (runner.workspace / "out").symlink_to(outside, target_is_directory=True)
    (runner.workspace / "paperspace.yaml").write_text(GOOD)
    for path in ("../escape.sarif", "out/x.sarif", str(outside / "abs.sarif")):
        result = runner.run(mode="lint", sarif_file=path)
        assert result.code == ExitCode.USAGE, (path, result.stdout)
        assert "sarif-file" not in result.outputs
        (err,) = result.annotations("error")
        assert "SARIF file" in err.data
    assert not list(outside.iterdir()) and not (runner.root / "escape.sarif").exists()
    # with an invalid spec the lint failure stays the result; the refusal is one more error
    shutil.copy(HERE / "data" / "broken.yaml", runner.workspace / "paperspace.yaml")
    result = runner.run(mode="lint", sarif_file="out/x.sarif")
    assert result.code == ExitCode.INVALID
    assert any("SARIF file" in a.data for a in result.annotations("error"))


def test_secrets_never_reach_the_file(runner) -> None:  # type: ignore[no-untyped-def]
    """A secret input that also appears in a finding (here as an unknown key) is scrubbed."""
    canary = "psdCanary7f3e9a1b"
    (runner.workspace / "paperspace.yaml").write_text(GOOD + f"{canary}: 1\n")
    result = runner.run(mode="lint", sarif_file="lint.sarif", api_key=canary)
    assert result.code == ExitCode.INVALID
    text = (runner.workspace / "lint.sarif").read_text()
    assert canary not in text and "unknown key" in text
    _sarif(runner.workspace / "lint.sarif")
