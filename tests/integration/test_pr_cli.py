"""The command line's face of the pull-request workflow against the Paperspace emulator: the
cost in `plan` and `deploy` (text and JSON, `--prices FILE`), and `preview`, `cleanup`, `sweep`
building the same requests as the action."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.io import Io

pytestmark = pytest.mark.integration
DAY = 86400.0
CPU = {"metric": "cpu", "summary": "average", "value": 60}
FAST = ("--poll-interval", "0.02", "--timeout", "60")


def cli(emulator: Any, *argv: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> tuple[int, str, str]:  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    environ = emulator.env(PAPERSPACE_PROJECT_ID=emulator.project_id, **(env or {}))
    code = main(list(argv), Io(stdout=out, stderr=err, environ=environ, cwd=cwd or Path.cwd()))
    return code, out.getvalue(), err.getvalue()


def write_spec(tmp: Path, name: str = "demo", **resources: Any) -> str:
    res = {"machineType": "A4000", "ports": [8000], "replicas": 1,
           "autoscaling": {"maxReplicas": 5, "metrics": [CPU]}, **resources}  # fmt: skip
    path = tmp / f"{name}.yaml"
    res = {k: v for k, v in res.items() if v is not None}  # None: left out
    spec = {"apiVersion": "v1", "name": name, "image": ":image", "resources": res}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def by_name(emulator: Any) -> dict[str, Any]:
    return {d.name: d for d in emulator.state.deployments.values()}


def test_plan_and_deploy_show_the_cost(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    code, out, err = cli(emulator, "deploy", "--spec", spec, "--image", "nginx:1",
                         "--format", "json", *FAST)  # fmt: skip
    assert code == 0, err
    cost = json.loads(out)["cost"]
    assert cost["estimate"] is True and cost["new"]["machineType"] == "A4000"
    assert cost["new"]["perMonth"] == {"min": 554.8, "max": 2774.0}
    assert (
        cost["live"] is None
        and cost["change"]["text"] == "+$555/month at 1 replica, up to +$2,774 at 5"
    )
    write_spec(tmp_path, machineType="H100")
    code, out, err = cli(emulator, "plan", "--spec", spec, "--image", "nginx:1")
    assert code == 0, err
    assert '~ resources.machineType: "A4000" -> "H100"' in out
    lines = out.splitlines()
    assert any(line.startswith("cost estimate (730 h/month, list prices): 1 replica x H100 at "
                               "$3.09/h = $3.09/h, $2,256/month; up to 5: $15.45/h, $11,279/month")
               for line in lines), out  # fmt: skip
    assert "  change: +$1,701/month at 1 replica, up to +$8,505 at 5" in lines
    assert (
        "  prices: Paperspace list prices (https://www.paperspace.com/pricing, 2026-09-20)" in lines
    )
    code, out, err = cli(emulator, "plan", "--spec", spec, "--image", "nginx:1", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["changes"][0]["path"] == "resources.machineType"
    change = "+$1,701/month at 1 replica, up to +$8,505 at 5"
    assert data["cost"]["change"] == {"perMonthMin": 1700.9, "perMonthMax": 8504.5, "text": change}
    assert data["cost"]["live"]["machineType"] == "A4000"
    # negotiated rates: the prices file replaces the list price of the types it names
    prices = tmp_path / "rates.json"
    prices.write_text(json.dumps({"source": "our 2026 contract", "date": "2026-10-01",
                                  "machines": {"H100": 2.60}}))  # fmt: skip
    code, out, err = cli(emulator, "plan", "--spec", spec, "--image", "nginx:1",
                         "--prices", str(prices))  # fmt: skip
    assert code == 0, err
    assert "  change: +$1,343/month at 1 replica, up to +$6,716 at 5" in out.splitlines()
    assert "rates.json (our 2026 contract, 2026-10-01)" in out
    prices.write_text("{not json")
    code, out, err = cli(emulator, "plan", "--spec", spec, "--image", "nginx:1",
                         "--prices", str(prices))  # fmt: skip
    assert code == ExitCode.INVALID and "rates.json:1:2: not valid JSON" in err
    assert "Traceback" not in err


def test_preview_cleanup_and_sweep_commands(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, replicas=2)
    code, _, err = cli(emulator, "deploy", "--spec", spec, "--image", "nginx:1", *FAST)
    assert code == 0, err
    code, out, err = cli(emulator, "preview", "--spec", spec, "--pr", "12", "--image",
                         "nginx:1.25", "--format", "json", *FAST)  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["preview"]["name"] == "demo-pr-12" and data["state"] == "healthy"
    assert (
        "autoscaling: off (a preview runs a fixed number of replicas)" in data["preview"]["notes"]
    )
    assert data["cost"]["new"]["replicas"] == 1 and data["cost"]["live"] is None
    dep = by_name(emulator)["demo-pr-12"]
    assert dep.specs[-1].data["resources"]["replicas"] == 1
    # the next push: text output, same deployment
    code, out, err = cli(emulator, "preview", "--spec", spec, "--pr", "12", "--image",
                         "nginx:1.26", *FAST)  # fmt: skip
    assert code == 0, err
    assert out.startswith("demo-pr-12: healthy (applied)") and "  expires:    " in out
    assert len(dep.specs) == 2 and by_name(emulator)["demo-pr-12"] is dep
    assert "preview: replicas: 2 -> 1 (preview-max-replicas)" in out
    # closed, twice
    code, out, err = cli(emulator, "cleanup", "--spec", spec, "--pr", "12")
    assert code == 0 and out == f"demo-pr-12: deleted deployment {dep.id}\n", err
    code, out, err = cli(emulator, "cleanup", "--spec", spec, "--pr", "12", "--format", "json")
    assert code == 0 and json.loads(out) == {"name": "demo-pr-12", "deploymentId": None,
                                             "deleted": False}  # fmt: skip
    # sweep: only the expired preview goes, never production
    for number in (3, 4):
        code, _, err = cli(emulator, "preview", "--spec", spec, "--pr", str(number), "--image",
                           "nginx:1.25", "--no-wait", *FAST)  # fmt: skip
        assert code == 0, err
    time.sleep(0.1)
    old = by_name(emulator)["demo-pr-3"]
    old.wall -= 4 * DAY
    for s in old.specs:
        s.wall -= 4 * DAY
    code, out, err = cli(emulator, "sweep", "--spec", spec, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["deleted"] == ["demo-pr-3"] and [k["name"] for k in data["kept"]] == ["demo-pr-4"]
    assert data["ignored"] == 1  # production
    assert set(by_name(emulator)) == {"demo", "demo-pr-4"}
    code, out, err = cli(emulator, "sweep", "--spec", spec, "--preview-ttl", "1h")
    assert code == 0 and out.startswith("kept demo-pr-4 (expires "), err
    assert "sweep: 0 deleted, 1 kept, 1 other deployment(s) not previews of demo" in err
    emulator.state.deployments.pop(by_name(emulator)["demo-pr-4"].id)
    code, out, err = cli(emulator, "sweep", "--spec", spec)
    assert code == 0 and out == "no preview has expired\n", err


def test_preview_takes_the_number_from_the_ci_run(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, machineType="C5", autoscaling=None)
    gitlab = {"GITLAB_CI": "true", "CI": "true", "CI_PROJECT_DIR": str(tmp_path),
              "CI_MERGE_REQUEST_IID": "31", "CI_COMMIT_SHA": "d" * 40}  # fmt: skip
    code, out, err = cli(emulator, "preview", "--spec", "demo.yaml", "--image", "nginx:1",
                         *FAST, env=gitlab, cwd=tmp_path)  # fmt: skip
    assert code == 0, err
    assert out.startswith("demo-pr-31: healthy") and "no price known for C5" in out
    code, _, err = cli(emulator, "preview", "--spec", spec, "--image", "nginx:1", *FAST)
    assert code == ExitCode.USAGE and "mode 'preview' needs a pull request" in err


def test_caps_and_forks_are_refused_before_any_api_call(emulator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, machineType="H100")
    code, _, err = cli(emulator, "preview", "--spec", spec, "--pr", "5", "--image", "nginx:1",
                       "--preview-machine-types", "A4000,C5")  # fmt: skip
    assert code == ExitCode.INVALID
    assert "error: machine type H100 is not allowed for previews (preview-machine-types: " in err
    code, _, err = cli(emulator, "preview", "--spec", spec, "--pr", "5", "--image", "nginx:1",
                       "--preview-machine-types", "A4000",
                       "--preview-machine-type", "C5")  # fmt: skip
    assert code == ExitCode.INVALID and "is not in preview-machine-types (A4000)" in err
    code, _, err = cli(emulator, "preview", "--spec", spec, "--pr", "5", "--image", "nginx:1",
                       "--preview-name", "{name}-preview")  # fmt: skip
    assert code == ExitCode.USAGE and "must contain {number}" in err
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 5, "pull_request": {
        "number": 5, "head": {"repo": {"full_name": "mallory/app", "fork": True}},
        "base": {"repo": {"full_name": "acme/app"}}}}))  # fmt: skip
    fork = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event), "GITHUB_REF": "refs/pull/5/merge",
            "GITHUB_REPOSITORY": "acme/app", "GITHUB_WORKSPACE": str(tmp_path)}  # fmt: skip
    for argv in (["preview", "--image", "nginx:1"], ["cleanup"], ["sweep"]):
        code, _, err = cli(emulator, *argv, "--spec", spec, env=fork, cwd=tmp_path)
        assert code == ExitCode.INVALID, (argv, err)
        assert "never runs for a pull request from a fork" in err
    assert emulator.server.total_requests() == 0
