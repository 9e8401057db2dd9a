"""From the fleet's present state to a plan, and from a plan to miner orders."""

from __future__ import annotations

from ..miners.base import SettingUnit
from .actuator import Actuator, Order
from .lifecycle import FleetMiner, Stage
from .model import MinerOverride, PowerMode
from .planner import Action, DispatchPlan, PlanMiner, plan_dispatch, present_power_w
from .roster import Roster
from .timings import Transition


def _dwell_s(m: FleetMiner, roster: Roster) -> float:
    """How long a miner keeps a state the loop just gave it. Long for a miner whose moves
    reboot or restart it (the S9: each costs minutes of hashing), short for one that moves
    while hashing (a power target that follows within seconds, as measured where it was)."""
    config = roster.config
    points = m.capabilities.points
    if points.wake_reboots or points.change_stops_hashing:
        return config.min_dwell_s
    # A wake is watched as a transition until it arrives, so its length is not what is held
    # here; a change's is, and a power target seen to take minutes is held longer.
    change_s = roster.measured_s(m, Transition.CHANGE) or points.change_s
    return min(config.min_dwell_s, 2 * change_s)


class Dispatcher:
    """Plans against what the miners do now and hands the resulting orders to the actuator."""

    def __init__(self, roster: Roster, actuator: Actuator) -> None:
        self._roster = roster
        self._actuator = actuator
        self.plan: DispatchPlan | None = None  # the plan last acted on
        self.last_action_at = float("-inf")

    def submit(self, m: FleetMiner, order: Order | None) -> None:
        """Send a transition's order, if it has one."""
        if order is not None:
            self._actuator.submit(m.mac, m.driver, order)

    def inputs(self, now: float, *, lock: bool) -> list[PlanMiner]:
        """Every miner as the planner sees it. With `lock`, what the loop just switched or
        what is still busy keeps its state (minimum dwell); commands plan without locks."""
        roster = self._roster
        offline_after = roster.offline_after
        start_rate = roster.wakes.start_rate
        inputs = []
        for m in roster:
            available = m.plannable(now, offline_after)
            running = m.running()
            # A start, to come or under way and not yet seen mining, may fail like others did.
            unproven = not running or (m.stage is Stage.WAKING and not m.hashing())
            resume = m.resume_setting() if available and not running else None
            inputs.append(
                PlanMiner(
                    mac=m.mac,
                    running=running,
                    setting=m.running_setting() if running else None,
                    runtime_s=m.runtime_s,
                    available=available,
                    locked=lock
                    and available
                    and (
                        now - m.switched_at < _dwell_s(m, roster) or self._actuator.pending(m.mac)
                    ),
                    power_scale=roster.scale(m),
                    standby_w=m.hot_standby_w
                    if m.hot and m.hot_standby_w is not None
                    else m.capabilities.standby_w,
                    present_w=self._expected_w(m, now),
                    can_change=m.capabilities.can_set_frequency,
                    wake_failures=m.wake_failures,
                    arrival=1.0
                    if resume is not None and m.hashing()
                    else (start_rate if unproven else 1.0),
                    resume_setting=resume,
                    points=m.capabilities.points
                    if m.capabilities.points.unit is SettingUnit.WATT
                    else None,
                    hot=m.hot,
                    starting=running and m.stage is Stage.WAKING and not m.hashing(),
                    start_s=roster.measured_s(m, Transition.FULL),
                    change_s=roster.measured_s(m, Transition.CHANGE),
                    change_down_s=roster.measured_s(m, Transition.CHANGE_DOWN),
                )
            )
        return inputs

    def _expected_w(self, m: FleetMiner, now: float) -> float:
        """Draw of a miner the planner may not touch, once pending safety orders are done."""
        roster = self._roster
        if m.shedding or m.overheated(now):
            return m.capabilities.standby_w
        if (
            m.override is MinerOverride.ON
            and m.read_failures < roster.offline_after
            and (m.hashing() or now - m.switched_at < roster.config.wake_timeout_s)
        ):
            # Forced on: counted at the power it runs at once its wake or change is done.
            curve = roster.curve_of(m)
            return roster.scale(m) * curve.power_w(m.expected_setting(curve))
        return m.consumption_w(roster.curve_of(m), roster.offline_after)

    def make_plan(
        self, target_w: float, mode: PowerMode, now: float, correction_w: float, *, lock: bool
    ) -> DispatchPlan:
        """Plan `target_w` from the present state."""
        return plan_dispatch(
            target_w,
            mode,
            self.inputs(now, lock=lock),
            self._roster.config.planner,
            fixed_w=correction_w,
        )

    def present_w(self, mode: PowerMode, inputs: list[PlanMiner], correction_w: float) -> float:
        """Expected fleet draw if every miner stays as it is."""
        return present_power_w(mode, inputs, self._roster.config.planner, fixed_w=correction_w)

    def apply(self, plan: DispatchPlan, mode: PowerMode, now: float) -> None:
        """Carry a plan out: each miner's transition, and its order."""
        roster = self._roster
        reserve = self._reserve_room()
        for a in plan.assignments:
            m = roster.get(a.mac)
            if m is None:
                continue
            match a.action:
                case Action.START:
                    self.submit(m, m.wake(now, a.setting, self._wake_setting(m, a.setting, mode)))
                case Action.STOP:
                    hot = reserve > 0 and self._may_be_hot(m)
                    reserve -= hot
                    self.submit(m, self._sleep(m, now, hot=hot))
                case Action.CHANGE:
                    if a.setting is not None:
                        self.submit(m, m.change_setting(now, a.setting))
                case Action.KEEP:
                    if a.setting is not None:
                        m.adopt(a.setting)  # a miner that already runs
        self.plan = plan
        if plan.transitions:
            self.last_action_at = now

    def _reserve_room(self) -> int:
        """How many more S9s the hot reserve wants."""
        cfg = self._roster.config
        if cfg.hot_reserve <= 0 or cfg.hot_standby_w is None:
            return 0
        return max(0, cfg.hot_reserve - sum(1 for m in self._roster if m.in_reserve))

    @staticmethod
    def _may_be_hot(m: FleetMiner) -> bool:
        """Only a miner whose start from sleep is a reboot gains from being held stopped."""
        return m.capabilities.points.wake_reboots and m.hashing()

    def _sleep(self, m: FleetMiner, now: float, *, hot: bool) -> Order | None:
        if hot:
            m.hot_standby_w = self._roster.config.hot_standby_w
        return m.sleep(now, self._roster.config, hot=hot)

    @staticmethod
    def _wake_setting(m: FleetMiner, setting: float | None, mode: PowerMode) -> float | None:
        """The frequency a wake must set first. On/off leaves an unknown frequency alone (it
        is nominal unless we changed it, and then we know it); frequency mode must be sure."""
        if setting is None or not m.capabilities.can_set_frequency:
            return None
        configured = m.configured_setting
        if configured is None:
            return setting if mode is PowerMode.FREQUENCY else None
        return setting if abs(configured - setting) >= 0.5 else None

    def shed_all(self, now: float) -> int:
        """Deactivate's fast path: every miner the fleet runs or brings up goes to sleep (or,
        as many as the hot reserve lacks, has its mining software stopped)."""
        count = 0
        reserve = self._reserve_room()
        for m in self._roster:
            if (
                (m.dispatched or m.in_transition)
                and m.override is None
                and m.capabilities.can_sleep
            ):
                hot = reserve > 0 and self._may_be_hot(m)
                reserve -= hot
                self.submit(m, self._sleep(m, now, hot=hot))
                count += 1
        self.plan = None
        self.last_action_at = now
        return count
