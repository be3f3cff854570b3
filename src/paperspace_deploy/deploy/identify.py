"""Which spec version is ours? Decided from what the server tells us, never byte equality.

The upsert answers only `{deploymentId}`. Our spec is the version that appeared after the
upsert -- after the spec that was live before it (`prev`) in `/history`, newest first -- and:
  * its data equals ours once both sides are normalised with every documented default
    (`specdiff.same_spec`), or
  * its data is compatible with ours (no value contradicts: a server that fills an undocumented
    default or strips a key it does not know) AND either it carries our git sha header or it is
    the only version that appeared since our upsert.
A version carrying another git sha is never ours. All functions here are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paperspace_deploy.specdiff import compatible, same_spec

Spec = Mapping[str, Any]


def git_sha(spec: Spec) -> str | None:
    meta = spec.get("metadata") or {}
    git = meta.get("gitHeaders") if isinstance(meta, Mapping) else None
    sha = git.get("x-git-sha") if isinstance(git, Mapping) else None
    return sha if isinstance(sha, str) else None


def is_ours(spec: Spec, config: Mapping[str, Any], sha: str | None, *, alone: bool) -> bool:
    theirs = git_sha(spec)
    if sha and theirs and theirs != sha:  # another commit's spec
        return False
    data = spec.get("data")
    if same_spec(data, config):
        return True
    return compatible(data, config) and (alone or (sha is not None and theirs == sha))


def since(history: Sequence[Spec], prev: str | None) -> list[Spec]:
    """The versions newer than `prev` (history is newest first; all of it when prev is None)."""
    out = []
    for item in history:
        if prev is not None and item.get("id") == prev:
            break
        out.append(item)
    return out


def find_ours(history: Sequence[Spec], prev: str | None, config: Mapping[str, Any],
              sha: str | None) -> str | None:  # fmt: skip
    """The newest version after `prev` that is ours, or None."""
    new = since(history, prev)
    for item in new:
        if item.get("id") and is_ours(item, config, sha, alone=len(new) == 1):
            return str(item["id"])
    return None


def is_newer(history: Sequence[Spec], spec_id: str | None, our: str) -> bool:
    """Is `spec_id` newer than our spec? Unknown to the history counts as newer."""
    for item in history:
        if item.get("id") == spec_id:
            return True
        if item.get("id") == our:
            return False
    return True
