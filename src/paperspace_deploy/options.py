"""The one table of options: every CLI flag and action input, and how its text becomes a value.

Both faces read their options through this table, so a flag and its action input can never
drift apart: the CLI gets argparse arguments made from it (`add_options`), the action reads
`INPUT_*` through it (`read_inputs`), and both hand the same `Values` (option name -> parsed
value) to the request objects (`LintRequest`, `BuildOptions`, `DeployRequest`).
`tests/unit/test_options.py` fails when action.yml, this table, the request objects and the
docs' input tables disagree.

Names follow GitHub's kebab-case habit and docker/build-push-action where the concept is the
same. Parsing is the same on both faces except where a face has its own convention, and then
the table says so: a repeatable flag is a newline/comma-separated input, `--x/--no-x` is
`x: true|false`, and a bare `timeout` number is seconds on the command line but minutes in the
action (GitHub's `timeout-minutes` habit).

Light imports only: the lint command builds its parser from this module at start-up.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from paperspace_deploy.errors import InputError

STAGES = ("lint", "build", "plan", "deploy", "preview", "cleanup", "sweep")
BUILDERS = ("auto", "engine", "buildx")  # image/buildx.py says what each one does
MAX_TIMEOUT = 360 * 60  # GitHub's longest job; a deadline beyond it only hides a hang
TRUE = ("true", "True", "TRUE")  # @actions/core's getBooleanInput spellings
FALSE = ("false", "False", "FALSE")
Parse = Callable[[str], Any]


class OptionError(ValueError):
    """A value that does not parse; the face adds the flag or input name."""


# ------------------------------------------------------------------------------------ parsers
def duration(bare_unit: str) -> Parse:
    """Seconds, or with a unit (`90s`, `15m`, `1h`); a bare number is in `bare_unit`."""
    units = {"s": 1, "m": 60, "h": 3600}

    def parse(text: str) -> float:
        unit = text[-1:].lower()
        scale = units.get(unit, units[bare_unit])
        number = text[:-1] if unit in units else text
        try:
            value = float(number) * scale
        except ValueError:
            raise OptionError(
                f"must be a duration like 90s, 15m or 1h, got {text[:20]!r}"
            ) from None
        if not 0 < value <= MAX_TIMEOUT:
            raise OptionError(f"must be more than 0 and at most 6h, got {text[:20]!r}")
        return value

    return parse


def seconds(low: float, high: float, *, low_open: bool = True) -> Parse:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise OptionError(f"must be a number of seconds, got {text[:20]!r}") from None
        if not (low < value if low_open else low <= value) or value > high:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise OptionError(f"must be within {bounds} seconds, got {text[:20]!r}")
        return value

    return parse


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        # not echoed: a line without '=' is often a pasted secret
        raise OptionError("must look like KEY=VALUE (a line without '=' was given; not shown)")
    return key.strip(), value


def tri_state(text: str) -> bool | None:
    """`auto` (None), `true` or `false`."""
    if text in ("", "auto"):
        return None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise OptionError(f"must be auto, true or false, got {text[:20]!r}")


def choice(*allowed: str) -> Parse:
    def parse(text: str) -> str:
        if text not in allowed:
            raise OptionError(f"must be one of {', '.join(allowed)}, got {text[:20]!r}")
        return text

    return parse


def tag_rules(text: str) -> tuple[str, ...]:
    from paperspace_deploy.image.tags import ALL_TAG_RULES

    if text.strip().lower() in ("", "none"):
        return ()
    rules = tuple(r.strip().lower() for r in text.split(",") if r.strip())
    unknown = [r for r in rules if r not in ALL_TAG_RULES]
    if unknown:
        raise OptionError(
            f"unknown tag rule {unknown[0][:20]!r}; choose from {', '.join(ALL_TAG_RULES)} or none"
        )
    return rules


def text(value: str) -> str:
    return value


def url_path(value: str) -> str:
    """An absolute URL path (and query) on the endpoint: /health, /v1/ping?deep=1."""
    bad = not value.startswith("/") or value.startswith("//") or len(value) > 2000
    if bad or any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c in "#\\" for c in value):
        raise OptionError(
            f"must be a path starting with / (no spaces, #, backslashes), got {value[:40]!r}"
        )
    return value


def builder_name(value: str) -> str:
    """auto, engine, buildx, or a buildx builder instance's name."""
    if value in BUILDERS or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", value):
        return value
    raise OptionError(f"must be one of {', '.join(BUILDERS)} or a buildx builder name, "
                      f"got {value[:20]!r}")  # fmt: skip


def whole_number(low: int, high: int) -> Parse:
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise OptionError(f"must be a whole number from {low} to {high}, got {text[:20]!r}")
        return int(text)

    return parse


def machine_type(text: str) -> str:
    """A machine type name as the spec schema allows it (A4000, C5, H100, ...)."""
    if not re.fullmatch(r"[A-Za-z0-9+()._-]{1,64}", text):
        raise OptionError(
            f"must be a machine type name (letters, digits, +()._-), got {text[:20]!r}"
        )
    return text


_TTL = re.compile(r"(?P<n>\d{1,6})\s*(?P<unit>[smhdw])")
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MIN_TTL, MAX_TTL = 60.0, 365 * 86400.0


def ttl(text: str) -> float:
    """A preview's time to live: '3d', '72h', '90m', '1w', '3600s' -> seconds (1 minute ..
    1 year)."""
    m = _TTL.fullmatch((text or "").strip().lower())
    if not m:
        raise OptionError(f"must be a number with a unit (s, m, h, d, w), got {str(text)[:20]!r}")
    seconds = float(int(m["n"]) * _TTL_UNITS[m["unit"]])
    if not MIN_TTL <= seconds <= MAX_TTL:
        raise OptionError(f"must be between 1 minute and 365 days, got {text.strip()[:20]!r}")
    return seconds


def name_template(text: str) -> str:
    """A preview name template: `{number}` required, `{name}` allowed, nothing else."""
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError:  # a lone brace
        fields = ["?"]
    if "number" not in fields or any(f not in ("name", "number") for f in fields):
        raise OptionError(
            f"must contain {{number}} and may contain {{name}}; no other placeholders "
            f"(got {text[:100]!r})"
        )
    return text


# -------------------------------------------------------------------------------------- table
@dataclass(frozen=True)
class Option:
    name: str  # kebab-case: the action input, the CLI's --name, the key in Values
    fills: tuple[str, ...]  # "request:field" it feeds (lint: LintRequest, build: BuildOptions,
    # deploy: DeployRequest); tests/unit/test_options.py checks each field exists
    help: str
    stages: tuple[str, ...]  # the commands (and action modes) that take it
    parse: Parse = text  # one item's text -> value
    default: Any = None
    flags: tuple[str, ...] = ()  # CLI spellings when not just `--name`
    action: bool = True  # False: command line only (it has no meaning in a workflow step)
    cli: bool = True  # False: action input only
    multiple: bool = False  # CLI: repeatable; action: one item per line (or comma: `commas`)
    commas: bool = True  # for `multiple` inputs: commas separate items too (not for K=V)
    switch: bool = False  # a boolean: CLI --x/--no-x (just --no-x for a `no-` name), action
    # true|false; with parse=tri_state the action also takes `auto` (None)
    secret: bool = False  # masked first in the action; never shown
    env: str | None = None  # environment variable used when neither face gives a value
    metavar: str | None = None
    action_parse: Parse | None = None  # the action's own reading (only `timeout`)
    action_default: str | None = None  # the default as action.yml states it, when it differs
    aliases: tuple[str, ...] = ()  # older action input names still read (e.g. dockerfile)

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def cli_flags(self) -> tuple[str, ...]:
        return self.flags or (f"--{self.name}",)

    def default_for(self, stage: str) -> Any:
        if isinstance(self.default, Mapping):
            return self.default.get(stage)
        return self.default


_DEPLOYISH = ("plan", "deploy", "preview")
_BUILDISH = ("build", "deploy", "preview")
_LINTED = ("lint", "plan", "deploy", "preview")
_PREVIEWS = ("preview", "cleanup", "sweep")  # preview.py: the pull request's own deployment
_API = (*_DEPLOYISH, "cleanup", "sweep")  # every stage that talks to the Paperspace API
_COMMENTED = (*_LINTED, "cleanup")  # the stages that post the sticky PR comment

OPTIONS: tuple[Option, ...] = (
    # -- the spec and lint ---------------------------------------------------------------------
    Option(
        "spec",
        ("lint:patterns", "deploy:spec_path"),
        "Path or glob of the deployment spec(s), relative to the repository root "
        "(default: the first of paperspace.yaml, .paperspace/app.yaml and the other standard "
        "names).",
        STAGES,
        metavar="PATH",
    ),
    Option(
        "strict",
        ("lint:strict", "deploy:strict"),
        "Treat lint warnings as errors.",
        _LINTED,
        switch=True,
        default=False,
    ),
    Option(
        "container-registries",
        ("lint:registries", "deploy:registries"),
        "Registry connection names (newline or comma separated) to "
        "check the spec's containerRegistry against, instead of asking the API; lint never "
        "asks the API, so this is how pull requests check it.",
        _LINTED,
        multiple=True,
        flags=("--registries", "--container-registries"),
        metavar="NAME,...",
    ),
    Option(
        "registries-file",
        ("lint:registries", "deploy:registries"),
        "File in the workspace with registry connection names (one per "
        "line, or a JSON list of names or {name, url} objects).",
        _LINTED,
        metavar="FILE",
    ),
    Option(
        "sarif-file",
        ("lint:sarif_file",),
        "Also write lint's findings as SARIF 2.1.0 to this file in the workspace, for "
        "github/codeql-action/upload-sarif (the output 'sarif-file' names it); written even "
        "when the spec is invalid. On the command line: lint --format sarif --output FILE.",
        _LINTED,
        cli=False,
        metavar="FILE",
    ),
    # -- the Paperspace API --------------------------------------------------------------------
    Option(
        "api-key",
        ("deploy:api_key",),
        "Paperspace API key (use a secret). Needed by deploy and plan, never by lint.",
        _API,
        secret=True,
        env="PAPERSPACE_API_KEY",
    ),
    Option(
        "project-id",
        ("deploy:project_id",),
        "Paperspace project ID the deployment belongs to.",
        _API,
        env="PAPERSPACE_PROJECT_ID",
    ),
    Option(
        "api-url",
        ("deploy:api_url",),
        "Paperspace API base URL (for a proxy or the local emulator).",
        _API,
        env="PAPERSPACE_API_URL",
        default="https://api.paperspace.com/v1",
    ),
    Option(
        "image",
        ("lint:image", "build:image", "deploy:image"),
        "Image to deploy, replacing the spec's ':image' placeholder or image; with a "
        "build, the repository to push to (e.g. ghcr.io/org/app).",
        ("lint", "build", "plan", "deploy", "preview"),
        metavar="REPO",
    ),
    Option(
        "timeout",
        ("build:deadline", "deploy:deadline"),
        "Deadline for the whole run (build, push, upsert, rollout): 90s, 15m, 1h; at most 6h. "
        "A bare number is seconds on the command line and minutes in the action. Default: "
        "15m for deploy and preview, 1h for build, 2m for plan and cleanup, 5m for sweep.",
        ("build", "plan", "deploy", *_PREVIEWS),
        parse=duration("s"),
        action_parse=duration("m"),
        default={
            "build": 3600.0,
            "plan": 120.0,
            "deploy": 900.0,
            "preview": 900.0,
            "cleanup": 120.0,
            "sweep": 300.0,
        },
        metavar="DURATION",
    ),
    # -- waiting for the rollout ---------------------------------------------------------------
    Option(
        "wait",
        ("deploy:wait.wait",),
        "Wait until the rollout is healthy (true) or return after submitting (false).",
        ("deploy", "preview"),
        switch=True,
        default=True,
    ),
    Option(
        "skip-unchanged",
        ("deploy:skip_unchanged",),
        "Do nothing when the live spec already matches.",
        ("deploy", "preview"),
        switch=True,
        default=False,
    ),
    Option(
        "verify-path",
        ("deploy:verify_path",),
        "After a healthy rollout, GET the endpoint + this path (e.g. /health) until it answers "
        "2xx/3xx or the timeout; exit 6 if it never does. A basicAuthKey is sent as the "
        "platform expects (secret:NAME: its value from env PAPERSPACE_SECRET_NAME).",
        ("deploy",),
        parse=url_path,
        flags=("--verify", "--verify-path"),
        metavar="PATH",
    ),
    Option(
        "rollback-on-failure",
        ("deploy:rollback_on_failure",),
        "When our spec fails (or verify does), re-apply the spec that was live before and wait "
        "for it; the run still fails. Never over a newer spec, nor without a previous one.",
        ("deploy",),
        switch=True,
        default=False,
    ),
    Option(
        "poll-interval",
        ("deploy:wait.poll_interval",),
        "Steady seconds between rollout polls; the first polls come sooner (0.25 s, ramping "
        "up with the time since the upsert).",
        ("deploy", "preview"),
        parse=seconds(0, 300),
        default=5.0,
        metavar="SECONDS",
    ),
    Option(
        "error-grace",
        ("deploy:wait.error_grace",),
        "Fail once an instance has stayed errored/failed this many seconds.",
        ("deploy", "preview"),
        parse=seconds(0, MAX_TIMEOUT, low_open=False),
        default=60.0,
        metavar="SECONDS",
    ),
    # -- build and push (docker/build-push-action's names) -------------------------------------
    Option(
        "context",
        ("build:context",),
        "Build context directory inside the repository. In deploy mode, setting "
        "it builds, pushes and deploys the image by digest.",
        _BUILDISH,
        metavar="DIR",
    ),
    Option(
        "file",
        ("build:dockerfile",),
        "Dockerfile path relative to the repository root (default: "
        "<context>/Dockerfile); inside the context or the workspace. The action also reads "
        "the older name 'dockerfile'.",
        _BUILDISH,
        flags=("--file", "-f", "--dockerfile"),
        aliases=("dockerfile",),
        metavar="PATH",
    ),
    Option(
        "tags",
        ("build:tags",),
        "Extra image tags (the tags from the git context are added).",
        _BUILDISH,
        multiple=True,
        flags=("--tag", "--tags"),
        metavar="TAG",
        default=(),
    ),
    Option(
        "tag-rules",
        ("build:tag_rules",),
        "CI tag rules, comma separated, or none: sha, branch, tag, semver, pr, latest, sha-long.",
        _BUILDISH,
        parse=tag_rules,
        default=("sha", "branch", "tag", "semver", "pr", "latest"),
        metavar="LIST",
        action_default="sha,branch,tag,semver,pr,latest",
    ),
    Option(
        "build-args",
        ("build:build_args",),
        "Build arguments, one KEY=VALUE per line. Stored in the image history: never pass secrets.",
        _BUILDISH,
        parse=key_value,
        multiple=True,
        commas=False,
        flags=("--build-arg",),
        metavar="K=V",
        default=(),
    ),
    Option(
        "labels",
        ("build:labels",),
        "Image labels, one KEY=VALUE per line.",
        _BUILDISH,
        parse=key_value,
        multiple=True,
        commas=False,
        flags=("--label",),
        metavar="K=V",
        default=(),
    ),
    Option("target", ("build:target",), "Build this stage of a multi-stage Dockerfile.", _BUILDISH),
    Option(
        "platforms",
        ("build:platforms",),
        "Target platform(s), e.g. linux/amd64; several need a docker-container builder. The "
        "built image's OS/architecture is checked against it.",
        _BUILDISH,
        multiple=True,
        flags=("--platform", "--platforms"),
        default=(),
    ),
    Option(
        "cache-to",
        ("build:cache_to",),
        "Cache export(s), one per line, BuildKit's form (type=inline, type=registry,ref=..., "
        "type=gha); all but inline need a docker-container builder.",
        _BUILDISH,
        multiple=True,
        commas=False,
        default=(),
    ),
    Option(
        "secrets",
        ("build:secrets",),
        "BuildKit secret mounts, one id=value per line (RUN --mount=type=secret,id=...): masked, "
        "never in the image or its history. Action only: a value in argv is visible to other "
        "processes (use --secret-env or --secret-file on the command line).",
        _BUILDISH,
        parse=key_value,
        multiple=True,
        commas=False,
        secret=True,
        cli=False,
        default=(),
    ),
    Option(
        "secret-envs",
        ("build:secret_envs",),
        "BuildKit secrets from environment variables, one id=ENV_NAME per line.",
        _BUILDISH,
        parse=key_value,
        multiple=True,
        commas=False,
        flags=("--secret-env",),
        metavar="ID=ENV",
        default=(),
    ),
    Option(
        "secret-files",
        ("build:secret_files",),
        "BuildKit secrets from files, one id=path per line.",
        _BUILDISH,
        parse=key_value,
        multiple=True,
        commas=False,
        flags=("--secret-file",),
        metavar="ID=PATH",
        default=(),
    ),
    Option(
        "ssh",
        ("build:ssh",),
        "SSH agent sockets or keys for RUN --mount=type=ssh: default, or id=path, one per line.",
        _BUILDISH,
        multiple=True,
        commas=False,
        default=(),
    ),
    Option(
        "provenance",
        ("build:provenance",),
        "Provenance attestation (true, false, mode=min|max); needs a docker-container "
        "builder. Default: none.",
        _BUILDISH,
    ),
    Option(
        "sbom",
        ("build:sbom",),
        "SBOM attestation (true or false); needs a docker-container builder. Default: none.",
        _BUILDISH,
    ),
    Option(
        "network",
        ("build:network",),
        "Network for RUN steps: default, host or none.",
        _BUILDISH,
        parse=choice("default", "host", "none"),
    ),
    Option(
        "cache-from",
        ("build:cache_from",),
        "Cache source(s), one per line: an image, or BuildKit's type=registry,ref=... form.",
        _BUILDISH,
        multiple=True,
        commas=False,
        metavar="IMAGE",
        default=(),
    ),
    Option(
        "pull",
        ("build:pull",),
        "Always try to pull newer base images.",
        _BUILDISH,
        switch=True,
        default=False,
    ),
    Option(
        "no-cache",
        ("build:no_cache",),
        "Do not use the build cache.",
        _BUILDISH,
        switch=True,
        default=False,
    ),
    Option(
        "push",
        ("build:push",),
        "Push the built image: true, false, or auto (push except on pull requests).",
        _BUILDISH,
        parse=tri_state,
        switch=True,
        action_default="auto",
    ),
    Option(
        "registry",
        ("build:registry",),
        "Registry to log in to (default: the image's host).",
        _BUILDISH,
        metavar="HOST",
    ),
    Option(
        "username", ("build:username",), "Registry username.", _BUILDISH, env="REGISTRY_USERNAME"
    ),
    Option(
        "password",
        ("build:password",),
        "Registry password or token (use a secret; masked, multi-line values "
        "too). On the command line prefer REGISTRY_PASSWORD or --password-stdin: argv is "
        "visible to other processes.",
        _BUILDISH,
        secret=True,
        env="REGISTRY_PASSWORD",
    ),
    Option(
        "builder",
        ("build:builder",),
        "auto: BuildKit through docker buildx when available, else the Docker Engine API with "
        "a notice; buildx: BuildKit or fail; engine: the Engine API (legacy builder); or the "
        "name of a buildx builder (e.g. a docker-container builder from "
        "docker/setup-buildx-action).",
        _BUILDISH,
        parse=builder_name,
        default="auto",
    ),
    Option(
        "fail-on-sensitive-context",
        ("build:fail_on_sensitive_context",),
        "Fail instead of warn when .env files, keys or .git would be sent to the engine.",
        _BUILDISH,
        switch=True,
        default=False,
    ),
    # -- pull requests: cost, the sticky comment, previews (docs/pull-requests.md) -----------
    Option(
        "prices-file",
        ("lint:prices_file",),
        "JSON file in the workspace whose hourly prices replace the shipped list prices for the "
        "machine types it names (negotiated rates) in the cost estimate.",
        _LINTED,
        flags=("--prices", "--prices-file"),
        metavar="FILE",
    ),
    Option(
        "comment",
        ("comment:enabled",),
        "Post one sticky pull-request comment per spec and workflow (lint findings, plan, cost, "
        "preview endpoint), edited in place on each push; needs pull-requests: write.",
        _COMMENTED,
        switch=True,
        default=False,
        cli=False,
    ),
    Option(
        "github-token",
        ("comment:token",),
        "Token the PR comment is posted with (masked).",
        _COMMENTED,
        secret=True,
        cli=False,
        env="GITHUB_TOKEN",
        action_default="${{ github.token }}",
    ),
    Option(
        "preview-name",
        ("preview:policy.name_template",),
        "Name of a pull request's preview deployment: a template with {number} (the pull "
        "request) and optionally {name} (the spec's name).",
        _PREVIEWS,
        parse=name_template,
        default="{name}-pr-{number}",
        metavar="TEMPLATE",
    ),
    Option(
        "preview-max-replicas",
        ("preview:policy.max_replicas",),
        "A preview runs at most this many replicas (1..10); autoscaling is always off.",
        ("preview",),
        parse=whole_number(1, 10),
        default=1,
        action_default="1",
        metavar="N",
    ),
    Option(
        "preview-machine-types",
        ("preview:policy.machine_types",),
        "Machine types a preview may use (newline or comma separated); a spec outside the list "
        "is refused with the list, unless preview-machine-type is set. Empty: any.",
        ("preview",),
        parse=machine_type,
        multiple=True,
        default=(),
        metavar="TYPE,...",
    ),
    Option(
        "preview-machine-type",
        ("preview:policy.machine_type",),
        "Machine type a preview is downgraded to when the spec's is not in "
        "preview-machine-types (it must be in that list).",
        ("preview",),
        parse=machine_type,
        metavar="TYPE",
    ),
    Option(
        "preview-ttl",
        ("preview:policy.ttl",),
        "How long a preview lives after its last deploy before the sweep deletes it: 3d, 72h, "
        "90m, 1w.",
        ("preview", "sweep"),
        parse=ttl,
        default=3 * 86400.0,
        action_default="3d",
        metavar="DURATION",
    ),
    Option(
        "pr",
        ("preview:number",),
        "Pull/merge request number (default: from the CI run).",
        ("preview", "cleanup"),
        parse=whole_number(1, 10**9),
        action=False,
        metavar="NUMBER",
    ),
)
BY_NAME = {o.name: o for o in OPTIONS}
# Flags with no action input, and why: they shape a terminal run, not a workflow step.
CLI_ONLY = {
    "--format": "the result format on stdout (the action reports through outputs and summary)",
    "--output": "lint's report file (the action writes annotations and the summary)",
    "--build": "deploy: build with context '.' (the action builds when 'context' is set)",
    "--password-stdin": "read the password from stdin (the action takes the 'password' input)",
}
Values = dict[str, Any]


def action_default(option: Option) -> str:
    """The default as action.yml states it (empty: the table's default applies)."""
    if option.action_default is not None:
        return option.action_default
    if option.switch and isinstance(option.default, bool):
        return "true" if option.default else "false"
    if isinstance(option.default, str):
        return option.default
    if isinstance(option.default, float):
        return f"{option.default:g}"
    return ""


def for_stage(stage: str) -> list[Option]:
    return [o for o in OPTIONS if stage in o.stages]


# ---------------------------------------------------------------------------------------- CLI
def cli_type(parse: Parse) -> Callable[[str], Any]:
    """A parser of this module as an argparse `type=` (for a command's own flags)."""

    def convert(value: str) -> Any:
        try:
            return parse(value)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _argparse_type(option: Option) -> Callable[[str], Any]:
    """One flag's text -> its value; for a repeatable flag a list (commas separate items too,
    as in the action), flattened by `from_namespace`."""

    def convert(value: str) -> Any:
        try:
            if option.multiple:
                return [option.parse(item) for item in _items(option, value)]
            return option.parse(value)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def add_options(
    parser: argparse.ArgumentParser, stage: str, *, skip: Iterable[str] = (), title: str = ""
) -> None:
    """Add the table's flags for `stage` (except `skip`, which the command spells itself)."""
    group = parser.add_argument_group(title) if title else parser
    skipped = set(skip)
    for option in for_stage(stage):
        if not option.cli or option.name in skipped:
            continue
        kwargs: dict[str, Any] = {"dest": option.dest, "help": option.help}
        if option.switch and option.name.startswith("no-"):
            kwargs.update(action="store_const", const=True, default=None)
        elif option.switch:
            kwargs.update(action=argparse.BooleanOptionalAction, default=None)
        elif option.multiple:
            kwargs.update(action="append", type=_argparse_type(option), default=None)
        else:
            kwargs.update(type=_argparse_type(option), default=None)
        if option.metavar and not option.switch:
            kwargs["metavar"] = option.metavar
        group.add_argument(*option.cli_flags, **kwargs)


def from_namespace(args: argparse.Namespace, stage: str) -> Values:
    """The parsed flags as Values; an absent flag is None (defaults are applied by `complete`)."""
    values: Values = {}
    for o in for_stage(stage):
        value = getattr(args, o.dest, None)
        if o.multiple and value is not None:
            value = [item for chunk in value for item in chunk]
        values[o.name] = value
    return values


# ------------------------------------------------------------------------------------- action
def get_input(environ: Mapping[str, str], name: str) -> str:
    """`INPUT_<NAME>` with hyphens kept (the runner's spelling), else with underscores; trimmed
    like actions-toolkit's `core.get_input` (whose module imports requests: not on lint's path)."""
    upper = name.replace(" ", "_").upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        if key in environ:
            return environ[key].strip()
    return ""


def raw_input(environ: Mapping[str, str], name: str) -> str:
    """A secret as given, only line breaks at the ends trimmed (a PEM-like value keeps its
    inner lines)."""
    upper = name.upper()
    for key in (f"INPUT_{upper}", f"INPUT_{upper.replace('-', '_')}"):
        if key in environ:
            return environ[key].strip("\r\n")
    return ""


def _items(option: Option, value: str) -> list[str]:
    raw = value.replace(",", "\n") if option.commas else value
    return [item.strip() for item in raw.splitlines() if item.strip()]


def parse_input(option: Option, value: str) -> Any:
    """One action input's text -> its value (None when empty)."""
    if option.switch and option.parse is not tri_state:
        if not value:
            return None
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise InputError(
            f"input '{option.name}' must be true/True/TRUE or false/False/FALSE, got {value[:20]!r}"
        )
    parse = option.action_parse or option.parse
    try:
        if option.multiple:
            return [parse(item) for item in _items(option, value)] or None
        if option.parse is tri_state:  # empty means auto too
            return parse(value)
        return parse(value) if value else None
    except OptionError as exc:
        raise InputError(f"input '{option.name}' {exc}") from None


def read_inputs(environ: Mapping[str, str], stage: str) -> Values:
    """The action's inputs for `stage` as Values (None where the input is empty)."""
    values: Values = {}
    for option in for_stage(stage):
        if not option.action:
            continue
        read = raw_input if option.secret else get_input
        value = read(environ, option.name)
        for alias in option.aliases:  # an older input name
            value = value or read(environ, alias)
        values[option.name] = parse_input(option, value)
    return values


def secret_inputs() -> tuple[str, ...]:
    return tuple(o.name for o in OPTIONS if o.secret)


# Secrets read from the environment outside the options table (PR comments, the GitHub cache).
OTHER_SECRET_ENVS = ("GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN")


def secret_envs() -> tuple[str, ...]:
    """The environment variables that hold secrets: `Io` scrubs their values from everything."""
    return tuple(o.env for o in OPTIONS if o.secret and o.env) + OTHER_SECRET_ENVS


# ------------------------------------------------------------------------------------- shared
def complete(values: Mapping[str, Any], stage: str, environ: Mapping[str, str]) -> Values:
    """Fill what neither face gave: the environment variable, else the table's default."""
    out: Values = {}
    for option in for_stage(stage):
        value = values.get(option.name)
        if value is None and option.env and environ.get(option.env, "").strip():
            value = environ[option.env] if option.secret else environ[option.env].strip()
        if value is None:
            value = option.default_for(stage)
        if option.multiple and value is not None:
            value = list(value)
        out[option.name] = value
    return out
