"""OCI image labels from the CI context, as docker/metadata-action fills them.

User `--label` values win over computed ones. Only the five labels issue 4 names: the legacy
builder turns the labels into a final LABEL step (a container commit), so every label costs.

`created` is the commit's time, not the build's: SOURCE_DATE_EPOCH (reproducible builds), else
the CI's commit timestamp (GitLab's CI_COMMIT_TIMESTAMP, the pushed head commit in GitHub's event
payload), else now. A label that changes every run would make an unchanged rebuild redo its
LABEL step on the legacy builder and give a new image ID on every builder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from paperspace_deploy.ci_context import CiContext, _event_payload

PREFIX = "org.opencontainers.image."


def _iso(text: object) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def commit_time(environ: Mapping[str, str]) -> datetime | None:
    """The CI's commit timestamp, where the CI tells it."""
    if gitlab := _iso(environ.get("CI_COMMIT_TIMESTAMP")):
        return gitlab
    if environ.get("GITHUB_ACTIONS") == "true" or environ.get("GITHUB_EVENT_PATH"):
        payload = _event_payload(environ.get("GITHUB_EVENT_PATH"))
        head = payload.get("head_commit")
        if isinstance(head, dict) and (when := _iso(head.get("timestamp"))):
            return when
    return None


def created_at(environ: Mapping[str, str]) -> str:
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit() and int(epoch) < 253402300800:  # before year 10000
        when = datetime.fromtimestamp(int(epoch), UTC)
    else:
        when = commit_time(environ) or datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def oci_labels(
    ctx: CiContext, version: str | None, environ: Mapping[str, str], user: Mapping[str, str]
) -> dict[str, str]:
    labels: dict[str, str] = {PREFIX + "created": created_at(environ)}
    if ctx.source_url:
        labels[PREFIX + "source"] = ctx.source_url
    if ctx.sha:
        labels[PREFIX + "revision"] = ctx.sha
    if version:
        labels[PREFIX + "version"] = version
    if ctx.title:
        labels[PREFIX + "title"] = ctx.title
    labels.update(user)
    return labels
