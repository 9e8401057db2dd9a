"""Constants of the Net Stabilization integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "net_stabilization"
LOGGER = logging.getLogger(__package__)
