"""Flags -> BuildOptions, image references, and the command's light imports."""

import argparse
import io
import subprocess
import sys

import pytest

from paperspace_deploy.cli import build_parser, main
from paperspace_deploy.errors import ExitCode, InputError, UsageError
from paperspace_deploy.image.options import add_build_arguments, options_from_args
from paperspace_deploy.image.reference import (
    normalize_registry,
    registry_of,
    repository_path,
    split_image_arg,
)
from paperspace_deploy.io import Io


def parse(argv, env=None):
    args = build_parser().parse_args(["build", *argv])
    return options_from_args(args, env or {})


def test_all_flags_reach_the_options():
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
    )
    assert str(opts.context) == "ctx" and opts.dockerfile == "ops/Dockerfile"
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


def test_defaults():
    opts = parse(["--image", "127.0.0.1:5000/team/app"])
    assert str(opts.context) == "." and opts.push is None and not opts.pull
    assert opts.username is None and opts.password is None


def test_password_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret\n"))
    opts = parse(["--image", "a/b", "--username", "u", "--password-stdin"])
    assert opts.password == "s3cret"


@pytest.mark.parametrize(
    ("argv", "env", "error", "match"),
    [
        (["--image", "a/b", "--password", "p"], {}, InputError, "without a username"),
        (["--image", "a/b", "--username", "u"], {}, InputError, "without a password"),
        (["--image", "a/b", "--password", "p", "--password-stdin"], {}, UsageError, "combined"),
        ([], {}, UsageError, "--image is required"),
    ],
)
def test_credential_and_image_errors(argv, env, error, match):
    with pytest.raises(error, match=match):
        parse(argv, env)


def test_bad_flag_values_are_usage_errors():
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["build", "--build-arg", "NOEQUALS"])
    assert exc.value.code == ExitCode.USAGE
    with pytest.raises(SystemExit):
        build_parser().parse_args(["build", "--tag-rules", "sha,bogus"])
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    ("text", "repo", "tag"),
    [
        ("ghcr.io/org/app", "ghcr.io/org/app", None),
        ("ghcr.io/org/app:1.0", "ghcr.io/org/app", "1.0"),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app", None),
        ("localhost:5000/app:dev", "localhost:5000/app", "dev"),
        ("library/busybox", "library/busybox", None),
    ],
)
def test_split_image(text, repo, tag):
    assert split_image_arg(text) == (repo, tag)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ghcr.io/Org/App", "must be lowercase"),
        ("ghcr.io/org/app@sha256:" + "a" * 64, "not a digest"),
        ("ghcr.io/org/app:bad tag", "invalid tag"),
        ("ghcr.io/org/ap p", "path component"),
        ("ghcr.io/", "no repository path"),
    ],
)
def test_bad_images(text, match):
    with pytest.raises(InputError, match=match):
        split_image_arg(text)


def test_registry_names():
    assert normalize_registry("https://GHCR.io/") == "ghcr.io"
    assert normalize_registry("index.docker.io") == "docker.io"
    assert registry_of("busybox") == "docker.io"
    assert registry_of("127.0.0.1:5000/a") == "127.0.0.1:5000"
    assert repository_path("busybox") == "library/busybox"
    assert repository_path("ghcr.io/o/a") == "o/a"


def test_registry_mismatch_is_refused_before_any_engine_call(tmp_path):
    err = io.StringIO()
    code = main(
        ["build", str(tmp_path), "--image", "ghcr.io/o/a", "--registry", "quay.io"],
        Io(stdout=io.StringIO(), stderr=err, environ={}, cwd=tmp_path),
    )
    assert code == ExitCode.INVALID
    assert "does not match the image's registry ghcr.io" in err.getvalue()


def test_build_switch_only_for_other_commands():
    p = argparse.ArgumentParser()
    add_build_arguments(p)
    args = p.parse_args(["--build", "--context", "x", "--dockerfile", "D", "--image", "a/b"])
    assert args.build and args.build_context == "x" and args.dockerfile == "D"
    assert options_from_args(args, {}).context.name == "x"


def test_lint_and_cli_startup_never_import_docker_or_requests():
    code = (
        "import sys; from paperspace_deploy.cli import build_parser; build_parser();"
        "import paperspace_deploy.image.options;"
        "bad=[m for m in ('docker','requests') if m in sys.modules];"
        "print(bad); sys.exit(bool(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
