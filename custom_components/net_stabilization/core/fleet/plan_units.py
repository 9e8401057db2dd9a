"""The planner's working view of a miner: its kind's numbers and its own (setting range,
standby draw, what its moves cost as measured), and one candidate plan over all of them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..miners.base import OperatingPoints, SettingUnit
from ..power_curve import PowerCurve
from .plan_model import PlanMiner

SETTING_EPSILON = 0.5  # two settings closer than this are the same setting
WATT_EPSILON = 1e-6
MIN_ARRIVAL = 0.01  # a start's expected share is never taken as smaller (settings divide)
# A change of setting that keeps hashing (a power target) loses this share of its duration.
HASHING_CHANGE_SHARE = 0.1
# A transition that loses more hashing than this is slow: a reboot, a restart of the mining
# software, a start that initialises for minutes, a power target that settles for minutes.
# In a fleet that also has fast moves, slow transitions are avoided before efficiency is sought.
SLOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Kind:
    """What the planner needs of a miner's operating points."""

    curve: PowerCurve
    levels: tuple[float, ...]  # the only settings it accepts; empty: continuous in `step`s
    step: float
    stop_cost_s: float
    watt_setting: bool  # its setting is a power (a target or a preset), not a frequency
    reboots: bool  # a start is a full reboot
    rank: float  # J/TH at its nominal setting, rounded: who runs first
    # How cheaply it follows the next target: 0 any power while hashing (a swing miner),
    # 1 levels while hashing, 2 a change restarts mining, 3 a start is a reboot (the S9).
    agility: int = 3

    @classmethod
    def of(cls, points: OperatingPoints) -> Kind:
        """The planner's numbers of one kind of miner."""
        return cls(
            points.curve,
            tuple(sorted(points.levels)),
            points.step,
            points.stop_s,
            watt_setting=points.unit is SettingUnit.WATT,
            reboots=points.wake_reboots,
            rank=_rank(points.curve),
            agility=_agility(points),
        )


def _agility(points: OperatingPoints) -> int:
    if points.wake_reboots:
        return 3
    if points.change_stops_hashing:
        return 2
    return 1 if points.levels else 0


def _rank(curve: PowerCurve) -> float:
    hashrate = curve.hashrate_ths(curve.nominal_setting)
    return round(curve.nominal_w / hashrate, 1) if hashrate > 0 else math.inf


def change_cost_s(points: OperatingPoints, measured_s: float | None) -> float:
    """Hashing time a change of setting loses: all of it when the change restarts the mining
    software, a share of it when the miner hashes through the change."""
    duration = points.change_s if measured_s is None else measured_s
    return duration * (1.0 if points.change_stops_hashing else HASHING_CHANGE_SHARE)


@dataclass(slots=True)
class Unit:
    """An available, unlocked miner with its derived numbers."""

    miner: PlanMiner
    kind: Kind
    standby_w: float
    low: float
    high: float
    current: float | None  # present setting when running
    resumes: bool = False  # a start of this unit costs no wake (`PlanMiner.resume_setting`)
    start_cost_s: float = 0.0  # hashing time its start loses
    change_cost_s: float = 0.0  # hashing time its change of setting loses
    slow_change_s: float = 0.0  # how long its change takes to show (measured or claimed)
    # The same for a change to a lower setting (a power target cut holds no steps).
    change_down_cost_s: float = 0.0
    slow_change_down_s: float = 0.0

    @property
    def curve(self) -> PowerCurve:
        """Its kind's curve."""
        return self.kind.curve

    @property
    def agility(self) -> int:
        """Its kind's agility, unless it was seen to move slowly: a power target that takes
        minutes to settle follows the next target no better than a restart does."""
        if self.kind.agility < 2 and self.slow_change_s > SLOW_S:
            return 2
        return self.kind.agility

    @property
    def slow_start(self) -> bool:
        """Its start loses more than a minute of hashing."""
        return self.start_cost_s > SLOW_S

    @property
    def slow_change(self) -> bool:
        """Its change of setting takes more than a minute."""
        return self.slow_change_s > SLOW_S

    def power_w(self, setting: float) -> float:
        """Its wall power at `setting`."""
        return self.miner.power_scale * self.kind.curve.power_w(setting)

    def hashrate_ths(self, setting: float) -> float:
        """Its hashrate at `setting`."""
        return self.kind.curve.hashrate_ths(setting)

    def full_increment_w(self, setting: float) -> float:
        """Extra draw of running at `setting` over sleeping, once running."""
        return self.power_w(setting) - self.standby_w

    def increment_w(self, setting: float) -> float:
        """Expected extra draw of running at `setting` over sleeping."""
        return self.miner.arrival * self.full_increment_w(setting)

    @property
    def hash_value(self) -> float:
        """Hashrate at its nominal setting: what one second of its lost hashing is worth."""
        return self.kind.curve.hashrate_ths(self.kind.curve.nominal_setting)


@dataclass(slots=True)
class Candidate:
    """One way of meeting the target: setting per unit, None for asleep."""

    setting: dict[str, float | None]
    total_w: float = 0.0
    hashrate_ths: float = 0.0
    starts: int = 0
    stops: int = 0
    changes: int = 0
    runtime_on_s: float = 0.0
    transition_cost: float = 0.0  # TH·s of hashing the transitions lose
    slow: int = 0  # transitions that lose more than a minute of hashing
    slowest_s: float = 0.0  # how long its slowest start or change takes
