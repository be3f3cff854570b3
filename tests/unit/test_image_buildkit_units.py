"""Small pure parts of the BuildKit path: platforms, the Dockerfile scan, the created label, the
private config.json, buildx output parsing and argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperspace_deploy.errors import InputError
from paperspace_deploy.image.build import BuildRequest
from paperspace_deploy.image.buildx import (
    Builder,
    BuildxLog,
    buildx_argv,
    cache_ref,
    cache_type,
    parse_inspect,
    unsupported,
)
from paperspace_deploy.image.dockerconfig import Login, config_with
from paperspace_deploy.image.dockerfile import automatic_args, buildkit_features, mounts
from paperspace_deploy.image.labels import created_at
from paperspace_deploy.image.platforms import check_image_platform, split_platforms


def test_platforms_are_split_normalised_and_checked():
    assert split_platforms(["linux/amd64,linux/arm64/v8", "linux/x86_64"]) == [
        "linux/amd64",
        "linux/arm64",
    ]
    with pytest.raises(InputError, match="invalid platform"):
        split_platforms(["linux"])
    check_image_platform(
        {"Os": "linux", "Architecture": "arm64", "Variant": "v8"}, "linux/arm64", "x"
    )
    with pytest.raises(InputError, match="built a linux/amd64 image, but linux/arm64"):
        check_image_platform({"Os": "linux", "Architecture": "amd64"}, "linux/arm64", "x")


def test_dockerfile_scan():
    text = (
        "FROM --platform=$BUILDPLATFORM x AS b\nARG TARGETARCH TARGETOS=linux\n"
        "RUN --mount=type=secret,id=npm --mount=type=ssh x\n"
        "RUN --mount=type=secret,target=/run/secrets/pip,required y\nCOPY --link a b\n"
    )
    assert "FROM --platform=$BUILDPLATFORM at line 1" in buildkit_features(text)
    assert "COPY/ADD --chmod/--link/... at line 5" in buildkit_features(text)
    assert automatic_args(text) == ["TARGETARCH (line 2)"]  # TARGETOS has a default
    got = [(m.kind, m.id, m.required) for m in mounts(text)]
    assert got == [("secret", "npm", False), ("ssh", "default", False), ("secret", "pip", True)]


def test_created_label_comes_from_the_commit(tmp_path):
    assert created_at({"SOURCE_DATE_EPOCH": "0"}) == "1970-01-01T00:00:00Z"
    assert (
        created_at({"CI_COMMIT_TIMESTAMP": "2024-01-02T03:04:05+01:00"}) == "2024-01-02T02:04:05Z"
    )
    event = tmp_path / "e.json"
    event.write_text(json.dumps({"head_commit": {"timestamp": "2024-05-01T10:20:30Z"}}))
    assert created_at({"GITHUB_EVENT_PATH": str(event)}) == "2024-05-01T10:20:30Z"
    assert created_at({"SOURCE_DATE_EPOCH": "99999999999999"}) != "99999999999999"  # no crash


def test_private_config_adds_our_login_and_drops_what_would_shadow_it():
    user = {"auths": {"ghcr.io": {"auth": "eA=="}, "r.io": {"auth": "old"}},
            "credHelpers": {"r.io": "ecr-login", "x.io": "gcr"}, "credsStore": "desktop",
            "proxies": {"default": {}}}  # fmt: skip
    got = config_with(user, [Login("r.io", "bot", "pw")])
    assert got["auths"]["r.io"] == {"auth": "Ym90OnB3"} and got["auths"]["ghcr.io"] == {
        "auth": "eA=="
    }
    assert got["credHelpers"] == {"x.io": "gcr"} and "credsStore" not in got
    assert got["proxies"] == {"default": {}}
    assert config_with({}, [Login("docker.io", "u", "p")])["auths"].keys() == {
        "https://index.docker.io/v1/"
    }
    assert repr(Login("r.io", "bot", "pw")).count("pw") == 0


def test_inspect_output_and_driver_limits():
    b = parse_inspect(
        "Name:   default\nDriver: docker\n\nNodes:\nName: default\nEndpoint: default\n"
        "Status: running\nBuildKit version: v0.8+unknown\nPlatforms: linux/amd64, linux/386\n",
        None,
    )
    assert b == Builder(None, "docker", "v0.8+unknown", ("linux/amd64", "linux/386"))
    req = BuildRequest(Path("/c"), "/c/Dockerfile", {}, {}, None, ["linux/amd64", "linux/arm64"],
                       ["type=gha"], False, False, [],
                       cache_to=["type=inline", "type=registry,ref=x"],
                       provenance="mode=max")  # fmt: skip
    assert unsupported(req, b, containerd_store=False) == [
        "several platforms (linux/amd64, linux/arm64)",
        "provenance attestations",
        "cache-to type=registry",
        "cache-from type=gha",
    ]
    assert unsupported(req, Builder("c", "docker-container"), False) == []
    assert (
        cache_type("ghcr.io/a/b:cache") == "registry"
        and cache_ref("type=registry,ref=x:1") == "x:1"
    )


def test_argv_never_carries_secret_values(tmp_path):
    req = BuildRequest(tmp_path, str(tmp_path / "Dockerfile"), {"A": "1"}, {}, "prod",
                       ["linux/amd64"], [], False, False, [], ssh=["default"],
                       network="host")  # fmt: skip
    argv = buildx_argv("docker", req, ["r/app:v1"], tmp_path, output="push",
                       builder=Builder("ctr", "docker-container"),
                       secret_args=[f"id=tok,src={tmp_path}/secrets/tok"])  # fmt: skip
    assert "--builder=ctr" in argv and "--push" in argv and "--load" not in argv
    assert f"--secret=id=tok,src={tmp_path}/secrets/tok" in argv and "--ssh=default" in argv
    assert "--network=host" in argv and "--provenance=false" in argv and argv[-1] == str(tmp_path)


def test_failed_cache_imports_are_collected():
    log = BuildxLog()
    for line in ["#4 importing cache manifest from r/app:cache",
                 "#5 importing cache manifest from r/app:ok", "#5 DONE 0.1s",
                 "#4 ERROR: r/app:cache: not found"]:  # fmt: skip
        log.feed(line)
    assert log.cache_failures == ["r/app:cache: r/app:cache: not found"]
