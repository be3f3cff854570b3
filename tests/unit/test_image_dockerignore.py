"""The docker CLI's .dockerignore rules (image/dockerignore.py) and the streamed context tar
(image/context_tar.py). The real-engine comparison with `docker build` is in
tests/integration/test_build_push_buildkit.py; these pin the rules one by one."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from paperspace_deploy.errors import InputError
from paperspace_deploy.image.context_tar import prepare, walk
from paperspace_deploy.image.dockerignore import Matcher, go_clean, matcher_for, parse


def test_parse_like_ignorefile_readall():
    text = (
        "\ufeff.env\r\n# comment\n #not a comment\n  spaced  \n!  keep \n/abs/path\n./x/../y/\n\n"
    )
    assert parse(text) == [".env", "#not a comment", "spaced", "!keep", "abs/path", "y"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("a//b/./c/", "a/b/c"), ("../x", "../x"), ("/../x", "/x"), ("", "."), ("a/..", ".")],
)
def test_go_clean(raw, clean):
    assert go_clean(raw) == clean


def excluded(patterns: list[str], path: str) -> bool:
    m = Matcher.of(patterns)
    parts = path.split("/")
    parent = None
    for i in range(1, len(parts)):
        _, parent = m.matches_with_parent("/".join(parts[:i]), parent)
    return m.matches_with_parent(path, parent)[0]


@pytest.mark.parametrize(
    ("patterns", "path", "out"),
    [
        (["*.pem"], "a.pem", True),
        (["*.pem"], "sub/a.pem", False),  # anchored at the root
        (["**/*.pem"], "sub/deep/a.pem", True),
        (["**/.env"], ".env", True),
        (["build/**"], "build/x/y", True),
        (["build/**"], "buildx", False),
        (["logs", "!logs/keep"], "logs/keep", False),
        (["logs", "!logs/keep"], "logs/other", True),
        (["a[b]c"], "abc", True),
        (["a[b]c"], "a[b]c", False),
        (["lit\\[x\\]"], "lit[x]", True),
        (["file|pipe"], "file|pipe", True),
        (["q?x"], "q/x", False),
        (["*", "!app/**"], "app/sub/x.py", False),
        (["*", "!app/**"], "other", True),
    ],
)
def test_matching(patterns, path, out):
    assert excluded(patterns, path) is out


def test_bad_patterns_are_refused_like_docker():
    for bad in ("[", "a[]b", "x\\", "!"):
        with pytest.raises(ValueError):
            Matcher.of([bad])


def test_build_files_are_always_sent_as_the_cli_does():
    m = matcher_for(None, [".dockerignore", "Dockerfile"])
    assert not m.patterns
    from paperspace_deploy.image.dockerignore import IgnoreFile

    ignore = IgnoreFile(Path(".dockerignore"), ".dockerignore", ["*"])
    m = matcher_for(ignore, [".dockerignore", "Dockerfile"])
    assert [p.text for p in m.patterns if p.exclusion] == [".dockerignore", "Dockerfile"]


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def names(ctx: Path, dockerfile: str = "Dockerfile", ws: Path | None = None) -> dict[str, bytes]:
    sent = prepare(ctx, (ctx / dockerfile).resolve(), ws or ctx)
    data = b"".join(sent.stream())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name: (tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_stream_is_a_tar_with_owner_root_links_and_no_followed_symlinks(tmp_path):
    ctx = make(tmp_path / "c", {"Dockerfile": "FROM scratch\n", "a/b.txt": "b" * 5000})
    (ctx / "link").symlink_to("/etc/passwd")
    os.link(ctx / "a/b.txt", ctx / "hard.txt")
    data = b"".join(prepare(ctx, ctx / "Dockerfile", ctx).stream())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"Dockerfile", "a", "a/b.txt", "hard.txt", "link"}
    assert members["link"].issym() and members["link"].linkname == "/etc/passwd"
    assert members["hard.txt"].islnk() and members["hard.txt"].linkname == "a/b.txt"
    assert {(m.uid, m.gid) for m in members.values()} == {(0, 0)}


def test_stream_is_bounded_chunks_not_one_blob(tmp_path):
    ctx = make(tmp_path / "c", {"Dockerfile": "FROM scratch\n"})
    (ctx / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    chunks = list(prepare(ctx, ctx / "Dockerfile", ctx).stream())
    assert len(chunks) >= 3 and max(len(c) for c in chunks) <= 2 * 1024 * 1024


def test_dockerfile_outside_the_context_is_inlined_and_hidden_like_the_cli(tmp_path):
    ws = tmp_path
    ctx = make(ws / "app", {"x": "1"})
    make(ws / "docker", {"app.Dockerfile": "FROM scratch\nCOPY . /\n"})
    sent = prepare(ctx, ws / "docker/app.Dockerfile", ws)
    assert sent.dockerfile.startswith(".dockerfile.")
    got = names(ctx, "../docker/app.Dockerfile", ws)
    inlined = [n for n in got if n.startswith(".dockerfile.")]
    assert len(inlined) == 1 and got[inlined[0]] == b"FROM scratch\nCOPY . /\n"
    assert got[".dockerignore"] == f".dockerignore\n{inlined[0]}\n".encode()


def test_per_dockerfile_ignore_decides_and_tells_the_engine_what_to_drop(tmp_path):
    ctx = make(
        tmp_path / "c",
        {
            ".dockerignore": "nothing\n",
            "ops/app.Dockerfile": "FROM scratch\n",
            "ops/app.Dockerfile.dockerignore": ".env\nops\n",
            ".env": "T=1",
            "code.py": "",
        },
    )
    got = names(ctx, "ops/app.Dockerfile")
    assert ".env" not in got and "code.py" in got
    assert "ops/app.Dockerfile" in got  # sent for the engine, which then drops it:
    assert got[".dockerignore"].endswith(b"\n!.dockerignore\nops/app.Dockerfile\n")


def test_walk_order_is_byte_order(tmp_path):
    ctx = make(tmp_path / "c", {"b": "", "a/z": "", "B": "", "a-": ""})
    assert [e.rel for e in walk(ctx, Matcher.of([]))] == ["B", "a", "a/z", "a-", "b"]


def test_hostile_ignore_files(tmp_path):
    ctx = make(tmp_path / "c", {"Dockerfile": "FROM scratch\n"})
    (ctx / ".dockerignore").symlink_to("/etc/passwd")
    with pytest.raises(InputError, match="symbolic link"):
        prepare(ctx, ctx / "Dockerfile", ctx)
    (ctx / ".dockerignore").unlink()
    os.mkfifo(ctx / ".dockerignore")
    with pytest.raises(InputError, match="not a regular file"):
        prepare(ctx, ctx / "Dockerfile", ctx)
    (ctx / ".dockerignore").unlink()
    (ctx / ".dockerignore").write_bytes(b"caf\xe9\n\xff\xfe[\n")
    with pytest.raises(InputError, match=r"\.dockerignore: pattern"):  # `[`: docker refuses it
        prepare(ctx, ctx / "Dockerfile", ctx)
    (ctx / ".dockerignore").write_bytes(b"caf\xe9\n")  # a non-UTF-8 byte: fine, matched as bytes
    (ctx / os.fsdecode(b"caf\xe9")).write_text("x")
    assert os.fsdecode(b"caf\xe9") not in set(prepare(ctx, ctx / "Dockerfile", ctx).files())


def test_a_context_outside_the_workspace_keeps_its_dockerignore(tmp_path):
    ctx = make(tmp_path / "elsewhere", {"Dockerfile": "FROM scratch\n", ".dockerignore": "x\n",
                                        "x": "", "y": ""})  # fmt: skip
    ws = make(tmp_path / "ws", {"a": ""})
    assert set(prepare(ctx, ctx / "Dockerfile", ws).files()) == {".dockerignore", "Dockerfile", "y"}
    (ws / "sub").mkdir()
    (ctx / "linked").symlink_to(tmp_path / "other", target_is_directory=True)
    make(tmp_path / "other", {"Dockerfile": "FROM scratch\n", "Dockerfile.dockerignore": "y\n"})
    with pytest.raises(InputError, match="resolves outside the build context and the workspace"):
        prepare(ctx, ctx / "linked" / "Dockerfile", ws)
