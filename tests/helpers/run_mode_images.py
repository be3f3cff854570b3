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


def labelled(docker_host: str) -> list[dict[str, Any]]:
    """Every container carrying run mode's label, running or not."""
    client = engine(docker_host)
    try:
        return list(client.containers(all=True, filters={"label": LABEL}))
    finally:
        client.close()


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
    and removed from the engine again, so run mode really pulls it."""
    repo = f"{registry.host}/psd-run-tests/web"
    tag = uuid.uuid4().hex[:10]
    dockerfile = (
        f"FROM {base_image}\nCOPY www/ /www/\n"
        'CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]\n'
    )
    context = _tar({"Dockerfile": dockerfile, "www/index.html": PAGE, "www/healthz": "ok\n"})
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
