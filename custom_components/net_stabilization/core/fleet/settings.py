"""What the fleet was last told, in a form that survives a restart."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import MinerOverride, PowerMode


@dataclass(frozen=True, slots=True)
class FleetSettings:
    """The commanded state: restoring it must not wake or sleep miners needlessly."""

    mode: PowerMode = PowerMode.ON_OFF
    ems_target_kw: float | None = None
    dispatch_enabled: bool = True
    override_enabled: bool = False
    override_target_kw: float | None = None
    excluded: frozenset[str] = frozenset()
    miner_overrides: Mapping[str, MinerOverride] = field(default_factory=dict)
    # Frequencies pinned by the operator for miners forced on (MAC → MHz).
    miner_pins: Mapping[str, float] = field(default_factory=dict)
    # Deactivated: miners that come up on their own (a power cut, a reboot) are put back to
    # sleep until the next activation.
    keep_asleep: bool = False
    # Miners the fleet ran or was bringing up: after a restart one that is still booting is
    # waited for like a wake, not taken for offline.
    dispatched: frozenset[str] = frozenset()
    # The local strategy: whether the operator has it on, and the target it had decided.
    strategy_enabled: bool = True
    strategy_target_kw: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (pins only when there are any, so older readers see the same keys)."""
        data: dict[str, Any] = {
            "mode": self.mode.value,
            "ems_target_kw": self.ems_target_kw,
            "dispatch_enabled": self.dispatch_enabled,
            "override_enabled": self.override_enabled,
            "override_target_kw": self.override_target_kw,
            "excluded": sorted(self.excluded),
            "miner_overrides": {mac: o.value for mac, o in sorted(self.miner_overrides.items())},
        }
        if self.miner_pins:
            data["miner_pins"] = dict(sorted(self.miner_pins.items()))
        if self.keep_asleep:
            data["keep_asleep"] = True
        if self.dispatched:
            data["dispatched"] = sorted(self.dispatched)
        if not self.strategy_enabled:
            data["strategy_enabled"] = False
        if self.strategy_target_kw is not None:
            data["strategy_target_kw"] = self.strategy_target_kw
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetSettings:
        """Parse stored settings; anything unreadable falls back to the safe default."""
        try:
            mode = PowerMode(data.get("mode", PowerMode.ON_OFF))
        except ValueError:
            mode = PowerMode.ON_OFF
        overrides: dict[str, MinerOverride] = {}
        raw_overrides = data.get("miner_overrides")
        if isinstance(raw_overrides, Mapping):
            for mac, value in raw_overrides.items():
                try:
                    overrides[str(mac)] = MinerOverride(value)
                except ValueError:
                    continue
        pins: dict[str, float] = {}
        raw_pins = data.get("miner_pins")  # absent in settings stored before pins existed
        if isinstance(raw_pins, Mapping):
            for mac, value in raw_pins.items():
                mhz = _power(value)
                if mhz is not None and mhz > 0 and overrides.get(str(mac)) is MinerOverride.ON:
                    pins[str(mac)] = mhz
        excluded = data.get("excluded")
        dispatched = data.get("dispatched")
        return cls(
            mode=mode,
            ems_target_kw=_power(data.get("ems_target_kw")),
            dispatch_enabled=data.get("dispatch_enabled") is not False,
            override_enabled=data.get("override_enabled") is True,
            override_target_kw=_power(data.get("override_target_kw")),
            excluded=frozenset(str(m) for m in excluded)
            if isinstance(excluded, list)
            else frozenset(),
            miner_overrides=overrides,
            miner_pins=pins,
            keep_asleep=data.get("keep_asleep") is True,
            dispatched=frozenset(str(m) for m in dispatched)
            if isinstance(dispatched, list)
            else frozenset(),
            strategy_enabled=data.get("strategy_enabled") is not False,
            strategy_target_kw=_power(data.get("strategy_target_kw")),
        )

    def describe(self) -> str:
        """A short line for the log."""
        if self.override_enabled:
            target = f"manual override at {self.override_target_kw} kW"
        elif self.ems_target_kw:
            target = f"target {self.ems_target_kw} kW"
        else:
            target = "standby"
        return f"{target}, mode {self.mode.value}, {len(self.excluded)} excluded"


def _power(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None
