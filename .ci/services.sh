#!/usr/bin/env bash
# Start or stop the real services the tests use: a private dockerd and a CNCF registry with
# htpasswd auth, both on loopback only (no bridge network, no iptables).
#   .ci/services.sh start DIR   -> writes DIR/env (source it) ; .ci/services.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?state dir}
mkdir -p "$dir"

stop() {
  for pidfile in "$dir"/registry.pid "$dir"/dockerd.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"
  done
  # containerd-shim and friends left by dockerd
  pkill -f "$dir/docker-exec" 2>/dev/null || true
  # dockerd leaves mounts under its roots (netns/default, the data root): unmount, deepest first
  awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
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

  cat >"$dir/env" <<ENV
export PSD_SERVICES_DIR='$dir'
export DOCKER_HOST='unix://$sock'
export PSD_TEST_REGISTRY='127.0.0.1:$port'
export PSD_TEST_REGISTRY_USER='$user'
export PSD_TEST_REGISTRY_PASSWORD='$password'
export PSD_TEST_BASE_IMAGE='psd-test/busybox:latest'
ENV
  echo "services: dockerd at unix://$sock, registry at 127.0.0.1:$port" >&2
}

"$cmd"
