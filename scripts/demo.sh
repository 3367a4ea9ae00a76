#!/usr/bin/env bash
# make demo / make demo-down. The end-to-end demo (site.yml against the local EC2 emulator and a
# local container standing in for the instance) is not built yet: see the issue tracker.
set -euo pipefail
case "${1:-up}" in
  up)
    cat >&2 <<'MSG'
make demo will: start the local EC2 emulator, start a Debian 12 systemd container standing in
for the EC2 instance, run `ansible-playbook site.yml` against both and print an
https://127.0.0.1:PORT URL and the controller path of the password file.
It is not implemented yet (site.yml end to end is a later issue).
MSG
    exit 2 ;;
  down) echo "make demo-down: nothing to remove (the demo is not implemented yet)" ;;
esac
