"""`--builder buildx|auto` against a fake `docker` executable first on PATH (no real buildx here).

The fake records its argv and environment, prints canned plain-progress output (hostile lines
included), writes the --iidfile and exits per FAKE_BUILD / FAKE_BUILDX_VERSION_RC. The engine
side (connect, and run_build for the auto fallback) is stubbed at the pipeline boundary.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import pytest
from runner_commands import process

from paperspace_deploy.cli import main
from paperspace_deploy.errors import ExitCode
from paperspace_deploy.image import pipeline
from paperspace_deploy.io import Io

IMAGE = "127.0.0.1:5000/team/app"
IID = "sha256:" + "ab" * 32
SECRET = "pw-canary-7f3e"

FAKE_DOCKER = """#!{python}
import json, os, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as fh:
    fh.write(json.dumps({{"argv": args, "pid": os.getpid(),
                        "secret_env": sorted(k for k in os.environ
                                             if k == "REGISTRY_PASSWORD"
                                             or k.startswith("INPUT_"))}}) + "\\n")
if args[:2] == ["buildx", "version"]:
    rc = int(os.environ.get("FAKE_BUILDX_VERSION_RC", "0"))
    if rc:
        print("docker: 'buildx' is not a docker command.", file=sys.stderr)
    else:
        print("github.com/docker/buildx v0.0.0-fake")
    sys.exit(rc)
if args[:2] != ["buildx", "build"]:
    sys.exit(64)
out = sys.stderr
for line in [
    "#0 building with \\"default\\" instance using docker driver",
    "#5 [2/2] RUN echo ::add-mask::x",
    "::add-mask::x",
    "  ::warning title=x::injected",
    "x ##[error file=README.md]forged",
    "::stop-commands::abcdefgh",
    "::add-mask::y",
]:
    print(line, file=out, flush=True)
mode = os.environ.get("FAKE_BUILD", "ok")
if mode == "hang":
    time.sleep(60)
if mode == "fail":
    for n in range(25):
        print(f"#6 0.{{n}} output line {{n}}", file=out)
    print("#6 ERROR: process \\"/bin/sh -c false\\" did not complete successfully: exit code: 1",
          file=out)
    print("ERROR: failed to solve: process \\"/bin/sh -c false\\" did not complete "
          "successfully: exit code: 1", file=out)
    sys.exit(1)
iid = next(a.split("=", 1)[1] for a in args if a.startswith("--iidfile="))
with open(iid, "w") as fh:
    fh.write("{iid}")
print("#9 naming to {image}:v1 done", file=out)
"""


class FakeClient:
    """The engine as the pipeline sees it after a buildx --load (no push in these tests)."""

    def __init__(self, has_image: bool = True) -> None:
        self.has_image = has_image
        self.tagged: list[tuple[str, str, str]] = []

    def inspect_image(self, ref: str) -> dict[str, str]:
        from docker.errors import NotFound

        if not self.has_image:
            raise NotFound(f"No such image: {ref}")
        return {"Id": IID}

    def tag(self, image: str, repo: str, tag: str) -> None:
        self.tagged.append((image, repo, tag))

    def close(self) -> None:
        pass


@pytest.fixture
def fake(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    docker = bindir / "docker"
    docker.write_text(FAKE_DOCKER.format(python=sys.executable, iid=IID, image=IMAGE))
    docker.chmod(0o755)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (ctx / "a").write_text("a")
    client = FakeClient()
    monkeypatch.setattr(pipeline, "connect", lambda environ: client)

    class Fake:
        def __init__(self) -> None:
            self.log = tmp_path / "docker.log"
            self.env = {
                "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
                "HOME": str(tmp_path),
                "FAKE_DOCKER_LOG": str(self.log),
                "REGISTRY_USERNAME": "bot",
                "REGISTRY_PASSWORD": SECRET,
                "INPUT_PASSWORD": SECRET,
            }
            self.ctx = ctx
            self.client = client
            self.cwd = tmp_path

        def calls(self) -> list[dict]:
            if not self.log.exists():
                return []
            return [json.loads(x) for x in self.log.read_text().splitlines()]

        def run(self, *argv: str, **env: str) -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            args = ["build", str(self.ctx), "--image", IMAGE, "--tag", "v1", "--no-push", *argv]
            code = main(args, Io(stdout=out, stderr=err, environ=self.env | env, cwd=self.cwd))
            return code, out.getvalue(), err.getvalue()

    return Fake()


def test_buildx_argv_image_id_and_no_secrets(fake):
    code, out, err = fake.run(
        "--builder=buildx",
        "--build-arg",
        "A=1",
        "--label",
        "team=ml",
        "--target",
        "prod",
        "--platform",
        "linux/amd64",
        "--cache-from",
        "type=registry,ref=ghcr.io/acme/app:cache",
        "--pull",
        "--no-cache",
        "--tag",
        "v2",
    )
    assert code == 0, err
    assert out.strip() == IID  # not pushed: stdout carries the image ID from the iidfile
    version, build = fake.calls()
    assert version["argv"] == ["buildx", "version"]
    argv = build["argv"]
    assert argv[:4] == ["buildx", "build", "--progress=plain", "--load"]
    assert argv[4].startswith("--iidfile=")
    ctx = str(fake.ctx.resolve())
    for flag in (
        f"--file={ctx}/Dockerfile",
        "--target=prod",
        "--platform=linux/amd64",
        "--build-arg=A=1",
        "--label=team=ml",
        "--cache-from=type=registry,ref=ghcr.io/acme/app:cache",
        "--pull",
        "--no-cache",
        f"--tag={IMAGE}:v1",
        f"--tag={IMAGE}:v2",
    ):
        assert flag in argv, flag
    assert any(a.startswith("--label=org.opencontainers.image.created=") for a in argv)
    assert argv[-1] == ctx
    assert not any(SECRET in a for a in argv)
    assert build["secret_env"] == [] and version["secret_env"] == []
    assert "::add-mask::x" in err and "#9 naming to" in err  # streamed, line by line
    assert fake.client.tagged == []  # buildx applied the tags itself (-t)


def test_buildx_failure_reports_exit_code_and_tail(fake):
    code, out, err = fake.run("--builder", "buildx", FAKE_BUILD="fail")
    assert code == ExitCode.INVALID and out == ""
    assert "error: docker buildx build failed with exit code 1: ERROR: failed to solve:" in err
    assert "output line 24" in err and "Traceback" not in err


def test_buildx_failure_on_github_repeats_the_tail_inside_stop_commands(fake):
    code, out, err = fake.run("--builder", "buildx", FAKE_BUILD="fail", GITHUB_ACTIONS="true")
    assert code == ExitCode.INVALID
    tail = err.split("Failed build (last lines):", 1)[1]
    assert "output line 24" in tail and "output line 4" not in tail  # the last 20 lines
    assert {c.name for c in process(out + err)} <= {"add-mask", "group", "endgroup"} | {
        "stop-commands"
    }


def test_hostile_output_never_becomes_a_workflow_command_on_github(fake):
    code, out, err = fake.run("--builder", "buildx", GITHUB_ACTIONS="true")
    assert code == 0, err
    seen = [(c.name, c.data) for c in process(out + err)]
    assert {name for name, _ in seen} <= {"add-mask", "group", "endgroup", "stop-commands"}, seen
    masks = {data for name, data in seen if name == "add-mask"}
    assert SECRET in masks and "x" not in masks and "y" not in masks
    assert "::add-mask::x" in err  # shown as text


def test_buildx_requested_but_missing_is_a_clear_input_error(fake):
    code, _, err = fake.run("--builder", "buildx", FAKE_BUILDX_VERSION_RC="1")
    assert code == ExitCode.INVALID
    assert "error: --builder buildx needs docker buildx: `docker buildx version` exited 1" in err
    assert "docker-buildx" in err and "Traceback" not in err
    assert [c["argv"][:2] for c in fake.calls()] == [["buildx", "version"]]  # nothing built


def test_no_docker_cli_at_all(fake, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = fake.run("--builder", "buildx", PATH=str(empty))
    assert code == ExitCode.INVALID and "no docker CLI on PATH" in err


def test_auto_falls_back_to_the_engine_with_one_notice(fake, monkeypatch):
    built = []
    monkeypatch.setattr(pipeline, "run_build", lambda *a, **k: built.append(a) or "sha256:eng")
    code, out, err = fake.run("--builder", "auto", FAKE_BUILDX_VERSION_RC="1")
    assert code == 0, err
    assert out.strip() == "sha256:eng" and len(built) == 1
    assert err.count("notice: docker buildx is not available") == 1
    assert fake.client.tagged == [("sha256:eng", IMAGE, "v1")]
    assert [c["argv"] for c in fake.calls()] == [["buildx", "version"]]


def test_auto_uses_buildx_when_present(fake, monkeypatch):
    monkeypatch.setattr(pipeline, "run_build", lambda *a, **k: pytest.fail("engine used"))
    code, out, err = fake.run("--builder", "auto")
    assert code == 0, err
    assert out.strip() == IID and "notice:" not in err


def test_engine_default_never_probes_buildx(fake, monkeypatch):
    monkeypatch.setattr(pipeline, "run_build", lambda *a, **k: "sha256:eng")
    code, out, _ = fake.run()
    assert code == 0 and out.strip() == "sha256:eng" and fake.calls() == []


def test_image_missing_from_the_engine_after_load(fake):
    fake.client.has_image = False
    code, _, err = fake.run("--builder", "buildx")
    assert code == ExitCode.INVALID and "does not have it" in err and "docker buildx use" in err


def test_deadline_kills_the_build(fake):
    started = time.monotonic()
    code, _, err = fake.run("--builder", "buildx", "--timeout", "1", FAKE_BUILD="hang")
    assert code == ExitCode.UNAVAILABLE
    assert "error: build did not finish before the run's deadline" in err
    assert time.monotonic() - started < 10
    pid = fake.calls()[-1]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


def test_unknown_builder_is_a_usage_error(fake):
    code, _, err = fake.run("--builder", "kaniko")
    assert code == ExitCode.USAGE and "must be one of auto, engine, buildx" in err


def test_options_carry_the_builder(tmp_path):
    from paperspace_deploy.cli import build_parser
    from paperspace_deploy.image.options import BuildOptions

    io_ = Io(environ={}, cwd=tmp_path)
    args = build_parser().parse_args(["build", "--image", IMAGE, "--builder", "auto"])
    assert BuildOptions.from_args(args, io_, "build").builder == "auto"
    args = build_parser().parse_args(["build", "--image", IMAGE])
    assert BuildOptions.from_args(args, io_, "build").builder == "engine"
    assert BuildOptions(Path("."), None, IMAGE, [], {}, {}).builder == "engine"
