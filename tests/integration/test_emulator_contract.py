"""The emulator speaks reference §2 over real HTTP (raw requests, no client in between)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from paperspace_deploy.emulator import Emulator, State
from paperspace_deploy.emulator.seed import apply_seed
from paperspace_deploy.emulator.state import Timings

pytestmark = pytest.mark.integration
# what each variance profile makes of an instance state (docs/emulator.md), stated here on its own
WORDS = {
    "states-lower": {"running": "healthy", "crash-loop": "error", "pull-error": "error"},
    "states-legacy": {"running": "Running", "crash-loop": "Errored", "pull-error": "Failed"},
    "states-k8s": {"running": "Running", "crash-loop": "CrashLoopBackOff",
                   "pull-error": "ErrImagePull"},
}  # fmt: skip


def word(variance, state):
    """The state word the emulator shows under `variance` for a canonical state."""
    for name, table in WORDS.items():
        if name in variance:
            return table[state]
    return "errored" if state in ("crash-loop", "pull-error") else state


def page_size(variance, asked):
    return min(asked, 2) if "small-pages" in variance else asked


CONFIG = {
    "apiVersion": "v1",
    "name": "demo",
    "image": "nginx:1.25",
    "resources": {"machineType": "C4", "ports": [80]},
}
GIT = {
    "x-git-host": "github",
    "x-git-actor": "octocat",
    "x-git-owner": "acme",
    "x-git-repo": "app",
    "x-git-ref": "main",
    "x-git-sha": "0123456789abcdef",
}


def auth(emulator, **headers):
    return {"Authorization": f"Bearer {emulator.key}", **headers}


def post(emulator, body, **headers):
    return requests.post(
        f"{emulator.url}/deployments", json=body, headers=auth(emulator, **headers), timeout=5
    )


def test_auth_exact_401_body_for_missing_and_wrong_key(emulator):
    expected = {"message": "You must be logged in to access this method.", "code": "UNAUTHORIZED"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": emulator.key}):
        resp = requests.get(f"{emulator.url}/projects", headers=headers, timeout=5)
        assert resp.status_code == 401
        assert resp.json() == expected


def test_unknown_route_and_wrong_method_are_404_not_found(emulator):
    body = {"message": "Not found", "code": "NOT_FOUND"}
    for method, path in (("GET", "/nope"), ("PUT", "/deployments"), ("PATCH", "/projects")):
        resp = requests.request(method, emulator.url + path, headers=auth(emulator), timeout=5)
        assert (resp.status_code, resp.json()) == (404, body)
    assert requests.get(emulator.url.replace("/v1", "/v2/x"), timeout=5).status_code == 404


def test_health_needs_no_key(emulator):
    resp = requests.get(f"{emulator.url}/health", timeout=5)
    assert (resp.status_code, resp.json()) == (200, "HEALTHY")


def test_upsert_creates_then_updates_with_new_spec_versions_and_git_headers(emulator, variance):
    first = post(emulator, {"projectId": emulator.project_id, "config": CONFIG}, **GIT)
    assert first.status_code == 200
    dep_id = first.json()["deploymentId"]
    second = post(
        emulator, {"projectId": emulator.project_id, "config": {**CONFIG, "image": "nginx:2"}}
    )
    assert second.json() == {"deploymentId": dep_id}  # same (projectId, name) -> same deployment
    history = requests.get(
        f"{emulator.url}/deployments/{dep_id}/history", headers=auth(emulator), timeout=5
    ).json()
    assert len(history["items"]) == 2 and history["hasMore"] is False
    newest, oldest = history["items"]  # order desc by default
    assert newest["data"]["image"] == "nginx:2"
    assert oldest["metadata"] == {"gitHeaders": GIT}
    assert newest["metadata"] is None  # headers missing -> nothing stored
    if "verbatim" in variance:  # stored as sent: no defaults
        assert oldest["data"] == CONFIG
    else:
        assert oldest["data"]["enabled"] is True and oldest["data"]["resources"]["replicas"] == 1


def test_upsert_by_deployment_id_and_unknown_ids(emulator):
    dep_id = post(emulator, {"projectId": emulator.project_id, "config": CONFIG}).json()[
        "deploymentId"
    ]
    renamed = {**CONFIG, "name": "renamed"}
    resp = post(
        emulator, {"projectId": emulator.project_id, "config": renamed, "deploymentId": dep_id}
    )
    assert resp.json() == {"deploymentId": dep_id}
    dep = requests.get(f"{emulator.url}/deployments/{dep_id}", headers=auth(emulator), timeout=5)
    assert dep.json()["name"] == "renamed"
    missing = post(emulator, {"projectId": "pnope", "config": CONFIG})
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


def test_validation_errors_are_zod_issues_and_unknown_keys_are_stripped(emulator, variance):
    bad = {**CONFIG, "image": 5, "resources": {"machineType": "C4", "ports": ["80"]}}
    resp = post(emulator, {"projectId": emulator.project_id, "config": bad})
    assert resp.status_code == 400
    body = resp.json()
    assert body["message"] == "Input validation failed" and body["code"] == "BAD_REQUEST"
    if "zod-union" in variance:  # one vague issue; the field issues hide in its unionErrors
        (issue,) = body["issues"]
        assert (issue["code"], issue["path"], issue["message"]) == (
            "invalid_union",
            ["config"],
            "Invalid input",
        )
        paths = [i["path"] for err in issue["unionErrors"] for i in err["issues"]]
    else:
        paths = [issue["path"] for issue in body["issues"]]
    assert ["config", "image"] in paths
    assert ["config", "resources", "ports", 0] in paths
    ok = post(emulator, {"projectId": emulator.project_id, "config": {**CONFIG, "typo": 1}})
    if "reject-unknown" in variance:
        assert ok.status_code == 400
        assert "unrecognized_keys" in json.dumps(ok.json()) and "typo" in json.dumps(ok.json())
        return
    dep_id = ok.json()["deploymentId"]
    dep = requests.get(f"{emulator.url}/deployments/{dep_id}", headers=auth(emulator), timeout=5)
    assert ("typo" in dep.json()["latestSpec"]["data"]) is ("verbatim" in variance)


def test_body_parsed_only_for_exact_application_json(emulator):
    import json

    resp = requests.post(
        f"{emulator.url}/deployments",
        data=json.dumps({"projectId": emulator.project_id, "config": CONFIG}),
        headers=auth(emulator, **{"Content-Type": "application/json; charset=utf-8"}),
        timeout=5,
    )
    assert resp.status_code == 400  # body ignored -> validation fails, like trpc-openapi


def test_rollout_state_machine_runs_and_delete(emulator, variance):
    # slower than the fixture's timings: the "not yet applied" reads must not race a loaded machine
    emulator.state.timings = Timings(apply_after=1.0, healthy_after=1.2)
    dep_id = post(emulator, {"projectId": emulator.project_id, "config": CONFIG}).json()[
        "deploymentId"
    ]
    url = f"{emulator.url}/deployments/{dep_id}"
    spec = requests.get(url, headers=auth(emulator), timeout=5).json()["latestSpec"]
    assert spec["externalApplied"] is None and spec["dtHealthy"] is None
    assert requests.get(url + "/runs", headers=auth(emulator), timeout=5).json() == []
    deadline = time.monotonic() + 10
    while not spec["dtHealthy"] and time.monotonic() < deadline:
        time.sleep(0.05)
        spec = requests.get(url, headers=auth(emulator), timeout=5).json()["latestSpec"]
    assert spec["externalApplied"] and spec["dtHealthy"] and spec["error"] is None
    runs = requests.get(url + "/runs", headers=auth(emulator), timeout=5).json()
    assert isinstance(runs, list) and runs[0]["replicas"] == runs[0]["readyReplicas"] == 1
    assert runs[0]["instances"][0]["state"] == word(variance, "running")
    logs = requests.get(url + "/logs", headers=auth(emulator), timeout=5).json()
    if "logs-bare" in variance:  # the envelope is not pinned down: a bare array
        assert isinstance(logs, list) and logs[0]["instanceId"]
    else:
        assert logs["hasMore"] is False and logs["items"][0]["instanceId"]
    deleted = requests.delete(url, headers=auth(emulator), timeout=5)
    assert (deleted.status_code, deleted.json()) == (200, {"id": dep_id})
    assert requests.get(url, headers=auth(emulator), timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("config", "expect"),
    [
        ({**CONFIG, "enabled": False}, "disabled"),
        ({**CONFIG, "resources": {"machineType": "C4", "ports": [80], "replicas": 0}}, "disabled"),
        ({**CONFIG, "env": [{"name": "PSD_EMULATOR_MODE", "value": "crash-loop"}]}, "crash"),
        ({**CONFIG, "env": [{"name": "PSD_EMULATOR_MODE", "value": "pre-apply-error"}]}, "error"),
    ],
)
def test_failure_and_disabled_modes(emulator, variance, config, expect):
    dep_id = post(emulator, {"projectId": emulator.project_id, "config": config}).json()[
        "deploymentId"
    ]
    time.sleep(0.08)
    url = f"{emulator.url}/deployments/{dep_id}"
    spec = requests.get(url, headers=auth(emulator), timeout=5).json()["latestSpec"]
    runs = requests.get(url + "/runs", headers=auth(emulator), timeout=5).json()
    if expect == "disabled":
        assert spec["externalApplied"] and spec["dtHealthy"] is None
        if "disabled-draining" in variance:  # one run left, with no replica wanted
            assert [(r["replicas"], r["readyReplicas"]) for r in runs] == [(0, 0)]
        else:
            assert runs == []
    elif expect == "crash":
        assert spec["externalApplied"] and spec["dtHealthy"] is None
        assert runs[0]["instances"][0]["state"] == word(variance, "crash-loop")
        assert "CrashLoopBackOff" in runs[0]["instances"][0]["stateMessage"]
    else:
        assert spec["error"] and spec["externalApplied"] is None and runs == []


def test_pagination_cursor_limit_and_order(emulator, variance):
    for i in range(7):
        emulator.state.add_registry(
            {"name": f"r{i}", "url": "https://ghcr.io", "username": "u", "password": "secret-pw"}
        )
    names, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = requests.get(
            f"{emulator.url}/container-registries",
            params=params,
            headers=auth(emulator),
            timeout=5,
        ).json()
        names += [item["name"] for item in page["items"]]
        assert len(page["items"]) <= page_size(variance, 3)
        assert all("password" not in item for item in page["items"])
        if not page["hasMore"]:
            assert page.get("nextPage") is None
            break
        after = page["nextPage"]
    assert names == [f"r{i}" for i in reversed(range(7))]  # desc by default
    asc = requests.get(
        f"{emulator.url}/container-registries",
        params={"order": "asc", "limit": 120},
        headers=auth(emulator),
        timeout=5,
    ).json()
    assert [i["name"] for i in asc["items"]] == [f"r{i}" for i in range(page_size(variance, 7))]
    for limit in (0, 121, "x"):
        resp = requests.get(
            f"{emulator.url}/container-registries",
            params={"limit": limit},
            headers=auth(emulator),
            timeout=5,
        )
        assert resp.status_code == 400 and resp.json()["issues"][0]["path"] == ["limit"]


def test_name_filter_and_projects(emulator, variance):
    for name in ("web", "web-staging", "api"):
        post(emulator, {"projectId": emulator.project_id, "config": {**CONFIG, "name": name}})
    page = requests.get(
        f"{emulator.url}/projects/{emulator.project_id}/deployments",
        params={"name": "web"},
        headers=auth(emulator),
        timeout=5,
    ).json()
    found = sorted(i["name"] for i in page["items"])
    assert found == (["web"] if "name-exact" in variance else ["web", "web-staging"])
    project = requests.get(
        f"{emulator.url}/projects/{emulator.project_id}", headers=auth(emulator), timeout=5
    )
    assert project.json()["id"] == emulator.project_id
    missing = requests.get(f"{emulator.url}/projects/pnope", headers=auth(emulator), timeout=5)
    assert missing.status_code == 404


def test_registry_crud_never_echoes_password_and_test_connection_is_real(emulator, registry):
    url = f"{emulator.url}/container-registries"
    body = {
        "name": "ci",
        "url": registry.url,
        "namespace": "",
        "username": registry.username,
        "password": registry.password,
        "kind": "other",
    }
    created = requests.post(url, json=body, headers=auth(emulator), timeout=5)
    assert created.status_code == 200
    assert "password" not in created.json() and registry.password not in created.text
    rid = created.json()["id"]
    test = requests.get(f"{url}/{rid}/test-connection", headers=auth(emulator), timeout=10)
    assert test.json() == {"success": True}
    updated = requests.put(
        f"{url}/{rid}", json={"password": "wrong-password"}, headers=auth(emulator), timeout=5
    )
    assert updated.status_code == 200 and "password" not in updated.json()
    test = requests.get(f"{url}/{rid}/test-connection", headers=auth(emulator), timeout=10)
    assert test.json()["success"] is False and "unauthorized" in test.json()["error"]
    bad = requests.post(url, json={"name": "x"}, headers=auth(emulator), timeout=5)
    assert bad.status_code == 400 and {"path": ["url"]}.items() <= bad.json()["issues"][1].items()
    gone = requests.delete(f"{url}/{rid}", headers=auth(emulator), timeout=5)
    assert gone.json()["id"] == rid and "password" not in gone.json()
    assert requests.get(f"{url}/{rid}", headers=auth(emulator), timeout=5).status_code == 404


def test_image_not_pullable_with_wrong_connection_password(
    emulator, variance, registry, tiny_image
):
    emulator.add_registry("good", registry)
    emulator.add_registry("bad", registry, password="not-the-password")
    ids = {}
    for name in ("good", "bad"):
        config = {**CONFIG, "name": f"app-{name}", "image": tiny_image, "containerRegistry": name}
        ids[name] = post(emulator, {"projectId": emulator.project_id, "config": config}).json()[
            "deploymentId"
        ]
    time.sleep(0.08)
    good = requests.get(f"{emulator.url}/deployments/{ids['good']}/runs", headers=auth(emulator))
    bad = requests.get(f"{emulator.url}/deployments/{ids['bad']}/runs", headers=auth(emulator))
    assert good.json()[0]["instances"][0]["state"] == word(variance, "running")
    instance = bad.json()[0]["instances"][0]
    assert instance["state"] == word(variance, "pull-error")
    assert instance["stateMessage"].startswith(f'Failed to pull image "{tiny_image}"')
    assert "unauthorized" in instance["stateMessage"]


def test_seed_and_cli_emulator_process(tmp_path):
    import json
    import subprocess
    import sys

    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "apiKeys": ["k1"],
                "projects": [{"id": "pseeded0001", "name": "seeded"}],
                "containerRegistries": [
                    {"name": "hub", "url": "https://index.docker.io", "username": "u",
                     "password": "pw"}
                ],
                "timings": {"apply_after": 0.01, "healthy_after": 0.02},
            }
        )
    )  # fmt: skip
    state = State()
    apply_seed(state, json.loads(seed.read_text()))
    assert state.timings.healthy_after == 0.02 and "pseeded0001" in state.projects
    with subprocess.Popen(
        [sys.executable, "-m", "paperspace_deploy", "emulator", "--port", "0", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            line = proc.stdout.readline()
            url = line.split(" on ", 1)[1].strip()
            resp = requests.get(
                f"{url}/container-registries", headers={"Authorization": "Bearer k1"}, timeout=5
            )
            assert [i["name"] for i in resp.json()["items"]] == ["hub"]
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


def test_emulator_binds_and_stops_cleanly():
    with Emulator().start() as emu:
        assert requests.get(emu.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--fault", "explode@*"], "unknown fault kind"),
        (["--seed", "/nonexistent/seed.json"], "cannot read seed file"),
        (["--registry", "ci=http://127.0.0.1:1,user,PSD_NO_SUCH_ENV"], "is not set"),
        (["--registry", "broken"], "NAME=URL,USER,PASSWORD_ENV"),
        (["--mode", "explode"], "--mode must be one of"),
        (["--server-rule", "nope"], "serverRules must be"),
    ],
)
def test_emulator_command_bad_arguments_are_usage_errors(argv, fragment):
    import io

    from paperspace_deploy.cli import main
    from paperspace_deploy.io import Io

    err = io.StringIO()
    code = main(
        ["emulator", "--port", "0", *argv], Io(stdout=io.StringIO(), stderr=err, environ={})
    )
    assert code == 2 and fragment in err.getvalue()
