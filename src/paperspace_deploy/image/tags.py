"""Tag rules as docker/metadata-action applies them, computed from the CI context.

  sha       sha-<7 hex>              every build with a commit
  sha-long  sha-<40 hex>             (opt-in)
  branch    <branch>, `/` -> `-`     branch builds (not tags, not pull requests)
  tag       <git tag>                tag builds
  semver    1.2.3, 1.2, 1            tag builds whose tag is semver (v prefix allowed);
                                     pre-releases give only their full version, as metadata-action
  pr        pr-<N>                   pull/merge requests
  latest    latest                   builds of the default branch only

Explicit tags come first; every tag is sanitised to `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` and the
list is de-duplicated, keeping the first occurrence. An explicit tag may also be a full reference,
as docker/build-push-action's `tags` takes them (`ghcr.io/acme/app:1.2`): accepted when it names
the image's own repository (its tag is used; no tag means `latest`), refused otherwise -- never
sanitised into a tag named `ghcr.io-acme-app-1.2`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from paperspace_deploy.ci_context import CiContext
from paperspace_deploy.errors import InputError
from paperspace_deploy.image.reference import registry_of, repository_path, split_tag

DEFAULT_TAG_RULES = ("sha", "branch", "tag", "semver", "pr", "latest")
ALL_TAG_RULES = (*DEFAULT_TAG_RULES, "sha-long")

SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


def sanitize(tag: str) -> str:
    """Replace runs of invalid characters with `-`, drop leading `.`/`-`, cut at 128."""
    tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", tag.strip())
    tag = tag.lstrip(".-")
    return tag[:128]


@dataclass(frozen=True)
class Semver:
    major: str
    minor: str
    patch: str
    prerelease: str | None
    build: str | None

    @property
    def version(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text


def parse_semver(text: str) -> Semver | None:
    m = SEMVER.match(text.strip())
    return Semver(*m.groups()) if m else None


def rule_tags(ctx: CiContext, rules: Iterable[str]) -> list[str]:
    rules = set(rules)
    out: list[str] = []
    if ctx.tag:
        sv = parse_semver(ctx.tag)
        if "semver" in rules and sv:
            out.append(sv.version)
            if not sv.prerelease:
                out += [f"{sv.major}.{sv.minor}", sv.major]
        if "tag" in rules:
            out.append(ctx.tag)
    if ctx.branch and "branch" in rules:
        out.append(ctx.branch)
    if ctx.pr and "pr" in rules:
        out.append(f"pr-{ctx.pr}")
    if ctx.sha and re.fullmatch(r"[0-9a-fA-F]{7,64}", ctx.sha):
        if "sha" in rules:
            out.append(f"sha-{ctx.sha[:7].lower()}")
        if "sha-long" in rules:
            out.append(f"sha-{ctx.sha.lower()}")
    if "latest" in rules and ctx.on_default_branch and not ctx.is_pull_request:
        out.append("latest")
    return out


def _same_repository(a: str, b: str) -> bool:
    return registry_of(a) == registry_of(b) and repository_path(a) == repository_path(b)


def explicit_tag(value: str, image: str | None) -> str:
    """One explicit tag: a plain tag as it is, or the tag of a full reference to `image`."""
    text = value.strip()
    digest = re.search(r"@[A-Za-z][A-Za-z0-9]*:[0-9a-fA-F]{32,}$", text)
    if "/" not in text and not digest:
        return text
    show = text if len(text) <= 80 else text[:77] + "..."
    if digest:
        raise InputError(
            f"tag {show!r} is a digest reference; tags name what to push",
            hint="give a tag (e.g. 1.2) or a reference with a tag (e.g. ghcr.io/org/app:1.2)",
        )
    repo, tag = split_tag(text)
    if image is None or not _same_repository(repo, image):
        raise InputError(
            f"tag {show!r} names another repository than the image"
            + (f" ({image})" if image else ""),
            hint="one build pushes to one repository: give tags of that repository only "
            "(plain tags such as 1.2, or full references to the image)",
        )
    return tag or "latest"


def compute_tags(
    explicit: Iterable[str], ctx: CiContext, rules: Iterable[str], image: str | None = None
) -> list[str]:
    """Explicit tags, then rule tags; sanitised and de-duplicated. Empty when there is nothing.
    `image` is the repository full-reference tags must name."""
    seen: dict[str, None] = {}
    for raw in [*(explicit_tag(t, image) for t in explicit), *rule_tags(ctx, rules)]:
        tag = sanitize(raw)
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def version_of(ctx: CiContext, tags: list[str]) -> str | None:
    """The `org.opencontainers.image.version` label: semver, else git tag, branch, pr-N, tag."""
    if ctx.tag:
        sv = parse_semver(ctx.tag)
        return sanitize(sv.version if sv else ctx.tag)
    if ctx.branch:
        return sanitize(ctx.branch)
    if ctx.pr:
        return f"pr-{ctx.pr}"
    return tags[0] if tags else None
