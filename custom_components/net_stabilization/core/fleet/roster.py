"""The fleet's miners and what the fleet has learnt across them.

Shared by the controller's parts: supervision, regulation, dispatch and the snapshot all read
the same miners, the same fleet bias and the same wake statistics.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Final

from ..miners.base import MinerDriver, SettingUnit
from ..power_curve import PowerCurve
from .calibration import fleet_bias
from .config import ControlConfig
from .lifecycle import FleetMiner
from .model import MinerState, PowerMode, rated_power_kw
from .plan_model import full_setting
from .timings import (
    Deadlines,
    TimingBook,
    TimingSample,
    Transition,
    ceiling_s,
    prior_pause_s,
)
from .wakes import WakeStats

_POLL_GAPS_KEPT: Final = 12  # recent poll intervals, for timing what is only seen at polls


class Roster:
    """Every miner of the fleet by MAC, the fleet's power bias and its wake statistics."""

    def __init__(self, config: ControlConfig) -> None:
        self.config = config
        self.curve = config.planner.curve
        self.miners: dict[str, FleetMiner] = {}
        self.wakes = WakeStats(config.wakes)
        self.timings = TimingBook(config.timings)
        self.prior_scale = 1.0  # draw over the curve's assumed for miners not calibrated yet
        self._poll_gaps: deque[float] = deque(maxlen=_POLL_GAPS_KEPT)

    def __iter__(self) -> Iterator[FleetMiner]:
        return iter(self.miners.values())

    def __len__(self) -> int:
        return len(self.miners)

    def get(self, mac: str) -> FleetMiner | None:
        """The miner with this MAC, if known."""
        return self.miners.get(mac)

    def add(self, driver: MinerDriver) -> FleetMiner:
        """Take a miner in (or follow a known one to its new address)."""
        miner = FleetMiner(driver)
        known = self.miners.get(miner.mac)
        if known is not None:
            kind_changed = known.driver.kind != driver.kind
            known.driver = driver  # same miner at a new address (or newly identified)
            known.identity = miner.identity
            if kind_changed:
                known.trusted = False  # another firmware now: it shows itself again
            known.capabilities = miner.capabilities
            return known
        self.miners[miner.mac] = miner
        return miner

    def curve_of(self, m: FleetMiner) -> PowerCurve:
        """The curve a miner is planned on: its own when it is set by power (a target or a
        preset), the fleet's S9 curve when by frequency."""
        points = m.capabilities.points
        return points.curve if points.unit is SettingUnit.WATT else self.curve

    def full_w(self, m: FleetMiner, mode: PowerMode) -> float:
        """A miner's nominal full power: an S9 at the mode's full frequency, any other kind at
        its stock power target or profile."""
        points = m.capabilities.points
        if points.unit is SettingUnit.WATT:
            return points.curve.nominal_w
        return self.curve.power_w(full_setting(points, mode))

    def step_w(self) -> float:
        """What a typical controllable miner adds at full power: the on/off resolution."""
        steps = [
            self.curve_of(m).nominal_w - self.curve_of(m).standby_w
            for m in self
            if m.capabilities.can_sleep
        ]
        if not steps:
            return self.curve.nominal_w - self.curve.standby_w
        return sum(steps) / len(steps)

    def remove(self, mac: str) -> None:
        """Forget a miner (it is left in whatever state it is in)."""
        self.miners.pop(mac, None)

    # --- what is learnt -----------------------------------------------------------------------

    @property
    def offline_after(self) -> int:
        """Failed reads in a row before a miner counts as offline."""
        return self.config.offline_after_failures

    def poll_gap(self, seconds: float) -> None:
        """Note the time between two polls."""
        self._poll_gaps.append(seconds)

    @property
    def poll_gap_s(self) -> float:
        """The longest recent time between polls (what is seen only at polls is this late)."""
        return max(self._poll_gaps, default=0.0)

    @property
    def api_grace_s(self) -> float:
        """How long a woken miner's web may be up without its mining software, as learnt."""
        return self.wakes.api_grace_s(self.config.wake_api_grace_s, self.poll_gap_s)

    def take_timings(self, m: FleetMiner) -> None:
        """Book what a miner's transitions were timed at."""
        kind = m.timing_kind
        for transition, seconds, pause, ok in m.take_timings():
            self.timings.record(TimingSample(m.mac, kind, transition, seconds, pause, ok))

    def deadlines(self, m: FleetMiner) -> Deadlines:
        """How long a miner's transitions may go without progress: what it (or, not seen
        yet, its kind) was seen to pause, with a margin; its kind's hard ceilings."""
        points = m.capabilities.points
        book, kind, gap = self.timings, m.timing_kind, self.poll_gap_s

        def pause(transition: Transition) -> float:
            prior = prior_pause_s(points, transition, self.config)
            return book.pause_limit_s(m.mac, kind, transition, prior, gap)

        return Deadlines(
            start_pause_s=pause(Transition.FULL),
            start_ceiling_s=ceiling_s(points, Transition.FULL, self.config),
            change_pause_s=pause(Transition.CHANGE),
            change_ceiling_s=ceiling_s(points, Transition.CHANGE, self.config),
            change_down_pause_s=pause(Transition.CHANGE_DOWN),
        )

    def measured_s(self, m: FleetMiner, transition: Transition) -> float | None:
        """How long a miner's transition typically takes, as measured (None: not yet)."""
        return self.timings.typical_s(m.mac, m.timing_kind, transition)

    def scale(self, m: FleetMiner) -> float:
        """A miner's draw over the curve's: its own once calibrated, else the fleet's."""
        return m.calibration.scale if m.calibration.calibrated else self.prior_scale

    def update_prior(self) -> None:
        """The fleet's bias, from the calibrated miners."""
        cfg = self.config
        learnt = [m.calibration.scale for m in self if m.calibration.calibrated]
        self.prior_scale = fleet_bias(
            learnt, cfg.power_prior_min_samples, cfg.power_prior_significance
        )

    # --- standing -----------------------------------------------------------------------------

    def in_good_standing(self, m: FleetMiner, now: float) -> bool:
        """Dispatchable, trusted and its last wake did not fail: what rated power and
        availability count. A miner whose wake failed counts again once it has mined; one
        that has not yet answered a read as its firmware would is never summed in, unless
        it is in a transition the fleet started (only a trusted miner is started, and one
        the fleet ran before a restart is watched through its reboot)."""
        vouched = m.trusted or m.in_transition or m.rebooting_for_us()
        return vouched and m.wake_failures == 0 and m.dispatchable(now, self.offline_after)

    def rated_kw(self, now: float, mode: PowerMode) -> float:
        """The nominal full power of the miners in good standing. Nominal, not learnt: what an
        EMS plans with must not drift as the fleet learns its miners' draw."""
        return rated_power_kw(self.full_w(m, mode) for m in self if self.in_good_standing(m, now))

    def reachable(self, now: float) -> bool:
        """Some miner answers, or is in a transition the fleet started."""
        return any(m.state(now, self.offline_after) is not MinerState.OFFLINE for m in self)
