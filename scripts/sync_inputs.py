"""Write action.yml's `inputs:` and the input tables of docs/action.md and README.md from the
option table, and README.md's output table from action.yml's `outputs:`.

    python scripts/sync_inputs.py          # rewrite them
    python scripts/sync_inputs.py --check  # exit 1 when any is out of date (tests run this)

The option table (`src/paperspace_deploy/options.py`) is the single source: a new option is
added there, then this script updates the action's metadata and the docs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from paperspace_deploy import options  # noqa: E402

MODE_HELP = (
    "What to do: deploy (lint, build if context is set, deploy and wait), lint (no secrets "
    "needed; for pull requests), build (build and push only), plan (show what deploy would "
    "change), preview (deploy the pull request as <name>-pr-<number>, capped), cleanup (delete "
    "the pull request's preview) or sweep (delete previews past preview-ttl)."
)
DOC_BEGIN, DOC_END = "<!-- inputs:begin -->", "<!-- inputs:end -->"
OUT_BEGIN, OUT_END = "<!-- outputs:begin -->", "<!-- outputs:end -->"


def _yaml_inputs() -> str:
    lines = ["inputs:", "  mode:", f"    description: {json.dumps(MODE_HELP)}",
             "    required: false", "    default: deploy"]  # fmt: skip
    for o in options.OPTIONS:
        if not o.action:
            continue
        names = [o.name, *o.aliases]
        for name in names:
            main = name == o.name
            help_text = o.help if main else f"Older name of '{o.name}'."
            default = options.action_default(o) if main else ""
            lines += [f"  {name}:", f"    description: {json.dumps(help_text)}",
                      "    required: false", f"    default: {json.dumps(default)}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _doc_table() -> str:
    rows = ["| Input | Default | Stages | Meaning |", "|---|---|---|---|",
            f"| `mode` | `deploy` | | {MODE_HELP} |"]  # fmt: skip
    for o in options.OPTIONS:
        if not o.action:
            continue
        default = options.action_default(o)
        flags = ", ".join(f"`{f}`" for f in o.cli_flags) if o.cli else "(action only)"
        also = f" Older name: `{o.aliases[0]}`." if o.aliases else ""
        rows.append(
            f"| `{o.name}` | {f'`{default}`' if default else ''} | {', '.join(o.stages)} | "
            f"{o.help}{also} CLI: {flags}. |"
        )
    return "\n".join(rows)


def _outputs_table(action_yml: str) -> str:
    import yaml

    outputs = yaml.safe_load(action_yml).get("outputs") or {}
    rows = ["| Output | Value |", "|---|---|"]
    rows += [f"| `{name}` | {o.get('description', '')} |" for name, o in outputs.items()]
    return "\n".join(rows)


def _between(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    return pattern.sub(lambda _m: f"{begin}\n{body}\n{end}", text)


def render_readme(text: str) -> str:
    action_yml = (ROOT / "action.yml").read_text(encoding="utf-8")
    text = _between(text, DOC_BEGIN, DOC_END, _doc_table())
    return _between(text, OUT_BEGIN, OUT_END, _outputs_table(action_yml))


def render_action_yml(text: str) -> str:
    return re.sub(r"(?ms)^inputs:\n.*?(?=^outputs:)", _yaml_inputs() + "\n", text)


def render_doc(text: str) -> str:
    return _between(text, DOC_BEGIN, DOC_END, _doc_table())


def main() -> int:
    # action.yml first: the README's output table is read from it
    targets = {
        ROOT / "action.yml": render_action_yml,
        ROOT / "docs" / "action.md": render_doc,
        ROOT / "README.md": render_readme,
    }
    stale = []
    for path, render in targets.items():
        old = path.read_text(encoding="utf-8")
        new = render(old)
        if new != old:
            stale.append(path.relative_to(ROOT).as_posix())
            if "--check" not in sys.argv:
                path.write_text(new, encoding="utf-8")
    if stale and "--check" in sys.argv:
        print(f"out of date with the option table: {', '.join(stale)}; run scripts/sync_inputs.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
