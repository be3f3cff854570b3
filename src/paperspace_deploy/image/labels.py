"""OCI image labels from the CI context, as docker/metadata-action fills them.

User `--label` values win over computed ones. Only the five labels issue 4 names: the legacy
builder turns each label into its own LABEL step (a container commit), so every label costs.
`created` honours SOURCE_DATE_EPOCH (reproducible builds); otherwise it is the current UTC time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from paperspace_deploy.ci_context import CiContext

PREFIX = "org.opencontainers.image."


def created_at(environ: Mapping[str, str]) -> str:
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.now(UTC)
    if epoch.isdigit():
        when = datetime.fromtimestamp(int(epoch), UTC)
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
