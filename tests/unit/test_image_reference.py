"""Image references: split `--image`, registry hosts, normalised registry names."""

import pytest

from paperspace_deploy.errors import InputError
from paperspace_deploy.image import reference
from paperspace_deploy.image.reference import (
    normalize_registry,
    registry_of,
    repository_path,
    split_image_arg,
)


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


@pytest.mark.parametrize(
    ("image", "parsed"),
    [
        ("nginx", ("docker.io", "library/nginx", "latest")),
        ("index.docker.io/nginx:1", ("docker.io", "library/nginx", "1")),
        ("127.0.0.1:5000/a/b:v1", ("127.0.0.1:5000", "a/b", "v1")),
        ("GHCR.io/a/b@sha256:abc", ("ghcr.io", "a/b", "sha256:abc")),
        ("ghcr.io/a/b:v2@sha256:abc", ("ghcr.io", "a/b", "sha256:abc")),
        ("localhost:5000/app", ("localhost:5000", "app", "latest")),
    ],
)
def test_parse_reference(image, parsed):
    assert reference.parse_reference(image) == parsed


@pytest.mark.parametrize(
    ("url", "image", "same"),
    [
        ("https://ghcr.io", "ghcr.io/a/b:1", True),
        ("https://index.docker.io/v1/", "nginx", True),  # every Hub alias is Docker Hub
        ("registry-1.docker.io", "docker.io/library/nginx", True),
        ("127.0.0.1:5000", "127.0.0.1:5000/app@sha256:abc", True),
        ("https://ghcr.io", "nginx", False),
        ("127.0.0.1:5000", "127.0.0.1:5001/app", False),
    ],
)
def test_same_registry(url, image, same):
    assert reference.same_registry(url, image) is same


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1:5000", True), ("localhost", True), ("[::1]:5000", True), ("::1", True),
     ("127.5.0.1", True), ("ghcr.io", False), ("[2001:db8::1]:443", False), ("10.0.0.1:80", False)],
)  # fmt: skip
def test_is_loopback(host, loopback):
    assert reference.is_loopback(host) is loopback
