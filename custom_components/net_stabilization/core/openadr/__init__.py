"""An OpenADR 3 VEN for the fleet: the VTN's events into the fleet's precedence, its reports back.

No Home Assistant here: aiohttp for the VTN, an injected clock for time, and the fleet behind
`FleetPort` (the controller through `ControllerPort`).
"""

from .client import AuthFailed, TokenSource, VtnClient, VtnError, VtnRefused, VtnUnreachable
from .fleet_port import ControllerPort, FleetPort, FleetReading
from .price import GridPrice
from .ven import Connection, EventView, Ven, VenConfig, new_callback_token

__all__ = [
    "AuthFailed",
    "Connection",
    "ControllerPort",
    "EventView",
    "FleetPort",
    "FleetReading",
    "GridPrice",
    "TokenSource",
    "Ven",
    "VenConfig",
    "VtnClient",
    "VtnError",
    "VtnRefused",
    "VtnUnreachable",
    "new_callback_token",
]
