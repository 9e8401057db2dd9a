"""The driver interface the fleet uses to talk to one miner, whatever its firmware."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ..device_text import MAX_MESSAGE_CHARS, device_name, device_text
from ..power_curve import S9_CURVE, PowerCurve


class MinerError(Exception):
    """Base class for everything a driver raises. Its message often quotes the device, so it
    is made safe text (history, repairs and logs show it)."""

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (device_text(args[0], MAX_MESSAGE_CHARS), *args[1:])
        super().__init__(*args)


class MinerUnreachableError(MinerError):
    """Nothing answered: connection refused, host down, no route."""


class MinerTimeoutError(MinerError):
    """The miner accepted the connection but did not answer in time."""


class MinerAuthError(MinerError):
    """The miner rejected our credentials."""


class MinerProtocolError(MinerError):
    """The miner answered with something we cannot make sense of."""


class MinerUnsupportedError(MinerError):
    """The miner or its firmware cannot do what was asked (for example, sleep on stock S9)."""


class MiningState(StrEnum):
    """What the miner itself reports, before the fleet adds its own view (waking, failed...)."""

    MINING = "mining"  # bmminer runs and hashes
    STARTING = "starting"  # bmminer runs but has not reached its hashrate yet
    SLEEPING = "sleeping"  # web interface answers, mining software stopped or asleep
    OFFLINE = "offline"  # nothing answers


@dataclass(frozen=True, slots=True)
class MinerIdentity:
    """Who a miner is. The MAC is the identity; the host may change."""

    mac: str  # upper-case, colon separated
    host: str
    model: str  # e.g. "Antminer S9"
    firmware: str  # e.g. "Vnish 3.9.0" or "Bitmain stock"
    firmware_version: str  # e.g. "3.9.0"
    hostname: str | None = None

    def __post_init__(self) -> None:
        # Every driver builds its identity from what the device says: cleaned here, once.
        for name in ("model", "firmware", "firmware_version"):
            object.__setattr__(self, name, device_text(getattr(self, name)))
        object.__setattr__(self, "hostname", device_name(self.hostname))


class SettingUnit(StrEnum):
    """What a miner's setting is measured in."""

    MHZ = "MHz"  # chip frequency (S9 on Vnish 3.9)
    WATT = "W"  # a power target, or a preset or profile named by its power


@dataclass(frozen=True, slots=True)
class OperatingPoints:
    """What a miner can run at and what moving between its states costs, for the planner.

    A setting is a number in `unit`: the chip frequency of an S9, the power target of a
    Braiins OS+ miner, the power a preset or profile is tuned for. `curve` maps every setting
    to wall power and hashrate; `levels` lists the only settings a miner accepts (presets,
    profiles), empty when any setting between the curve's ends in `step`s applies.
    Costs are hashing time lost, in seconds, so the planner can weigh them against hashrate.
    """

    curve: PowerCurve = S9_CURVE
    unit: SettingUnit = SettingUnit.MHZ
    levels: tuple[float, ...] = ()
    step: float = 1.0
    wake_s: float = 160.0  # a start from standby: boot or initialisation plus the ramp
    wake_reboots: bool = True  # a start is a full reboot (the S9's wake from sleep)
    change_s: float = 100.0  # a change of setting while running
    change_stops_hashing: bool = True  # a change restarts the mining software
    stop_s: float = 10.0  # a stop loses no hashing the target allowed: wear, mostly
    # The settings the fleet uses in its fine (frequency) mode, the top one being "full"
    # there; None: the curve's ends, with the nominal setting as "full".
    fine_range: tuple[float, float] | None = None
    # A start from the hot reserve (mining software stopped, not asleep): no reboot.
    hot_wake_s: float = 100.0
    # What a healthy transition of this kind may take, deliberately generous until the fleet
    # measured the miner: the longest stretch without visible progress (a boot shows none
    # while the web is down), and a hard ceiling whatever the progress. 0: the fleet's
    # configured figures (`ControlConfig`), which suit an S9; a firmware known to take longer
    # asks for more here.
    start_pause_s: float = 0.0
    start_ceiling_s: float = 0.0
    change_pause_s: float = 0.0
    change_ceiling_s: float = 0.0
    stop_ceiling_s: float = 120.0

    @property
    def continuous(self) -> bool:
        """Any setting between the curve's ends applies (not only listed levels)."""
        return not self.levels

    @property
    def nominal(self) -> float:
        """The setting a miner runs at "full": its stock frequency or power target."""
        return self.curve.nominal_mhz

    def snap(self, setting: float) -> float:
        """The nearest setting the miner accepts."""
        if self.levels:
            return min(self.levels, key=lambda level: (abs(level - setting), level))
        low, high = self.curve.min_mhz, self.curve.max_mhz
        return min(high, max(low, round(setting / self.step) * self.step))


S9_POINTS = OperatingPoints(fine_range=(350.0, 650.0))
"""An S9 on Vnish 3.9: frequencies 350-800 MHz, 350-650 MHz in the fine mode (above that the
chips run hot for little gain); a wake reboots, a change restarts bmminer."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the fleet may ask of a miner and what it costs.

    `can_set_frequency` means the miner accepts a change of setting (its frequency, power
    target or preset); the `*_mhz` fields are in the setting's unit (`points.unit`).
    """

    can_sleep: bool
    can_set_frequency: bool
    min_mhz: float
    max_mhz: float
    nominal_mhz: float
    nominal_w: float
    max_w: float
    standby_w: float
    points: OperatingPoints = S9_POINTS

    @classmethod
    def from_points(cls, points: OperatingPoints, *, controllable: bool) -> Capabilities:
        """The capabilities of a miner described by its operating points."""
        curve = points.curve
        return cls(
            can_sleep=controllable,
            can_set_frequency=controllable and (points.continuous or len(points.levels) > 1),
            min_mhz=curve.min_mhz,
            max_mhz=curve.max_mhz,
            nominal_mhz=curve.nominal_mhz,
            nominal_w=curve.nominal_w,
            max_w=curve.max_w,
            standby_w=curve.standby_w,
            points=points,
        )


@dataclass(frozen=True, slots=True)
class ChainReading:
    """One hash board."""

    index: int
    chips: int
    hashrate_ths: float | None
    frequency_mhz: float | None
    board_temp_c: float | None
    chip_temp_c: float | None
    power_w: float | None  # the firmware's own estimate, when it has one


class PowerSource(StrEnum):
    """Where a reading's `power_w` comes from."""

    REPORTED = "reported"  # the firmware's own figure (measured or estimated by it)
    NAMEPLATE = "nameplate"  # the model's rated power: the firmware reports none


@dataclass(frozen=True, slots=True)
class MinerReading:
    """One poll of one miner. `None` means "not reported", never a made-up zero."""

    online: bool
    state: MiningState
    hashrate_ths: float | None = None
    frequency_mhz: float | None = None
    chip_temp_c: float | None = None  # hottest chip
    board_temp_c: float | None = None  # hottest board
    fan_rpm: tuple[int, ...] = ()
    power_w: float | None = None  # estimated wall power, standby draw when asleep
    uptime_s: int | None = None
    chains: tuple[ChainReading, ...] = field(default=())
    # The setting it runs at, in its unit (`OperatingPoints.unit`); None: not reported.
    # On an S9 this is the frequency; on a power-target miner the target in watts.
    setting: float | None = None
    power_source: PowerSource = PowerSource.REPORTED
    model: str | None = None  # as the device names itself, when a read tells
    # The figures are the firmware's own; False for a read that only saw some web server
    # answer (nothing in it shows the device is what it claimed to be).
    attested: bool = True
    # The firmware's own word on whether it is still on its way to a steady state: True while
    # it says it initialises, ramps, tunes or stabilises its temperatures, False when it says
    # it is steady, None when it says nothing (or words it in a way not known to mean either).
    settling: bool | None = None

    def __post_init__(self) -> None:
        if self.model is not None:
            object.__setattr__(self, "model", device_name(self.model))

    def setting_in(self, unit: SettingUnit) -> float | None:
        """The setting it runs at in `unit`; a frequency-set miner's is its frequency."""
        if self.setting is not None:
            return self.setting
        return self.frequency_mhz if unit is SettingUnit.MHZ else None


class MinerDriver(Protocol):
    """One miner. Implementations hold no fleet logic and never raise anything but `MinerError`."""

    @property
    def host(self) -> str:
        """Address the driver talks to."""
        ...

    @property
    def kind(self) -> str:
        """Which driver this is (a `FirmwareKind` value): stored, so a restart rebuilds it."""
        ...

    @property
    def identity(self) -> MinerIdentity | None:
        """Identity learnt by `identify()`, if it ran."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What this miner can do."""
        ...

    async def identify(self) -> MinerIdentity:
        """Read MAC, model, firmware and hostname."""
        ...

    async def read(self) -> MinerReading:
        """Poll the miner once (cheapest possible round trip)."""
        ...

    async def sleep(self) -> None:
        """Stop hashing and draw standby power; takes effect at once."""
        ...

    async def wake(self) -> None:
        """Start hashing again (on S9 this is a reboot of a minute or more)."""
        ...

    async def stop_mining(self) -> None:
        """Stop the mining software and keep it from starting again, also while it is still
        starting up (when it cannot hear `sleep` yet); `wake` brings it back."""
        ...

    async def restart_mining(self) -> None:
        """Start the mining software again after `stop_mining`, without a reboot where the
        firmware allows (on an S9 a restart of bmminer; elsewhere the same as `wake`)."""
        ...

    async def apply_setting(self, setting: float) -> None:
        """Run at `setting` (in `capabilities.points.unit`): a frequency, a power target, a
        preset. Returns once the miner accepted it (read back where the firmware's reply
        cannot be trusted); what it costs is in `capabilities.points`."""
        ...

    async def reboot(self) -> None:
        """Reboot the whole miner."""
        ...
