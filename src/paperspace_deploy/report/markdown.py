"""Untrusted text in Markdown: one table cell or inline code, escaped once for every document
we write (the job summary, the PR comment, the cost section). HTML-escaped, pipes and newlines
neutralised (`md_escape`), Markdown that could forge links, emphasis or code spans made inert
with entities, no autolinks, cut to a limit."""

from __future__ import annotations

import html
from collections.abc import Sequence

from paperspace_deploy.report.github import md_escape

MAX_CELL = 300

# Markdown that untrusted text could use to forge links, emphasis or code spans; entities keep
# the characters visible without their meaning (they decode inside <code> too, unlike backticks).
_INERT = str.maketrans({"[": "&#91;", "]": "&#93;", "`": "&#96;", "*": "&#42;", "_": "&#95;",
                        "~": "&#126;", "!": "&#33;"})  # fmt: skip


def cell(value: object, limit: int = MAX_CELL) -> str:
    """Untrusted text for a table cell: escaped, inert Markdown, no autolinks, cut to `limit`."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _inert(md_escape(text))


def _inert(escaped: str) -> str:
    return escaped.translate(_INERT).replace("://", "&#58;//").replace("www.", "www&#46;")


def code(value: object, limit: int = MAX_CELL) -> str:
    return f"<code>{cell(value, limit)}</code>"


def pre(lines: Sequence[str], limit: int = MAX_CELL * 2) -> str:
    """Untrusted lines as one <pre> block: each escaped like a cell (no Markdown, no links,
    no HTML), and never a blank line, which would end the HTML block early."""
    cut = [line if len(line) <= limit else line[: limit - 1] + "…" for line in lines]
    return "<pre>" + "\n".join(_inert(html.escape(line)) or "&#32;" for line in cut) + "</pre>"
