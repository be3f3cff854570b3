"""What a plaintext credential looks like: used by the spec linter (env values) and the build
(build args land in image history). One list, so both catch the same things."""

from __future__ import annotations

import re

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
    r"(?i)secret|token|passw(?:or)?d|pass$|pwd$|api_?key|access_?key|private_?key|credential"
)


def looks_like_token(value: str) -> bool:
    return bool(TOKEN.search(value))


def looks_secret_by_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))
