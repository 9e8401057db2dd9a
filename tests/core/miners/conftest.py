"""Driver tests talk to real loopback servers: the shared simulator and small stand-ins."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """Allow creating sockets (the HA test plugin blocks them by default)."""
