"""Search captured artifacts for a secret in every encoding the runner masks (reliability §2.3).

Raw value and each of its lines (split at CR, LF, CRLF); standard and URL-safe base64 at byte
offsets 0, 1 and 2 (a secret inside `user:password` or a JSON body), and each line of it wrapped
at 64 or 76 columns (`base64 FILE` in a RUN); URL-encoded (`%XX` and `+`);
`%25`-escaped (workflow-command data); HTML-entity-escaped (the job summary); JSON-escaped;
`base64(user:password)`; and the secret's first and last 16 characters, which is what a cut
through a secret leaves readable. `make()` builds canaries holding the characters those
escapes change, so every variant differs from the raw value.
"""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

CUT = 16  # a head or tail this long left by a cut is a leak (canaries are unique at this length)


def _b64_cores(value: bytes) -> list[str]:
    cores = []
    for shift in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(b"\0" * shift + value).decode().rstrip("=")
            start = {0: 0, 1: 2, 2: 3}[shift]  # first character made only of secret bits
            core = text[start : len(text) - 3]  # the tail depends on what follows the secret
            if len(core) >= 8:
                cores.append(core)
    return cores


def make(label: str, *, line_break: str = "", specials: str = "%2F&<>'\"+/=") -> str:
    """A unique canary: `CNRY<label>` + hex, with `% & < > ' " + / =` in the middle (each escape
    changes some of them) and optionally a line break (`\r`: a CR-only break) in it; its first
    and last CUT characters are plain, so a cut anywhere leaves a findable piece."""
    head, tail = f"CNRY{label}{uuid.uuid4().hex}", uuid.uuid4().hex
    return f"{head}{specials}{line_break}{tail}"


def encodings(secret: str, username: str | None = None) -> dict[str, str]:
    found: dict[str, str] = {"raw": secret}
    for i, line in enumerate(re.split(r"\r\n|\r|\n", secret)):
        if len(line.strip()) >= 6:
            found[f"line{i}"] = line.strip()
    for i, core in enumerate(_b64_cores(secret.encode())):
        found[f"base64#{i}"] = core
    whole = base64.b64encode(secret.encode()).decode()
    for width in (64, 76):  # `base64 FILE` wraps at 76 columns, openssl at 64
        if len(whole) > width:
            for i in range(0, len(whole), width):
                if len(whole[i : i + width]) >= 12:
                    found[f"base64-wrapped{width}#{i // width}"] = whole[i : i + width]
    found["url"] = quote(secret, safe="")
    found["url+"] = quote_plus(secret)
    found["pct25"] = secret.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    found["html"] = html.escape(secret)
    found["html-noquote"] = html.escape(secret, quote=False)
    found["json"] = json.dumps(secret)[1:-1]
    found["json-unicode"] = json.dumps(secret, ensure_ascii=True)[1:-1]
    if len(secret) >= 2 * CUT:
        found["cut-head"] = secret[:CUT]
        found["cut-tail"] = secret[-CUT:]
    if username:
        found["basic"] = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return found


def without_mask_lines(text: str) -> str:
    """The runner consumes `::add-mask::` lines; they are never shown in the log."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def leaks(artifacts: dict[str, str], secret: str, username: str | None = None) -> list[str]:
    """`artifact: encoding` for every place the secret shows up."""
    out = []
    for where, text in artifacts.items():
        for name, value in encodings(secret, username).items():
            if value and value in text:
                out.append(f"{where}: {name}")
    return out


def scan(artifacts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """`secret label -> artifact: encoding` for every variant of every secret anywhere (the
    runner's own `::add-mask::` lines, never shown in a log, are left out)."""
    clean = {where: without_mask_lines(text) for where, text in artifacts.items()}
    return [f"{label} -> {hit}" for label, s in secrets.items() for hit in leaks(clean, s)]


def files_under(*roots: Path, limit: int = 8 * 1024 * 1024) -> dict[str, str]:
    """Every regular file under `roots` (written reports, crash files), read as text."""
    out: dict[str, str] = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and not path.is_symlink():
                out[str(path)] = path.read_bytes()[:limit].decode("utf-8", "replace")
    return out


def masks_come_first(stdout: str, *secrets: str) -> bool:
    """The output starts with a block of masks that covers every given secret (escaped)."""
    from runner_commands import process

    head = []
    for line in stdout.splitlines():
        if not line.startswith("::add-mask::"):
            break
        head.append(line)
    masked = {c.data for c in process("\n".join(head))}
    return all(s in masked for s in secrets if s)


def written_since(before: dict[str, str], *roots: Path) -> dict[str, str]:
    """The files under `roots` that are new or changed since `before` (`files_under`): what a
    run wrote, without the inputs it was given."""
    return {k: v for k, v in files_under(*roots).items() if before.get(k) != v}
