"""SARIF checks shared by the reporter tests and the action's `sarif-file` tests: the official
OASIS 2.1.0 schema (tests/fixtures/schemas) and the rules GitHub code scanning applies on upload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "fixtures/schemas/sarif-schema-2.1.0.json"


def schema_errors(doc: Any) -> list[str]:
    """What the official schema says about `doc` (Draft 4, formats checked)."""
    from jsonschema import Draft4Validator

    from paperspace_deploy.spec.schema import format_checker

    validator = Draft4Validator(
        json.loads(SARIF_SCHEMA.read_text()), format_checker=format_checker()
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def github_ingestion_problems(doc: dict) -> list[str]:
    """The checks GitHub code scanning applies on upload (sarif-sdk's GitHub rule set: GH1001,
    GH1003, GH1005, GH1006, plus SARIF2012's help/fullDescription and fingerprints)."""
    problems = []
    for run in doc["runs"]:
        bases = run.get("originalUriBaseIds", {})
        for rule in run["tool"]["driver"]["rules"]:
            for field in ("shortDescription", "fullDescription", "help"):
                if not rule.get(field, {}).get("text"):
                    problems.append(f"{rule['id']}: no {field}")
            if not rule.get("helpUri", "").startswith("https://"):
                problems.append(f"{rule['id']}: no helpUri")
            if not rule.get("name") or "-" in rule["name"]:
                problems.append(f"{rule['id']}: no friendly name")
        for res in run["results"]:
            if not res.get("partialFingerprints"):
                problems.append(f"{res['ruleId']}: no partialFingerprints")
            (loc,) = res["locations"]
            art = loc["physicalLocation"]["artifactLocation"]
            uri = art["uri"]
            if "://" in uri or uri.startswith(("/", "../")) or "\\" in uri:
                problems.append(f"{uri}: not relative to the repository root")
            if art.get("uriBaseId") not in bases:
                problems.append(f"{uri}: uriBaseId without originalUriBaseIds")
            if "startLine" not in loc["physicalLocation"].get("region", {}):
                problems.append(f"{uri}: no startLine")
        for base in bases.values():
            if not (base["uri"].startswith("file:///") and base["uri"].endswith("/")):
                problems.append(f"{base}: checkout path is not an absolute file URI")
    return problems
