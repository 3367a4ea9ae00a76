#!/usr/bin/python
# Copyright: jupyterops.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: check a Jupyter server the way a user meets it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: jupyter_smoke
short_description: Check a running Jupyter server as a user would
version_added: 0.1.0
description:
  - Checks that the server answers over HTTP(S), refuses the API without a login, accepts the
    password through the browser's C(_xsrf) login flow, lists the kernels and runs code in each
    requested kernel over the kernel websocket.
  - With O(username) the URL is a JupyterHub; the check logs in through the hub's login form as that
    user, takes a short-lived API token, starts the user's server (if it is not running) and runs the
    code in it.
  - Read-only for a single-user server (runs in check mode too). With O(username) it starts the user's
    server and makes a 10-minute token it revokes at the end, so in check mode it is skipped.
  - Must run with the Jupyter environment's Python (set C(ansible_python_interpreter) for the
    task), because it uses tornado, a jupyter_server dependency, for the websocket.
options:
  url:
    description: Base URL of the server, for example C(https://127.0.0.1:9999/).
    type: str
    required: true
  password:
    description: The server's password, or the hub user's password with O(username) (never logged).
    type: str
    required: true
    no_log: true
  username:
    description: Log in to a JupyterHub at O(url) as this user instead of a single-user server.
    type: str
  stop_server:
    description: With O(username), stop the user's server after the checks.
    type: bool
    default: false
  ca_path:
    description: CA bundle or the server's own certificate to verify HTTPS against.
    type: path
  validate_certs:
    description: Verify the server's certificate.
    type: bool
    default: true
  checks:
    description: Code to run per kernel and the text its output must contain.
    type: list
    elements: dict
    default:
      - {kernel: python3, code: "1+1", expect: "2"}
      - {kernel: ir, code: "1+1", expect: "[1] 2"}
    suboptions:
      kernel:
        description: Kernel name as listed by C(jupyter kernelspec list).
        type: str
        required: true
      code:
        description: Code to run.
        type: str
        required: true
      expect:
        description: Text the output must contain.
        type: str
author:
  - jupyterops.cloud maintainers
"""

EXAMPLES = r"""
- name: Smoke test JupyterLab
  jupyterops.cloud.jupyter_smoke:
    url: "https://127.0.0.1:9999/"
    password: "{{ jupyterlab_password }}"
    ca_path: /etc/jupyter/tls/cert.pem
  vars:
    ansible_python_interpreter: /opt/jupyterlab/venv/bin/python
  no_log: true

- name: Smoke test a JupyterHub user's server
  jupyterops.cloud.jupyter_smoke:
    url: "https://127.0.0.1:443/"
    username: alice
    password: "{{ alice_password }}"
    ca_path: /etc/jupyter/tls/cert.pem
    stop_server: true
  vars:
    ansible_python_interpreter: /opt/jupyterhub/venv/bin/python
  no_log: true
"""

RETURN = r"""
kernelspecs:
  description: Kernel names the server lists.
  returned: success
  type: list
  elements: str
results:
  description: Each check's kernel, code and output text.
  returned: success
  type: list
  elements: dict
username:
  description: The hub user the checks ran as (with O(username)).
  returned: success and O(username) given
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.jupyterops.cloud.plugins.module_utils._jupyter_probe import (  # noqa: E402
    ProbeError,
    hub_smoke,
    smoke,
)


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "username": {"type": "str"},
            "stop_server": {"type": "bool", "default": False},
            "ca_path": {"type": "path"},
            "validate_certs": {"type": "bool", "default": True},
            "checks": {
                "type": "list", "elements": "dict",
                "default": [{"kernel": "python3", "code": "1+1", "expect": "2"},
                            {"kernel": "ir", "code": "1+1", "expect": "[1] 2"}],
                "options": {"kernel": {"type": "str", "required": True},
                            "code": {"type": "str", "required": True},
                            "expect": {"type": "str"}},
            },
        },
        supports_check_mode=True,
    )
    try:
        import tornado  # noqa: F401
    except ImportError:
        module.fail_json(msg="jupyter_smoke needs tornado: run it with the Jupyter environment's "
                             "python (ansible_python_interpreter)")
    params = module.params
    if params["username"] and module.check_mode:
        module.exit_json(changed=False, skipped=True,
                         msg="check mode: the hub check starts the user's server, so it does not run")
    try:
        if params["username"]:
            result = hub_smoke(params["url"], params["username"], params["password"], params["checks"],
                               cafile=params["ca_path"], verify=params["validate_certs"],
                               stop_server=params["stop_server"])
        else:
            result = smoke(params["url"], params["password"], params["checks"],
                           cafile=params["ca_path"], verify=params["validate_certs"])
    except ProbeError as err:
        module.fail_json(msg=str(err))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
