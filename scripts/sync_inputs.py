"""Write action.yml's `inputs:` and docs/action.md's input table from the option table.

    python scripts/sync_inputs.py          # rewrite both
    python scripts/sync_inputs.py --check  # exit 1 when either is out of date (tests run this)

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


def render_action_yml(text: str) -> str:
    return re.sub(r"(?ms)^inputs:\n.*?(?=^outputs:)", _yaml_inputs() + "\n", text)


def render_doc(text: str) -> str:
    pattern = re.compile(re.escape(DOC_BEGIN) + ".*?" + re.escape(DOC_END), re.S)
    return pattern.sub(lambda _m: f"{DOC_BEGIN}\n{_doc_table()}\n{DOC_END}", text)


def main() -> int:
    targets = {ROOT / "action.yml": render_action_yml, ROOT / "docs" / "action.md": render_doc}
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
