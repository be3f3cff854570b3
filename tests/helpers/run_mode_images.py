"""Shared by the run-mode tests: the busybox httpd test image, free ports, labelled containers."""

from __future__ import annotations

import io
import random
import tarfile
import uuid
from typing import Any

from paperspace_deploy.emulator.proxy import port_free
from paperspace_deploy.emulator.runner import LABEL

PAGE = "<h1>hello from run mode</h1>"
_random = random.SystemRandom()  # not seeded alike in concurrent test processes


def free_port() -> int:
    """A free port BELOW the ephemeral range (32768+ on Linux), so no OS-assigned port -- the
    endpoint proxy's, the emulator's, a client's -- can take it before the container binds it."""
    while True:
        port = _random.randrange(20000, 32000)
        if port_free(port):
            return port


def engine(docker_host: str) -> Any:
    import docker

    return docker.APIClient(base_url=docker_host)


def labelled(docker_host: str, image: str | None = None) -> list[dict[str, Any]]:
    """Containers carrying run mode's label, running or not; with `image`, only those made from
    that image's repository (test files run side by side on xdist workers: each sees its own)."""
    client = engine(docker_host)
    try:
        found = list(client.containers(all=True, filters={"label": LABEL}))
    finally:
        client.close()
    if image is None:
        return found
    repo = image.partition("@")[0].rsplit(":", 1)[0]
    return [c for c in found if str(c.get("Image", "")).startswith((f"{repo}:", f"{repo}@"))]


def _tar(files: dict[str, str]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def build_web_image(docker_host: str, registry: Any, base_image: str) -> str:
    """busybox httpd with /www/index.html (PAGE) and /www/healthz, pushed to the CI registry
    and removed from the engine again, so run mode really pulls it. A repository and an image id
    of its own per call: removing it cannot pull layers from under a concurrent test's build."""
    tag = uuid.uuid4().hex[:10]
    repo = f"{registry.host}/psd-run-tests/web-{tag}"
    dockerfile = (
        f"FROM {base_image}\nCOPY www/ /www/\n"
        'CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]\n'
    )
    context = _tar(
        {
            "Dockerfile": dockerfile,
            "www/index.html": PAGE,
            "www/healthz": "ok\n",
            "www/build-id": tag,
        }
    )
    client = engine(docker_host)
    try:
        events = client.build(
            fileobj=context, custom_context=True, tag=f"{repo}:{tag}", decode=True, rm=True
        )
        for event in events:
            assert "error" not in event, event
        auth = {"username": registry.username, "password": registry.password}
        for event in client.push(repo, tag=tag, stream=True, decode=True, auth_config=auth):
            assert "error" not in event, event
        client.remove_image(f"{repo}:{tag}")
    finally:
        client.close()
    return f"{repo}:{tag}"
