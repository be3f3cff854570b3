"""Build-context hygiene: what would be sent to the builder, and where the Dockerfile may live.

The preview walks the context with the same walk and `.dockerignore` rules that the Engine API
path streams (context_tar.py, the docker CLI's rules, which BuildKit shares): what we warn about
is what gets sent.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paperspace_deploy.credentials import looks_like_token, looks_secret_by_name
from paperspace_deploy.errors import InputError, UsageError

if TYPE_CHECKING:
    from paperspace_deploy.image.context_tar import BuildContext

# (glob on the file name or path, why it matters)
SENSITIVE = [
    (".env", "environment file"),
    (".env.*", "environment file"),
    ("*.pem", "private key or certificate"),
    ("*.key", "private key"),
    ("*.p12", "key store"),
    ("*.pfx", "key store"),
    ("id_rsa", "SSH private key"),
    ("id_dsa", "SSH private key"),
    ("id_ecdsa", "SSH private key"),
    ("id_ed25519", "SSH private key"),
    ("*.tfstate", "Terraform state (holds secrets)"),
    (".npmrc", "npm credentials"),
    (".pypirc", "PyPI credentials"),
    (".netrc", "login credentials"),
    (".git-credentials", "git credentials"),
]
_HARMLESS_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tpl")
# one regex for the common "no match" answer (20,000 files: 0.3 s -> 0.05 s)
_ANY_SENSITIVE = re.compile("|".join(fnmatch.translate(p) for p, _ in SENSITIVE))
MAX_LISTED = 10


@dataclass(frozen=True)
class SensitiveFile:
    path: str  # relative to the context, / separated
    why: str


def _why(rel: str) -> str | None:
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] == ".git" or "/.git/" in f"/{rel}":
        return "git metadata (actions/checkout may store the token in .git/config)"
    if rel.endswith(".docker/config.json"):
        return "Docker credentials"
    if rel.endswith(".aws/credentials"):
        return "AWS credentials"
    if name.endswith(_HARMLESS_SUFFIXES) or not _ANY_SENSITIVE.match(name):
        return None
    for pattern, why in SENSITIVE:
        if fnmatch.fnmatchcase(name, pattern):
            return why
    return None


def sensitive_files(sent: BuildContext) -> list[SensitiveFile]:
    found = [SensitiveFile(rel, why) for rel in sent.files() if (why := _why(rel))]
    # one entry for .git instead of hundreds
    git = [f for f in found if f.path == ".git" or f.path.startswith(".git/")]
    if len(git) > 1:
        found = [f for f in found if f not in git] + [SensitiveFile(".git/", git[0].why)]
    return found


def describe_sensitive(found: list[SensitiveFile], ignore_name: str | None) -> str:
    shown = ", ".join(f"{f.path} ({f.why})" for f in found[:MAX_LISTED])
    more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
    where = f"{ignore_name} lets through" if ignore_name else "no .dockerignore excludes"
    return (
        f"the build context sends files that may hold secrets ({where} them): {shown}{more}. "
        f"A COPY . bakes them into the image; add them to {ignore_name or '.dockerignore'}"
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        return os.path.commonpath([path, root]) == str(root)
    except ValueError:
        return False


def resolve_context(context: Path, cwd: Path) -> Path:
    path = context if context.is_absolute() else cwd / context
    if not path.exists():
        raise UsageError(f"build context not found: {context} (resolved: {path})")
    if not path.is_dir():
        raise UsageError(f"build context is not a directory: {context}")
    return Path(os.path.realpath(path))


def resolve_dockerfile(
    dockerfile: str | None, context: Path, cwd: Path, workspace: Path
) -> tuple[Path, str]:
    """(real path, the `dockerfile` value for docker-py).

    Like the docker CLI, a relative `--file` is relative to the current directory (else to the
    context). It must stay inside the context or the workspace: a Dockerfile path from a pull
    request must not read arbitrary host files."""
    if dockerfile is None:
        given = context / "Dockerfile"
    else:
        given = Path(dockerfile)
        if not given.is_absolute():
            # docker CLI: relative to the current directory; docker-py (and callers that build
            # BuildOptions themselves): relative to the context. Take the one that exists.
            from_context = context / given
            given = cwd / given
            if not given.exists() and from_context.exists():
                given = from_context
    real = Path(os.path.realpath(given))
    ws = Path(os.path.realpath(workspace))
    if not (_inside(real, context) or _inside(real, ws)):
        raise InputError(
            f"the Dockerfile must be inside the build context or workspace: "
            f"{dockerfile or 'Dockerfile'} "
            f"(resolves to {real})",
            hint="move the Dockerfile into the repository or pass a path inside it",
        )
    if not real.exists():
        raise UsageError(
            f"Dockerfile not found: {dockerfile or 'Dockerfile'} (resolved: {given})",
            hint="pass --file PATH, or run from the directory that holds the Dockerfile",
        )
    if not real.is_file():
        raise UsageError(f"the Dockerfile is not a regular file: {given}")
    # docker-py: relative to the context when inside it, else inlined from an absolute path
    value = os.path.relpath(real, context) if _inside(real, context) else str(real)
    return real, value


def secret_looking_build_args(build_args: Mapping[str, str]) -> list[str]:
    """Names of build args that look like secrets (by name or by value). Values never returned."""
    return [
        name
        for name, value in build_args.items()
        if looks_secret_by_name(name) or looks_like_token(value)
    ]
