"""Seed data for the emulator: API keys, projects, registry connections and timings.

JSON file shape (every key optional):
    {"apiKeys": ["key-1"],
     "projects": [{"id": "p28rlnvnw51", "name": "demo"}],
     "containerRegistries": [{"name": "ci-registry", "url": "http://127.0.0.1:5000",
                              "namespace": "", "username": "ci", "password": "...",
                              "kind": "other"}],
     "timings": {"visible_after": 0, "apply_after": 2, "healthy_after": 5,
                 "pull_check": "offline"},
     "mode": "crash-loop",
     "variance": ["defaults-filled", "zod-union"]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paperspace_deploy.emulator.pull import PULL_CHECKS
from paperspace_deploy.emulator.state import MODES, State, Timings
from paperspace_deploy.emulator.variance import Variance


class SeedError(ValueError):
    pass


def apply_seed(state: State, seed: dict[str, Any]) -> None:
    if not isinstance(seed, dict):
        raise SeedError("seed must be a JSON object")
    for key in seed.get("apiKeys", []):
        if not isinstance(key, str) or not key.strip():
            raise SeedError("apiKeys must be non-empty strings")
        state.add_key(key.strip())
    for project in seed.get("projects", []):
        if not isinstance(project, dict) or not isinstance(project.get("id"), str):
            raise SeedError("each project needs a string 'id'")
        state.add_project(project["id"], str(project.get("name", project["id"])))
    for registry in seed.get("containerRegistries", []):
        missing = [k for k in ("name", "url", "username", "password") if k not in registry]
        if missing:
            raise SeedError(f"container registry is missing {', '.join(missing)}")
        state.add_registry(registry)
    raw = seed.get("timings") or {}
    if not isinstance(raw, dict):
        raise SeedError("timings must be an object")
    timings = dict(raw)
    check = timings.get("pull_check", state.timings.pull_check)
    if isinstance(check, bool):  # the older boolean form
        check = "offline" if check else "off"
    if check not in PULL_CHECKS:
        raise SeedError(f"timings.pull_check must be one of {', '.join(PULL_CHECKS)}")
    timings["pull_check"] = check
    try:
        state.timings = Timings(**{**state.timings.__dict__, **timings})
    except TypeError as exc:
        raise SeedError(f"bad timings: {exc}") from None
    rules = seed.get("serverRules") or []
    from paperspace_deploy.emulator.validate import SERVER_RULES

    if not isinstance(rules, list) or any(r not in SERVER_RULES for r in rules):
        raise SeedError(f"serverRules must be a list of {', '.join(SERVER_RULES)}")
    state.server_rules.update(rules)
    variance = seed.get("variance") or []
    if isinstance(variance, str):
        variance = variance.split(",")
    try:
        state.variance = Variance([*state.variance.names, *variance])
    except ValueError as exc:
        raise SeedError(str(exc)) from None
    mode = seed.get("mode")
    if mode is not None:
        if mode not in MODES:
            raise SeedError(f"mode must be one of {', '.join(MODES)}")
        state.forced_mode = mode


def load_seed(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SeedError(f"seed file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must hold a JSON object")
    return data
