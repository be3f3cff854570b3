"""What a release produces: the version from the git tag, an sdist and a wheel that carry the
schema and data files and work on their own, and the release workflow's own steps.

`.ci/test` builds the sdist and wheel (`python -m build --no-isolation`), runs `twine check` and
passes the directory as PSD_DIST_DIR; run alone, the test builds them itself (helpers/dist.py).
The version tests build a copy of the project in a fresh git repository with tags of their own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml
from dist import build, project_dist

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
# what `python -m build` needs from the checkout (MANIFEST.in adds schemas/ to the sdist)
PROJECT = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "src", "schemas")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
       "-c", "commit.gpgsign=false",
       "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"]  # fmt: skip


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return project_dist(tmp_path_factory.mktemp("dist"))


def _metadata_version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return re.search(r"^Version: (\S+)$", zf.read(meta).decode(), re.M).group(1)


def test_the_wheel_carries_the_schema_data_and_version(dist: dict[str, Path]) -> None:
    version = _metadata_version(dist["wheel"])
    assert dist["wheel"].name == f"paperspace_deploy-{version}-py3-none-any.whl"
    with zipfile.ZipFile(dist["wheel"]) as zf:
        names = set(zf.namelist())
        schema = zf.read("paperspace_deploy/data/deployment-spec.schema.json")
        assert schema == (REPO / "schemas" / "deployment-spec.schema.json").read_bytes()
        prices = zf.read("paperspace_deploy/data/prices.json")
        assert prices == (REPO / "src/paperspace_deploy/data/prices.json").read_bytes()
        assert "paperspace_deploy/py.typed" in names
        assert f"__version__ = {version!r}" in zf.read("paperspace_deploy/_version.py").decode()
        entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "paperspace-deploy = paperspace_deploy.cli:main" in zf.read(entry).decode()
        assert not [n for n in names if n.startswith(("tests/", "schemas/")) or "__pycache__" in n]


def test_the_sdist_rebuilds_the_same_wheel(dist: dict[str, Path]) -> None:
    """The sdist has schemas/ (setup.py copies it into the wheel) and PKG-INFO's version."""
    version = _metadata_version(dist["wheel"])
    top = f"paperspace_deploy-{version}"
    with tarfile.open(dist["sdist"]) as tf:
        names = set(tf.getnames())
        assert f"{top}/schemas/deployment-spec.schema.json" in names
        assert f"{top}/src/paperspace_deploy/data/prices.json" in names
        pkg_info = tf.extractfile(f"{top}/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert f"\nVersion: {version}\n" in pkg_info
    assert "Description-Content-Type: text/markdown" in pkg_info


def test_the_wheel_works_on_its_own(dist: dict[str, Path], tmp_path: Path) -> None:
    """Unpacked alone on sys.path (no source tree, no editable install): --version is the
    wheel's, and lint finds the schema inside the wheel (a bad spec fails, a good one passes)."""
    with zipfile.ZipFile(dist["wheel"]) as zf:
        zf.extractall(tmp_path / "wheel")
    deps = sysconfig.get_paths()["purelib"]  # plain directory: its .pth files are not run
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]; "
        "import paperspace_deploy; assert paperspace_deploy.__file__.startswith(sys.argv[1]), "
        "paperspace_deploy.__file__; from paperspace_deploy.cli import main; "
        "sys.exit(main(sys.argv[3:]))"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-S", "-c", code, str(tmp_path / "wheel"), deps, *args],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip

    version = run("--version")
    assert version.stdout.strip() == f"paperspace-deploy {_metadata_version(dist['wheel'])}"
    good = run("lint", str(FIXTURES / "valid" / "all-features.yaml"))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = run("lint", str(FIXTURES / "broken" / "unknown-key-healthcheck.yaml"))
    assert bad.returncode == 1 and "unknown key 'healthcheck'" in bad.stdout


# -- the version from the git tag -------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "project"
    root.mkdir()
    for name in PROJECT:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", "_version.py"))  # fmt: skip
        else:
            shutil.copy2(src, root / name)
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "first"], cwd=root, check=True)
    return root


def _sdist_version(project: Path, out: Path) -> str:
    (sdist,) = build(project, out, "--sdist")
    return sdist.name.removeprefix("paperspace_deploy-").removesuffix(".tar.gz")


def _sha(project: Path) -> str:
    return subprocess.run([*GIT, "rev-parse", "--short", "HEAD"], cwd=project,
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


def test_the_version_is_the_git_tag(project: Path, tmp_path: Path) -> None:
    assert _sdist_version(project, tmp_path / "a") == f"0.1.dev1+g{_sha(project)}"  # no tag yet
    subprocess.run([*GIT, "tag", "v9.8.7"], cwd=project, check=True)
    (wheel, sdist) = build(project, tmp_path / "b")  # sdist, then the wheel from it
    assert wheel.name == "paperspace_deploy-9.8.7-py3-none-any.whl"
    assert sdist.name == "paperspace_deploy-9.8.7.tar.gz"
    assert _metadata_version(wheel) == "9.8.7"
    with zipfile.ZipFile(wheel) as zf:
        assert "__version__ = '9.8.7'" in zf.read("paperspace_deploy/_version.py").decode()
    (project / "README.md").write_text("changed\n")  # uncommitted: a local, dirty version
    assert _sdist_version(project, tmp_path / "c") == f"9.8.7+g{_sha(project)}.dirty"
    subprocess.run([*GIT, "commit", "-qam", "after the tag"], cwd=project, check=True)
    assert _sdist_version(project, tmp_path / "d") == f"9.8.8.dev1+g{_sha(project)}"
    subprocess.run([*GIT, "tag", "not-a-version"], cwd=project, check=True)  # ignored
    assert _sdist_version(project, tmp_path / "e") == f"9.8.8.dev1+g{_sha(project)}"


def _step(name: str) -> str:
    release = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text())
    return next(s["run"] for s in release["jobs"]["release"]["steps"] if s.get("name") == name)


def test_the_release_commit_carries_its_version(project: Path, tmp_path: Path) -> None:
    """The release workflow's own steps, run as written: the version file, then the release
    commit and tag. The version is 4.5.6 from the tag, from a shallow clone without tags (how
    pre-commit fetches a `rev:`) and from a copy without .git (the image's build context)."""
    env = {**os.environ, "VERSION": "4.5.6", "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig")}
    for step in ("Write the version file", "Commit and tag the release"):
        run = subprocess.run(["bash", "-euc", _step(step)], cwd=project, env=env,
                             capture_output=True, text=True)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
    assert _sdist_version(project, tmp_path / "tagged") == "4.5.6"
    shallow = tmp_path / "shallow"
    subprocess.run([*GIT, "clone", "-q", "--depth=1", "--no-tags", project.as_uri(), str(shallow)],
                   check=True)  # fmt: skip
    assert not subprocess.run([*GIT, "tag"], cwd=shallow, capture_output=True, text=True).stdout
    assert _sdist_version(shallow, tmp_path / "s") == "4.5.6"
    status = [*GIT, "status", "--porcelain", "--untracked-files=no"]  # the file is left as it was
    assert not subprocess.run(status, cwd=shallow, capture_output=True, text=True).stdout
    shutil.rmtree(shallow / ".git")
    (wheel,) = build(shallow, tmp_path / "w", "--wheel")
    assert wheel.name == "paperspace_deploy-4.5.6-py3-none-any.whl"


def test_the_release_workflow_publishes_what_it_tagged() -> None:
    """The order that makes the PyPI files match the tag, and trusted publishing's settings."""
    release = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text())
    names = [s.get("name") or s["uses"] for s in release["jobs"]["release"]["steps"]]
    order = [next(i for i, n in enumerate(names) if n.startswith(prefix)) for prefix in (
        "Write the version", "Build the image", "Push and pin", "Commit and tag",
        "Build the sdist", "actions/upload-artifact@", "Push the tags")]  # fmt: skip
    assert order == sorted(order)
    pypi = release["jobs"]["pypi"]
    assert pypi["needs"] == "release" and pypi["environment"]["name"] == "pypi"
    assert pypi["permissions"] == {"id-token": "write"}  # nothing else, and no password input
    publish = pypi["steps"][-1]
    assert re.fullmatch(r"pypa/gh-action-pypi-publish@[0-9a-f]{40}", publish["uses"])
    assert "with" not in publish


def test_the_docs_name_what_a_release_makes() -> None:
    """README's `pipx run`, the pre-commit `rev:` and hook id match the package, the release
    workflow's tag format and .pre-commit-hooks.yaml."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    linting = (REPO / "docs" / "linting.md").read_text()
    pre_commit = linting[linting.index("## pre-commit") :].split("\n## ", 1)[0]
    docs = (REPO / "README.md").read_text() + linting
    runs = re.findall(r"pipx run (\S+)", docs)
    assert runs and set(runs) == {project["name"]}  # pipx runs the script named like the package
    assert project["name"] in project["scripts"]
    validate = _step("Validate the version")
    tag_format = re.search(r"grep -Eq '(\^[^']+\$)'", validate).group(1)
    revs = re.findall(r"^\s+rev: (\S+)", pre_commit, re.M)
    assert revs and all(re.fullmatch(tag_format, r.removeprefix("v")) for r in revs), revs
    assert all(r.startswith("v") for r in revs)  # the workflow tags "v$VERSION"
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    ids = set(re.findall(r"^\s+- id: (\S+)", pre_commit, re.M))
    assert ids and ids <= {h["id"] for h in hooks}
    assert all(h["entry"].split()[0] in project["scripts"] for h in hooks)
