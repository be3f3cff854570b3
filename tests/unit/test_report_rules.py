"""One rule table (report/rules.py): SARIF's rule descriptions and docs/linting.md come from it,
and every rule id a stage can emit is in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from paperspace_deploy.report.rules import RULES, markdown_table, replace_table
from paperspace_deploy.spec import lint_file

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "paperspace_deploy"
RULE_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAKERS = {"Finding", "add", "finding", "abort"}  # the calls that create findings


def test_docs_rule_list_is_the_generated_table():
    doc = (ROOT / "docs" / "linting.md").read_text("utf-8")
    assert markdown_table() in doc, (
        "docs/linting.md's rules table is stale: run "
        "`python -m paperspace_deploy.report.rules --write docs/linting.md`"
    )
    assert replace_table(doc) == doc
    for rule, entry in RULES.items():
        assert entry.short.endswith(".") and entry.full.endswith("."), rule
        assert entry.severity.split()[0] in ("error", "warning", "notice"), rule
        assert "|" not in entry.full + entry.severity, rule  # would break the table


def emitted_rule_ids() -> dict[str, str]:
    """Rule ids passed as string literals to the calls that create findings, anywhere in src/."""
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in MAKERS:
                continue
            for arg in node.args:
                value = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(value, str) and RULE_ID.fullmatch(value):
                    found.setdefault(value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_rule_a_stage_emits_is_in_the_table():
    emitted = emitted_rule_ids()
    assert {"unknown-key", "duplicate-key", "registry-unknown", "api-validation"} <= set(emitted)
    missing = {rule: where for rule, where in emitted.items() if rule not in RULES}
    assert missing == {}, "add these to report/rules.py RULES (then regenerate the docs)"


def test_every_rule_produced_by_the_fixtures_is_in_the_table():
    fixtures = ROOT / "tests" / "fixtures"
    produced = {
        f.rule
        for path in fixtures.rglob("*")
        if path.is_file()
        and path.suffix in (".yaml", ".json", ".jsonc", ".toml")
        and "schemas" not in path.parts
        for f in lint_file(path).findings
    }
    assert len(produced) >= 30
    assert produced <= set(RULES)
