""".dockerignore exactly as the docker CLI reads and applies it, for the Engine API path.

The docker CLI (and BuildKit) read the file with moby's `ignorefile.ReadAll` and match with
`moby/patternmatcher`; docker-py has its own, different matcher (6 of 12 tricky contexts came out
differently, one sending a `.env`). This module follows moby's rules, re-stated in Python:

* reading: a UTF-8 BOM on the first line is dropped, `\\r` line ends too; a line whose FIRST
  character is `#` is a comment (` #x` is a pattern); blanks are trimmed; `!` negates; each
  pattern is cleaned like Go's `filepath.Clean` and one leading `/` is dropped;
* a pattern is an exact path, a `prefix/**`, a `**/suffix` or a regular expression built from
  `*` (no `/`), `?`, `**` (any number of directories), `[...]` and `\\` escapes;
* the last matching pattern wins; a path is also excluded when one of its parent directories
  is (moby's MatchesUsingParentResults); a directory that is excluded is still walked when a
  negated pattern starts with it (so `!dir/keep` re-includes a file under an excluded `dir`).

BuildKit also looks for `<Dockerfile>.dockerignore` next to the Dockerfile first; `ignore_file`
does the same, so both builders send the same files.

The file comes from the checkout (attacker-controlled in CI): it is opened `O_NOFOLLOW |
O_NONBLOCK`, must be a regular file inside the workspace, and is capped at `MAX_BYTES`; any byte
sequence is accepted (undecodable bytes are kept as surrogates, as Go keeps them as bytes).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from paperspace_deploy.errors import InputError

MAX_BYTES = 1024 * 1024  # docker has no cap; a real .dockerignore is a few KB
MAX_LINE = 64 * 1024  # Go's bufio.Scanner refuses longer lines ("token too long")
_UTF8_BOM = "\ufeff"
_ESCAPE = set(".+()|{}$")  # regexp metacharacters that mean nothing in a path pattern


@dataclass(frozen=True)
class IgnoreFile:
    path: Path  # the file read (for messages)
    name: str  # how docker names it: `.dockerignore` or `<Dockerfile>.dockerignore`
    patterns: list[str]


def go_clean(path: str) -> str:
    """Go's `path.Clean`: one slash between elements, no `.`, `..` folded, "" -> "."."""
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    text = "/".join(out)
    if rooted:
        return "/" + text
    return text or "."


def parse(text: str) -> list[str]:
    """The patterns of a .dockerignore, as `ignorefile.ReadAll` returns them."""
    patterns = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if number == 1:
            line = line.removeprefix(_UTF8_BOM)
        if len(line.encode("utf-8", "surrogateescape")) > MAX_LINE:
            raise ValueError(f"line {number} is longer than {MAX_LINE} bytes")
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


def read_ignore_file(path: Path, roots: list[Path], name: str) -> IgnoreFile | None:
    """Read one ignore file safely; None when there is none. Its real path must be inside one
    of `roots` (the context, the workspace): a symlinked parent cannot lead elsewhere."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink: never followed (-> /dev/zero, /etc/shadow)
            raise InputError(
                f"{path} is a symbolic link; refusing to follow it",
                hint=f"make {name} a regular file inside the repository",
            ) from None
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path} is not a regular file", hint=f"make {name} a regular file")
        real = Path(os.path.realpath(path))
        allowed = [Path(os.path.realpath(r)) for r in roots]
        if not any(root in real.parents for root in allowed):
            raise InputError(f"{path} resolves outside the build context and the workspace")
        data = b""
        while len(data) <= MAX_BYTES and (chunk := os.read(fd, 65536)):
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise InputError(
            f"{path} is larger than {MAX_BYTES // 1024} KiB",
            hint="a .dockerignore lists patterns; keep it small",
        )
    try:
        patterns = parse(data.decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    return IgnoreFile(path, name, patterns)


def ignore_file(context: Path, dockerfile: Path, workspace: Path) -> IgnoreFile | None:
    """BuildKit's choice: `<Dockerfile>.dockerignore` beside the Dockerfile, else the context's
    `.dockerignore`."""
    roots = [context, workspace]
    beside = dockerfile.parent / (dockerfile.name + ".dockerignore")
    found = read_ignore_file(beside, roots, beside.name)
    if found is not None:
        return found
    return read_ignore_file(context / ".dockerignore", roots, ".dockerignore")


class PatternError(ValueError):
    pass


def _check_syntax(pattern: str) -> None:
    """The malformed patterns Go's `filepath.Match` refuses (the docker CLI fails on them)."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise PatternError("a trailing backslash")
            i += 2
            continue
        if ch != "[":
            i += 1
            continue
        i += 1
        if i < n and pattern[i] == "^":
            i += 1
        ranges = 0
        while True:
            if i < n and pattern[i] == "]" and ranges > 0:
                i += 1
                break
            i = _class_char(pattern, i)
            if i < n and pattern[i] == "-":
                i = _class_char(pattern, i + 1)
            ranges += 1


def _class_char(pattern: str, i: int) -> int:
    if i >= len(pattern) or pattern[i] in "-]":
        raise PatternError("a malformed [...] character class")
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise PatternError("a malformed [...] character class")
    return i + 1


@dataclass
class Pattern:
    text: str  # cleaned, without the leading `!`
    exclusion: bool
    dirs: int  # number of path elements (moby's len(pattern.dirs))
    kind: str = "exact"  # exact | prefix | suffix | regexp
    regexp: re.Pattern[str] | None = None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regexp is not None
        return self.regexp.match(path) is not None


def _compile(text: str, exclusion: bool) -> Pattern:
    kind = "exact"
    regex = "^"
    i, n, step = 0, len(text), 0
    while i < n:
        ch = text[i]
        i += 1
        if ch == "*":
            if i < n and text[i] == "*":
                i += 1
                if i < n and text[i] == "/":
                    i += 1
                if i >= n:  # trailing `**`: everything below
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        regex += ".*"
                        kind = "regexp"
                else:
                    regex += "(.*/)?"
                    kind = "regexp"
                if step == 0:
                    kind = "suffix"
            else:
                regex += "[^/]*"
                kind = "regexp"
        elif ch == "?":
            regex += "[^/]"
            kind = "regexp"
        elif ch in _ESCAPE:
            regex += "\\" + ch
        elif ch == "\\":
            if i < n:
                regex += "\\" + text[i]
                i += 1
                kind = "regexp"
            else:
                regex += "\\"
        elif ch in "[]":
            regex += ch
            kind = "regexp"
        else:
            regex += ch
        step += 1
    compiled = None
    if kind == "regexp":
        try:
            with warnings.catch_warnings():  # "possible nested set" FutureWarnings for `[[`
                warnings.simplefilter("ignore")
                compiled = re.compile(regex + "$", re.DOTALL)
        except re.error as exc:
            raise PatternError(f"not a valid pattern ({exc})") from None
    return Pattern(text, exclusion, len(text.split("/")), kind, compiled)


@dataclass
class Matcher:
    """moby's PatternMatcher over cleaned patterns (`parse` output or any list of strings)."""

    patterns: list[Pattern] = field(default_factory=list)

    @classmethod
    def of(cls, patterns: list[str]) -> Matcher:
        out = []
        for raw in patterns:
            text = raw.strip()
            if not text:
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise PatternError('illegal exclusion pattern: "!"')
                text = text[1:]
            try:
                _check_syntax(text)
                out.append(_compile(text, exclusion))
            except PatternError as exc:
                raise PatternError(f"pattern {raw.strip()!r}: {exc}") from None
        return cls(out)

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches_with_parent(self, path: str, parent: list[bool] | None) -> tuple[bool, list[bool]]:
        """(excluded?, per-pattern results to hand to this path's children)."""
        matched = False
        results = [False] * len(self.patterns)
        for i, pattern in enumerate(self.patterns):
            hit = bool(parent and parent[i])
            if not hit:
                if pattern.exclusion != matched:
                    continue
                hit = pattern.match(path)
                if not hit and parent is None:
                    parts = path.split("/")[:-1]
                    hit = any(pattern.match("/".join(parts[: j + 1])) for j in range(len(parts)))
            results[i] = hit
            if hit:
                matched = not pattern.exclusion
        return matched, results

    def matches_legacy(self, path: str) -> bool:
        """moby's deprecated `Matches` (one parent level), which the CLI uses to decide whether
        the Dockerfile and .dockerignore must be re-included."""
        path = go_clean(path)
        if path == ".":
            return False
        parent = path.rsplit("/", 1)[0] if "/" in path else "."
        parent_dirs = parent.split("/")
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit and parent != "." and pattern.dirs <= len(parent_dirs):
                hit = pattern.match("/".join(parent_dirs[: pattern.dirs]))
            if hit:
                matched = not pattern.exclusion
        return matched

    def may_include_below(self, directory: str) -> bool:
        """An excluded directory is still walked when a `!pattern` starts inside it."""
        prefix = directory + "/"
        return any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns)


def matcher_for(ignore: IgnoreFile | None, keep: list[str]) -> Matcher:
    """The matcher for a build: the file's patterns, plus `!name` for each of `keep` (the
    Dockerfile, .dockerignore) that they would exclude, as the CLI's TrimBuildFilesFromExcludes."""
    patterns = list(ignore.patterns) if ignore else []
    try:
        base = Matcher.of(patterns)
        for name in keep:
            if base.matches_legacy(name):
                patterns.append("!" + name)
        return Matcher.of(patterns)
    except PatternError as exc:
        where = ignore.path if ignore else ".dockerignore"
        raise InputError(
            f"{where}: {exc}", hint="fix the pattern (docker refuses it as well)"
        ) from None
