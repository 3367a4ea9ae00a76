#!/usr/bin/env bash
# make demo / make demo-down: the whole build with no AWS account.
#   up:   start the local EC2 emulator (a stand-in for AWS), start a Debian 12 systemd container
#         standing in for the EC2 instance (its port 9999 published on 127.0.0.1:$DEMO_PORT), run
#         site.yml against both, print the URL and where the password is kept.
#   down: remove the container, stop the emulator, delete the demo state.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=${DEMO_STATE:-$PWD/.cache/demo}
CONTAINER=${DEMO_CONTAINER:-jupyterops-demo}
PORT=${DEMO_PORT:-8443}
IMAGE=localhost/jupyterops-debian12-systemd:latest
BIN=$PWD/.venv/bin
export ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true
export JUPYTEROPS_DEMO_STATE=$STATE JUPYTEROPS_DEMO_CONTAINER=$CONTAINER JUPYTEROPS_DEMO_PORT=$PORT
log() { printf '[demo] %s\n' "$*"; }

emulator_env() {
  local url
  url=$("$BIN/python" tests/harness/ec2_emulator.py start --state-dir "$STATE")
  log "EC2 emulator (stand-in for AWS) at $url"
  export AWS_URL=$url AWS_ENDPOINT_URL=$url AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 \
         AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  unset AWS_SESSION_TOKEN AWS_PROFILE
}

# Any playbook against the demo, e.g. `scripts/demo.sh play playbooks/update.yml`.
play() {
  [[ -d "$STATE" ]] || { echo "no demo is up: run make demo first" >&2; exit 1; }
  emulator_env
  local playbook=$1; shift
  "$BIN/ansible-playbook" "$playbook" -e @inventory/demo.vars.yml "$@"
}

up() {
  mkdir -p "$STATE" && chmod 700 "$STATE"
  emulator_env

  if ! podman container exists "$CONTAINER"; then
    log "starting container $CONTAINER (stands in for the instance), 127.0.0.1:$PORT -> 9999"
    podman run -d --name "$CONTAINER" --hostname jupyter-demo --systemd=always --cap-add SYS_BOOT \
      --label jupyterops=demo -p "127.0.0.1:$PORT:9999" "$IMAGE" /sbin/init >/dev/null
  elif [[ "$(podman inspect -f '{{.State.Running}}' "$CONTAINER")" != true ]]; then
    podman start "$CONTAINER" >/dev/null
  fi

  # The container trusts this machine's extra CAs (as a host behind a TLS-intercepting proxy).
  "$BIN/ansible-playbook" -i "$CONTAINER," -c containers.podman.podman molecule/_shared/prepare.yml \
    >"$STATE/prepare.log" 2>&1 || { tail -40 "$STATE/prepare.log"; exit 1; }

  log "ansible-playbook site.yml -e @inventory/demo.vars.yml (log: $STATE/site.log)"
  if ! "$BIN/ansible-playbook" site.yml -e @inventory/demo.vars.yml "$@" | tee "$STATE/site.log"; then
    log "site.yml failed; see $STATE/site.log"
    exit 1
  fi
  log "JupyterLab: https://127.0.0.1:$PORT/ (self-signed certificate, /etc/jupyter/tls/cert.pem in the container)"
  log "Password file on this machine: $STATE/jupyter-password"
  log "Other playbooks on the demo: scripts/demo.sh play playbooks/update.yml (or stop.yml, start.yml, ...)"
  log "Tear down with: make demo-down"
}

down() {
  if podman container exists "$CONTAINER"; then
    podman rm -f -t 5 "$CONTAINER" >/dev/null
    log "removed container $CONTAINER"
  fi
  "$BIN/python" tests/harness/ec2_emulator.py stop --state-dir "$STATE"
  rm -rf "$STATE"
  log "stopped the EC2 emulator and removed $STATE"
}

cmd=${1:-up}; shift || true
case $cmd in
  up) up "$@" ;;
  play) play "$@" ;;
  down) down ;;
  *) echo "usage: $0 up [ansible-playbook args] | play PLAYBOOK [args] | down" >&2; exit 2 ;;
esac
