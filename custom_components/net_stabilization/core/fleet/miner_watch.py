"""The watch over one miner's transition: whether it failed, what is still to send, and a
miner that came up on its own."""

from __future__ import annotations

from ..miners.base import MiningState, SettingUnit
from .actuator import Order, OrderKind
from .config import ControlConfig
from .miner_state import Stage, WakeStep
from .miner_transitions import MinerTransitions
from .model import MinerOverride
from .timings import Deadlines, Transition

# Short of its heading by more than this share, a climb may only be holding a step.
_SHORT_SHARE = 0.02


class MinerWatch(MinerTransitions):
    """Deadlines and follow-ups of a miner's transitions."""

    # --- supervision --------------------------------------------------------------------------

    def check(
        self,
        now: float,
        config: ControlConfig,
        api_grace_s: float,
        deadlines: Deadlines | None = None,
    ) -> str | None:
        """Why the wake or change of setting under way failed, if it did (None: not failed).

        Judged by progress, not by a clock: a transition fails when nothing moved for longer
        than `deadlines` allow (what the miner, or its kind, was seen to pause), or beyond its
        kind's hard ceiling. A miner hashing at its new setting that stopped moving short of
        the power expected has arrived where it can; one whose firmware reports a ramp waits
        for the ceiling. Without `deadlines`, the configured timeouts apply."""
        if self._reply_error is not None:
            return self._reply_error
        self._watch_progress(now)
        limits = deadlines or Deadlines.of_config(config)
        stalled = self._progress.stalled_s(now)
        reading = self._reading
        if self._stage is Stage.CHANGING:
            return self._check_change(now, limits, stalled)
        if self._stage is not Stage.WAKING:
            return None
        if not self._heard:
            if now - self._since >= config.wake_start_timeout_s and self.fresh:
                return "the wake could not be delivered"
            return None
        if self._step is not WakeStep.RAMPING:
            back = self._web_back_at
            if (
                self.fresh
                and back is not None
                and reading is not None
                and reading.state is MiningState.SLEEPING
                and now - back >= api_grace_s
            ):
                return "web came back after the wake's reboot, mining did not"
        if now - self._heard_at >= limits.start_ceiling_s:
            return "did not reach full hashrate after a wake"
        if stalled < limits.start_pause_s:
            return None
        if self._step is not WakeStep.RAMPING:
            return "did not start mining after a wake"
        if self.fresh and reading is not None and reading.state is MiningState.MINING:
            self._finish_short(now, limits)  # hashing, no longer rising
        return None  # the firmware reports a ramp: waking until the ceiling

    def _check_change(self, now: float, limits: Deadlines, stalled: float) -> str | None:
        pause_s = limits.change_pause_s
        if self._progress.falling and limits.change_down_pause_s is not None:
            pause_s = limits.change_down_pause_s
        if stalled >= pause_s:
            if self._at_new_setting():
                self._finish_short(now, limits)  # hashing at its new setting
                return None
            return "did not come back after a change of setting"
        if now - self._since >= limits.change_ceiling_s:
            if self._at_new_setting():
                # Still tuning, but hashing at its setting: a firmware may tune for hours.
                self._finish(now)
                return None
            return "did not reach its new setting in time after a change of setting"
        return None

    def _finish_short(self, now: float, limits: Deadlines) -> None:
        """Arrived where it can (`hold_if_short`)."""
        self.hold_if_short(now, limits)
        self._finish(now)

    def hold_if_short(self, now: float, limits: Deadlines) -> None:
        """After a climb that ended short of the power its setting predicts (beyond a
        reading's spread): a firmware that holds steps on the way may still be climbing, so
        its draw is learnt only once the power stayed put for as long as any of its climbs
        may pause (`calibration_held`)."""
        points = self.capabilities.points
        if points.unit is not SettingUnit.WATT or points.change_stops_hashing:
            return  # only a power target climbs on while hashing after its change is over
        reading, heading = self._reading, self._progress.heading_w
        if reading is None or reading.power_w is None or heading is None:
            return
        if self._progress.falling or reading.power_w >= heading * (1.0 - _SHORT_SHARE):
            return
        hold_s = max(limits.start_pause_s, limits.change_pause_s)
        self._calibration.hold.start(reading.power_w, now, hold_s)

    def calibration_held(self, now: float, tolerance: float) -> bool:
        """Whether its draw must not be learnt now: it arrived short and its power has not
        stayed within `tolerance` of one level for the hold since. Reaching its heading does
        not end the hold: the last step may be held within the arrival's tolerance."""
        reading = self._reading
        if self._stage is not Stage.MINING or reading is None:
            self._calibration.hold.clear()  # a new transition, or asleep: nothing to learn
            return False
        power = reading.power_w if self.fresh else None
        return self._calibration.hold.held(now, power, tolerance)

    def unheard_and_gone(self, offline_after: int) -> bool:
        """A wake that never reached the miner, which stopped answering: it is offline, not
        a miner whose wake failed."""
        return (
            self._stage is Stage.WAKING
            and not self._heard
            and not self._awaiting
            and self._read_failures >= offline_after
        )

    def end_cooldown(self, now: float, config: ControlConfig) -> None:
        """After the failed cool-down it is back in rotation, as a last resort and not toward
        rated power until it mines again; one more failed wake fails it again."""
        if self._wake_failures >= config.max_wake_failures and now >= self._failed_until:
            self._wake_failures = config.max_wake_failures - 1

    def strays(self, now: float, offline_after: int) -> bool:
        """Up on its own although the fleet keeps it asleep (a power cut or a reboot brought
        it back): hashing, or just back and about to start (a Vnish S9 boots into mining).
        Not the fleet's, not the operator's, in no transition."""
        return (
            self._stage in (Stage.MINING, Stage.SLEEPING)
            and self.fresh
            and (self.hashing() or self._back_from_offline)
            and not self._dispatched
            and self._override is None
            and self.dispatchable(now, offline_after)
        )

    def keep_asleep(self, now: float, config: ControlConfig) -> Order | None:
        """Put a stray back to sleep; one just back from a reboot has its starting mining
        software stopped before it ramps."""
        if not self.hashing() and self._back_from_offline:
            self._back_from_offline = False
            self._enter_stopping(now, config, rebooting=False)
            self._stop_not_sleep = True
            self._dispatched = False
            return self._order(OrderKind.STOP)
        return self.sleep(now, config)

    def too_hot(self, limit_c: float) -> bool:
        """Its hottest chip is at or over the limit while it hashes (fresh reading)."""
        reading = self._reading
        return (
            self.fresh
            and reading is not None
            and reading.chip_temp_c is not None
            and reading.chip_temp_c >= limit_c
            and self.hashing()
        )

    def follow_up(self, now: float, config: ControlConfig) -> Order | None:
        """What its stage needs sent now: a wake or sleep not heard yet once the miner
        answers, and a sleep again for one seen hashing when it should not."""
        if self._change_due and self._stage in (Stage.WAKING, Stage.MINING):
            return self._due_change(now)
        match self._stage:
            case Stage.WAKING:
                if not self._heard and not self._awaiting and self.fresh:
                    return self._order(self._wake_kind, self._wake_setting)
            case Stage.STOPPING:
                return self._follow_sleep(now, config)
            case Stage.SLEEPING | Stage.MINING:
                if (
                    self.fresh
                    and self.hashing()
                    and now < self._keep_asleep_until
                    and not self._dispatched
                    and self._override is not MinerOverride.ON
                ):
                    # It came up after all (a reboot, or a sleep lost): tell it again.
                    self._enter_stopping(now, config, rebooting=False)
                    self._shed_attempts = 1
                    return self._order(OrderKind.SLEEP)
            case Stage.CHANGING:
                pass
        return None

    def _follow_sleep(self, now: float, config: ControlConfig) -> Order | None:
        if (
            self._rebooting
            and not self._down_seen
            and now - self._reboot_at >= config.reboot_down_s
        ):
            self._rebooting = False  # no reboot came: an ordinary sleep
        if not self.fresh:
            return None
        if self._heard and not self.hashing():
            self._time(Transition.STOP, now)
            self._stage = Stage.SLEEPING
            self._hot = self._want_hot
            self._want_hot = False
            self._shed_deadline = None
            self._shed_attempts = 0
            self._shed_fault = False
            self._rebooting = self._down_seen = False
            self._outcome_due = False
            self._keep_asleep_until = max(self._keep_asleep_until, now + config.wake_timeout_s)
            return None
        if self._rebooting and not self._down_seen and not self.hashing():
            # Wait for the reboot: a sleep heard before it would be lost. One seen hashing
            # is told at once (and again after the reboot, should one still come).
            return None
        if not self._heard:
            if self._awaiting:
                return None
            # Not hashing, but maybe starting: after a reboot, or back after a stretch offline
            # (a Vnish S9 boots into mining), only a stop keeps it from ramping.
            starting = self._rebooting or self._stop_not_sleep or self._back_from_offline
            stop = (starting and not self.hashing()) or self._want_hot
            return self._order(OrderKind.STOP if stop else OrderKind.SLEEP)
        # Heard, still hashing.
        if self._shed_deadline is not None and now < self._shed_deadline:
            return None
        self._shed_attempts += 1
        if self._shed_attempts >= config.max_shed_attempts:
            self._shed_fault = True
        self._shed_deadline = now + config.shed_timeout_s
        self._heard = False
        return self._order(OrderKind.STOP if self._want_hot else OrderKind.SLEEP)
