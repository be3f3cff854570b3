"""Flags and inputs -> BuildOptions (`from_args`, `from_action`, `validate`), and the command's
light imports."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from paperspace_deploy import options
from paperspace_deploy.cli import build_parser, main
from paperspace_deploy.errors import ExitCode, InputError, UsageError
from paperspace_deploy.image.options import BuildOptions
from paperspace_deploy.io import Io
from paperspace_deploy.workspace import Workspace


def parse(argv, env=None, cwd: Path | None = None, command="build"):
    cwd = cwd or Path.cwd()
    args = build_parser().parse_args([command, *argv])
    return BuildOptions.from_args(args, Io(environ=env or {}, cwd=cwd), command)


def test_all_flags_reach_the_options(tmp_path):
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "Dockerfile").write_text("FROM scratch\n")
    opts = parse(
        [
            "ctx",
            "-f",
            "ops/Dockerfile",
            "--image",
            "ghcr.io/org/app:v1",
            "--tag",
            "extra",
            "--build-arg",
            "A=1",
            "--build-arg",
            "B=x=y",
            "--label",
            "l=v",
            "--target",
            "prod",
            "--platform",
            "linux/arm64",
            "--cache-from",
            "ghcr.io/org/app:main",
            "--pull",
            "--no-cache",
            "--no-push",
            "--registry",
            "ghcr.io",
            "--tag-rules",
            "sha,branch",
        ],
        {"REGISTRY_USERNAME": "bot", "REGISTRY_PASSWORD": "pw"},
        tmp_path,
    )
    assert opts.context == tmp_path / "ctx"
    assert opts.dockerfile == str(tmp_path / "ops" / "Dockerfile")  # -f: from the cwd
    assert opts.image == "ghcr.io/org/app" and opts.tags == ["v1", "extra"]
    assert opts.build_args == {"A": "1", "B": "x=y"} and opts.labels == {"l": "v"}
    assert (opts.target, opts.platform, opts.cache_from) == (
        "prod",
        "linux/arm64",
        ["ghcr.io/org/app:main"],
    )
    assert opts.pull and opts.no_cache and opts.push is False
    assert (opts.username, opts.password) == ("bot", "pw")
    assert opts.tag_rules == ("sha", "branch")
    assert "pw" not in repr(opts)


def test_defaults(tmp_path):
    opts = parse(["--image", "127.0.0.1:5000/team/app"], cwd=tmp_path)
    assert opts.context == tmp_path and opts.push is None and not opts.pull
    assert opts.builder == "engine" and opts.deadline.seconds == 3600
    assert opts.username is None and opts.password is None


def test_password_stdin(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret\n"))
    opts = parse(["--image", "a/b", "--username", "u", "--password-stdin"], cwd=tmp_path)
    assert opts.password == "s3cret"


@pytest.mark.parametrize(
    ("argv", "env", "error", "match"),
    [
        (["--image", "a/b", "--password", "p"], {}, InputError, "without a username"),
        (["--image", "a/b", "--username", "u"], {}, InputError, "without a password"),
        (["--image", "a/b", "--password", "p", "--password-stdin"], {}, UsageError, "combined"),
        ([], {}, UsageError, "image repository is required"),
    ],
)
def test_credential_and_image_errors(argv, env, error, match, tmp_path):
    with pytest.raises(error, match=match):
        parse(argv, env, tmp_path)


def test_bad_flag_values_are_usage_errors():
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["build", "--build-arg", "NOEQUALS"])
    assert exc.value.code == ExitCode.USAGE
    with pytest.raises(SystemExit):
        build_parser().parse_args(["build", "--tag-rules", "sha,bogus"])
    assert err.getvalue() == ""


def test_registry_mismatch_is_refused_before_any_engine_call(tmp_path):
    err = io.StringIO()
    code = main(
        ["build", str(tmp_path), "--image", "ghcr.io/o/a", "--registry", "quay.io"],
        Io(stdout=io.StringIO(), stderr=err, environ={}, cwd=tmp_path),
    )
    assert code == ExitCode.INVALID
    assert "does not match the image's registry ghcr.io" in err.getvalue()


def test_deploy_takes_the_same_build_flags(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "D").write_text("FROM scratch\n")
    argv = ["--build", "--context", "x", "--dockerfile", "D", "--image", "a/b"]
    opts = parse(argv, cwd=tmp_path, command="deploy")  # D is not in the cwd: from the context
    assert opts.context == tmp_path / "x" and opts.dockerfile == str(tmp_path / "x" / "D")
    assert opts.deadline.seconds == 900  # deploy's default deadline covers the build too


def test_the_action_builds_the_same_options(tmp_path):
    """Drift check: the same settings through inputs give the same BuildOptions as flags."""
    (tmp_path / "ctx").mkdir()
    (tmp_path / "D").write_text("FROM scratch\n")
    env = {"INPUT_IMAGE": "ghcr.io/org/app:v1", "INPUT_CONTEXT": "ctx", "INPUT_FILE": "D",
           "INPUT_TAGS": "a, b", "INPUT_BUILD-ARGS": "A=1\nB=x,y", "INPUT_LABELS": "l=v",
           "INPUT_PUSH": "false", "INPUT_NO-CACHE": "true", "INPUT_BUILDER": "engine",
           "INPUT_TAG-RULES": "sha", "INPUT_TIMEOUT": "20"}  # fmt: skip
    io_ = Io(environ=env, cwd=tmp_path)
    from paperspace_deploy.api.retry import Deadline

    from_action = BuildOptions.from_action(
        options.read_inputs(env, "build"), Workspace(tmp_path, tmp_path), io_, "build",
        deadline=Deadline(1200),
    )  # fmt: skip
    from_args = parse(["ctx", "--image", "ghcr.io/org/app:v1", "-f", "D", "--tag", "a",
                       "--tag", "b", "--build-arg", "A=1", "--build-arg", "B=x,y", "--label",
                       "l=v", "--no-push", "--no-cache", "--tag-rules", "sha",
                       "--timeout", "20m"], cwd=tmp_path)  # fmt: skip
    fields = ("context", "dockerfile", "image", "tags", "build_args", "labels", "push",
              "no_cache", "tag_rules", "builder")  # fmt: skip
    assert [getattr(from_action, f) for f in fields] == [getattr(from_args, f) for f in fields]
    assert from_action.deadline.seconds == from_args.deadline.seconds == 1200


def test_action_refuses_a_username_without_a_password(tmp_path):
    """Drift (issue 9): the action used to go on without a login, so the push failed later
    with a hint about environment variables the action never reads."""
    env = {"INPUT_IMAGE": "ghcr.io/org/app", "INPUT_USERNAME": "bot"}
    with pytest.raises(InputError, match="without a password") as exc:
        BuildOptions.from_action(
            options.read_inputs(env, "build"), Workspace(tmp_path, tmp_path),
            Io(environ=env, cwd=tmp_path), "build",
            deadline=__import__("paperspace_deploy.api.retry").api.retry.Deadline(60),
        )  # fmt: skip
    assert "input password" in (exc.value.hint or "")


def test_lint_and_cli_startup_never_import_docker_or_requests():
    code = (
        "import sys; from paperspace_deploy.cli import build_parser; build_parser();"
        "import paperspace_deploy.image.options;"
        "bad=[m for m in ('docker','requests') if m in sys.modules];"
        "print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
