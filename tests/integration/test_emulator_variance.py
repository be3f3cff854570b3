"""Each variance profile does what docs/emulator.md says, over real HTTP (raw requests).

Not parametrised by profile (each test picks its own); the deploy suite that must be right
under all of them is test_deploy*.py and test_emulator_contract.py.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from paperspace_deploy.emulator import pull
from paperspace_deploy.emulator.variance import NAMES, Variance

pytestmark = pytest.mark.integration
CONFIG = {"apiVersion": "v1", "name": "demo", "image": "nginx:1",
          "resources": {"machineType": "C4", "ports": [80]}}  # fmt: skip
CRASH = [{"name": "PSD_EMULATOR_MODE", "value": "crash-loop"}]


def use(emulator, *names):
    emulator.state.variance = Variance(names)


def post(emulator, config, **headers):
    return requests.post(
        f"{emulator.url}/deployments",
        json={"projectId": emulator.project_id, "config": config},
        headers={"Authorization": f"Bearer {emulator.key}", **headers},
        timeout=5,
    )


def get(emulator, path, **params):
    resp = requests.get(f"{emulator.url}{path}", params=params, timeout=5,
                        headers={"Authorization": f"Bearer {emulator.key}"})  # fmt: skip
    return resp.json()


def test_profile_names_are_checked():
    assert set(Variance.parse("zod-union,small-pages").names) == {"zod-union", "small-pages"}
    with pytest.raises(ValueError, match="unknown variance profile"):
        Variance(["zod-onion"])
    with pytest.raises(ValueError, match="exclude each other"):
        Variance(["defaults-filled", "verbatim"])
    assert len(NAMES) == 16


def test_defaults_filled_and_verbatim_storage(emulator):
    legacy = {"apiVersion": "v0alpha0", "name": "old", "image": "nginx:1",
              "resources": {"instanceType": "C4"},
              "healthChecks": {"readiness": {"path": "/"}}}  # fmt: skip
    use(emulator, "defaults-filled")
    dep_id = post(emulator, legacy).json()["deploymentId"]
    data = get(emulator, f"/deployments/{dep_id}")["latestSpec"]["data"]
    assert (data["port"], data["enabled"], data["resources"]["replicas"]) == (80, True, 1)
    assert data["healthChecks"]["readiness"]["periodSeconds"] == 10
    use(emulator, "verbatim")
    dep_id = post(emulator, {**CONFIG, "typo": 1}).json()["deploymentId"]
    assert get(emulator, f"/deployments/{dep_id}")["latestSpec"]["data"] == {**CONFIG, "typo": 1}


def test_latest_v1_only_flat_and_as_a_zod_union(emulator):
    legacy = {"apiVersion": "latest", "name": "x", "image": "i", "port": 7860,
              "resources": {"instanceType": "A4000"}}  # fmt: skip
    assert post(emulator, legacy).status_code == 200  # default: the 2023 reading
    use(emulator, "latest-v1-only")
    flat = post(emulator, legacy).json()["issues"]
    assert {tuple(i["path"]) for i in flat} == {
        ("config", "resources", "machineType"), ("config", "resources", "ports")}  # fmt: skip
    use(emulator, "latest-v1-only", "zod-union")
    (issue,) = post(emulator, legacy).json()["issues"]
    assert (issue["code"], issue["path"], issue["message"]) == (
        "invalid_union", ["config"], "Invalid input")  # fmt: skip
    first, second = (err["issues"] for err in issue["unionErrors"])
    assert [i["code"] for i in first] == ["invalid_union_discriminator"]  # v0alpha0 | v0alpha1
    assert {tuple(i["path"]) for i in second} == {
        ("config", "resources", "machineType"), ("config", "resources", "ports")}  # fmt: skip
    assert post(emulator, CONFIG).status_code == 200  # a good spec passes the union


@pytest.mark.parametrize(("profile", "running", "crashed"), [
    ("states-lower", "healthy", "error"), ("states-legacy", "Running", "Errored"),
    ("states-k8s", "Running", "CrashLoopBackOff")])  # fmt: skip
def test_state_spellings(emulator, profile, running, crashed):
    use(emulator, profile)
    ok = post(emulator, CONFIG).json()["deploymentId"]
    bad = post(emulator, {**CONFIG, "name": "bad", "env": CRASH}).json()["deploymentId"]
    time.sleep(0.08)
    assert get(emulator, f"/deployments/{ok}/runs")[0]["instances"][0]["state"] == running
    assert get(emulator, f"/deployments/{bad}/runs")[0]["instances"][0]["state"] == crashed


@pytest.mark.parametrize("profile", ["runs-many", "runs-many-oldest-first"])
def test_old_runs_stay_listed_in_either_order(emulator, profile):
    use(emulator, profile)
    dep_id = post(emulator, {**CONFIG, "env": CRASH}).json()["deploymentId"]
    post(emulator, CONFIG)
    time.sleep(0.08)
    runs = get(emulator, f"/deployments/{dep_id}/runs")
    states = [r["instances"][0]["state"] for r in runs]
    expect = ["running", "errored"]
    assert states == (expect if profile == "runs-many" else expect[::-1])
    assert len({r["id"] for r in runs}) == 2


def test_disabled_draining_keeps_a_zero_replica_run(emulator):
    use(emulator, "disabled-draining")
    dep_id = post(emulator, CONFIG).json()["deploymentId"]
    time.sleep(0.08)
    post(emulator, {**CONFIG, "enabled": False})
    time.sleep(0.08)
    (run,) = get(emulator, f"/deployments/{dep_id}/runs")
    assert (run["replicas"], run["readyReplicas"]) == (0, 0)
    assert [i["state"] for i in run["instances"]] == ["stopping"]


def test_name_exact_and_small_pages(emulator):
    for name in ("web", "web-staging", "web-2", "api"):
        post(emulator, {**CONFIG, "name": name})
    path = f"/projects/{emulator.project_id}/deployments"
    assert len(get(emulator, path, name="web")["items"]) == 3  # default: substring
    use(emulator, "name-exact")
    assert [i["name"] for i in get(emulator, path, name="web")["items"]] == ["web"]
    use(emulator, "small-pages")
    page = get(emulator, path, limit=120)
    assert len(page["items"]) == 2 and page["hasMore"] and page["nextPage"]


def test_git_headers_strict_refuses_a_partial_set(emulator):
    use(emulator, "git-headers-strict")
    partial = post(emulator, CONFIG, **{"x-git-sha": "abc"})
    assert partial.status_code == 400
    assert ["headers", "x-git-host"] in [i["path"] for i in partial.json()["issues"]]
    other_host = {k: "v" for k in ("x-git-host", "x-git-actor", "x-git-owner", "x-git-repo",
                                   "x-git-ref", "x-git-sha")}  # fmt: skip
    assert post(emulator, CONFIG, **other_host).status_code == 400
    assert post(emulator, CONFIG).status_code == 200  # none at all is fine
    assert post(emulator, CONFIG, **{**other_host, "x-git-host": "github"}).status_code == 200


def test_pull_check_offline_never_contacts_a_public_host(monkeypatch):
    contacted = []
    monkeypatch.setattr(
        "paperspace_deploy.image.digest.RegistryClient.head_manifest",
        lambda self, ref: contacted.append(self.host),
    )
    connection = {"url": "https://ghcr.io", "username": "u", "password": "the-password"}
    check = pull.check_pull("ghcr.io/acme/app:1", connection)
    assert check.problem is None and "not checked offline" in check.notice
    assert pull.check_pull("nginx:1", None).notice  # docker.io: also only noticed
    assert pull.check_pull("ghcr.io/acme/app:1", connection, "off") == pull.PullCheck()
    ok, error = pull.check_connection(connection)
    assert not ok and "not checked offline" in error
    assert contacted == []  # nothing (and no password) left loopback


def test_pull_check_online_asks_the_public_host(monkeypatch):
    asked = []

    class Answer:
        status_code = 200

    def head(self, ref):
        asked.append((self.host, self.path, ref, self.creds))
        return Answer()

    monkeypatch.setattr("paperspace_deploy.image.digest.RegistryClient.head_manifest", head)
    connection = {"url": "https://ghcr.io", "username": "u", "password": "pw"}
    assert pull.check_pull("ghcr.io/acme/app:1", connection, "online") == pull.PullCheck()
    assert pull.check_pull("nginx", None, "online") == pull.PullCheck()
    assert asked == [("ghcr.io", "acme/app", "1", ("u", "pw")),
                     ("registry-1.docker.io", "library/nginx", "latest", None)]  # fmt: skip


def test_emulator_command_takes_variance_and_pull_check(tmp_path):
    cmd = [sys.executable, "-m", "paperspace_deploy", "emulator", "--port", "0"]
    bad = subprocess.run([*cmd, "--variance", "zod-union,nope"], capture_output=True,
                         text=True, timeout=20)  # fmt: skip
    assert bad.returncode == 2 and "unknown variance profile(s): nope" in bad.stderr
    bad = subprocess.run([*cmd, "--pull-check", "sometimes"], capture_output=True, text=True,
                         timeout=20)  # fmt: skip
    assert bad.returncode == 2 and "--pull-check" in bad.stderr
