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
  - Read-only; nothing on the host changes, so it supports check mode.
  - Must run with the Jupyter environment's Python (set C(ansible_python_interpreter) for the
    task), because it uses tornado, a jupyter_server dependency, for the websocket.
options:
  url:
    description: Base URL of the server, for example C(https://127.0.0.1:9999/).
    type: str
    required: true
  password:
    description: The server's password (never logged).
    type: str
    required: true
    no_log: true
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
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.jupyterops.cloud.plugins.module_utils._jupyter_probe import (  # noqa: E402
    ProbeError,
    smoke,
)


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
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
    try:
        result = smoke(module.params["url"], module.params["password"], module.params["checks"],
                       cafile=module.params["ca_path"], verify=module.params["validate_certs"])
    except ProbeError as err:
        module.fail_json(msg=str(err))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
