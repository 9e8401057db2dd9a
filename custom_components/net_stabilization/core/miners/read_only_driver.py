"""What every read-only driver shares: a flat curve at the model's nameplate, and a refusal of
every command that would change the miner."""

from __future__ import annotations

from ..power_curve import PowerCurve
from .base import Capabilities, MinerUnsupportedError, OperatingPoints, SettingUnit
from .cgminer_models import Rating
from .driver_base import DriverBase


def monitor_points(rating: Rating | None) -> OperatingPoints:
    """A flat curve at the model's nameplate (setting and power in W); all zero when the model
    is not a known one: there is nothing to plan with for a miner that cannot be controlled."""
    if rating is None:
        curve = PowerCurve(points=((0.0, 0.0, 0.0),), nominal_mhz=0.0, standby_w=0.0)
    else:
        point = (rating.rated_w, rating.rated_w, rating.nominal_ths)
        curve = PowerCurve(points=(point,), nominal_mhz=rating.rated_w, standby_w=rating.standby_w)
    return OperatingPoints(curve=curve, unit=SettingUnit.WATT)


class ReadOnlyDriver(DriverBase):
    """A driver that only reads: every command is refused with a `MinerUnsupportedError` that
    `_refusal` words for the miner at hand."""

    _rating: Rating | None

    @property
    def capabilities(self) -> Capabilities:
        """Read-only: a flat curve at the model's nameplate (zero for an unknown model)."""
        return Capabilities.from_points(monitor_points(self._rating), controllable=False)

    async def sleep(self) -> None:
        """Not possible: this driver only reads."""
        raise self._refusal("sleep")

    async def wake(self) -> None:
        """Not possible: this driver only reads."""
        raise self._refusal("wake")

    async def stop_mining(self) -> None:
        """Not possible: this driver only reads."""
        raise self._refusal("stop mining")

    async def restart_mining(self) -> None:
        """Not possible: this driver only reads."""
        raise self._refusal("restart its mining software")

    async def apply_setting(self, setting: float) -> None:
        """Not possible: this driver only reads."""
        raise self._refusal(f"run at {setting:g} W")

    async def reboot(self) -> None:
        """Not possible: this driver only reads."""
        raise self._refusal("reboot")

    def _refusal(self, action: str) -> MinerUnsupportedError:
        """The error that refuses `action` on this miner."""
        raise NotImplementedError
