#!/usr/bin/env bash
# The README's first command:   bash examples/demo.sh
#
# Runs the main job end to end on this machine: starts the Paperspace API emulator in run mode
# and a local registry (and a private dockerd when none is configured and we are root, via
# .ci/services.sh), lints the example spec, builds the example app through the Docker Engine,
# pushes it, checks the spec's registry connection, deploys the pushed digest to the emulator --
# which pulls it and really runs it, probing /healthz like the platform -- waits until healthy
# and fetches the app's page through the deployment's endpoint. Everything it starts (the
# container included) is stopped and removed again on exit.
#
# Reuses running services when DOCKER_HOST and PSD_TEST_REGISTRY(_USER/_PASSWORD) are exported
# (the environment file .ci/services.sh writes), e.g. `. /tmp/psd-dev/env; bash examples/demo.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

py=${PYTHON:-.venv/bin/python}
if [ ! -x "$py" ]; then
  say "Creating .venv and installing paperspace-deploy"
  python3 -m venv .venv && .venv/bin/python -m pip install -q -e . || die "pip install failed"
  py=.venv/bin/python
fi
psd() { "$py" -m paperspace_deploy "$@"; }

state=$(mktemp -d /tmp/psd-demo.XXXXXX)
started_services=0 emulator_pid=
cleanup() {
  local rc=$?
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  if [ "$started_services" = 1 ]; then bash "$repo/.ci/services.sh" stop "$state/services" || true; fi
  rm -rf "$state"
  exit "$rc"
}
trap cleanup EXIT

if [ -n "${DOCKER_HOST:-}" ] && [ -n "${PSD_TEST_REGISTRY:-}" ]; then
  say "Using the running engine ($DOCKER_HOST) and registry ($PSD_TEST_REGISTRY)"
elif [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null && command -v docker-registry >/dev/null; then
  say "Starting a private dockerd and an htpasswd registry on loopback (.ci/services.sh)"
  bash .ci/services.sh start "$state/services"
  started_services=1
  # shellcheck disable=SC1091
  . "$state/services/env"
  [ -n "${PSD_TEST_REGISTRY:-}" ] || die "the services did not start (see $state/services/*.log)"
else
  die "needs a Docker engine and a registry: run as root with docker.io and docker-registry
installed (bash .ci/run installs them), or export DOCKER_HOST and PSD_TEST_REGISTRY,
PSD_TEST_REGISTRY_USER, PSD_TEST_REGISTRY_PASSWORD for services you already run"
fi
base=${PSD_TEST_BASE_IMAGE:-busybox:1.36}

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PAPERSPACE_API_KEY="demo-$("$py" -c 'import secrets; print(secrets.token_hex(12))')"
export PAPERSPACE_API_URL="http://127.0.0.1:$port/v1"
export PAPERSPACE_PROJECT_ID=pdemo00001
export REGISTRY_USERNAME=$PSD_TEST_REGISTRY_USER REGISTRY_PASSWORD=$PSD_TEST_REGISTRY_PASSWORD
say "Starting the Paperspace API emulator in run mode on 127.0.0.1:$port"
"$py" -m paperspace_deploy emulator --run --port "$port" --api-key "$PAPERSPACE_API_KEY" \
  --project "$PAPERSPACE_PROJECT_ID=Demo" \
  --registry "local=http://$PSD_TEST_REGISTRY,$PSD_TEST_REGISTRY_USER,REGISTRY_PASSWORD" \
  >"$state/emulator.log" 2>&1 &
emulator_pid=$!  # the python process itself (not a subshell), so SIGTERM reaches it
for _ in $(seq 50); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $PAPERSPACE_API_KEY" \
    "$PAPERSPACE_API_URL/projects" 2>/dev/null && break
  sleep 0.1
done

# The example spec names the connection `ghcr`; here the connection is `local`. Run mode uses
# host networking, so the app's port 8080 is this machine's: when it is taken, the demo's copy of
# the spec moves the app (ports, probe and the httpd command) to a free port.
spec="$state/app.yaml"
sed 's/^containerRegistry: ghcr$/containerRegistry: local/' examples/.paperspace/app.yaml >"$spec"
if ! "$py" -c 'from paperspace_deploy.emulator.proxy import port_free; import sys; sys.exit(not port_free(8080))'; then
  app_port=$("$py" -c 'import random; from paperspace_deploy.emulator.proxy import port_free
print(next(p for p in iter(lambda: random.randrange(20000, 32000), 0) if port_free(p)))')
  sed -i "s/8080/$app_port/" "$spec"
  printf 'command: ["/bin/busybox", "httpd", "-f", "-p", "%s", "-h", "/www"]\n' "$app_port" >>"$spec"
  say "Port 8080 is in use here: the demo's copy of the spec runs the app on $app_port"
fi

say "1/2 Lint the spec (no secrets, no network)"
psd lint "$spec"

say "2/2 Build, push, check the registry connection, deploy by digest, wait until healthy, verify GET /"
image="$PSD_TEST_REGISTRY/demo/hello-paperspace"
psd deploy --spec "$spec" --build --context examples --image "$image" \
  --build-arg "BASE_IMAGE=$base" --tag demo --tag-rules none --timeout 300 --verify /

say "Done: what the emulator now serves (GET /projects/$PAPERSPACE_PROJECT_ID/deployments)"
curl -fsS -H "Authorization: Bearer $PAPERSPACE_API_KEY" \
  "$PAPERSPACE_API_URL/projects/$PAPERSPACE_PROJECT_ID/deployments" >"$state/deployments.json"
"$py" - "$state/deployments.json" <<'PY'
import json, sys
for d in json.load(open(sys.argv[1])).get("items", []):
    spec = d.get("latestSpec") or {}
    print("  name:     ", d.get("name"))
    print("  image:    ", (spec.get("data") or {}).get("image"))
    print("  endpoint: ", d.get("endpoint"))
    print("  healthy:  ", bool(spec.get("dtHealthy")))
PY
endpoint=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["items"][0]["endpoint"])' \
  "$state/deployments.json")
[ -n "$endpoint" ] || die "no endpoint in the API's answer"

say "The app itself, through the deployment's endpoint (GET $endpoint/)"
curl -fsS "$endpoint/" | sed 's/^/  /'
