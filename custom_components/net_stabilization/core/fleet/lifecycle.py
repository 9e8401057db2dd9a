"""One miner's life as the fleet sees it: an explicit state machine, its transitions as methods.

    sleeping ─wake→ waking (booting → starting → ramping) ─full hashrate seen→ mining
    mining ─change→ changing ─new setting seen→ mining
    any ─sleep→ stopping ─sleep heard and seen asleep→ sleeping

The parts: what is known of the miner (`miner_state`), what its readings tell
(`miner_readings`), its transitions (`miner_transitions`), the watch over them
(`miner_watch`), and here the operator's commands, order results and the snapshot. Only
`FleetMiner` writes its fields. The controller feeds it readings (`observe`) and order results
(`order_done`), asks it what is due (`check`, `follow_up`) and calls its transitions; every
transition returns the order (if any) to send.

Two things the rest of the fleet relies on:

- A transition cancelled by a newer command is not a failure. A wake called off is left
  uncounted; a sleep ordered while the wake's reboot is still under way is held and sent once
  the miner's web interface answers again. Until the mining software hashes, it cannot hear a
  sleep, so that order stops the mining software instead (`OrderKind.STOP`), before it ramps.
- Failures come only from real evidence: an accepted wake with no mining by its deadline, a
  miner whose web came back while the mining software never started, or a reply error.
"""

from __future__ import annotations

import math

from ..miners.base import MinerUnreachableError as _Unreachable
from ..power_curve import PowerCurve
from .actuator import Order, OrderKind
from .config import ControlConfig
from .miner_state import Stage, WakeNews, WakeStep
from .miner_watch import MinerWatch
from .model import MinerOverride, MinerSnapshot

__all__ = ["FleetMiner", "Stage", "WakeNews", "WakeStep"]


class FleetMiner(MinerWatch):
    """One miner of the fleet: what it reported, what it was told and where that stands."""

    # --- the operator's -----------------------------------------------------------------------

    def set_excluded(self, excluded: bool) -> bool:
        """Take it out of dispatch or give it back; returns whether the fleet lost it."""
        self._excluded = excluded
        if excluded and (self._dispatched or self.in_transition):
            self.release()
            return True
        return False

    def force_on(self, now: float, pin_setting: float | None) -> Order | None:
        """The operator's "on": wake it (at its pinned frequency), or change its setting if it runs
        elsewhere. It is the operator's, not the fleet's: not dispatched."""
        self._override = MinerOverride.ON
        self._pin_setting = pin_setting
        self._dispatched = False
        self._keep_asleep_until = -math.inf
        if self.in_transition:
            self._target_setting = pin_setting if pin_setting is not None else self._target_setting
            return None  # already on its way up
        if self._resumable():
            return self._resume()
        self._target_setting = pin_setting
        if not self.hashing():
            configured = self._configured_setting
            set_first = pin_setting is not None and (
                configured is None or abs(configured - pin_setting) >= 0.5
            )
            return self._start_wake(now, pin_setting if set_first else None)
        if pin_setting is not None and (
            self._configured_setting is None or abs(self._configured_setting - pin_setting) >= 0.5
        ):
            order = self.change_setting(now, pin_setting)
            self._dispatched = False
            return order
        return None

    def force_off(self, now: float, config: ControlConfig) -> Order | None:
        """The operator's "off": put it to sleep and keep it there."""
        self._override = MinerOverride.OFF
        self._pin_setting = None
        return self.sleep(now, config)

    def release_override(self, adopt: bool) -> None:
        """Give it back to the fleet; one that runs is adopted when a target is in force."""
        self._override = None
        self._pin_setting = None
        if adopt and self.hashing():
            self._dispatched = True

    def restore(
        self, excluded: bool, override: MinerOverride | None, pin_setting: float | None
    ) -> None:
        """Take back the operator's settings after a restart (nothing is sent)."""
        self._excluded = excluded
        self._override = override
        self._pin_setting = pin_setting if override is MinerOverride.ON else None

    # --- order results ------------------------------------------------------------------------

    def order_done(
        self, order: Order, error: Exception | None, now: float, config: ControlConfig
    ) -> Order | None:
        """Take the result of an order; returns a follow-up order if one is needed."""
        current = order.seq == self._seq
        if current:
            self._awaiting = False
        if error is None:
            if order.setting is not None and order.kind in (
                OrderKind.WAKE,
                OrderKind.CHANGE,
                OrderKind.RESTART,
            ):
                self._configured_setting = order.setting
                if order.kind is OrderKind.CHANGE and current:
                    self._change_due = False
            if order.kind in (OrderKind.WAKE, OrderKind.REBOOT):
                return self._reboot_heard(now, current)
            if order.kind is OrderKind.RESTART:
                if self._stage is Stage.WAKING and current:
                    # Up all along: the mining software's start is timed from now.
                    self._heard = True
                    self._heard_at = now
                    self._down_seen = True
                    self._web_back_at = now
                return None
            if order.kind in (OrderKind.SLEEP, OrderKind.STOP):
                return self._sleep_heard(now, current, config)
            return None
        self._order_failed(order, error, current)
        return None

    def _order_failed(self, order: Order, error: Exception, current: bool) -> None:
        self._last_error = f"{order.kind} failed: {error}"
        if not current:
            return  # superseded
        if isinstance(error, _Unreachable):
            if self._stage is Stage.STOPPING and self._rebooting:
                self._down_seen = True  # the reboot has the web down
            return  # not heard: held, sent again once the miner answers
        if order.kind in (OrderKind.WAKE, OrderKind.RESTART) and self._stage is Stage.WAKING:
            self._reply_error = self._last_error  # the miner refused the wake: a real failure
        elif order.kind is OrderKind.CHANGE:
            self._change_due = False  # refused: it stays where it was
            self._target_setting = self._configured_setting
            if self._stage is Stage.CHANGING:
                self._stage = Stage.MINING if self.hashing() else Stage.SLEEPING
        # A refused sleep is sent again by `follow_up` once its shed deadline passes.
        elif order.kind in (OrderKind.SLEEP, OrderKind.STOP) and self._stage is Stage.STOPPING:
            self._heard = True  # judged by what the next readings show

    def _reboot_heard(self, now: float, current: bool) -> Order | None:
        if self._stage is Stage.WAKING and current:
            self._heard = True
            self._heard_at = now
        elif self._stage is Stage.STOPPING:
            # A reboot heard before or during a sleep: the sleep must be sent after it.
            self._rebooting = True
            self._reboot_at = now
            self._down_seen = False
            self._web_back_at = None
            self._heard = False
        return None

    def _sleep_heard(self, now: float, current: bool, config: ControlConfig) -> Order | None:
        if current and self._stage is Stage.STOPPING:
            if self._rebooting and not self._down_seen:
                return None  # heard before the reboot took it down: lost with the reboot
            self._heard = True
            self._heard_at = now
            self._shed_deadline = now + config.shed_timeout_s
            return None
        if not current and self._dispatched and (self._down_seen or self._stage is Stage.MINING):
            # A sleep that landed after a newer order gave the miner back: it is asleep now.
            return self._start_wake(now, None)
        return None

    # --- snapshot -----------------------------------------------------------------------------

    def snapshot(
        self, now: float, offline_after: int, curve: PowerCurve, *, dispatchable: bool
    ) -> MinerSnapshot:
        """An immutable view for the outside world."""
        reading = self._reading
        target = (
            self.pin_setting
            if self.pin_setting is not None
            else (self._target_setting if self._dispatched else None)
        )
        return MinerSnapshot(
            mac=self.mac,
            host=self.driver.host,
            model=self.identity.model,
            firmware=self.identity.firmware,
            hostname=self.identity.hostname,
            state=self.state(now, offline_after),
            excluded=self._excluded,
            override=self._override,
            dispatchable=dispatchable,
            dispatched=self._dispatched,
            stale=reading is not None and self._read_failures > 0,
            overheated=self.overheated(now),
            power_w=reading.power_w if reading else None,
            consumption_w=self.consumption_w(curve, offline_after),
            hashrate_ths=reading.hashrate_ths if reading else None,
            frequency_mhz=reading.frequency_mhz if reading else None,
            target_setting=target,
            chip_temp_c=reading.chip_temp_c if reading else None,
            runtime_s=self._runtime_s,
            wake_failures=self._wake_failures,
            nominal_w=self.capabilities.nominal_w,
            standby_w=self.capabilities.standby_w,
            last_error=self._last_error,
            driver=self.driver.kind,
            hot=self.hot,
            setting_unit=self.capabilities.points.unit.value,
            power_source=reading.power_source.value if reading else "reported",
            trusted=self.trusted,
            board_temp_c=reading.board_temp_c if reading else None,
            fan_rpm=reading.fan_rpm if reading else (),
            controllable=self.capabilities.can_sleep,
            settling=reading.settling if reading else None,
        )
