#!/usr/bin/env bash
# Finds a Consul binary for consulkit's tests, demo and benchmark, fetching Debian's
# `consul` package when none is around. Prints the binary's absolute path on stdout.
#
# Order: $CONSUL_BIN, then `consul` on PATH, then the git-ignored .consul/ cache, then a
# download of Debian bullseye's consul package into that cache. The mirror is read from the
# machine's own apt configuration so that no host name lives in this repository.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CONSULKIT_CONSUL_CACHE:-$root/.consul}"
cached_bin="$cache/root/usr/bin/consul"

log() { echo "[get-consul] $*" >&2; }

works() { [ -x "$1" ] && "$1" version >/dev/null 2>&1; }

if [ -n "${CONSUL_BIN:-}" ]; then
  if works "$CONSUL_BIN"; then echo "$CONSUL_BIN"; exit 0; fi
  log "CONSUL_BIN=$CONSUL_BIN is not a working consul binary"; exit 1
fi
if command -v consul >/dev/null 2>&1 && works "$(command -v consul)"; then
  command -v consul; exit 0
fi
if works "$cached_bin"; then echo "$cached_bin"; exit 0; fi

mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror="$(awk '/^URIs:/{print $2; exit}' "$f")"
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)"
fi
if [ -z "$mirror" ]; then log "no Debian mirror found in the apt configuration"; exit 1; fi

log "fetching Debian's consul package (bullseye) into $cache"
work="$cache/apt"
rm -rf "$work"; mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb $mirror bullseye main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Get::List-Cleanup=0")
apt-get "${apt_opts[@]}" update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
( cd "$work/debs" && apt-get "${apt_opts[@]}" download consul >"$work/download.log" 2>&1 ) \
  || { cat "$work/download.log" >&2; exit 1; }
rm -rf "$cache/root"; mkdir -p "$cache/root"
dpkg -x "$work"/debs/consul_*.deb "$cache/root"
rm -rf "$work"
if ! works "$cached_bin"; then log "unpacked consul does not run"; exit 1; fi
log "consul ready: $("$cached_bin" version | sed -n 1p)"
echo "$cached_bin"
