"""What AWS does for a spot launch through RunInstances that the emulator does not model (a stand-in).

moto 5.2.5 launches an instance from a launch template whose data holds ``InstanceMarketOptions`` as an
ordinary on-demand instance: no spot request, no ``InstanceLifecycle``, no ``SpotInstanceRequestId``. On AWS,
RunInstances with spot market options opens a spot instance request (persistent here, so it outlives the
instance and relaunches it unless cancelled), tagged from the ``spot-instances-request`` tag specification,
and the instance names it in ``SpotInstanceRequestId``:
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html (InstanceMarketOptions,
TagSpecifications), https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Instance.html
(InstanceLifecycle, SpotInstanceRequestId),
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-requests.html (persistent requests).

``spot_requests_from_run_instances`` patches the emulator (it runs in the test process) for one test so that
teardown's cancellation of that request can be asserted; the request parameters themselves are asserted on the
recorded requests, never on this model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.models.spot_requests import SpotInstanceRequest
from moto.ec2.utils import convert_tag_spec, random_spot_request_id


class _RunInstancesSpotRequest(SpotInstanceRequest):
    """A spot request opened by RunInstances for an instance that already exists."""

    def __init__(self, backend: Any, instance: Any, spot: dict[str, Any],
                 tags: dict[str, dict[str, str]]) -> None:
        self._launched = instance
        super().__init__(
            backend, random_spot_request_id(), spot.get("MaxPrice", ""), instance.image_id,
            spot.get("SpotInstanceType", "one-time"), None, None, None, None, instance.key_name,
            [g.id for g in instance.security_groups], None, instance.instance_type, None, None, None, False,
            instance.subnet_id, tags, None, spot.get("InstanceInterruptionBehavior"),
        )

    def launch_instance(self) -> Any:
        """The instance RunInstances launched (moto's own request launches one of its own)."""
        return self._launched


@pytest.fixture
def spot_requests_from_run_instances(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """RunInstances with a launch template holding spot market options opens a linked spot request."""
    original = InstanceBackend.run_instances

    def run_instances(self: Any, image_id: str, count: int, user_data: Any, security_group_names: Any,
                      **kwargs: Any) -> Any:
        reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
        template = kwargs.get("launch_template")
        data = self._get_template_from_args(template).data if template else {}
        market = data.get("InstanceMarketOptions") or {}
        if market.get("MarketType") == "spot":
            tags = convert_tag_spec(data.get("TagSpecifications", []))
            for instance in reservation.instances:
                request = _RunInstancesSpotRequest(self, instance, market.get("SpotOptions") or {}, tags)
                self.spot_instance_requests[request.id] = request
                instance.lifecycle = "spot"
                instance.spot_instance_request_id = request.id
        return reservation

    monkeypatch.setattr(InstanceBackend, "run_instances", run_instances)
    yield
