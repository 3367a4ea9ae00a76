#!/usr/bin/python
# Copyright: jupyterops.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (DOCUMENTATION, EXAMPLES and RETURN come first, as in every Ansible module)
"""Ansible module: describe EC2 instance types (DescribeInstanceTypes), e.g. their CPU architectures."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_instance_type_info
short_description: Describe EC2 instance types, for example their CPU architectures
version_added: 0.1.0
description:
  - Calls EC2 DescribeInstanceTypes for the given instance types and returns what EC2 says about them, and
    per type the CPU architectures it supports (C(ProcessorInfo.SupportedArchitectures), that is C(x86_64),
    C(arm64), C(i386), C(x86_64_mac) or C(arm64_mac)).
  - Neither amazon.aws nor community.aws has a module for this call.
  - Read-only; runs in check mode too. Fails, naming the types, when EC2 does not know one of them in the
    region.
options:
  instance_types:
    description: Instance types to describe, for example C(t4g.small). At most 100.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - jupyterops.cloud maintainers
"""

EXAMPLES = r"""
- name: Which architecture does t4g.small have?
  jupyterops.cloud.ec2_instance_type_info:
    instance_types: [t4g.small]
    region: eu-west-1
  register: types

- name: Show it
  ansible.builtin.debug:
    msg: "{{ types.architectures['t4g.small'] }}"  # ['arm64']
"""

RETURN = r"""
architectures:
  description: Per requested instance type, the CPU architectures it supports, in EC2's order.
  returned: always
  type: dict
  sample: {"t4g.small": ["arm64"], "t2.micro": ["i386", "x86_64"]}
instance_types:
  description: What DescribeInstanceTypes returned for each type, with snake_case keys.
  returned: always
  type: list
  elements: dict
  sample: [{"instance_type": "t4g.small", "processor_info": {"supported_architectures": ["arm64"]}}]
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

_MAX_TYPES = 100


def architectures(described: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Map each type of DescribeInstanceTypes' InstanceTypes to its supported architectures."""
    return {
        item["InstanceType"]: list(item.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
        for item in described
    }


def describe(client: Any, instance_types: list[str]) -> list[dict[str, Any]]:
    """DescribeInstanceTypes for instance_types, every page (amazon.aws' paginator, retried on throttling)."""
    pages = paginated_query_with_retries(client, "describe_instance_types", InstanceTypes=instance_types)
    return pages["InstanceTypes"]


def main() -> None:
    """Run the module."""
    module = AnsibleAWSModule(
        argument_spec={"instance_types": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    wanted = sorted(set(module.params["instance_types"]))
    if not wanted or len(wanted) > _MAX_TYPES:
        module.fail_json(msg=f"instance_types must name 1-{_MAX_TYPES} instance types (got {len(wanted)}).")
    client = module.client("ec2")
    try:
        described = describe(client, wanted)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidInstanceType":
            region = client.meta.region_name
            module.fail_json(
                msg=f"EC2 does not know the instance type(s) {', '.join(wanted)} in {region}: "
                f"{error.response['Error'].get('Message', '')}",
                unknown_instance_types=wanted,
            )
        module.fail_json_aws(error, msg="DescribeInstanceTypes failed")
    except botocore.exceptions.BotoCoreError as error:
        module.fail_json_aws(error, msg="DescribeInstanceTypes failed")
    archs = architectures(described)
    missing = [name for name in wanted if name not in archs]
    if missing:
        module.fail_json(msg=f"EC2 does not know the instance type(s) {', '.join(missing)}.",
                         unknown_instance_types=missing)
    module.exit_json(
        changed=False,
        architectures=archs,
        instance_types=[camel_dict_to_snake_dict(item) for item in described],
    )


if __name__ == "__main__":
    main()
