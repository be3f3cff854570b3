"""The containerRegistry check as a pure function over a connection list."""

from __future__ import annotations

import json

import pytest

from paperspace_deploy import registry
from paperspace_deploy.errors import UsageError
from paperspace_deploy.spec.findings import Severity


def locate(path):
    return {("containerRegistry",): (5, 20), ("image",): (3, 8)}.get(tuple(path), (1, 1))


def check(data, connections):
    return registry.check_registry(data, path="app.yaml", locate=locate, connections=connections)


def test_known_name_passes_and_missing_key_is_ignored():
    conns = registry.Connections(["ghcr"], {"ghcr": "https://ghcr.io"})
    assert check({"containerRegistry": "ghcr", "image": "ghcr.io/acme/app:1"}, conns) == []
    assert check({"image": "nginx"}, conns) == []


def test_unknown_name_lists_existing_with_did_you_mean_at_its_line():
    conns = registry.Connections(["ghcr-prod", "dockerhub", "ecr"])
    (finding,) = check({"containerRegistry": "ghcr-prd"}, conns)
    assert (finding.line, finding.col, finding.rule) == (5, 20, "registry-unknown")
    assert finding.severity is Severity.ERROR
    assert "did you mean 'ghcr-prod'" in finding.message
    assert "Existing: dockerhub, ecr, ghcr-prod" in finding.message
    assert "checked 3 connections" in finding.message


def test_case_only_difference_is_suggested():
    (finding,) = check({"containerRegistry": "GHCR"}, registry.Connections(["ghcr"]))
    assert "did you mean 'ghcr'" in finding.message


def test_no_connections_at_all():
    (finding,) = check({"containerRegistry": "x"}, registry.Connections([]))
    assert "No registry connections exist" in finding.message


def test_image_host_mismatch_is_a_warning_at_the_image_line():
    conns = registry.Connections(["ghcr"], {"ghcr": "https://ghcr.io"})
    (finding,) = check({"containerRegistry": "ghcr", "image": "docker.io/acme/app:1"}, conns)
    assert (finding.rule, finding.severity, finding.line) == (
        "registry-host-mismatch", Severity.WARNING, 3)  # fmt: skip
    hub = registry.Connections(["hub"], {"hub": "https://index.docker.io/v1/"})
    assert check({"containerRegistry": "hub", "image": "acme/app:1"}, hub) == []


def test_skipped_with_a_notice_when_nothing_to_check_against():
    (finding,) = check({"containerRegistry": "x"}, None)
    assert finding.severity is Severity.NOTICE and finding.rule == "registry-check-skipped"


def test_offline_lists_from_flag_and_files(tmp_path):
    assert registry.from_offline([" a", "b ", ""], None).names == ["a", "b"]
    lines = tmp_path / "r.txt"
    lines.write_text("# team registries\nghcr\n\ndockerhub\n")
    assert registry.from_offline([], lines).names == ["ghcr", "dockerhub"]
    js = tmp_path / "r.json"
    js.write_text(json.dumps([{"name": "ghcr", "url": "https://ghcr.io"}, "hub"]))
    conns = registry.from_offline(["extra"], js)
    assert conns.names == ["extra", "ghcr", "hub"] and conns.urls == {"ghcr": "https://ghcr.io"}
    with pytest.raises(UsageError, match="cannot read"):
        registry.from_offline([], tmp_path / "missing")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(UsageError, match="entries must be"):
        registry.from_offline([], bad)
