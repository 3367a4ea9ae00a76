"""Extra in-process moto fix for this area (to be folded into tests/harness/ec2_emulator.py).

moto 5.2.5 omits ``SnapshotId`` from DescribeVolumes for a volume not made from a snapshot
(AWS returns an empty string); amazon.aws ``ec2_vol_info`` then fails with KeyError 'snapshot_id'.
"""

from __future__ import annotations

from typing import Any

_DONE = False


def patch_volume_snapshot_id() -> None:
    """Default a volume's snapshot_id to '' as AWS does."""
    global _DONE
    if _DONE:
        return
    from moto.ec2.models import elastic_block_store

    original = elastic_block_store.Volume.__init__

    def _init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.snapshot_id is None:
            self.snapshot_id = ""

    elastic_block_store.Volume.__init__ = _init  # type: ignore[method-assign]
    _DONE = True


if __name__ == "__main__":
    # Dev launcher: python tests/integration/ec2/moto_extra.py PORT  (serves until killed)
    import sys
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from tests.harness.ec2_emulator import Ec2Emulator

    patch_volume_snapshot_id()
    emulator = Ec2Emulator(port=int(sys.argv[1])).start()
    print(emulator.url, flush=True)
    while True:
        time.sleep(3600)
