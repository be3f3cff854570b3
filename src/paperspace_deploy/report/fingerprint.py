"""Fingerprints that identify one problem across runs (SARIF partialFingerprints, GitLab).

Built from the rule, the file's path from the repository root and the finding's JSONPath, never
from line numbers or message text, so an unrelated edit (an env entry added above) keeps every
fingerprint. Two findings with the same three are told apart by their order.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from paperspace_deploy.report.result import ReportContext
from paperspace_deploy.spec.findings import Finding


def fingerprints(findings: Sequence[Finding], ctx: ReportContext) -> list[str]:
    seen: Counter[tuple[str, str, str]] = Counter()
    out = []
    for f in findings:
        base = (f.rule, ctx.relative(f.path) or f.path, f.json_path or "")
        key = "\0".join((*base, str(seen[base])))
        seen[base] += 1
        out.append(hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return out
