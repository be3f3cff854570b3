"""Build-context hygiene (the docker CLI's .dockerignore rules, as the Engine API path sends the
context), Dockerfile containment and secret-looking build args."""

import os

import pytest

from paperspace_deploy.errors import InputError, UsageError
from paperspace_deploy.image.context import (
    describe_sensitive,
    resolve_context,
    resolve_dockerfile,
    secret_looking_build_args,
    sensitive_files,
)
from paperspace_deploy.image.context_tar import prepare


def sensitive(ctx):
    return sensitive_files(prepare(ctx, ctx / "Dockerfile", ctx))


def sent_files(ctx):
    return set(prepare(ctx, ctx / "Dockerfile", ctx).files())


def make(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


LEAKY = {
    "Dockerfile": "FROM scratch\n",
    "app.py": "print()",
    ".env": "TOKEN=x",
    ".env.example": "TOKEN=",
    "sub/.env": "A=1",
    "certs/server.pem": "-----BEGIN",
    "keys/id_rsa": "k",
    ".git/config": "[remote]",
    ".git/HEAD": "ref",
    "home/.docker/config.json": "{}",
    "infra/prod.tfstate": "{}",
}


def test_context_without_dockerignore_lists_every_sensitive_file(tmp_path):
    make(tmp_path, LEAKY)
    found = {f.path for f in sensitive(tmp_path)}
    assert found == {
        ".env",
        "sub/.env",
        "certs/server.pem",
        "keys/id_rsa",
        ".git/",
        "home/.docker/config.json",
        "infra/prod.tfstate",
    }


def test_dockerignore_is_anchored_like_docker(tmp_path):
    make(tmp_path, LEAKY | {".dockerignore": ".env\n.git\n*.pem\n**/*.pem\n# comment\n"})
    found = {f.path for f in sensitive(tmp_path)}
    # `.env` excludes ./.env but not sub/.env (docker semantics); *.pem only at the root
    assert ".env" not in found and ".git/" not in found and "certs/server.pem" not in found
    assert "sub/.env" in found


def test_allowlist_dockerignore_sends_only_what_is_named(tmp_path):
    make(tmp_path, LEAKY | {".dockerignore": "*\n!Dockerfile\n!app.py\n"})
    assert sensitive(tmp_path) == []
    assert sent_files(tmp_path) == {"Dockerfile", "app.py", ".dockerignore"}


def test_message_names_files_and_the_fix(tmp_path):
    make(tmp_path, LEAKY)
    text = describe_sensitive(sensitive(tmp_path), None)
    assert "no .dockerignore excludes" in text and ".env (environment file)" in text
    assert "add them to .dockerignore" in text
    assert "TOKEN=x" not in text


def test_message_names_the_ignore_file_that_let_them_through(tmp_path):
    make(tmp_path, LEAKY | {"Dockerfile.dockerignore": "**/*.pem\n"})
    found = sensitive(tmp_path)
    assert ".env" in {f.path for f in found} and "certs/server.pem" not in {f.path for f in found}
    text = describe_sensitive(found, "Dockerfile.dockerignore")
    assert "Dockerfile.dockerignore lets through" in text
    assert "add them to Dockerfile.dockerignore" in text


def test_refusal_names_the_default_dockerfile_not_none(tmp_path):
    ws = tmp_path / "ws"
    ctx = make(ws / "app", {"x": "1"})
    outside = make(tmp_path / "elsewhere", {"Dockerfile": "FROM scratch\n"})
    (ctx / "Dockerfile").symlink_to(outside / "Dockerfile")
    with pytest.raises(InputError) as info:
        resolve_dockerfile(None, ctx, ctx, ws)
    assert "None" not in str(info.value) and "workspace: Dockerfile (resolves to" in str(info.value)


def test_dockerfile_outside_context_and_workspace_is_refused(tmp_path):
    ws = tmp_path / "ws"
    ctx = make(ws / "app", {"Dockerfile": "FROM scratch\n"})
    outside = make(tmp_path / "elsewhere", {"Dockerfile": "FROM scratch\n"})
    with pytest.raises(InputError, match="inside the build context or workspace"):
        resolve_dockerfile("../../elsewhere/Dockerfile", ctx, ctx, ws)
    with pytest.raises(InputError, match="inside the build context or workspace"):
        resolve_dockerfile("/etc/shadow", ctx, ctx, ws)
    link = ctx / "Linked.Dockerfile"
    link.symlink_to(outside / "Dockerfile")
    with pytest.raises(InputError):
        resolve_dockerfile("Linked.Dockerfile", ctx, ctx, ws)


def test_dockerfile_in_workspace_but_outside_context_is_inlined_by_absolute_path(tmp_path):
    ws = tmp_path / "ws"
    ctx = make(ws / "app", {"x": "1"})
    make(ws / "docker", {"app.Dockerfile": "FROM scratch\n"})
    real, value = resolve_dockerfile("docker/app.Dockerfile", ctx, ws, ws)
    assert value == str(real) and os.path.isabs(value)


def test_default_and_relative_dockerfiles(tmp_path):
    ctx = make(tmp_path, {"Dockerfile": "FROM scratch\n", "ops/Dockerfile.prod": "FROM scratch\n"})
    assert resolve_dockerfile(None, ctx, ctx, ctx)[1] == "Dockerfile"
    assert resolve_dockerfile("ops/Dockerfile.prod", ctx, ctx, ctx)[1] == "ops/Dockerfile.prod"


def test_missing_dockerfile_and_context_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="Dockerfile not found"):
        resolve_dockerfile(None, tmp_path, tmp_path, tmp_path)
    (tmp_path / "Dockerfile").mkdir()
    with pytest.raises(UsageError, match="not a regular file"):
        resolve_dockerfile(None, tmp_path, tmp_path, tmp_path)
    with pytest.raises(UsageError, match="build context not found"):
        resolve_context(tmp_path / "nope", tmp_path)
    with pytest.raises(UsageError, match="not a directory"):
        resolve_context(make(tmp_path, {"f": ""}) / "f", tmp_path)


@pytest.mark.parametrize(
    ("args", "flagged"),
    [
        ({"NPM_TOKEN": "abc"}, ["NPM_TOKEN"]),
        ({"DB_PASSWORD": "x"}, ["DB_PASSWORD"]),
        ({"AWS_SECRET_ACCESS_KEY": "x"}, ["AWS_SECRET_ACCESS_KEY"]),
        ({"VERSION": "ghp_" + "a" * 36}, ["VERSION"]),
        ({"X": "AKIAABCDEFGHIJKLMNOP"}, ["X"]),
        ({"X": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc"}, ["X"]),
        ({"PYTHON_VERSION": "3.11", "NODE_ENV": "production", "BASE": "busybox"}, []),
    ],
)
def test_secret_looking_build_args(args, flagged):
    assert secret_looking_build_args(args) == flagged


def test_relative_dockerfile_falls_back_to_the_context(tmp_path):
    ws = tmp_path
    ctx = make(ws / "app", {"docker/Dockerfile": "FROM scratch\n"})
    real, value = resolve_dockerfile("docker/Dockerfile", ctx, ws, ws)  # cwd is the workspace
    assert value == "docker/Dockerfile" and real == ctx / "docker" / "Dockerfile"
