"""Jupyter server extension: a busy kernel counts as activity.

Installed by the jupyterops.cloud.jupyterhub role into the users' environment. A cell that computes for
hours without printing sends no kernel messages, so jupyter_server's last activity - what
jupyterhub-singleuser reports to the hub and what jupyterhub-idle-culler reads - would go stale and
the culler would stop the server mid-computation. Every ``interval`` seconds this marks the kernel
manager as active while any kernel is busy.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

_DEFAULT_INTERVAL = 30


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Entry point jupyter_server looks up."""
    return [{"module": "jupyterops_busy_activity"}]


def busy_kernels(kernels: list[dict[str, Any]]) -> list[str]:
    """Ids of the kernels whose execution state is busy."""
    return [str(k.get("id")) for k in kernels if k.get("execution_state") == "busy"]


def _interval() -> int:
    """Seconds between checks: the hub's activity interval (capped at the default), at least 5."""
    try:
        hub = int(os.environ.get("JUPYTERHUB_ACTIVITY_INTERVAL", _DEFAULT_INTERVAL))
    except ValueError:
        hub = _DEFAULT_INTERVAL
    return max(5, min(hub, _DEFAULT_INTERVAL))


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Start the periodic check on the server's event loop."""
    from tornado.ioloop import PeriodicCallback

    manager = serverapp.kernel_manager

    def mark_busy_as_active() -> None:
        if busy_kernels(manager.list_kernels()):
            manager.last_kernel_activity = dt.datetime.now(dt.timezone.utc)  # noqa: UP017 - Python 3.10 (Ubuntu 22.04) has no dt.UTC

    callback = PeriodicCallback(mark_busy_as_active, _interval() * 1000)
    callback.start()
    serverapp.log.info("jupyterops_busy_activity: busy kernels count as activity (every %s s)", _interval())
