#!/usr/bin/env bash
# make setup: everything the demo and the test suite need on a Debian/Ubuntu machine (root).
# Idempotent and quick when done: each step checks before it changes anything.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
APT_PACKAGES=(podman runc debootstrap zstd uidmap slirp4netns python3-venv git openssl
              xfsprogs e2fsprogs chromium pebble certbot
              fdisk lvm2 cryptsetup-bin openssh-client)
# Node.js for the browser test: the machine's own when it has one, else Debian's.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)
log() { printf '[setup] %s\n' "$*"; }

# 1. Debian packages (only when one is missing).
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Container engine configuration this host needs (see shared/ENVIRONMENT.md), decided by
#    scripts/hostinfo.py from what the host shows (podman version, cgroup layout, hard limits,
#    installed OCI runtimes): on a hybrid cgroup host (Debian 12 here) runc (crun refuses it) and
#    the unified cgroup mounted into containers so systemd stops cleanly; ulimits no higher than
#    the host's hard limits; nothing of that on a plain cgroup v2 host (Debian 13's default).
CONF=/etc/containers/containers.conf
want=$(/usr/bin/python3 scripts/hostinfo.py containers-conf)
if [[ "$(cat "$CONF" 2>/dev/null)" != "$want" ]]; then
  log "writing $CONF"
  mkdir -p /etc/containers
  printf '%s\n' "$want" > "$CONF"
fi

# 3. The project venv from the pinned files; rebuilt only when they change.
stamp="$VENV/.requirements.sha256"
sum=$(cat requirements.txt requirements-dev.txt constraints-dev.txt | sha256sum | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  /usr/bin/python3 -m venv "$VENV"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]]; then
  log "installing Python requirements into $VENV (log: .cache/pip.log)"
  mkdir -p .cache
  "$VENV/bin/pip" install -q --upgrade pip >.cache/pip.log 2>&1
  "$VENV/bin/pip" install -q -r requirements-dev.txt -c constraints-dev.txt >>.cache/pip.log 2>&1 \
    || { tail -30 .cache/pip.log; exit 1; }
  printf '%s\n' "$sum" > "$stamp"
fi

# 4. npm tools for the browser test (playwright-core drives Debian's chromium).
if [[ -f package.json ]]; then
  lock_sum=$(sha256sum package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [[ "$(cat node_modules/.stamp 2>/dev/null)" != "$lock_sum" ]]; then
    log "installing npm packages"
    npm ci --no-audit --no-fund --silent >/dev/null
    printf '%s\n' "$lock_sum" > node_modules/.stamp
  fi
fi
log "ready"
