"""Image references: split `--image`, registry hosts, normalised registry names."""

import pytest

from paperspace_deploy.errors import InputError
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
