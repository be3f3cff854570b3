"""A port of the GitHub runner's workflow-command parsers, to check what our output would do.

Follows actions/runner `src/Runner.Common/ActionCommand.cs` (`TryParseV2`: TrimStart, then
`::name props::data`; `TryParse`: the legacy `##[name props]data` found ANYWHERE in a line) and the
stop-commands state machine of `ActionCommandManager.TryProcessCommand`, plus the GITHUB_OUTPUT
file parser of `FileCommandManager.cs` (`name=value` and `name<<DELIM` heredocs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGISTERED = frozenset(
    {
        "add-mask", "debug", "notice", "warning", "error", "group", "endgroup", "echo",
        "add-matcher", "remove-matcher", "save-state", "set-output", "set-env", "add-path",
        "stop-commands",
    }
)  # fmt: skip

_UNESCAPE_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_UNESCAPE_PROP = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def _unescape(text: str, table: tuple[tuple[str, str], ...]) -> str:
    for escaped, raw in table:
        text = text.replace(escaped, raw)
    return text


@dataclass
class Command:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""
    line: str = ""


def try_parse_v2(message: str, registered: set[str] | frozenset[str]) -> Command | None:
    if not message:
        return None
    message = message.lstrip()  # C# TrimStart(): Unicode white space (not U+200B)
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    space = info.find(" ")
    name = info if space < 0 else info[:space]
    if name not in registered:
        return None
    cmd = Command(name=name, line=message)
    if space >= 0:
        for pair in info[space + 1 :].split(","):
            if not pair:
                continue
            key, sep, value = pair.partition("=")
            if sep and key and value:  # RemoveEmptyEntries: `line=` is dropped
                cmd.properties[key] = _unescape(value, _UNESCAPE_PROP)
    cmd.data = _unescape(message[end + 2 :], _UNESCAPE_DATA)
    return cmd


def try_parse_legacy(message: str, registered: set[str] | frozenset[str]) -> Command | None:
    prefix = message.find("##[")
    if prefix < 0:
        return None
    rb = message.find("]", prefix)
    if rb < 0:
        return None
    info = message[prefix + 3 : rb]
    space = info.find(" ")
    name = (info if space < 0 else info[:space]).strip()
    if name not in registered:
        return None
    cmd = Command(name=name, line=message)
    if space >= 0:
        for pair in info[space + 1 :].split(";"):
            key, sep, value = pair.partition("=")
            if sep and key.strip():
                cmd.properties[key.strip()] = _unescape(value, _UNESCAPE_PROP)
    cmd.data = _unescape(message[rb + 1 :], _UNESCAPE_DATA)
    return cmd


def process(log: str) -> list[Command]:
    """Every command the runner would execute for this step output (stdout or stderr)."""
    registered = set(REGISTERED)
    stop_token: str | None = None
    done: list[Command] = []
    for line in log.split("\n"):
        cmd = try_parse_v2(line, registered) or try_parse_legacy(line, registered)
        if cmd is None:
            continue
        if stop_token is not None:
            if cmd.name.lower() == stop_token.lower():
                registered.discard(stop_token)
                stop_token = None
            continue  # everything else is shown as text while commands are stopped
        if cmd.name == "stop-commands":
            token = cmd.data
            if not token or token in REGISTERED or token == "pause-logging":
                continue  # the runner rejects such tokens
            stop_token = token
            registered.add(token)
        done.append(cmd)
    return done


def parse_output_file(text: str) -> dict[str, str]:
    """The runner's GITHUB_OUTPUT reader; raises ValueError where the runner fails the step."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        i += 1
        if not line:
            continue
        eq, here = line.find("="), line.find("<<")
        if eq >= 0 and (here < 0 or eq < here):
            key, value = line[:eq], line[eq + 1 :]
        elif here >= 0 and (eq < 0 or here < eq):
            key, delim = line[:here], line[here + 2 :]
            if not key or not delim:
                raise ValueError(f"Invalid format '{line}'")
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise ValueError(f"Matching delimiter not found '{delim}'")
                cur = lines[i].removesuffix("\r")
                i += 1
                if cur == delim:
                    break
                body.append(cur)
            value = "\n".join(body)
        else:
            raise ValueError(f"Invalid format '{line}'")
        if not key:
            raise ValueError("Invalid format: empty name")
        out[key] = value
    return out


# Text an attacker controls (spec values, build output, API bodies) tries these: reliability.md
# §2.2's payload list plus a CRLF split and Markdown/HTML for the job summary.
HOSTILE_PAYLOADS = [
    "::add-mask::a",
    "  ::set-output name=result::pass",
    "::stop-commands::abcdefgh",
    "::echo::on",
    "x ##[error file=README.md,line=1]forged",
    "::add-matcher::evil.json",
    "%0A::warning::x",
    "\r::warning::x",
    "line1\n::error::two",
    "a\r\n::notice::crlf",
    "<img src=x onerror=alert(1)>|pipe|",
]
