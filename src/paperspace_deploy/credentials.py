"""What a plaintext credential looks like, and which spec fields hold one.

Token shapes and secret-looking names: used by the spec linter (env values) and the build
(build args land in image history). The secret-field policy (`is_secret_path`, URL userinfo):
used by plan redaction (specdiff), lint messages (spec/validate, spec/parsed.preview), the spec
rules, the emulator's issues and the deploy's scrub list. One list, so all catch the same things.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# Well-known token shapes (AWS, GitHub, GitLab, Slack, OpenAI-style, Hugging Face, DigitalOcean,
# npm, JWTs, PEM private keys). A match anywhere in a value counts.
TOKEN = re.compile(
    r"(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}"
    r"|hf_[A-Za-z0-9]{30,}|dop_v1_[a-f0-9]{64}|npm_[A-Za-z0-9]{30,}"
    # a JWT only where a run of [\w-] starts: restarting at every "eyJ" inside one long run made
    # a 64 KB value of "eyJeyJ..." cost seconds (quadratic)
    r"|(?<![\w-])eyJ[\w-]{10,}+\.[\w-]{10,}+\.[\w-]{10}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)

# Variable names that usually carry secrets.
SECRET_NAME = re.compile(
    r"(?i)secret|token|passw(?:or)?d|pass$|pwd$|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|authori[sz]ation|cookie"
)


def looks_like_token(value: str) -> bool:
    return bool(TOKEN.search(value))


def looks_secret_by_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


# The secret-field policy: which spec values are credentials, wherever a spec is shown (plan
# redaction of our spec and of the live one, lint messages, the emulator's issues). One list.
SECRET_FIELDS = frozenset(("basicAuthKey", "secretAccessKey", "accessKeyId", "password"))
# Lists of {name, value}: every `value` in them may be a credential (env, probe headers).
SECRET_LISTS = frozenset(("env", "headers"))
# Never echoed in a lint message (the names under `env`/`headers` too, and usernames).
HIDDEN_IN_MESSAGES = SECRET_FIELDS | SECRET_LISTS | {"username"}

# `scheme://userinfo@` (git-lfs `https://user:token@host/...`): anchored on `://`, so a long
# value without one costs one pass. The userinfo stops at a blank, `/`, `?`, `#` or `@`.
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://)([^\s/?#@]{1,2048})@")


def is_secret_path(path: Sequence[str | int]) -> bool:
    """Whether the value at `path` (keys and list indexes) is, or may be, a credential."""
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return False
    if keys[-1] in SECRET_FIELDS:
        return True
    return keys[-1] == "value" and any(k in SECRET_LISTS for k in keys[:-1])


def hidden_in_messages(path: Iterable[str | int]) -> bool:
    return any(p in HIDDEN_IN_MESSAGES for p in path if isinstance(p, str))


def url_credentials(text: str) -> list[str]:
    """The credentials embedded in URLs in `text`: each userinfo, and its password part."""
    out: list[str] = []
    if "://" not in text:
        return out
    for m in _URL_USERINFO.finditer(text):
        userinfo = m.group(2)
        out.append(userinfo)
        if ":" in userinfo:
            out.append(userinfo.split(":", 1)[1])
    return out


def hide_url_credentials(text: str) -> str:
    """`text` with the userinfo of every URL replaced: `https://***@host/...`."""
    return _URL_USERINFO.sub(r"\1***@", text) if "://" in text else text


def spec_credentials(config: Any) -> list[str]:
    """Every plaintext credential in a spec: values under secret fields that are not
    `secret:NAME` references, env and header values that look like a token or sit under a
    secret-looking name, credentials inside URLs. What a run must scrub from its output (an env
    value such as `8080` is not: scrubbing it would garble every log line holding the number)."""
    found: list[str] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*path, str(k)))
            if (path and path[-1] in SECRET_LISTS) or (len(path) > 1 and path[-2] in SECRET_LISTS):
                name, item = value.get("name"), value.get("value")
                if (
                    isinstance(item, str)
                    and not item.startswith("secret:")
                    and (
                        looks_like_token(item)
                        or (isinstance(name, str) and looks_secret_by_name(name))
                    )
                ):
                    found.append(item)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*path, i))
        elif isinstance(value, str):
            if path and path[-1] in SECRET_FIELDS and not value.startswith("secret:"):
                found.append(value)
            found.extend(url_credentials(value))

    walk(config, ())
    return found
