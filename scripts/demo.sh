#!/usr/bin/env bash
# make demo / make demo ACCESS=tunnel / make demo-down: the whole build with no AWS account.
#   up (ACCESS=public, the default of this script): start the local EC2 emulator (a stand-in for AWS),
#         start a Debian 12 systemd container standing in for the EC2 instance (its port 9999
#         published on 127.0.0.1:$DEMO_PORT, reached through the podman connection, no data disk),
#         run site.yml against both, print the URL and where the password is kept.
#   up (ACCESS=tunnel): the project's DEFAULTS end to end over SSH: the emulator plus an SSH test host
#         (tests/harness/ssh_host.py: a container standing in for the EC2 instance, sshd on
#         127.0.0.1:$DEMO_SSH_PORT, login user admin with sudo and the demo's key, a loop device
#         standing in for the EBS data volume), site.yml with inventory/demo-tunnel.vars.yml (tunnel
#         mode, data disk by volume id), then connect.yml with a tagged_ec2 inventory, the SSH tunnel
#         opened from its Host block and http://localhost:$DEMO_LOCAL_PORT/ checked through it.
#   play PLAYBOOK [args]: any playbook against the demo that is up.
#   recreate (tunnel): a NEW stand-in instance (container removed and made again, same data disk),
#         as after teardown.yml on AWS; run `up` next.
#   down: remove what `up` made (without ACCESS and DEMO_STATE: both forms).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=localhost/jupyterops-debian12-systemd:latest
BIN=$PWD/.venv/bin
export ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true
log() { printf '[demo] %s\n' "$*"; }

# ACCESS (or DEMO_ACCESS): public or tunnel. For play/down/recreate without it, the form that is up.
ACCESS=${ACCESS:-${DEMO_ACCESS:-}}
ACCESS_ARG=$ACCESS
if [[ -z "$ACCESS" && -n "${DEMO_STATE:-}" && -f "${DEMO_STATE}/access" ]]; then
  ACCESS=$(cat "$DEMO_STATE/access")
fi
if [[ -z "$ACCESS" && "${1:-up}" != up && -z "${DEMO_STATE:-}" && ! -d .cache/demo \
      && -f .cache/demo-tunnel/access ]]; then
  ACCESS=tunnel
fi
ACCESS=${ACCESS:-public}
case $ACCESS in
  public) STATE=${DEMO_STATE:-$PWD/.cache/demo}; VARS=inventory/demo.vars.yml ;;
  tunnel) STATE=${DEMO_STATE:-$PWD/.cache/demo-tunnel}; VARS=inventory/demo-tunnel.vars.yml ;;
  *) echo "ACCESS must be public or tunnel (got '$ACCESS')" >&2; exit 2 ;;
esac
CONTAINER=${DEMO_CONTAINER:-jupyterops-demo}
PORT=${DEMO_PORT:-8443}
SSH_CONTAINER=${DEMO_SSH_CONTAINER:-jupyterops-demo-ssh}
LOCAL_PORT=${DEMO_LOCAL_PORT:-8889}
HOST_NAME=jupyter   # ec2_host_names' default: the instance's Name tag and the SSH config's Host
export JUPYTEROPS_DEMO_STATE=$STATE JUPYTEROPS_DEMO_CONTAINER=$CONTAINER JUPYTEROPS_DEMO_PORT=$PORT

emulator_env() {
  local url hook=()
  # Tunnel form: every AttachVolume/DetachVolume of the emulator makes/removes the volume's NVMe
  # by-id name inside the SSH test host (no udev there), so data_volume finds the disk by volume id.
  if [[ $ACCESS == tunnel ]]; then
    hook=(--attach-hook "$BIN/python $PWD/tests/harness/ssh_host.py hook --container $SSH_CONTAINER")
  fi
  url=$("$BIN/python" tests/harness/ec2_emulator.py start --state-dir "$STATE" "${hook[@]}")
  log "EC2 emulator (stand-in for AWS) at $url"
  export AWS_URL=$url AWS_ENDPOINT_URL=$url AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1 \
         AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  unset AWS_SESSION_TOKEN AWS_PROFILE
}

# Tunnel form: what Ansible and ssh need to reach the SSH test host.
ssh_env() {
  local port
  port=$("$BIN/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' \
         "$STATE/ssh-host.json")
  export JUPYTEROPS_DEMO_SSH_PORT=$port
  # The stand-in's host keys (ssh-keyscan by the harness); host key checking stays on.
  export ANSIBLE_SSH_COMMON_ARGS="-o UserKnownHostsFile=$STATE/known_hosts"
}

# Any playbook against the demo, e.g. `scripts/demo.sh play playbooks/update.yml`.
play() {
  [[ -d "$STATE" ]] || { echo "no demo is up: run make demo first" >&2; exit 1; }
  emulator_env
  [[ $ACCESS == tunnel ]] && ssh_env
  local playbook=$1; shift
  "$BIN/ansible-playbook" "$playbook" -e @"$VARS" "$@"
}

up_public() {
  mkdir -p "$STATE" && chmod 700 "$STATE"
  echo public >"$STATE/access"
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

# The SSH test host (stand-in for the EC2 instance) with the demo's key as its authorized key.
ssh_host_up() {
  local args=(--state-dir "$STATE" --name "$SSH_CONTAINER" --public-key "$STATE/ssh-key.pub"
              --alias "$HOST_NAME" --hostname "$HOST_NAME")
  [[ -n "${DEMO_SSH_PORT:-}" ]] && args+=(--port "$DEMO_SSH_PORT")
  "$BIN/python" tests/harness/ssh_host.py "$@" "${args[@]}" >/dev/null
}

tunnel_close() {
  if [[ -S "$STATE/tunnel.sock" ]]; then
    ssh -S "$STATE/tunnel.sock" -O exit "$HOST_NAME" >/dev/null 2>&1 || true
  fi
  rm -f "$STATE/tunnel.sock"
}

# connect.yml's SSH config, then the tunnel from its Host block (LocalForward), kept open in the
# background (control socket $STATE/tunnel.sock), and the URL checked through it.
connect_and_tunnel() {
  local url="http://localhost:$LOCAL_PORT/" code=""
  cat >"$STATE/demo.tagged_ec2.yml" <<EOF
# Written by scripts/demo.sh (ACCESS=tunnel): the instances of the emulator, as on AWS.
plugin: jupyterops.cloud.tagged_ec2
region: eu-west-1
tags:
  Project: jupyterops
ssh_user: admin
ssh_identity_file: $STATE/ssh-key
tunnel_local_port: $LOCAL_PORT
# The stand-in's address: the SSH test host's sshd on 127.0.0.1:$JUPYTEROPS_DEMO_SSH_PORT (on AWS
# ansible_host is the instance's public IP and the port 22: drop this compose block).
compose:
  ansible_host: "'127.0.0.1'"
  ansible_port: "$JUPYTEROPS_DEMO_SSH_PORT"
EOF
  log "ansible-playbook -i $STATE/demo.tagged_ec2.yml playbooks/connect.yml (log: $STATE/connect.log)"
  if ! "$BIN/ansible-playbook" -i "$STATE/demo.tagged_ec2.yml" playbooks/connect.yml \
       -e "jupyterops_connect_ssh_config=$STATE/ssh_config" >"$STATE/connect.log" 2>&1; then
    tail -40 "$STATE/connect.log"; log "connect.yml failed; see $STATE/connect.log"; exit 1
  fi
  grep -q "^    Port " "$STATE/ssh_config" || log "warning: $STATE/ssh_config has no Port line"

  tunnel_close
  ssh -F "$STATE/ssh_config" -o UserKnownHostsFile="$STATE/known_hosts" -o ExitOnForwardFailure=yes \
    -o BatchMode=yes -f -N -M -S "$STATE/tunnel.sock" "$HOST_NAME"
  for _ in $(seq 1 30); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${url}login" || true)
    [[ $code == 200 ]] && break
    sleep 1
  done
  [[ $code == 200 ]] || { log "no answer from ${url}login through the tunnel (HTTP $code)"; exit 1; }

  log "SSH config written by connect.yml: $STATE/ssh_config (Host $HOST_NAME)"
  log "Tunnel:       ssh -F $STATE/ssh_config -o UserKnownHostsFile=$STATE/known_hosts -N $HOST_NAME"
  log "Plain form:   ssh -N -L $LOCAL_PORT:localhost:8889 -p $JUPYTEROPS_DEMO_SSH_PORT -i $STATE/ssh-key" \
      "-o UserKnownHostsFile=$STATE/known_hosts admin@127.0.0.1"
  log "The tunnel is open now (in the background): JupyterLab at $url answers (HTTP $code)"
}

up_tunnel() {
  mkdir -p "$STATE" && chmod 700 "$STATE"
  echo tunnel >"$STATE/access"
  # The user's key pair (on AWS: ~/.ssh/id_ed25519); site.yml imports its public half.
  [[ -f "$STATE/ssh-key" ]] || ssh-keygen -q -t ed25519 -N '' -C jupyterops-demo -f "$STATE/ssh-key"
  emulator_env
  log "SSH test host $SSH_CONTAINER (stands in for the EC2 instance; data disk: a loop device)"
  ssh_host_up up
  ssh_env
  log "sshd of the stand-in on 127.0.0.1:$JUPYTEROPS_DEMO_SSH_PORT (user admin, key $STATE/ssh-key)"

  log "ansible-playbook site.yml -e @$VARS (log: $STATE/site.log)"
  if ! "$BIN/ansible-playbook" site.yml -e @"$VARS" "$@" | tee "$STATE/site.log"; then
    log "site.yml failed; see $STATE/site.log"
    exit 1
  fi
  connect_and_tunnel
  log "Password file on this machine: $STATE/jupyter-password"
  log "Other playbooks on the demo: ACCESS=tunnel scripts/demo.sh play playbooks/update.yml (or stop.yml, ...)"
  log "Tear down with: make demo-down"
}

recreate() {
  [[ $ACCESS == tunnel ]] || { echo "recreate is for ACCESS=tunnel" >&2; exit 2; }
  [[ -f "$STATE/ssh-host.json" ]] || { echo "no SSH test host: run make demo ACCESS=tunnel" >&2; exit 1; }
  tunnel_close
  emulator_env
  ssh_host_up recreate
  rm -rf "$STATE/facts"
  log "new stand-in instance $SSH_CONTAINER (same data disk); run: ACCESS=tunnel scripts/demo.sh up"
}

down_one() {
  local access=$1 state=$2
  [[ -d "$state" || $access == public ]] || return 0
  if [[ $access == public ]]; then
    if podman container exists "$CONTAINER"; then
      podman rm -f -t 5 "$CONTAINER" >/dev/null
      log "removed container $CONTAINER"
    fi
  else
    STATE=$state tunnel_close
    # Container, loop device and disk file of the SSH test host.
    if [[ -f "$state/ssh-host.json" ]]; then
      "$BIN/python" tests/harness/ssh_host.py down --state-dir "$state"
      log "removed the SSH test host and its data disk"
    elif podman container exists "$SSH_CONTAINER"; then
      podman rm -f -t 5 "$SSH_CONTAINER" >/dev/null
    fi
  fi
  [[ -d "$state" ]] || return 0
  "$BIN/python" tests/harness/ec2_emulator.py stop --state-dir "$state"
  rm -rf "$state"
  log "stopped the EC2 emulator and removed $state"
}

down() {
  if [[ -n "$ACCESS_ARG" || -n "${DEMO_STATE:-}" ]]; then
    down_one "$ACCESS" "$STATE"
  else
    down_one public "$PWD/.cache/demo"
    down_one tunnel "$PWD/.cache/demo-tunnel"
  fi
}

cmd=${1:-up}; shift || true
case $cmd in
  up) if [[ $ACCESS == tunnel ]]; then up_tunnel "$@"; else up_public "$@"; fi ;;
  play) play "$@" ;;
  recreate) recreate ;;
  down) down ;;
  *) echo "usage: [ACCESS=public|tunnel] $0 up [ansible-playbook args] | play PLAYBOOK [args] | recreate | down" >&2
     exit 2 ;;
esac
