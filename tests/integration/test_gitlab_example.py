"""examples/.gitlab-ci.yml as GitLab would run it: its lint job through gitlab-ci-local (npm)
with the shell executor, against a good spec (passes) and a broken one (fails), and every
`paperspace-deploy` command in it through today's argument parser.

The job's `pip install paperspace-deploy` installs this checkout's wheel into a fresh venv,
offline: PIP_NO_INDEX with find-links to the wheel and to the runtime dependencies (downloaded
once into /tmp/psd-gitlab-wheels-<hash>), so nothing named paperspace-deploy is ever fetched
from an index. gitlab-ci-local sets CI_PROJECT_DIR to /builds/<group>/<project> for a job with
an `image:` even under --force-shell-executor, where the job runs in the checkout; the test
passes the checkout as CI_PROJECT_DIR, which is what a GitLab runner sets.

Needs node/npm, rsync (gitlab-ci-local copies the checkout with it) and git; without them the
test skips, unless PSD_REQUIRE_SERVICES is set (CI), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dist import project_dist
from npm_tools import npm_tool

from paperspace_deploy.cli import build_parser

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / ".gitlab-ci.yml"
GOOD = (REPO / "examples" / ".paperspace" / "app.yaml").read_text()
BROKEN = (REPO / "tests" / "action" / "data" / "broken.yaml").read_text()
VERSION = "4.73.0"  # the newest release that runs on Node 20 (4.74 uses Set.prototype.union)
REPORT = "gl-code-quality-report.json"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
       "-c", "commit.gpgsign=false"]  # fmt: skip


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("PSD_REQUIRE_SERVICES"):
            pytest.fail(f"{tool} missing: CI must install it (.ci/run)")
        pytest.skip(f"{tool} not installed: gitlab-ci-local needs it")


@pytest.fixture(scope="module")
def gitlab_ci_local() -> Path:
    for tool in ("git", "rsync"):
        _need(tool)
    return npm_tool("gitlab-ci-local", VERSION, "dist/index.js")


@pytest.fixture(scope="module")
def job_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh venv first on PATH, whose pip finds only this checkout's wheel and its deps."""
    wheel = project_dist(tmp_path_factory.mktemp("dist"))["wheel"]
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256("\n".join(deps).encode()).hexdigest()[:12]
    wheels = Path(f"/tmp/psd-gitlab-wheels-{key}")
    if not (wheels / ".complete").exists():
        run = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(wheels), *deps],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, f"pip download of {deps}: {run.stderr[-1000:]}"
        (wheels / ".complete").write_text("")
    venv = tmp_path_factory.mktemp("job") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    return {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{wheel.parent} {wheels}",
        "PIP_CONFIG_FILE": os.devnull,  # no machine-wide index or constraints
    }


def _checkout(root: Path, spec: str) -> Path:
    """A repository on its default branch `main`, holding the example pipeline as it is."""
    (root / ".paperspace").mkdir(parents=True)
    shutil.copy2(EXAMPLE, root / ".gitlab-ci.yml")
    (root / ".paperspace" / "app.yaml").write_text(spec)
    origin = "refs/remotes/origin"
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "spec"],
                 ["remote", "add", "origin", "https://gitlab.example.com/acme/app.git"],
                 ["update-ref", f"{origin}/main", "HEAD"],
                 ["symbolic-ref", f"{origin}/HEAD", f"{origin}/main"]):  # fmt: skip
        subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True)
    return root


def _run_lint_job(tool: Path, env: dict[str, str], root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(tool), "--force-shell-executor", "--no-color", "--variable",
         f"CI_PROJECT_DIR={root}", "--ignore-predefined-vars", "CI_PROJECT_DIR", "lint-spec"],
        cwd=root, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_lint_job_passes_on_a_good_spec(gitlab_ci_local, job_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _checkout(tmp_path / "good", GOOD)
    run = _run_lint_job(gitlab_ci_local, job_env, root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "PASS  lint-spec" in run.stdout + run.stderr
    log = (root / ".gitlab-ci-local" / "output" / "lint-spec.log").read_text()
    assert "checked 1 file(s): 0 error(s), 1 warning(s)" in log  # the text report in the log
    assert ".paperspace/app.yaml:5:8: warning: image is the ':image' placeholder" in log
    report = json.loads((root / REPORT).read_text())
    assert {i["location"]["path"] for i in report} == {".paperspace/app.yaml"}
    assert {i["severity"] for i in report} <= {"info", "minor"}


def test_the_lint_job_fails_on_a_broken_spec(gitlab_ci_local, job_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = _checkout(tmp_path / "broken", BROKEN)
    run = _run_lint_job(gitlab_ci_local, job_env, root)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "FAIL 1" in out and "FAIL  lint-spec" in out, out[-3000:]  # the job exits 1
    log = (root / ".gitlab-ci-local" / "output" / "lint-spec.log").read_text()
    errors = re.findall(r"^\.paperspace/app\.yaml:(\d+):\d+: error: ", log, re.M)
    assert sorted(map(int, errors)) == [4, 5, 7, 11]  # every finding, as text, in the job log
    report = json.loads((root / REPORT).read_text())  # and the report for the MR widget
    majors = [i for i in report if i["severity"] in ("major", "critical", "blocker")]
    assert sorted(i["location"]["lines"]["begin"] for i in majors) == [4, 5, 7, 11]
    assert {i["location"]["path"] for i in report} == {".paperspace/app.yaml"}
    assert len({i["fingerprint"] for i in report}) == len(report)


def _commands() -> list[tuple[str, str]]:
    pipeline = yaml.safe_load(EXAMPLE.read_text())
    jobs = {job: spec for job, spec in pipeline.items() if isinstance(spec, dict)}
    return [(job, line) for job, spec in jobs.items() for line in spec.get("script", [])
            if line.strip().startswith("paperspace-deploy")]  # fmt: skip


@pytest.mark.parametrize(("job", "line"), _commands(), ids=lambda v: v.split()[0])
def test_every_command_in_the_example_parses(job: str, line: str) -> None:
    """Drift catcher: the deploy job once passed the spec positionally (argparse: unrecognized
    arguments). Variables get placeholder values, as GitLab would expand them."""
    env = {"CI_REGISTRY_IMAGE": "registry.gitlab.com/acme/app", "PAPERSPACE_PROJECT_ID": "p1"}
    argv = shlex.split(re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], line))
    assert "$" not in " ".join(argv), argv
    args = build_parser().parse_args(argv[1:])  # SystemExit(2) on a bad flag
    assert args.command == argv[1]
    if args.command == "deploy":
        assert args.spec == ".paperspace/app.yaml" and args.build
        assert args.image == "registry.gitlab.com/acme/app" and args.project_id == "p1"


def test_the_example_installs_the_released_package() -> None:
    name = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    pipeline = yaml.safe_load(EXAMPLE.read_text())
    installs = [line for spec in pipeline.values() if isinstance(spec, dict)
                for line in spec.get("script", []) if "pip install" in line]  # fmt: skip
    assert installs and all(line.split()[-1] == name for line in installs)
