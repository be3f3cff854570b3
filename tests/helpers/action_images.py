"""Build the action's image locally, the way the runner does, with a base made on this machine.

Nothing can be pulled from a hub here, so the Dockerfile's `BASE_IMAGE` build arg points at a base
made from the running interpreter: its executable, standard library, `pip` and the shared
libraries `ldd` lists, copied at their own absolute paths (so RUNPATHs keep working), plus a static
busybox as `/bin/sh` and the host's CA bundle (this machine's egress proxy re-signs TLS). The
`DOCKER_CLI_IMAGE` build arg points at an image made from this machine's docker CLI and the
buildx plugin .ci/install.sh unpacked (with the shared libraries they need), at the paths the
official docker:cli image uses. All images are cached in the engine under a content-hash tag, so
reruns cost an `inspect`.

Run as a script to print the tags: `python tests/helpers/action_images.py [--base-only]`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP_DIRS = {"test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages",
             "dist-packages", "lib2to3", "pydoc_data"}  # fmt: skip
CONTEXT_FILES = ("Dockerfile", "entrypoint.py", "pyproject.toml", "setup.py", "README.md")
CONTEXT_DIRS = ("requirements", "src", "schemas")


def _base_key() -> str:
    exe = Path(os.path.realpath(sys._base_executable))
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(f"{sys.version}|{exe}|{exe.stat().st_mtime_ns}".encode())
    return h.hexdigest()[:12]


# What every Debian slim image has: all of glibc and libgcc (wheels like rpds-py link them).
EXTRA_PACKAGES = ("libc6", "libgcc-s1")
EXTRA_LIBS = ("libgcc_s.so.1", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1")


def _libs(paths: list[Path]) -> set[Path]:
    """Shared libraries the executable and the extension modules need (ldd, transitively)."""
    out = subprocess.run(["ldd", *map(str, paths)], capture_output=True, text=True).stdout
    found = set()
    for m in re.finditer(r"(?:=>\s*)?(/\S+)\s+\(0x", out):
        found.add(Path(m.group(1)))
    listed = subprocess.run(["dpkg", "-L", *EXTRA_PACKAGES], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        if ".so" in line and os.path.isfile(line) and "/gconv/" not in line:
            found.add(Path(line))
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for name in EXTRA_LIBS:
        m = re.search(rf"\s{re.escape(name)} \(libc6,x86-64\) => (\S+)", cache)
        if m:
            found.add(Path(m.group(1)))
    return found


def _rootfs_tar() -> bytes:
    exe = Path(os.path.realpath(sys._base_executable))
    stdlib = Path(
        sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["stdlib"]
    )
    probe = "import site,sys; print(site.getsitepackages()[0])"
    site_dir = subprocess.run(
        [str(exe), "-I", "-c", probe], capture_output=True, text=True
    ).stdout.strip()
    import pip  # the venv's pip, copied into the base interpreter's site directory

    pip_dir = Path(pip.__file__).parent
    buf = io.BytesIO()
    seen: set[str] = set()  # the engine refuses a layer with duplicate paths
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(src: Path, arc: str) -> None:
            arc = os.path.normpath(arc).lstrip("/")
            if arc not in seen:
                seen.add(arc)
                tar.add(str(src), arcname=arc, recursive=False)

        def addfile(info: tarfile.TarInfo, data: io.BytesIO | None = None) -> None:
            if info.name not in seen:
                seen.add(info.name)
                tar.addfile(info, data)

        def add_tree(root: Path, arc_root: str) -> None:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [
                    d for d in dirnames if d not in SKIP_DIRS and not d.startswith("config-")
                ]
                rel = Path(dirpath).relative_to(root)
                add(Path(dirpath), f"{arc_root}/{rel}")
                for f in filenames:
                    add(Path(dirpath) / f, f"{arc_root}/{rel}/{f}")

        def add_dirs_for(path: str) -> None:
            parts = Path(path).parts[1:-1]
            for i in range(1, len(parts) + 1):
                info = tarfile.TarInfo("/".join(parts[:i]))
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                addfile(info)

        for d in ("tmp", "etc", "bin", "usr/local/bin", "var/tmp"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if "tmp" in d else 0o755
            addfile(info)
        add_dirs_for(str(exe))
        add(exe, str(exe))
        dynload = stdlib / "lib-dynload"
        sos = [exe, *sorted(dynload.glob("*.so"))]
        for lib in sorted(_libs(sos)):
            real = Path(os.path.realpath(lib))
            add_dirs_for(str(lib))
            add(real, str(lib))
        add_dirs_for(str(stdlib / "x"))
        add_tree(stdlib, str(stdlib))
        add_dirs_for(site_dir + "/x")
        add(Path(site_dir) if Path(site_dir).exists() else pip_dir, site_dir)
        add_tree(pip_dir, f"{site_dir}/pip")
        busybox = shutil.which("busybox") or "/bin/busybox"
        add(Path(busybox), "/bin/busybox")
        for name, target in [("python", str(exe)), ("python3", str(exe))]:
            info = tarfile.TarInfo(f"usr/local/bin/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            addfile(info)
        for applet in ("sh", "ls", "cat", "id", "env", "rm", "mkdir"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            addfile(info)
        for name, text in {
            "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
            "etc/group": "root:x:0:\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            addfile(info, io.BytesIO(data))
        ca = Path("/etc/ssl/certs/ca-certificates.crt")
        if ca.exists():
            add_dirs_for(str(ca))
            add(ca, str(ca))
    return buf.getvalue()


def base_image(client) -> str:  # type: ignore[no-untyped-def]
    """A Python base image made from this machine's interpreter; cached by content hash."""
    import docker.errors

    tag = f"psd-action-base:py{sys.version_info[0]}{sys.version_info[1]}-{_base_key()}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    data = _rootfs_tar()
    changes = [
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
        "ENV PIP_DISABLE_PIP_VERSION_CHECK=1",
        'CMD ["python3"]',
    ]
    repo, _, ver = tag.partition(":")
    client.api.import_image_from_data(data, repository=repo, tag=ver, changes=changes)
    return tag


CLI_PATH = "/usr/local/bin/docker"
BUILDX_PATH = "/usr/local/libexec/docker/cli-plugins/docker-buildx"


def docker_cli_image(client) -> str:  # type: ignore[no-untyped-def]
    """The docker CLI and the buildx plugin of this machine as a FROM-able image."""
    import docker.errors

    cli = shutil.which("docker")
    plugin = os.environ.get("PSD_BUILDX_PLUGIN") or ""
    if not cli or not os.path.exists(plugin):
        raise RuntimeError("the action image needs the docker CLI and PSD_BUILDX_PLUGIN")
    files = [Path(os.path.realpath(cli)), Path(os.path.realpath(plugin))]
    h = hashlib.sha256(Path(__file__).read_bytes())
    for f in files:
        h.update(f"{f}|{f.stat().st_size}|{f.stat().st_mtime_ns}".encode())
    tag = f"psd-docker-cli:{h.hexdigest()[:12]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(src: Path, arc: str) -> None:
            parts = Path(arc.lstrip("/")).parts
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in seen:
                    seen.add(d)
                    info = tarfile.TarInfo(d)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            if arc.lstrip("/") not in seen:
                seen.add(arc.lstrip("/"))
                tar.add(str(src), arcname=arc.lstrip("/"), recursive=False)

        add(files[0], CLI_PATH)
        add(files[1], BUILDX_PATH)
        for lib in sorted(_libs(files)):  # Debian's buildx links glibc dynamically
            add(Path(os.path.realpath(lib)), str(lib))
    repo, _, ver = tag.partition(":")
    client.api.import_image_from_data(buf.getvalue(), repository=repo, tag=ver)
    return tag


def context_key() -> str:
    """Hash of everything the action's Dockerfile copies in."""
    h = hashlib.sha256()
    files = [REPO / f for f in CONTEXT_FILES]
    for d in CONTEXT_DIRS:
        files += sorted(
            p for p in (REPO / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
    for f in (REPO / ".dockerignore",):
        if f.exists():
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def action_image(client, base: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Build the action image from the repository's Dockerfile (cached by content hash)."""
    import docker.errors

    base = base or base_image(client)
    cli = docker_cli_image(client)
    tag = f"psd-action:{context_key()}-{base.rsplit('-', 1)[-1]}-{cli.rsplit(':', 1)[-1][:6]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    client.images.build(
        path=str(REPO),
        dockerfile="Dockerfile",
        buildargs={"BASE_IMAGE": base, "DOCKER_CLI_IMAGE": cli},
        network_mode="host",  # pip reaches PyPI from the build; nothing else is reachable here
        tag=tag,
        rm=True,
        forcerm=True,
    )
    for old in client.images.list(name="psd-action"):  # vfs storage: drop stale builds
        if tag not in old.tags:
            for t in old.tags:
                with contextlib.suppress(docker.errors.APIError):  # in use by a parallel run
                    client.images.remove(t, noprune=False)
    return tag


if __name__ == "__main__":
    import docker

    cli = docker.from_env()
    b = base_image(cli)
    print(b)
    if "--base-only" not in sys.argv:
        print(action_image(cli, b))
