#!/usr/bin/env bash
# Start or stop the real services the tests use: a private dockerd and a CNCF registry with
# htpasswd auth, both on loopback only (no bridge network, no iptables).
#   .ci/services.sh start DIR   -> writes DIR/env (source it) ; .ci/services.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?state dir}
mkdir -p "$dir"

# The engine's helpers, read from the pid files our dockerd keeps under its exec root: its
# containerd, each container's init and that init's parent, the container's shim. A PID counts only
# while it is still ours: the shim's and containerd's command lines name this state dir, an init's
# parent is such a shim (a recycled PID is someone else's process).
ours() { [ -n "$1" ] && { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF "$dir/"; }
parent_of() { { sed 's/.*) //' "/proc/$1/stat"; } 2>/dev/null | awk '{print $2}'; }
helper_pids() { # "init shim" per container, then containerd's "pid"
  local f pid shim
  for f in "$dir"/docker-exec/containerd/daemon/io.containerd.runtime.v2.task/*/*/init.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); shim=$(parent_of "$pid")
    ours "$shim" && echo "$pid $shim"
  done
  f="$dir/docker-exec/containerd/containerd.pid"
  [ -f "$f" ] && ours "$(cat "$f")" && cat "$f"
  return 0
}

end_pid() { # TERM, up to 10 s, then KILL
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  local helpers init shim pidfile
  helpers=$(helper_pids)
  for pidfile in "$dir"/registry.pid "$dir"/dockerd.pid; do
    [ -f "$pidfile" ] || continue
    end_pid "$(cat "$pidfile")"; rm -f "$pidfile"
  done
  # Left over only when dockerd died or hung. A container's init ignores TERM (PID 1 of its
  # namespace): KILL it while its parent is still our shim, then end the shim and containerd.
  while read -r init shim; do
    [ -n "$init" ] || continue
    if [ -z "$shim" ]; then ours "$init" && end_pid "$init"; continue; fi
    [ "$(parent_of "$init")" = "$shim" ] && kill -9 "$init" 2>/dev/null
    ours "$shim" && end_pid "$shim"
  done <<<"$helpers"
  # dockerd leaves mounts under its roots (netns/default, the data root): unmount, deepest first
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# The buildx CLI plugin (.ci/install.sh): first the one unpacked from Debian 13, then the packaged
# locations. Tests reach it through a private DOCKER_CONFIG, never the user's ~/.docker.
find_buildx() {
  local p
  for p in "${PSD_PLUGIN_DIR:-/opt/psd/cli-plugins}/docker-buildx" \
    /usr/libexec/docker/cli-plugins/docker-buildx /usr/lib/docker/cli-plugins/docker-buildx \
    /usr/local/lib/docker/cli-plugins/docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() {
  stop
  : >"$dir/env"
  if ! command -v dockerd >/dev/null || ! command -v docker-registry >/dev/null; then
    echo "services: dockerd or docker-registry missing; docker tests will be skipped" >&2
    return 0
  fi
  sock="$dir/docker.sock"
  dockerd --data-root "$dir/docker-data" --exec-root "$dir/docker-exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$sock" --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false \
    >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 150); do
    curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1 && break; sleep 0.2
  done
  curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null || { cat "$dir/dockerd.log" >&2; exit 1; }

  port=$(free_port); user=ci; password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  htpasswd -Bbn "$user" "$password" >"$dir/htpasswd"
  cat >"$dir/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $dir/registry-data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
auth: {htpasswd: {realm: psd-test, path: $dir/htpasswd}}
YML
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    [ "$code" = 401 ] && break; sleep 0.1
  done

  # A tiny base image made locally (nothing can be pulled here): static busybox as /bin/sh.
  rootfs="$dir/busybox-rootfs"; rm -rf "$rootfs"; mkdir -p "$rootfs/bin" "$rootfs/tmp"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for applet in sh echo cat ls mkdir false true sleep env httpd test; do ln -sf busybox "$rootfs/bin/$applet"; done
  tar -C "$rootfs" -c . | DOCKER_HOST="unix://$sock" docker import - psd-test/busybox:latest >/dev/null

  mkdir -p "$dir/docker-config/cli-plugins"; chmod 700 "$dir/docker-config"
  buildx=$(find_buildx || true)
  if [ -n "$buildx" ]; then
    ln -sf "$buildx" "$dir/docker-config/cli-plugins/docker-buildx"
  else
    echo "services: no docker-buildx plugin (bash .ci/install.sh); BuildKit tests will be skipped" >&2
  fi

  cat >"$dir/env" <<ENV
export PSD_SERVICES_DIR='$dir'
export DOCKER_HOST='unix://$sock'
export DOCKER_CONFIG='$dir/docker-config'
export PSD_BUILDX_PLUGIN='$buildx'
export PSD_TEST_REGISTRY='127.0.0.1:$port'
export PSD_TEST_REGISTRY_USER='$user'
export PSD_TEST_REGISTRY_PASSWORD='$password'
export PSD_TEST_BASE_IMAGE='psd-test/busybox:latest'
ENV
  echo "services: dockerd at unix://$sock, registry at 127.0.0.1:$port, buildx ${buildx:-none}" >&2
}

"$cmd"
