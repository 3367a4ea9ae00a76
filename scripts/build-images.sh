#!/usr/bin/env bash
# Build the Molecule/demo container images from Debian's archive (no registry is reachable):
#   localhost/jupyterops-debian12-systemd  Debian 12 (bookworm), systemd as PID 1
#   localhost/jupyterops-debian12-sysv     Debian 12 (bookworm), SysV init, no systemd
#   localhost/jupyterops-debian13-systemd  Debian 13 (trixie), systemd as PID 1
# Each image's release is its own, whatever the host runs (Debian 12 or 13): debootstrap takes the
# suite from the image name and the mirror from the host's apt (scripts/hostinfo.py).
# Each is cached as .cache/images/<name>-<hash>.tar.zst, keyed by this script and hostinfo.py, so a
# second run loads (or keeps) the image instead of rebuilding it.
# Arguments: image names without the prefix (debian12-systemd ...; `systemd`/`sysv` mean Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${IMAGE_CACHE:-.cache/images}
HASH=$(cat "$0" scripts/hostinfo.py | sha256sum | cut -c1-12)
HOSTINFO=(/usr/bin/python3 scripts/hostinfo.py)
mkdir -p "$CACHE"
log() { printf '[images] %s\n' "$*"; }

build_one() {
  local release=${1%%-*} flavour=${1#*-}
  local name="localhost/jupyterops-$1" tarball="$CACHE/jupyterops-$1-$HASH.tar.zst" suite
  suite=$("${HOSTINFO[@]}" codename "${release#debian}")
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
  # The mirror the host's own apt uses (so apt inside the containers works the same way).
  mirror=$("${HOSTINFO[@]}" mirror "$suite"); security=$("${HOSTINFO[@]}" security-mirror "$suite")
  rootfs=$(mktemp -d /var/tmp/jupyterops-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  log "debootstrap $suite $flavour from $mirror (about a minute)"
  local include exclude=""
  case $flavour in
    systemd) include=systemd,systemd-sysv,python3,sudo,ca-certificates,dbus,procps,iproute2 ;;
    sysv) include=sysvinit-core,python3,sudo,ca-certificates,procps,iproute2
          exclude=--exclude=systemd,systemd-sysv ;;
  esac
  # debian-archive-keyring verifies the suite's Release file (the Debian 12 package has trixie's keys too).
  debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    --include="$include" $exclude "$suite" "$rootfs" "$mirror" \
    >"$CACHE/debootstrap-$1.log" 2>&1 || { tail -20 "$CACHE/debootstrap-$1.log"; exit 1; }
  local sources
  sources=$("${HOSTINFO[@]}" apt-sources "$suite" "$mirror" "$security")
  rm -f "$rootfs/etc/apt/sources.list"
  printf '%s\n' "$sources" | tail -n +2 >"$rootfs$(head -1 <<<"$sources")"
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
  rm -f "$CACHE"/jupyterops-"$1"-*.tar.zst
  podman save "$name" | zstd -q -T0 -3 -o "$tarball"
}

for image in "${@:-debian12-systemd debian12-sysv debian13-systemd}"; do
  for i in $image; do
    case $i in
      systemd|sysv) i=debian12-$i ;;
      debian1[23]-systemd|debian12-sysv) ;;
      *) echo "unknown image $i (debian12-systemd, debian12-sysv, debian13-systemd)" >&2; exit 2 ;;
    esac
    build_one "$i"
  done
done
