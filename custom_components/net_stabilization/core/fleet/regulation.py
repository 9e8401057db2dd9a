"""The loop between commands: keep the fleet's expected power within a band of the target.

A deviation must persist before the loop acts, and after acting it waits out a lockout; what it
just switched keeps its state for a minimum dwell. While miners are still on their way (or just
got there and are not calibrated yet) only a miss of a whole miner is corrected. With a site
meter, the gap between meter and model is learnt while nothing moves and planned around.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from .actuator import Actuator
from .dispatch import Dispatcher
from .model import PowerMode
from .planner import DispatchPlan, PlanMiner, TargetPolicy
from .ramps import RampWatch
from .roster import Roster

_LOGGER = logging.getLogger(__name__)


class Regulator:
    """Decides when the plan no longer meets the target, and re-plans then."""

    def __init__(self, roster: Roster, dispatcher: Dispatcher, actuator: Actuator) -> None:
        self._roster = roster
        self._dispatch = dispatcher
        self._actuator = actuator
        self._deviation_since: float | None = None
        self._transition_ended_at = -math.inf
        self._ramps = RampWatch(roster)
        self.meter_kw: float | None = None  # the site meter's latest fresh value
        self._meter_gap_w = 0.0
        self.metered = False  # a site meter is configured

    def acted(self) -> None:
        """A command re-planned: the deviation timer starts over."""
        self._deviation_since = None

    def transition_ended(self, now: float) -> None:
        """A miner reached its new state (the ramp's last part is still to come)."""
        self._transition_ended_at = now

    @property
    def correction_w(self) -> float:
        """What the model misses, as learnt from the site meter (0 without one)."""
        return self._meter_gap_w if self.metered else 0.0

    def read_meter(self, value: float | None) -> None:
        """Take the site meter's value in kW (None: stale or unreadable)."""
        fine = value is not None and not isinstance(value, bool) and math.isfinite(value)
        self.meter_kw = float(value) if fine and value is not None else None

    def learn_meter_gap(self, now: float, mode: PowerMode) -> None:
        """Learn what the model misses (PSU spread, auxiliaries) while nothing is moving."""
        if self.meter_kw is None:
            return  # stale: hold what was learnt
        cfg = self._roster.config
        settled = (
            not self.settling(now)
            and now - self._dispatch.last_action_at >= cfg.meter_settle_s
            and now - self._transition_ended_at >= cfg.meter_settle_s
            and all(
                not m.in_transition and not m.shedding and (m.fresh or m.reading is None)
                for m in self._roster
            )
        )
        if not settled:
            return
        model_w = self._dispatch.present_w(mode, self._dispatch.inputs(now, lock=False), 0.0)
        gap = self.meter_kw * 1000.0 - model_w
        self._meter_gap_w += cfg.meter_smoothing * (gap - self._meter_gap_w)

    def regulate(
        self, target_w: float | None, mode: PowerMode, now: float, *, structural: bool
    ) -> None:
        """Re-plan if the expected power left the band for long enough (at once after a
        miner of the plan was lost). A deficit that miners still climbing will fill is left
        to them: re-planning against a ramp on course would overshoot once it arrives."""
        self._ramps.observe(now)
        if target_w is None:
            self._deviation_since = None
            return
        cfg = self._roster.config
        inputs = self._dispatch.inputs(now, lock=True)
        present = self._dispatch.present_w(mode, inputs, self.correction_w)
        error = present - target_w
        band = self._band_w(inputs, mode)
        if band is None or -band[0] <= error <= band[1]:
            self._deviation_since = None
            return
        if error > band[1] and self._excess_may_vanish(inputs, mode, target_w, band[1]):
            # Starts under way were counted at their expected share; the early ones are seen
            # mining before a failure shows. Stopping miners now would be undone once it does.
            self._deviation_since = None
            return
        if not structural and error < 0 and -error - band[0] <= self._ramps.room_w(now):
            self._deviation_since = None
            return
        if not structural and self.settling(now) and abs(error) < self._step_w():
            # Miners are still on their way or not yet calibrated: correcting now would be
            # corrected again once they are. Only a miss of a whole miner cannot wait.
            self._deviation_since = None
            return
        if not structural:
            if self._deviation_since is None:
                self._deviation_since = now
            if now - self._deviation_since < cfg.persistence_s:
                return
            if now - self._dispatch.last_action_at < cfg.lockout_s:
                return
        plan = self._dispatch.make_plan(target_w, mode, now, self.correction_w, lock=True)
        if not plan.transitions:
            return
        if not structural and plan.slow and self._faster_once_free(plan, target_w, mode, now):
            return  # what the dwell holds moves faster than what the plan would start now
        self._dispatch.apply(plan, mode, now)
        self._deviation_since = None

    def _faster_once_free(
        self, plan: DispatchPlan, target_w: float, mode: PowerMode, now: float
    ) -> bool:
        """Whether the miners the loop just moved, once their dwell is over (a fast miner's is
        short), meet the target as well without any slow transition (a reboot, a start of
        minutes): then waiting for them is quicker than starting a slow miner now."""
        free = self._dispatch.make_plan(target_w, mode, now, self.correction_w, lock=False)
        return free.slow == 0 and abs(free.planned_w - target_w) <= abs(plan.planned_w - target_w)

    def _step_w(self) -> float:
        """What one miner adds at full power: the on/off resolution."""
        return self._roster.step_w()

    def settling(self, now: float) -> bool:
        """Whether the fleet's power is still finding its level: orders in flight, miners
        waking or changing, or miners that just got there and are not calibrated yet."""
        if self._actuator.busy:
            return True
        wait = self._roster.config.calibrate_wait_s
        for m in self._roster:
            if m.in_transition:
                return True
            if (
                m.dispatched
                and not m.calibration.calibrated
                and m.hashing()
                and now - m.transition_ended_at < wait
            ):
                return True
        return False

    def _excess_may_vanish(
        self, inputs: list[PlanMiner], mode: PowerMode, target_w: float, above_w: float
    ) -> bool:
        """Whether an excess may still vanish: it does if the starts under way that are not
        yet seen mining (counted at their expected share) all fail."""
        uncertain = [i.running and i.available and i.arrival < 1.0 for i in inputs]
        if not any(uncertain):
            return False
        failing = [
            replace(i, arrival=0.0) if u else i for i, u in zip(inputs, uncertain, strict=True)
        ]
        worst = self._dispatch.present_w(mode, failing, self.correction_w)
        return worst - target_w <= above_w

    def _band_w(self, inputs: list[PlanMiner], mode: PowerMode) -> tuple[float, float] | None:
        """How far (below, above) the target the fleet may be; None when nothing is left to
        plan (and so nothing to regulate)."""
        cfg = self._roster.config
        limits = cfg.planner
        factor = cfg.band_factor
        if mode is PowerMode.FREQUENCY:
            below = above = limits.frequency_tolerance_w * factor
        else:
            step = self._step_w()
            above, below = step / 2 * factor, step / 2 * factor
            if limits.policy is TargetPolicy.NEVER_ABOVE:
                below = step * factor
        if limits.policy is TargetPolicy.NEVER_ABOVE:
            above = 0.5  # watts: rounding only
        if not any(i.available and not i.locked for i in inputs):
            return None
        return below, above
