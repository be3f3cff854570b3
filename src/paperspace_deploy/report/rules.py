"""The one table of rule ids: what each finding means and what to do about it.

SARIF's `rules[]` (shortDescription, fullDescription, help) is built from it, and the rule list in
docs/linting.md is generated from it (`python -m paperspace_deploy.report.rules --write
docs/linting.md`; tests/unit/test_report_rules.py fails when the two disagree). Every rule a
stage can emit must be listed here.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    severity: str  # as documented, e.g. "error" or "warning (error when deploying)"
    short: str  # one sentence: SARIF shortDescription
    full: str  # what it means and what to do: SARIF fullDescription, docs/linting.md


RULES: dict[str, Rule] = {
    # loading
    "file-too-large": Rule(
        "error", "The file is over 1 MiB.",
        "The file is over 1 MiB; real specs are a few KB. Nothing past the limit is read."),
    "encoding": Rule(
        "error", "The file is not UTF-8.",
        "The file is not UTF-8 (the offset is given), or is UTF-16. Save it as UTF-8."),
    "control-character": Rule(
        "error", "The file contains a control character.",
        "A control character (e.g. NUL) in the file, with its offset. Remove it."),
    "empty-file": Rule("error", "The file has no content.", "The file is empty: write a spec."),
    "top-level-type": Rule(
        "error", "The top level must be a mapping.",
        "The top level is not a mapping (a list or a scalar): a spec is `name: ...`, "
        "`image: ...`, `resources: ...`."),
    "multiple-documents": Rule(
        "error", "A spec file holds exactly one YAML document.",
        "More than one YAML document (`---`) in one file: keep one spec per file."),
    "yaml-syntax": Rule(
        "error", "YAML syntax error.", "YAML syntax error (also an undefined YAML alias)."),
    "json-syntax": Rule("error", "JSON syntax error.", "JSON or JSONC syntax error."),
    "toml-syntax": Rule("error", "TOML syntax error.", "TOML syntax error."),
    "duplicate-key": Rule(
        "error", "A key appears twice in one mapping.",
        "A key twice in one mapping (both lines given); YAML keeps only the last: keep one."),
    "non-string-key": Rule(
        "error", "Mapping keys must be strings.",
        "`1:`, `true:`, `null:` or complex keys: every key of a spec is a string."),
    "unsupported-tag": Rule(
        "error", "A YAML tag other than the core ones.",
        "Tags other than the core `!!str/int/float/bool/null/map/seq`: remove the tag."),
    "alias-bomb": Rule(
        "error", "YAML aliases expand to too many nodes.",
        "Aliases expand to more than 10,000 nodes (a billion-laughs file)."),
    "recursive-alias": Rule(
        "error", "A YAML alias refers to a node containing it.",
        "An alias inside the node it refers to."),
    "too-deep": Rule(
        "error", "Nesting deeper than 64 levels.",
        "Nesting deeper than 64 levels (in TOML dotted-key parts and headers count): real specs "
        "are under 10."),
    "too-many-nodes": Rule(
        "error", "More than 100,000 values in one file.",
        "More than 100,000 values (or 10,000 TOML tables) in one file: real specs have a few "
        "hundred. Nothing past the limit is read."),
    "number-too-large": Rule(
        "error", "A numeric literal longer than 40 characters.",
        "A number written with more than 40 characters: no field of a spec takes one."),
    "leading-zero": Rule(
        "error", "A number with a leading zero.",
        "`0123`: octal in YAML 1.1, decimal in 1.2; write the number without the zero, or quote "
        "it."),
    "non-finite-number": Rule(
        "error", "NaN or infinity.",
        "`.nan`, `.inf`, `1e400`: no field of a spec takes them."),
    "invalid-merge": Rule(
        "error", "A YAML merge key that does not merge a mapping.",
        "`<<` that does not merge a mapping (or a list of mappings)."),
    # schema
    "unknown-key": Rule(
        "error", "A key the spec does not have.",
        "Key not in the spec, with a did-you-mean; Paperspace would drop it silently."),
    "key-not-allowed": Rule(
        "error", "A key of another apiVersion shape or variant.",
        "Key of another shape (e.g. `port` in v1) or variant (an exec probe with `path`); the "
        "message says what to use instead."),
    "missing-key": Rule(
        "error", "A required key is missing.",
        "Required key missing (reported at the parent key)."),
    "wrong-type": Rule(
        "error", "A value of the wrong type.",
        "A value of the wrong type, e.g. `value: 8000` in env: quote it."),
    "invalid-value": Rule(
        "error", "A value outside the allowed set.",
        "Not one of the allowed values (with a did-you-mean)."),
    "out-of-range": Rule(
        "error", "A number outside its allowed range.",
        "Number out of range (ports 1-65535, timeoutSeconds >= 1, ...)."),
    "invalid-string": Rule(
        "error", "A string that is too long, empty or has characters not allowed.",
        "Too long, empty, bad characters (names cannot carry `::`/`##[`/newlines), bad `uri`."),
    "wrong-count": Rule(
        "error", "A list with too few or too many items.",
        "Too few items (`ports: []`, empty `metrics`)."),
    "too-many-integrations": Rule(
        "error", "More than 5 integrations.", "More than 5 integrations: the platform takes 5."),
    "schema": Rule("error", "Other schema error.", "Any other schema error."),
    "too-many-findings": Rule(
        "error (warning if only warnings were cut)", "More findings than one report shows.",
        "A file's report is capped at 30 schema errors and 40 findings, so one broken file "
        "cannot flood the log (each file's messages stay under 4 KB)."),
    # rules beyond the schema
    "api-version-missing": Rule(
        "warning", "No apiVersion.", "No `apiVersion` (sent as `latest`): set `apiVersion: v1`."),
    "legacy-shape": Rule(
        "warning (error when deploying or planning)",
        "latest or no apiVersion with legacy v0alpha0 fields.",
        "`latest`/missing `apiVersion` with v0alpha0 fields: set `apiVersion: v0alpha0`, or move "
        "to v1 (`resources.machineType`, `resources.ports`). Today's API types take `latest` "
        "only in the v1 shape, so in deploy mode each offending key is an error at its line, "
        "the first with the v1 rewrite (`spec/shapes.py`)."),
    "image-placeholder": Rule(
        "warning (error when deploying without an image)",
        "The ':image' placeholder is still in the spec.",
        "`image: :image`, or a template such as `<image-name>`, still in the spec: a deploy "
        "replaces it with the built image and fails if there is none."),
    "image-missing": Rule(
        "warning (error when deploying without an image)", "The spec has no image.",
        "No image, or `image:` left empty for the workflow to fill in: a deploy must supply "
        "one (the `image` input, `--image`, or a build)."),
    "image-reference": Rule(
        "error (upper case only: warning in plain lint, error when deploying)",
        "The image is not a valid image reference.",
        "Not a valid image reference (upper case in the repository path, bad tag/digest). Real "
        "specs ship upper-case paths (invokeai), so plain lint passes them with a warning; a "
        "deploy refuses them because the platform cannot pull them."),
    "machine-type": Rule(
        "warning", "Machine type outside the documented list.",
        "Not in the documented list (C4, C5, P4000, A4000, A100-80G, H100, ...)."),
    "replicas-range": Rule(
        "error", "autoscaling.maxReplicas is lower than replicas.",
        "`autoscaling.maxReplicas` < `replicas`: autoscaling keeps replicas between the two."),
    "duplicate-integration": Rule(
        "error", "Two integrations share a name.", "Two integrations with one name."),
    "integration-type": Rule(
        "warning", "Integration type spelled 'do-spaces'.", "`do-spaces` (sent as `spaces`)."),
    "healthchecks-conflict": Rule(
        "warning", "Both healthChecks and healthchecks are set.",
        "Both `healthChecks` and `healthchecks`: which one the platform uses is unknown; keep "
        "`healthChecks`."),
    "legacy-healthchecks": Rule(
        "warning", "The legacy 'healthchecks' spelling.",
        "The lowercase spelling `healthchecks`: use `healthChecks`."),
    "probe-port": Rule(
        "warning", "A probe port that is not one of the container ports.",
        "Probe port not in `resources.ports` (or, for the v0alpha0 shape, `port`, default "
        "80)."),
    "secret-name": Rule(
        "error", "A secret:NAME reference that no secret can have.",
        "`secret:bad-name`: names match `^[A-Za-z][A-Za-z0-9_]*$`, 1-128 chars."),
    "plaintext-credential": Rule(
        "warning", "A credential written in plain text instead of secret:NAME.",
        "A token-shaped env value (AKIA..., ghp_..., private key, ...) or a plaintext "
        "`secretAccessKey` / `password` / `basicAuthKey`; the value is never printed. Store it "
        "as a Paperspace secret and write `secret:NAME`."),
    "possible-plaintext-credential": Rule(
        "warning", "A secret-looking env var with a plaintext value.",
        "A secret-looking env name (`*_TOKEN`, `*PASSWORD*`) with a plaintext value: use "
        "`secret:NAME`."),
    "quoted-number": Rule(
        "warning", "A quoted number where a number is expected.",
        "`port: \"7860\"`: a string where a number is expected; whether the server converts it "
        "is unknown, so write the number unquoted."),
    "relative-path": Rule(
        "warning", "A mount path that does not start with /.",
        "A mount path such as `repositories.mountPath` must be absolute: start it with `/`."),
    "do-spaces-shape": Rule(
        "warning", "A do-spaces integration written the docs' way.",
        "A `do-spaces` integration with the docs' `url` and no `endpoint`: the API's `spaces` "
        "type takes `endpoint` (docs and API disagree; which one the platform accepts is "
        "unknown)."),
    "duplicate-env": Rule(
        "error", "An environment variable set twice.", "One env name set twice: only one wins."),
    "region": Rule(
        "warning", "A region other than ny2.",
        "Region other than `ny2` (Deployments run only there)."),
    # registry connections and the API (docs/deploying.md)
    "registry-unknown": Rule(
        "error", "containerRegistry names no registry connection of the team.",
        "`containerRegistry` is not one of the team's registry connections (or of the "
        "`--registries` list), with a did-you-mean."),
    "registry-host-mismatch": Rule(
        "warning", "The image's host is not the registry connection's host.",
        "The image's registry host differs from the connection's URL, so its credentials will "
        "not be used to pull the image."),
    "registry-check-skipped": Rule(
        "notice", "The registry connection was not checked.",
        "No API key and no `--registries` list: `containerRegistry` was not verified."),
    "api-validation": Rule(
        "error", "Paperspace rejected the spec.",
        "The API answered `400 Input validation failed`; its issues are mapped back to spec "
        "lines."),
    "api-shape": Rule(
        "error", "Paperspace rejected the spec's shape.",
        "The API rejected the whole `config` (e.g. one zod `invalid_union`, \"Invalid input\"): "
        "the closest API shape and how the spec differs from it, each at its line; for "
        "`latest` with v0 fields, the v1 rewrite (docs/deploying.md)."),
}  # fmt: skip

_START = "<!-- rules table: generated from src/paperspace_deploy/report/rules.py -->"
_END = "<!-- end of rules table -->"


def markdown_table() -> str:
    rows = ["| Rule | Severity | Meaning |", "|---|---|---|"]
    rows += [f"| `{rule}` | {r.severity} | {r.full} |" for rule, r in RULES.items()]
    return "\n".join([_START, *rows, _END]) + "\n"


def replace_table(doc: str) -> str:
    """`doc` with its generated rules table replaced by the current one."""
    pattern = re.compile(re.escape(_START) + ".*?" + re.escape(_END) + "\n", re.S)
    if not pattern.search(doc):
        raise ValueError("no generated rules table in the document")
    return pattern.sub(lambda _: markdown_table(), doc, count=1)


if __name__ == "__main__":  # python -m paperspace_deploy.report.rules [--write docs/linting.md]
    if sys.argv[1:2] == ["--write"]:
        target = Path(sys.argv[2])
        target.write_text(replace_table(target.read_text("utf-8")), "utf-8")
    else:
        sys.stdout.write(markdown_table())
