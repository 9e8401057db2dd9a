"""The fleet as the outside world sees it: immutable snapshots and the contract's derived values.

Snapshots are frozen and rebuilt after every poll and command, so a consumer can tell whether
anything changed with a plain `==`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from .command_log import CommandRecord


class MinerState(StrEnum):
    """What the fleet believes one miner is doing."""

    OFFLINE = "offline"  # several reads in a row failed
    SLEEPING = "sleeping"  # reachable, not hashing, standby draw
    WAKING = "waking"  # asked to start; rebooting or ramping up
    MINING = "mining"  # hashing
    CHANGING = "changing"  # frequency change: mining software restarts
    FAILED = "failed"  # did not come up after repeated tries; resting until a cool-down ends


class FleetState(StrEnum):
    """The fleet's overall condition."""

    STANDBY = "standby"
    ACTIVATING = "activating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    FAULT = "fault"
    OVERRIDE = "override"


class PowerMode(StrEnum):
    """How the fleet varies its power."""

    ON_OFF = "on_off"  # whole miners at nominal frequency
    FREQUENCY = "frequency"  # whole miners plus per-miner frequency


class MinerOverride(StrEnum):
    """An operator's per-miner order that the planner must respect."""

    ON = "on"
    OFF = "off"


class RunningStatus(IntEnum):
    """The EMS contract's `runningStatus`."""

    STANDBY = 1
    ACTIVE = 2


@dataclass(frozen=True, slots=True)
class MinerSnapshot:
    """One miner at one moment."""

    mac: str
    host: str
    model: str
    firmware: str
    state: MinerState
    excluded: bool = False
    override: MinerOverride | None = None
    dispatchable: bool = False  # may be planned by the fleet (see `is_dispatchable`)
    dispatched: bool = False  # the fleet has ordered it to run
    stale: bool = False  # the latest read failed; values are from the one before
    overheated: bool = False
    power_w: float | None = None  # as reported by the miner; None when it did not say
    consumption_w: float = 0.0  # what the fleet counts: reported, else estimated from its state
    hashrate_ths: float | None = None
    frequency_mhz: float | None = None
    # The operator's pin, else the fleet's order while dispatched, in the miner's unit.
    target_setting: float | None = None
    chip_temp_c: float | None = None
    runtime_s: float = 0.0  # mining time seen by this controller, for wear levelling
    wake_failures: int = 0  # consecutive wakes that did not produce mining
    nominal_w: float = 0.0
    standby_w: float = 0.0
    hostname: str | None = None
    last_error: str | None = None
    driver: str = ""  # the driver kind (`FirmwareKind` value)
    hot: bool = False  # in the hot reserve: mining software stopped, restarts without a reboot
    setting_unit: str = "MHz"  # what `frequency_mhz` pins and `target_setting` are set in
    power_source: str = "reported"  # where `power_w` comes from (`PowerSource`)
    # Has answered a read as its firmware would (plausible for its model): counted in rated
    # power only then.
    trusted: bool = True
    board_temp_c: float | None = None  # hottest hash board, where the firmware reports one
    fan_rpm: tuple[int, ...] = ()
    controllable: bool = True  # False: its firmware can only be read (no sleep, no setting)
    # The firmware's own word in its latest reading: still initialising, ramping or tuning
    # (True), steady (False), or nothing said (None). Counted as progress of a transition.
    settling: bool | None = None


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """The whole fleet at one moment; everything the status endpoint and entities need."""

    state: FleetState
    mode: PowerMode
    available: bool  # isAvailableForDispatch
    running_status: RunningStatus
    rated_power_kw: float
    active_power_kw: float
    target_kw: float | None  # the target in force, None when none is
    dispatch_enabled: bool
    override_enabled: bool
    override_target_kw: float | None
    plan_summary: str
    hashrate_ths: float
    power_source: str  # "meter" or "miners"
    updated_at: datetime
    miners: tuple[MinerSnapshot, ...] = ()
    faults: tuple[str, ...] = field(default=())
    last_command: CommandRecord | None = None
    target_source: str = "none"  # what decides the target in force (`TargetSource`)
    limit_kw: float | None = None  # the site's cap in force, None when there is none
    tripped: bool = False  # the site's safety trip holds the fleet off
    hot_reserve_miners: int = 0  # S9s held with their mining software stopped
    hot_reserve_w: float = 0.0  # what they draw
    strategy: str | None = None  # the local strategy configured (`pv_surplus`, ...), if any
    strategy_status: str = "none"  # what it does now (`StrategyStatus`)
    strategy_target_kw: float | None = None  # its target while it decides
    strategy_reason: str = ""  # why it wants that target
    # The miners by MAC (derived from `miners`; for O(1) look-ups by entities and the API).
    by_mac: Mapping[str, MinerSnapshot] = field(
        default_factory=dict, compare=False, repr=False, init=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_mac", {m.mac: m for m in self.miners})

    @property
    def miners_total(self) -> int:
        """Number of known miners."""
        return len(self.miners)

    @property
    def miners_online(self) -> int:
        """Miners that answered recently."""
        return sum(1 for m in self.miners if m.state is not MinerState.OFFLINE)

    @property
    def miners_mining(self) -> int:
        """Miners that are hashing."""
        return sum(1 for m in self.miners if m.state is MinerState.MINING)

    @property
    def miners_dispatchable(self) -> int:
        """Miners the fleet may plan."""
        return sum(1 for m in self.miners if m.dispatchable)

    def miner(self, mac: str) -> MinerSnapshot | None:
        """The snapshot of the miner with this MAC, if known."""
        return self.by_mac.get(mac)

    def ems_status(self) -> dict[str, bool | int | float]:
        """The EMS status body: exactly the contract's four keys and JSON types."""
        return {
            "isAvailableForDispatch": self.available,
            "runningStatus": int(self.running_status),
            "ratedPowerInKw": self.rated_power_kw,
            "activePowerInKw": self.active_power_kw,
        }


def is_dispatchable(
    *,
    state: MinerState,
    excluded: bool,
    override: MinerOverride | None,
    overheated: bool,
    can_sleep: bool,
) -> bool:
    """Whether the fleet may plan a miner: reachable, healthy, controllable and not reserved."""
    return (
        state not in (MinerState.OFFLINE, MinerState.FAILED)
        and not excluded
        and override is None
        and not overheated
        and can_sleep
    )


def is_available_for_dispatch(
    *, dispatch_enabled: bool, override_enabled: bool, fault: bool, dispatchable_miners: int
) -> bool:
    """The contract's `isAvailableForDispatch`."""
    return dispatch_enabled and not override_enabled and not fault and dispatchable_miners > 0


def running_status(*, target_kw: float | None, dispatched_mining: int) -> RunningStatus:
    """The contract's `runningStatus`: active while a positive target is in force or
    dispatched miners are still mining."""
    if (target_kw is not None and target_kw > 0) or dispatched_mining > 0:
        return RunningStatus.ACTIVE
    return RunningStatus.STANDBY


def rated_power_kw(full_power_w: Iterable[float]) -> float:
    """The contract's `ratedPowerInKw`: the summed full power of the dispatchable miners."""
    return round(sum(full_power_w) / 1000.0, 3)


def active_power_kw(consumption_w: Iterable[float], meter_kw: float | None) -> float:
    """The contract's `activePowerInKw`: the site meter when it has a fresh value, else the
    miners' own consumption including the standby draw of sleeping ones."""
    if meter_kw is not None:
        return round(meter_kw, 3)
    return round(sum(consumption_w) / 1000.0, 3)


def derive_fleet_state(
    *,
    override_enabled: bool,
    fault: bool,
    target_kw: float | None,
    settling: bool,
    shedding: bool,
) -> FleetState:
    """Fault beats override beats the dispatch life cycle.

    `settling`: dispatched miners are still waking or changing frequency. `shedding`: miners the
    fleet told to sleep are still drawing mining power.
    """
    if fault:
        return FleetState.FAULT
    if override_enabled:
        return FleetState.OVERRIDE
    if target_kw is not None and target_kw > 0:
        return FleetState.ACTIVATING if settling else FleetState.ACTIVE
    return FleetState.DEACTIVATING if shedding or settling else FleetState.STANDBY
