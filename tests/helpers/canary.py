"""Search captured artifacts for a secret in every encoding the runner masks (reliability §2.3).

Raw value and each of its lines; standard and URL-safe base64 at byte offsets 0, 1 and 2 (a secret
inside `user:password` or a JSON body); URL-encoded; JSON-escaped; `base64(user:password)`.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote


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


def encodings(secret: str, username: str | None = None) -> dict[str, str]:
    found: dict[str, str] = {"raw": secret}
    for i, line in enumerate(secret.splitlines()):
        if len(line.strip()) >= 6:
            found[f"line{i}"] = line.strip()
    for i, core in enumerate(_b64_cores(secret.encode())):
        found[f"base64#{i}"] = core
    found["url"] = quote(secret, safe="")
    found["json"] = json.dumps(secret)[1:-1]
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
