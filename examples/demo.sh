#!/usr/bin/env bash
# The README's first command:   bash examples/demo.sh        (--help for the options)
#
# Runs the main job end to end on this machine against the local Paperspace API emulator:
# lint -> plan -> build, push, check the registry connection, deploy the pushed digest, wait until
# healthy, fetch the app's page through the deployment's endpoint.
#
# Full mode (the whole job): the emulator in run mode really pulls and runs the image, probing
# /healthz like the platform. It needs a Docker engine and a registry:
#   - exported DOCKER_HOST and PSD_TEST_REGISTRY(_USER/_PASSWORD) are used as they are (the env file
#     .ci/services.sh writes: `. /tmp/psd-dev/env; bash examples/demo.sh`);
#   - else, as root on Debian 12/13, `.ci/install.sh --demo` installs what is missing (docker.io or
#     docker-cli, docker-registry, busybox-static, python3-venv, the buildx plugin, ...) and
#     `.ci/services.sh` starts a private dockerd and an htpasswd registry on loopback.
# Plain mode (without root or Docker, or --plain): lint -> plan -> deploy of a prebuilt image
# reference against the emulator without run mode; it says what it skipped and why.
#
# Everything it starts (emulator, dockerd, registry, the app's container) is stopped on exit,
# Ctrl-C and SIGTERM included. Its stdout may be closed or a pipe that goes away (`| head`).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash examples/demo.sh [--plain | --full] [--no-install]

Runs lint -> plan -> build/push -> deploy -> wait healthy against the local Paperspace API
emulator, and stops everything it started.

  --plain       skip Docker: lint, plan and deploy a prebuilt image reference (no build, no run)
  --full        the whole job or fail (no fallback to plain mode)
  --no-install  as root, do not run .ci/install.sh --demo (apt-get) for missing packages
  -h, --help    this text

Environment:
  DOCKER_HOST, PSD_TEST_REGISTRY, PSD_TEST_REGISTRY_USER, PSD_TEST_REGISTRY_PASSWORD
                use these running services (all four, e.g. `. /tmp/psd-dev/env`)
  PSD_TEST_BASE_IMAGE   base image for the example app (default: the services' busybox)
  PYTHON        a Python with paperspace-deploy installed (default: .venv/bin/python, created)

Without them, as root it installs what is missing and starts its own dockerd and registry;
without root or Docker it runs plain mode and says what it skipped.
EOF
}

force= install=1
for arg in "$@"; do
  case $arg in
    -h | --help) usage; exit 0 ;;
    --plain) force=plain ;;
    --full) force=full ;;
    --no-install) install=0 ;;
    *) printf 'demo: unknown argument %q (see bash examples/demo.sh --help)\n' "$arg" >&2; exit 2 ;;
  esac
done

# A closed stdout or stderr must not stop the demo half-way: closed -> /dev/null. When stdout is
# not a terminal it goes through a relay that drops what its reader no longer takes (`| head`),
# so neither this script nor the CLI ever writes into a broken pipe.
( exec 3>&2 ) 2>/dev/null || exec 2>/dev/null # (a dup fails on a closed fd)
trap '' PIPE
relay_pid=
if ! ( exec 3>&1 ) 2>/dev/null; then
  exec >/dev/null
elif [ ! -t 1 ]; then
  exec > >(while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line" 2>/dev/null || exec >/dev/null
  done)
  relay_pid=$!
fi
# Every exit closes stdout and waits for the relay to pass on what is left (and to end).
end_output() {
  if [ -n "$relay_pid" ]; then exec >&-; wait "$relay_pid" 2>/dev/null || true; relay_pid=; fi
}
trap 'rc=$?; end_output; exit "$rc"' EXIT

say() { printf '\n\033[1m==> %s\033[0m\n' "$*" || true; }
note() { printf 'demo: %s\n' "$*" >&2 || true; }
die() { note "$*"; exit 1; }
bad_env() { note "$*"; exit 2; }

# Bad environment: say which variable and what to do, before anything starts.
reg_vars=(PSD_TEST_REGISTRY PSD_TEST_REGISTRY_USER PSD_TEST_REGISTRY_PASSWORD)
given=() missing=()
for v in DOCKER_HOST "${reg_vars[@]}"; do
  if [ -n "${!v:-}" ]; then given+=("$v"); else missing+=("$v"); fi
done
if [ ${#given[@]} -gt 0 ] && [ ${#missing[@]} -gt 0 ] && [ "$force" != plain ]; then
  bad_env "${given[*]} set but not ${missing[*]}: export all four for running services (e.g.
  . /tmp/psd-dev/env), or none to let the demo start its own, or pass --plain"
fi
if [ -n "${PYTHON:-}" ] && [ ! -x "$PYTHON" ]; then
  bad_env "PYTHON=$PYTHON is not an executable; unset it to use .venv/bin/python"
fi

cd "$(dirname "$0")/.."
repo=$PWD
state=$(mktemp -d "${TMPDIR:-/tmp}/psd-demo.XXXXXX")
started_services=0 emulator_pid= child=
cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  if [ -n "$emulator_pid" ]; then # SIGTERM: run mode removes the app's container before it exits
    kill -TERM "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  if [ "$started_services" = 1 ]; then bash "$repo/.ci/services.sh" stop "$state/services" || true; fi
  rm -rf "$state"
  end_output
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Long steps run in the background and are waited for, so a signal is handled at once (bash runs
# a trap only between commands) and the cleanup can end the step it interrupted.
fg() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  return "$rc"
}

# Which mode, and when plain, why.
mode=full reason=
if [ "$force" = plain ]; then
  mode=plain reason="--plain"
elif [ ${#given[@]} -eq 4 ]; then
  say "Using the running engine ($DOCKER_HOST) and registry ($PSD_TEST_REGISTRY)"
elif [ "$(id -u)" != 0 ]; then
  mode=plain reason="not root: cannot install docker.io/docker-registry or start a private dockerd"
fi
if [ "$mode" = full ] && [ ${#given[@]} -eq 0 ] && [ "$install" = 1 ]; then
  say "Installing what is missing (.ci/install.sh --demo: apt-get, the buildx plugin)"
  t0=$SECONDS
  fg bash .ci/install.sh --demo || { mode=plain reason="installing the packages failed (see above)"; }
  note "install step: $((SECONDS - t0)) s"
fi

# The Python side: a venv with the package, unless PYTHON names one.
py=${PYTHON:-.venv/bin/python}
if ! { [ -x "$py" ] && "$py" -c 'import paperspace_deploy' 2>/dev/null; }; then
  [ -z "${PYTHON:-}" ] || bad_env "PYTHON=$PYTHON cannot import paperspace_deploy (pip install -e $repo)"
  command -v python3 >/dev/null || die "needs python3: apt-get install python3-venv (the demo does that
  itself when run as root)"
  say "Creating .venv and installing paperspace-deploy"
  if [ ! -x .venv/bin/python ]; then
    [ -w . ] || die "cannot create $repo/.venv: the checkout is not writable by $(id -un); run as its
  owner, or set PYTHON to a Python with paperspace-deploy installed"
    python3 -c 'import ensurepip' 2>/dev/null || die "python3 cannot create a venv: apt-get install
  python3-venv (the demo does that itself when run as root)"
    fg python3 -m venv .venv || die "python3 -m venv failed (see above)"
  fi
  fg .venv/bin/python -m pip install -q -e . || die "pip install -e . failed (see above)"
  py=.venv/bin/python
fi
psd() { fg "$py" -m paperspace_deploy "$@"; }
if [ ${#given[@]} -eq 4 ] && [ "$mode" = full ]; then
  "$py" -c 'import docker; docker.from_env(timeout=5).ping()' 2>/dev/null ||
    bad_env "DOCKER_HOST=$DOCKER_HOST does not answer: start the engine (bash .ci/services.sh start DIR),
  or unset DOCKER_HOST and PSD_TEST_REGISTRY* to let the demo start its own, or pass --plain"
fi

if [ "$mode" = full ] && [ ${#given[@]} -eq 0 ]; then
  if ! command -v dockerd >/dev/null || ! command -v docker-registry >/dev/null; then
    mode=plain reason="dockerd or docker-registry not installed"
    [ "$install" = 1 ] || reason+=" (--no-install)"
  else
    say "Starting a private dockerd and an htpasswd registry on loopback (.ci/services.sh)"
    started_services=1
    if fg bash .ci/services.sh start "$state/services" && grep -q PSD_TEST_REGISTRY "$state/services/env"; then
      # shellcheck disable=SC1091
      . "$state/services/env"
    else
      note "the private dockerd or registry did not start; the end of their logs:"
      tail -n 3 "$state"/services/*.log >&2 2>/dev/null || true
      mode=plain reason="the private dockerd or registry did not start (see above)"
    fi
  fi
fi
if [ "$mode" = plain ]; then
  [ "$force" != full ] || die "--full, but the whole job cannot run here: $reason"
  say "Plain mode ($reason): lint, plan and deploy of a prebuilt image; no build, push or run"
fi

# The emulator, on a free port it picks itself (--port 0; the URL is read from its first lines).
export PAPERSPACE_API_KEY="demo-$("$py" -c 'import secrets; print(secrets.token_hex(12))')"
export PAPERSPACE_PROJECT_ID=pdemo00001
spec="$state/app.yaml"
if [ "$mode" = full ]; then
  export REGISTRY_USERNAME=$PSD_TEST_REGISTRY_USER REGISTRY_PASSWORD=$PSD_TEST_REGISTRY_PASSWORD
  emulator_args=(--run --registry "local=http://$PSD_TEST_REGISTRY,$PSD_TEST_REGISTRY_USER,REGISTRY_PASSWORD")
  # The example spec names the connection `ghcr`; here the connection is `local`.
  sed 's/^containerRegistry: ghcr$/containerRegistry: local/' examples/.paperspace/app.yaml >"$spec"
else
  # The spec's own `ghcr` connection; the pull check stays offline, so ghcr.io is never contacted.
  export DEMO_GHCR_TOKEN="demo-$("$py" -c 'import secrets; print(secrets.token_hex(12))')"
  emulator_args=(--healthy-after 1 --registry "ghcr=https://ghcr.io,demo,DEMO_GHCR_TOKEN")
  cp examples/.paperspace/app.yaml "$spec"
fi
say "Starting the Paperspace API emulator$([ "$mode" = plain ] || echo ' in run mode')"
"$py" -m paperspace_deploy emulator --port 0 --api-key "$PAPERSPACE_API_KEY" \
  --project "$PAPERSPACE_PROJECT_ID=Demo" "${emulator_args[@]}" >"$state/emulator.log" 2>&1 &
emulator_pid=$! # the python process itself (not a subshell), so SIGTERM reaches it
PAPERSPACE_API_URL=$("$py" - "$state/emulator.log" "$emulator_pid" <<'PY'
import os, re, sys, time, urllib.request
log, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    m = re.search(r"export PAPERSPACE_API_URL=(\S+)", open(log, errors="replace").read())
    if m:
        try:
            urllib.request.urlopen(m.group(1) + "/health", timeout=2).read()
            print(m.group(1))
            sys.exit(0)
        except OSError:
            pass
    try:
        os.kill(pid, 0)
    except OSError:
        break
    time.sleep(0.1)
sys.exit(1)
PY
) || die "the emulator did not start: $(tail -n 5 "$state/emulator.log" | tr '\n' ' ')"
export PAPERSPACE_API_URL
printf '  %s\n' "$PAPERSPACE_API_URL" || true

# Run mode uses host networking, so the app's port 8080 is this machine's: when it is taken, the
# demo's copy of the spec moves the app (ports, probe and the httpd command) to a free port.
if [ "$mode" = full ] && ! "$py" -c 'from paperspace_deploy.emulator.proxy import port_free; import sys; sys.exit(not port_free(8080))'; then
  app_port=$("$py" -c 'import random; from paperspace_deploy.emulator.proxy import port_free
print(next(p for p in iter(lambda: random.randrange(20000, 32000), 0) if port_free(p)))')
  sed -i "s/8080/$app_port/" "$spec"
  printf 'command: ["/bin/busybox", "httpd", "-f", "-p", "%s", "-h", "/www"]\n' "$app_port" >>"$spec"
  say "Port 8080 is in use here: the demo's copy of the spec runs the app on $app_port"
fi

say "1/3 Lint the spec (no secrets, no network)"
psd lint "$spec"

if [ "$mode" = full ]; then
  image="$PSD_TEST_REGISTRY/demo/hello-paperspace"
  say "2/3 Plan: what a deploy would change"
  psd plan --spec "$spec" --image "$image:demo"
  say "3/3 Build, push, check the registry connection, deploy by digest, wait until healthy, verify GET /"
  psd deploy --spec "$spec" --build --context examples --image "$image" \
    --build-arg "BASE_IMAGE=${PSD_TEST_BASE_IMAGE:-busybox:1.36}" --tag demo --tag-rules none \
    --timeout 300 --poll-interval 1 --verify /
else
  image=ghcr.io/acme/hello-paperspace:1.0
  say "2/3 Plan: what a deploy would change"
  psd plan --spec "$spec" --image "$image"
  say "3/3 Check the registry connection, deploy $image and wait until healthy"
  psd deploy --spec "$spec" --image "$image" --timeout 60 --poll-interval 1
fi

say "Done: what the emulator now serves (GET /projects/$PAPERSPACE_PROJECT_ID/deployments)"
"$py" - "$PAPERSPACE_API_URL/projects/$PAPERSPACE_PROJECT_ID/deployments" "$state/endpoint" <<'PY' ||
import json, os, sys, urllib.request
auth = {"Authorization": "Bearer " + os.environ["PAPERSPACE_API_KEY"]}
items = json.load(urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers=auth), timeout=10))["items"]
for d in items:
    spec = d.get("latestSpec") or {}
    print("  name:     ", d.get("name"))
    print("  image:    ", (spec.get("data") or {}).get("image"))
    print("  endpoint: ", d.get("endpoint"))
    print("  healthy:  ", bool(spec.get("dtHealthy")))
open(sys.argv[2], "w").write(items[0].get("endpoint") or "" if items else "")
PY
  die "the emulator's deployment list could not be read"
endpoint=$(cat "$state/endpoint")

if [ "$mode" = full ]; then
  [ -n "$endpoint" ] || die "no endpoint in the API's answer"
  say "The app itself, through the deployment's endpoint (GET $endpoint/)"
  "$py" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/", timeout=10).read().decode())' \
    "$endpoint" | sed 's/^/  /' || die "GET $endpoint/ failed"
else
  say "Skipped in plain mode ($reason)"
  cat <<EOF || true
  - building examples/Dockerfile and pushing it: needs a Docker engine and a registry
  - pulling and running the image with its /healthz probe (the emulator's run mode): "healthy"
    above is the emulator's timer; the image was not pulled (the pull check is offline)
  - fetching the app's page through the deployment's endpoint
  For the whole job: run it as root on Debian 12/13 (it installs docker.io, docker-registry,
  busybox-static, python3-venv and the buildx plugin through .ci/install.sh --demo), or export
  DOCKER_HOST, PSD_TEST_REGISTRY, PSD_TEST_REGISTRY_USER, PSD_TEST_REGISTRY_PASSWORD.
EOF
fi
