#!/usr/bin/python
# Copyright: jupyterops.cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402  (DOCUMENTATION, EXAMPLES and RETURN come first, as in every Ansible module)
"""Ansible module: the encryption of EBS volumes (DescribeVolumes Encrypted and KmsKeyId)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: ec2_volume_kms_info
short_description: Tell whether EBS volumes are encrypted, and with which KMS key
version_added: 0.1.0
description:
  - Calls EC2 DescribeVolumes for the given volume ids and returns, per volume, C(Encrypted) and C(KmsKeyId)
    (the ARN of the KMS key that encrypts it).
  - amazon.aws.ec2_vol_info does not return the key; amazon.aws.kms_key_info then tells whether the key is
    customer managed (C(key_manager)) and its aliases.
  - Read-only; runs in check mode too. Fails, naming the ids, when EC2 does not know one of them.
options:
  volume_ids:
    description: EBS volume ids, for example C(vol-0123456789abcdef0). At most 200.
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
- name: Which key encrypts the root volume?
  jupyterops.cloud.ec2_volume_kms_info:
    volume_ids: [vol-0123456789abcdef0]
    region: eu-west-1
  register: enc

- name: Show it
  ansible.builtin.debug:
    msg: "{{ enc.volumes[0].kms_key_id }}"
"""

RETURN = r"""
volumes:
  description: Per requested volume, in the order asked, its id, whether it is encrypted and the key's ARN.
  returned: always
  type: list
  elements: dict
  sample: [{"volume_id": "vol-0123456789abcdef0", "encrypted": true,
            "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

_MAX_VOLUMES = 200
_UNKNOWN = ("InvalidVolume.NotFound", "InvalidVolumeID.Malformed")


def encryption(described: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    """Per wanted id (in order) the volume id, Encrypted and KmsKeyId ("" when none) of DescribeVolumes."""
    by_id = {item["VolumeId"]: item for item in described}
    return [
        {
            "volume_id": volume_id,
            "encrypted": bool(by_id[volume_id].get("Encrypted", False)),
            "kms_key_id": by_id[volume_id].get("KmsKeyId", "") or "",
        }
        for volume_id in wanted
        if volume_id in by_id
    ]


def describe(client: Any, volume_ids: list[str]) -> list[dict[str, Any]]:
    """DescribeVolumes for volume_ids, every page (amazon.aws' paginator, retried on throttling)."""
    return paginated_query_with_retries(client, "describe_volumes", VolumeIds=volume_ids)["Volumes"]


def main() -> None:
    """Run the module."""
    module = AnsibleAWSModule(
        argument_spec={"volume_ids": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    wanted = list(dict.fromkeys(module.params["volume_ids"]))
    if not wanted or len(wanted) > _MAX_VOLUMES:
        module.fail_json(msg=f"volume_ids must name 1-{_MAX_VOLUMES} volumes (got {len(wanted)}).")
    client = module.client("ec2")
    try:
        described = describe(client, wanted)
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in _UNKNOWN:
            module.fail_json(msg=f"EC2 does not know the volume(s) {', '.join(wanted)}: "
                             f"{error.response['Error'].get('Message', '')}", unknown_volume_ids=wanted)
        module.fail_json_aws(error, msg="DescribeVolumes failed")
    except botocore.exceptions.BotoCoreError as error:
        module.fail_json_aws(error, msg="DescribeVolumes failed")
    volumes = encryption(described, wanted)
    missing = [volume_id for volume_id in wanted if volume_id not in {v["volume_id"] for v in volumes}]
    if missing:
        module.fail_json(msg=f"EC2 does not know the volume(s) {', '.join(missing)}.",
                         unknown_volume_ids=missing)
    module.exit_json(changed=False, volumes=volumes)


if __name__ == "__main__":
    main()
