"""Local strategies: what the fleet should draw given what the site's sensors say.

Each rule turns the site's inputs (grid power, price, frequency, temperature) into the power it
wants; `LocalStrategy` paces that with a band and minimum on/off times, so miners that reboot to
start are not cycled on every change. No rule talks to miners: the controller plans and acts.
"""

from .droop import FrequencyDroop, FrequencySettings
from .heat import HeatDemand, HeatSettings
from .inputs import FleetView, SiteInputs
from .pacing import LocalStrategy, Pacing, StrategyRule, Want
from .peak import PeakSettings, PeakShaving
from .price import PriceFollower, PriceSettings, break_even_per_kwh
from .surplus import SurplusFollower, SurplusSettings

__all__ = [
    "FleetView",
    "FrequencyDroop",
    "FrequencySettings",
    "HeatDemand",
    "HeatSettings",
    "LocalStrategy",
    "Pacing",
    "PeakSettings",
    "PeakShaving",
    "PriceFollower",
    "PriceSettings",
    "SiteInputs",
    "StrategyRule",
    "SurplusFollower",
    "SurplusSettings",
    "Want",
    "break_even_per_kwh",
]
