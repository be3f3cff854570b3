"""The build context the Engine API path sends: the docker CLI's file walk, streamed as a tar.

docker-py writes the whole context into a temporary tar file first (1.16 GB for a 1 GB
context) with its own `.dockerignore` matcher. Here the walk follows moby's archive code (names
in byte order, symlinks never followed, excluded directories skipped unless a `!pattern` starts
inside them, hard links as links, owner 0:0) and the tar is produced while the engine reads it,
in `CHUNK`-sized pieces: no temporary file, bounded memory.

The Dockerfile and the `.dockerignore` always travel (the legacy builder reads them from the
context and drops them again when the patterns exclude them, as with the CLI). A Dockerfile
outside the context is added under a random `.dockerfile.<hex>` name, listed in the
`.dockerignore` the engine sees, exactly as `docker build -f ../Dockerfile` does. With a
`<Dockerfile>.dockerignore` (BuildKit's rule) that file's patterns decide, and the
`.dockerignore` the engine sees ends with explicit lines for the two build files.
"""

from __future__ import annotations

import os
import secrets
import stat
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from paperspace_deploy.image.dockerignore import IgnoreFile, Matcher, ignore_file, matcher_for

CHUNK = 1024 * 1024
BLOCK = tarfile.BLOCKSIZE


class ContextError(Exception):
    """A file of the context could not be read while sending it (not an OSError: urllib3 would
    report that as a lost engine connection)."""


@dataclass
class Entry:
    rel: str  # '/'-separated, relative to the context
    dirent: os.DirEntry[str]
    is_dir: bool

    @property
    def path(self) -> str:
        return self.dirent.path

    @property
    def st(self) -> os.stat_result:
        """lstat, on demand (the preview needs none; DirEntry caches it)."""
        try:
            return self.dirent.stat(follow_symlinks=False)
        except OSError as exc:
            raise ContextError(f"cannot stat {self.rel}: {exc.strerror}") from None


def walk(context: Path, matcher: Matcher) -> Iterator[Entry]:
    """The entries the docker CLI would send, in its order (iterative: no recursion limit)."""
    exclusions = matcher.exclusions
    # each frame: (entries of one directory, their rel prefix, the directory's match results)
    stack: list[tuple[Iterator[os.DirEntry[str]], str, list[bool] | None]] = [
        (_sorted_entries(str(context)), "", None)
    ]
    while stack:
        entries, prefix, parent = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        rel = prefix + entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=False)  # d_type: no stat call
        except OSError as exc:
            raise ContextError(f"cannot stat {rel}: {exc.strerror}") from None
        excluded, results = matcher.matches_with_parent(rel, parent)
        if excluded:
            if is_dir and exclusions and matcher.may_include_below(rel):
                stack.append((_sorted_entries(entry.path), rel + "/", results))
            continue
        yield Entry(rel, entry, is_dir)
        if is_dir:
            stack.append((_sorted_entries(entry.path), rel + "/", results))


def _sorted_entries(path: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        raise ContextError(f"cannot list {path}: {exc.strerror}") from None
    return iter(entries)


@dataclass
class BuildContext:
    """What one build sends: the walk, the Dockerfile name for the API, files we add."""

    root: Path
    matcher: Matcher
    ignore: IgnoreFile | None
    dockerfile: str  # the `dockerfile` API parameter
    extra: dict[str, bytes] = field(default_factory=dict)  # rel -> content, added at the end
    replaced: set[str] = field(default_factory=set)  # walked entries that `extra` replaces

    def entries(self) -> Iterator[Entry]:
        for entry in walk(self.root, self.matcher):
            if entry.rel not in self.replaced:
                yield entry

    def files(self) -> Iterator[str]:
        """Relative paths of everything sent that is not a directory (hygiene preview)."""
        for entry in self.entries():
            if not entry.is_dir:
                yield entry.rel
        yield from (rel for rel in self.extra if rel != ".dockerignore")

    def stream(self) -> Iterator[bytes]:
        return tar_stream(self.entries(), self.extra)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def prepare(context: Path, dockerfile: Path, workspace: Path) -> BuildContext:
    """What to send for a build; `context` and `dockerfile` are real (resolved) paths."""
    ignore = ignore_file(context, dockerfile, workspace)
    rel = dockerfile.relative_to(context).as_posix() if _inside(dockerfile, context) else None
    if ignore is None or ignore.name == ".dockerignore":
        matcher = matcher_for(ignore, [".dockerignore", *([rel] if rel else [])])
        if rel is not None:  # exactly the docker CLI's context
            return BuildContext(context, matcher, ignore, rel)
        # `docker build -f ../Dockerfile`: the CLI's AddDockerfileToBuildContext
        name = ".dockerfile." + secrets.token_hex(10)
        original = _read_root_ignore(context)
        content = (b".dockerignore" if original is None else original) + f"\n{name}\n".encode()
        inlined = {".dockerignore": content, name: _dockerfile_bytes(dockerfile)}
        return BuildContext(context, matcher, ignore, name, inlined, {".dockerignore"})

    # `<Dockerfile>.dockerignore` decides; the .dockerignore the engine reads ends with explicit
    # lines for the two build files, so it removes exactly what those patterns exclude.
    base = matcher_for(ignore, [])
    matcher = matcher_for(ignore, [rel] if rel else [])
    original = _read_root_ignore(context) if _sent(base, ".dockerignore") else None
    lines = [".dockerignore" if original is None else "!.dockerignore"]
    extra: dict[str, bytes] = {}
    if rel is not None:
        lines.append("!" + rel if _sent(base, rel) else rel)
        name = rel
    else:
        name = ".dockerfile." + secrets.token_hex(10)
        lines.append(name)
        extra[name] = _dockerfile_bytes(dockerfile)
    extra[".dockerignore"] = (original or b"") + ("\n" + "\n".join(lines) + "\n").encode()
    return BuildContext(context, matcher, ignore, name, extra, {".dockerignore"})


MAX_DOCKERFILE = 16 * 1024 * 1024


def _dockerfile_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(MAX_DOCKERFILE + 1)
    if len(data) > MAX_DOCKERFILE:
        raise ContextError(f"the Dockerfile {path} is larger than 16 MiB")
    return data


def _sent(matcher: Matcher, rel: str) -> bool:
    return not matcher.matches_with_parent(rel, None)[0]


def _read_root_ignore(context: Path) -> bytes | None:
    path = context / ".dockerignore"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 1024 * 1024 + 1)[: 1024 * 1024]
    finally:
        os.close(fd)


def _header(rel: str, st: os.stat_result | None, size: int, **kw: object) -> bytes:
    info = tarfile.TarInfo(rel)
    info.size = size
    info.mode = stat.S_IMODE(st.st_mode) if st else 0o600
    info.mtime = int(st.st_mtime) if st else int(time.time())
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    for key, value in kw.items():
        setattr(info, key, value)
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def tar_stream(entries: Iterator[Entry], extra: dict[str, bytes]) -> Iterator[bytes]:
    """An uncompressed tar of `entries` then `extra`, in chunks of about CHUNK bytes."""
    buf = bytearray()
    links: dict[tuple[int, int], str] = {}
    for entry in entries:
        try:
            st = entry.st
        except ContextError:
            if not os.path.lexists(entry.path):  # vanished since the listing
                continue
            raise
        mode = st.st_mode
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                buf += _header(entry.rel, st, 0, type=tarfile.LNKTYPE, linkname=links[key])
            else:
                if st.st_nlink > 1:
                    links[key] = entry.rel
                buf += _header(entry.rel, st, st.st_size)
                yield from _file_body(entry, st.st_size, buf)
        elif stat.S_ISDIR(mode):
            buf += _header(entry.rel, st, 0, type=tarfile.DIRTYPE)
        elif stat.S_ISLNK(mode):
            try:
                target = os.readlink(entry.path)
            except OSError:
                raise ContextError(f"cannot read link {entry.rel}") from None
            buf += _header(entry.rel, st, 0, type=tarfile.SYMTYPE, linkname=target)
        elif stat.S_ISFIFO(mode):
            buf += _header(entry.rel, st, 0, type=tarfile.FIFOTYPE)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            kind = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            buf += _header(
                entry.rel,
                st,
                0,
                type=kind,
                devmajor=os.major(st.st_rdev),
                devminor=os.minor(st.st_rdev),
            )
        # sockets: the docker CLI skips them too
        if len(buf) >= CHUNK:
            yield bytes(buf)
            buf.clear()
    for rel, content in extra.items():
        buf += _header(rel, None, len(content))
        buf += content + b"\0" * (-len(content) % BLOCK)
    buf += b"\0" * (2 * BLOCK)
    yield bytes(buf)


def _file_body(entry: Entry, size: int, buf: bytearray) -> Iterator[bytes]:
    """Append exactly `size` bytes of the file (zero-padded if it shrank) plus block padding,
    yielding whenever `buf` is full. O_NOFOLLOW|O_NONBLOCK: a swapped-in link or FIFO never
    redirects or blocks the read."""
    try:
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ContextError(f"cannot read {entry.rel}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ContextError(f"{entry.rel} changed into a non-regular file while sending")
        left = size
        while left > 0:
            chunk = os.read(fd, min(CHUNK, left))
            if not chunk:
                buf += b"\0" * left
                break
            buf += chunk
            left -= len(chunk)
            if len(buf) >= CHUNK:
                yield bytes(buf)
                buf.clear()
    except OSError as exc:
        raise ContextError(f"cannot read {entry.rel}: {exc.strerror}") from None
    finally:
        os.close(fd)
    buf += b"\0" * (-size % BLOCK)
