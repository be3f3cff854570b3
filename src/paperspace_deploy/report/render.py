"""Pick a reporter by `--format`; each renders the same `LintResult` (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from paperspace_deploy.spec.findings import Finding, Severity

FORMATS = ("text", "json", "github", "sarif", "gitlab")


@dataclass
class LintResult:
    files: list[str] = field(default_factory=list)  # display paths, in the order checked
    findings: list[Finding] = field(default_factory=list)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def summary(self) -> str:
        errors, warnings = self.count(Severity.ERROR), self.count(Severity.WARNING)
        bad = len({f.path for f in self.findings if f.severity is Severity.ERROR})
        return f"checked {len(self.files)} file(s): {errors} error(s), {warnings} warning(s)" + (
            f" in {bad} invalid file(s)" if bad else ""
        )


RULE_HELP = {
    # loading
    "file-too-large": "The file is over 1 MiB; real specs are a few KB.",
    "encoding": "The file is not UTF-8.",
    "control-character": "The file contains a control character.",
    "empty-file": "The file has no content.",
    "top-level-type": "The top level must be a mapping.",
    "multiple-documents": "A spec file holds exactly one YAML document.",
    "yaml-syntax": "YAML syntax error.",
    "json-syntax": "JSON syntax error.",
    "toml-syntax": "TOML syntax error.",
    "duplicate-key": "A key appears twice in one mapping; YAML keeps only the last.",
    "non-string-key": "Mapping keys must be strings.",
    "unsupported-tag": "A YAML tag other than the core ones.",
    "alias-bomb": "YAML aliases expand to too many nodes.",
    "recursive-alias": "A YAML alias refers to a node containing it.",
    "too-deep": "Nesting deeper than 64 levels.",
    "leading-zero": "A number with a leading zero (octal in YAML 1.1).",
    "non-finite-number": "NaN or infinity.",
    "invalid-merge": "A YAML merge key that does not merge a mapping.",
    "number-too-large": "A numeric literal longer than 40 characters.",
    "too-many-nodes": "More than 100,000 values (or 10,000 TOML tables) in one file.",
    # schema
    "unknown-key": "A key the spec does not have (Paperspace would drop it silently).",
    "key-not-allowed": "A key that does not belong to this apiVersion shape or variant.",
    "missing-key": "A required key is missing.",
    "wrong-type": "A value of the wrong type (e.g. a number where a string is needed).",
    "invalid-value": "A value outside the allowed set.",
    "out-of-range": "A number outside its allowed range.",
    "invalid-string": "A string that is too long, empty or has characters not allowed.",
    "wrong-count": "A list with too few or too many items.",
    "too-many-integrations": "At most 5 integrations.",
    "quoted-number": "A quoted number where a number is expected (conversion unknown).",
    "relative-path": "A mount path that does not start with /.",
    "do-spaces-shape": "A do-spaces integration written the docs' way (url, no endpoint).",
    "schema": "Other schema error.",
    "too-many-findings": "More findings than one report shows for a file.",
    # rules
    "api-version-missing": "No apiVersion; it is sent as latest.",
    "legacy-shape": "latest/missing apiVersion with legacy v0alpha0 fields.",
    "image-placeholder": "The ':image' (or a <template>) placeholder is still in the spec.",
    "image-missing": "No image in the spec; the deploy must supply one.",
    "image-reference": "The image is not a valid image reference.",
    "machine-type": "Machine type outside the documented list.",
    "replicas-range": "autoscaling.maxReplicas is lower than replicas.",
    "duplicate-integration": "Two integrations share a name.",
    "integration-type": "Integration type spelled 'do-spaces'.",
    "healthchecks-conflict": "Both healthChecks and healthchecks are set.",
    "legacy-healthchecks": "The legacy 'healthchecks' spelling.",
    "probe-port": "A probe port that is not one of the container ports.",
    "secret-name": "A secret:NAME reference that no secret can have.",
    "plaintext-credential": "A credential written in plain text instead of secret:NAME.",
    "possible-plaintext-credential": "A secret-looking env var with a plaintext value.",
    "duplicate-env": "An environment variable set twice.",
    "region": "A region other than ny2.",
}
