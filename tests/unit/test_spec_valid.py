"""Real-world specs and the reference's documented examples lint as expected (warnings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paperspace_deploy.spec import LintContext, lint_file, to_api_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "real-world"
VALID = FIXTURES / "valid"

# file -> the exact (line, col, severity, rule) findings it must produce
EXPECTED: dict[Path, set[tuple[int, int, str, str]]] = {
    REAL / "flask-template-app.paperspace.yaml": set(),
    REAL / "fastapi-template-app.paperspace.yaml": set(),
    REAL / "fastapi-hf-template-app.paperspace.yaml": set(),
    REAL / "byte-barometer.paperspace.yaml": {(1, 1, "warning", "legacy-shape")},
    REAL / "ps-deploy-action-example.app.yaml": {
        (1, 1, "warning", "legacy-shape"),
        (3, 8, "warning", "image-placeholder"),
    },
    # SOURCES.md: upper case in the repository path is not a valid reference; flag it (a
    # warning in plain lint, as the file must pass; an error when deploying, tested below)
    REAL / "invokeai.app.yaml": {
        (1, 1, "warning", "legacy-shape"),
        (3, 8, "warning", "image-reference"),
    },
    VALID / "doc-spec-full.yaml": set(),
    VALID / "doc-hc-example.yaml": set(),
    VALID / "doc-as-example.yaml": set(),
    VALID / "doc-int-example.yaml": set(),
    VALID / "da-readme.yaml": {
        (1, 1, "warning", "legacy-shape"),
        (3, 8, "warning", "image-placeholder"),
    },
    # DOC-CREATE / DOC-TUT: legacy GraphQL examples without `name`; the REST upsert needs it
    VALID / "doc-create-legacy.yaml": {
        (1, 1, "warning", "legacy-shape"),
        (1, 1, "error", "missing-key"),
    },
    VALID / "doc-tut-models.yaml": {
        (1, 1, "warning", "legacy-shape"),
        (1, 1, "error", "missing-key"),
    },
    VALID / "all-features.yaml": set(),
    VALID / "legacy-v0alpha0.yaml": {(5, 1, "warning", "legacy-healthchecks")},
    VALID / "v1.json": set(),
    VALID / "v1.jsonc": set(),
    VALID / "v1.toml": set(),
    VALID / "v1-same.yaml": set(),
}


def test_every_fixture_is_listed():
    on_disk = {p for p in REAL.glob("*.yaml")} | {p for p in VALID.iterdir()}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED), ids=lambda p: p.name)
def test_fixture_findings(path: Path):
    spec = lint_file(path)
    got = {(f.line, f.col, f.severity.value, f.rule) for f in spec.findings}
    assert got == EXPECTED[path]
    assert spec.data is not None


def test_real_world_round_trip():
    """Parse once, validate that object, and serialise that object: nothing is lost."""
    for path in REAL.glob("*.yaml"):
        spec = lint_file(path)
        assert spec.data is not None
        body = json.dumps(to_api_config(spec.data), allow_nan=False, ensure_ascii=False)
        assert json.loads(body)["name"] == spec.data["name"]


def test_all_formats_give_the_same_object():
    datas = [
        lint_file(VALID / name).data for name in ("v1.json", "v1.jsonc", "v1.toml", "v1-same.yaml")
    ]
    assert datas[0]["env"][1]["value"] == "a/b é"
    assert all(d == datas[0] for d in datas)


def test_placeholder_is_an_error_when_deploying_without_image():
    path = REAL / "ps-deploy-action-example.app.yaml"
    spec = lint_file(path, ctx=LintContext(deploying=True))
    # the official action's example: no apiVersion (sent as latest) with v0 fields, which the
    # 2024 API types refuse -- an error when deploying (spec/shapes.py), a warning in plain lint
    rules = {f.rule for f in spec.errors}
    assert rules == {"image-placeholder", "legacy-shape"}
    spec = lint_file(path, ctx=LintContext(deploying=True, image="ghcr.io/o/a@sha256:" + "a" * 64))
    assert {f.rule for f in spec.errors} == {"legacy-shape"}
    assert "image-placeholder" not in {f.rule for f in spec.findings}
    plain = lint_file(path)
    assert [f.severity.value for f in plain.findings if f.rule == "legacy-shape"] == ["warning"]


def test_to_api_config():
    data = {"$schema": "x", "name": "a", "integrations": [{"type": "do-spaces", "name": "s"}]}
    config = to_api_config(data)
    assert config == {
        "name": "a",
        "apiVersion": "latest",
        "integrations": [{"type": "spaces", "name": "s"}],
    }
    assert data["$schema"] == "x" and data["integrations"][0]["type"] == "do-spaces"
    assert to_api_config({"apiVersion": "v1"})["apiVersion"] == "v1"


def test_image_given_for_the_deploy_replaces_the_spec_image():
    path = REAL / "invokeai.app.yaml"  # upper-case image in the spec (and latest + v0 fields)

    def errors(spec):
        return [f for f in spec.errors if f.rule != "legacy-shape"]

    spec = lint_file(path, ctx=LintContext(deploying=True))
    assert [(f.line, f.col, f.rule) for f in errors(spec)] == [(3, 8, "image-reference")]
    assert "must be lowercase" in errors(spec)[0].message
    spec = lint_file(path, ctx=LintContext(deploying=True, image="ghcr.io/gradient-ai/invokeai:1"))
    assert not errors(spec)
    spec = lint_file(path, ctx=LintContext(deploying=True, image="ghcr.io/Bad/Name:1"))
    assert [(f.line, f.col, f.rule) for f in errors(spec)] == [(3, 8, "image-reference")]
    assert "image to deploy" in errors(spec)[0].message


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("registry.digitalocean.com/your-registry-name/image:tag", None),
        ("example-repository/streamlit-app:latest", None),
        ("us-west1-docker.pkg.dev/project-name/repo-name/image:tag", None),
        ("ghcr.io/example-org/streamlit-app:latest", None),
        ("example-registry.azurecr.io/streamlit-app:latest", None),
        ("localhost:5000/a/b@sha256:" + "ab" * 32, None),
        ("[::1]:5000/app:1", None),
        ("busybox", None),
        ("ghcr.io/gradient-ai/InvokeAI:latest", "repository name must be lowercase"),
        ("My/Repo:tag", "repository name must be lowercase"),
        ("app:" + "t" * 129, "the tag must be"),
        ("app:-x", "the tag must be"),
        ("app@sha256:xyz", "the digest after @"),
        ("bad_host.io:99/app", "registry host"),
        ("a//b", "repository path component"),
    ],
)
def test_image_references(ref: str, problem: str | None):
    """DOC-CR's documented registry images are valid; broken references say why."""
    from paperspace_deploy.spec.rules import image_problem

    got = image_problem(ref)
    assert (got is None) if problem is None else (got is not None and problem in got), got
