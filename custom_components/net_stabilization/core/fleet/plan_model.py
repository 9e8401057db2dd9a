"""What the planner takes and gives: the miners as it sees them, its knobs, and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from ..miners.base import S9_POINTS, OperatingPoints
from ..power_curve import S9_CURVE, PowerCurve
from .model import PowerMode


class TargetPolicy(StrEnum):
    """What to do with a target that falls between two reachable powers."""

    NEAREST = "nearest"
    NEVER_ABOVE = "never_above"


class Action(StrEnum):
    """What a plan asks of one miner."""

    KEEP = "keep"  # stays as it is (running or asleep)
    START = "start"  # wake, at the given setting
    STOP = "stop"  # sleep
    CHANGE = "change"  # keeps running, at a new setting


@dataclass(frozen=True, slots=True)
class PlanMiner:
    """One miner as the planner sees it."""

    mac: str
    running: bool  # mining, or already on its way there (waking, changing)
    setting: float | None = None  # what it runs at or heads to, in its unit; None if unknown
    runtime_s: float = 0.0
    available: bool = True  # False: never planned; its `present_w` is counted as it is
    locked: bool = False  # must keep its present state (minimum on/off time)
    power_scale: float = 1.0  # measured power / curve power, from calibration
    standby_w: float | None = None  # None: the curve's standby draw
    present_w: float = 0.0  # draw of an unavailable miner
    can_change: bool = True  # accepts a new setting
    wake_failures: int = 0  # recent wakes that did not produce mining: started last
    # Chance that a start (planned, or under way and not yet seen mining) ends up mining: its
    # draw over standby and its hashrate are counted at this share, so a deficit is met by
    # expected arrivals and a fleet whose wakes sometimes fail wakes spares.
    arrival: float = 1.0
    # Told to sleep, but it can be given back without a new wake (its reboot is still under
    # way, or the sleep was not heard yet while it hashes): a start runs at this setting
    # and costs no wake. None: a start is a real wake.
    resume_setting: float | None = None
    # What this miner can run at and what its moves cost; None: an S9 (`S9_POINTS`) on the
    # fleet's curve (`PlanLimits.curve`).
    points: OperatingPoints | None = None
    # In the hot reserve: its mining software is stopped, not asleep, so a start is a restart
    # of it (`OperatingPoints.hot_wake_s`), not a reboot.
    hot: bool = False
    # Running, but its start is still under way (not hashing yet): it draws little and may
    # fail, so when the target falls it stops before miners already delivering.
    starting: bool = False
    # Hashing time its start and its change of setting lose, as measured on this miner (or
    # its kind); None: its operating points' figures. A miner seen to move slowly does not
    # swing, whatever its firmware promises.
    start_s: float | None = None
    change_s: float | None = None
    change_down_s: float | None = None  # a change to a lower setting; None: as `change_s`


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """Knobs of the planner. What a miner can run at and what its moves cost come with the
    miner (`PlanMiner.points`), not from here."""

    # The curve of the miners set by frequency (S9s).
    curve: PowerCurve = S9_CURVE
    policy: TargetPolicy = TargetPolicy.NEAREST
    frequency_tolerance_w: float = 50.0  # the fine mode meets the target within this
    # Efficiency first, then transitions: a plan within `efficiency_floor` of the best hashrate
    # on offer is good enough, and among those the fewest transitions win unless more pay
    # back within `payback_horizon_s` (targets change every few minutes: small gains rarely
    # outlive the target). A plan below the floor is taken only if nothing reaches it.
    efficiency_floor: float = 0.97
    payback_horizon_s: float = 600.0

    def points_of(self, m: PlanMiner) -> OperatingPoints:
        """A miner's operating points; an S9 on the fleet's curve when it brings none."""
        if m.points is not None:
            return m.points
        return self._s9_points

    @property
    def _s9_points(self) -> OperatingPoints:
        if self.curve is S9_POINTS.curve:
            return S9_POINTS
        return replace(S9_POINTS, curve=self.curve)


def full_setting(points: OperatingPoints, mode: PowerMode) -> float:
    """The setting of a miner running "full" in `mode`: its nominal one, or in the fine mode
    the top of its fine range where it has one."""
    if mode is PowerMode.ON_OFF or points.fine_range is None:
        return points.curve.nominal_setting
    return points.fine_range[1]


@dataclass(frozen=True, slots=True)
class MinerAssignment:
    """The plan for one miner."""

    mac: str
    action: Action
    setting: float | None  # setting to run at; None when it is to sleep


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    """The result of planning: one assignment per available miner."""

    target_w: float
    mode: PowerMode
    policy: TargetPolicy
    planned_w: float  # expected fleet power once the plan is in place
    hashrate_ths: float
    assignments: tuple[MinerAssignment, ...] = field(default=())
    summary: str = ""
    # The most the fleet could draw now: every miner it may plan running at its highest
    # setting, the rest as they are (what "the most the fleet can draw" may claim).
    most_w: float = 0.0
    slow: int = 0  # transitions that lose more than a minute of hashing (reboots, slow starts)

    def _count(self, action: Action) -> int:
        return sum(1 for a in self.assignments if a.action is action)

    @property
    def starts(self) -> int:
        """Miners to wake."""
        return self._count(Action.START)

    @property
    def stops(self) -> int:
        """Miners to put to sleep."""
        return self._count(Action.STOP)

    @property
    def changes(self) -> int:
        """Running miners to move to another setting."""
        return self._count(Action.CHANGE)

    @property
    def transitions(self) -> int:
        """Every change of a miner's state."""
        return self.starts + self.stops + self.changes

    @property
    def running(self) -> int:
        """Miners planned to run."""
        return sum(1 for a in self.assignments if a.setting is not None)

    def assignment(self, mac: str) -> MinerAssignment | None:
        """The assignment of one miner, if the plan has one."""
        return next((a for a in self.assignments if a.mac == mac), None)
