#!/usr/bin/env bash
# Makes a Docker engine answer, installing Debian's docker.io and starting dockerd when
# needed (root only). Exits 0 when `docker info` answers, 1 otherwise; never aborts a caller
# that can fall back to the binary backend.
set -uo pipefail
log() { echo "[ensure-docker] $*" >&2; }

if docker info >/dev/null 2>&1; then log "engine already answers"; exit 0; fi
if [ "$(id -u)" != "0" ]; then log "not root: cannot install or start a Docker engine"; exit 1; fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >/tmp/consulkit-apt-update.log 2>&1 || true
  if ! apt-get install -y --no-install-recommends docker.io >/tmp/consulkit-apt-docker.log 2>&1; then
    log "apt-get install docker.io failed (see /tmp/consulkit-apt-docker.log)"; exit 1
  fi
fi

log "starting dockerd"
nohup dockerd --storage-driver=vfs >/tmp/consulkit-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then log "engine answers"; exit 0; fi
  sleep 1
done
log "dockerd did not answer within 60 s (see /tmp/consulkit-dockerd.log)"
exit 1
