#!/usr/bin/env bash
# Build the Molecule/demo container images from Debian's archive (no registry is reachable):
#   localhost/jupyterops-debian12-systemd  Debian 12, systemd as PID 1
#   localhost/jupyterops-debian12-sysv     Debian 12, SysV init, no systemd
# Each is cached as .cache/images/<name>-<hash>.tar.zst, keyed by this script's content, so a
# second run loads (or keeps) the image instead of rebuilding it.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${IMAGE_CACHE:-.cache/images}
HASH=$(sha256sum "$0" | cut -c1-12)
mkdir -p "$CACHE"
log() { printf '[images] %s\n' "$*"; }

# The mirror the host's own apt uses (so apt inside the containers works the same way).
host_mirror() {
  local uri
  uri=$(apt-get indextargets --format '$(URI)' 'Created-By: Packages' 2>/dev/null \
        | grep -E '/debian/dists/bookworm/' | head -1 | sed 's#/dists/.*##')
  echo "${uri:-http://deb.debian.org/debian}"
}
host_security_mirror() {
  local uri
  uri=$(apt-get indextargets --format '$(URI)' 'Created-By: Packages' 2>/dev/null \
        | grep -E '/dists/bookworm-security/' | head -1 | sed 's#/dists/.*##')
  echo "${uri:-http://deb.debian.org/debian-security}"
}

build_one() {
  local flavour=$1 name="localhost/jupyterops-debian12-$1" tarball="$CACHE/jupyterops-debian12-$1-$HASH.tar.zst"
  if [[ "$(podman image inspect --format '{{ index .Labels "jupyterops.hash" }}' "$name" 2>/dev/null)" == "$HASH" ]]; then
    log "$name is current ($HASH)"
    return
  fi
  if [[ -f "$tarball" ]]; then
    log "loading $name from $tarball"
    zstd -dc "$tarball" | podman load -q >/dev/null
    return
  fi
  local mirror security rootfs
  mirror=$(host_mirror); security=$(host_security_mirror)
  rootfs=$(mktemp -d /var/tmp/jupyterops-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  log "debootstrap $flavour from $mirror (about a minute)"
  local include exclude=""
  case $flavour in
    systemd) include=systemd,systemd-sysv,python3,sudo,ca-certificates,dbus,procps,iproute2 ;;
    sysv) include=sysvinit-core,python3,sudo,ca-certificates,procps,iproute2
          exclude=--exclude=systemd,systemd-sysv ;;
  esac
  debootstrap --variant=minbase --include="$include" $exclude bookworm "$rootfs" "$mirror" \
    >"$CACHE/debootstrap-$flavour.log" 2>&1 || { tail -20 "$CACHE/debootstrap-$flavour.log"; exit 1; }
  cat >"$rootfs/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SRC
  # The host's apt settings for its archive (e.g. snapshot mirrors without Valid-Until).
  for f in /etc/apt/apt.conf.d/*; do
    grep -q '^Acquire::' "$f" 2>/dev/null && cp "$f" "$rootfs/etc/apt/apt.conf.d/" || true
  done
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  local -a changes=(--change 'ENV container=podman' --change "LABEL jupyterops.hash=$HASH")
  case $flavour in
    systemd)
      # No getty on a container console; machine-id made at first boot.
      rm -f "$rootfs/etc/machine-id"; : >"$rootfs/etc/machine-id"
      changes+=(--change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3') ;;
    sysv)
      # Keep systemd out for good; no gettys to respawn; ctrl-alt-del (SIGINT) halts.
      printf 'Package: systemd systemd-sysv\nPin: release *\nPin-Priority: -1\n' \
        >"$rootfs/etc/apt/preferences.d/no-systemd"
      sed -i -E 's/^([0-9]+:[0-9]+:respawn:\/sbin\/getty)/#\1/' "$rootfs/etc/inittab"
      changes+=(--change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGINT') ;;
  esac
  tar -C "$rootfs" -c . | podman import "${changes[@]}" - "$name" >/dev/null
  log "saving $tarball"
  rm -f "$CACHE"/jupyterops-debian12-"$flavour"-*.tar.zst
  podman save "$name" | zstd -q -T0 -3 -o "$tarball"
}

for flavour in "${@:-systemd sysv}"; do
  for f in $flavour; do build_one "$f"; done
done
