"""One miner's transitions: wake, change of setting, sleep, and their ends (released, failed,
overheated, rebooted). Each returns the order to send, if any."""

from __future__ import annotations

import math

from .actuator import Order, OrderKind
from .config import ControlConfig
from .miner_readings import MinerReadings
from .miner_state import Stage, WakeStep
from .model import MinerOverride
from .timings import Transition


class MinerTransitions(MinerReadings):
    """The transitions the fleet and the operator start."""

    def _time(self, transition: Transition, now: float, *, ok: bool = True) -> None:
        """Time a transition; a change to less power apart from one to more."""
        if transition is Transition.CHANGE and self._progress.falling:
            transition = Transition.CHANGE_DOWN
        super()._time(transition, now, ok=ok)

    # --- transitions --------------------------------------------------------------------------

    def wake(self, now: float, setting: float | None, order_setting: float | None) -> Order | None:
        """Run for the fleet at `setting` (`order_setting`: the frequency the order must set first).
        A miner told to sleep whose wake's reboot is still under way, or which still hashes,
        is simply given back (no new wake)."""
        self._dispatched = True
        self._keep_asleep_until = -math.inf
        if self.in_transition:
            return None
        if self._resumable():
            return self._resume()
        self._target_setting = setting
        return self._start_wake(now, order_setting)

    def _resumable(self) -> bool:
        return (
            self._stage is Stage.STOPPING
            and not self._heard
            and (self._rebooting or self.hashing())
        )

    def _resume(self) -> Order:
        """Call off a sleep not heard yet: the reboot under way goes on (deadlines from its
        start), or the miner simply keeps hashing."""
        self._target_setting = self._configured_setting
        self._shed_deadline = None
        if self._rebooting:
            self._stage = Stage.WAKING
            self._step = WakeStep.STARTING if self._web_back_at is not None else WakeStep.BOOTING
            self._heard = True
            self._heard_at = self._reboot_at
        else:
            self._stage = Stage.MINING
        return self._order(OrderKind.CANCEL)

    def _start_wake(self, now: float, order_setting: float | None) -> Order:
        restart = self.hot and self.fresh
        self._hot = self._want_hot = False
        self._wake_kind = OrderKind.RESTART if restart else OrderKind.WAKE
        self._change_due = False
        self._stage = Stage.WAKING
        self._since = now
        self._step = WakeStep.BOOTING
        self._progress.timed_wake = True
        self._heard = False
        self._heard_at = -math.inf
        self._reply_error = None
        self._wake_setting = order_setting
        self._rebooting = self._down_seen = False
        self._web_back_at = None
        # Only wakes of miners in good standing make the start rate: retries of failed ones
        # are a last resort, and counting them would make the healthy ones look worse.
        self._outcome_due = self._wake_failures == 0
        self._switched_at = now
        self._shed_deadline = None
        self._keep_asleep_until = -math.inf
        self._calibration.interrupt()
        if restart:
            # No reboot: the web stays up, the mining software starts again at once.
            self._step = WakeStep.STARTING
        return self._order(self._wake_kind, order_setting)

    def change_setting(self, now: float, setting: float) -> Order | None:
        """Move a running miner to another frequency (its mining software restarts). One
        still booting from its wake cannot be told yet: the frequency is set once its web
        answers, while the mining software starts anyway."""
        self._dispatched = True
        self._target_setting = setting
        self._switched_at = now
        self._reply_error = None
        if self._stage is Stage.WAKING and self._step is not WakeStep.RAMPING:
            self._change_due = True
            return self._due_change(now)
        self._change_due = False
        self._stage = Stage.CHANGING
        self._since = now
        self._calibration.interrupt()
        return self._order(OrderKind.CHANGE, setting)

    def _due_change(self, now: float) -> Order | None:
        """The deferred frequency, once the miner answers and nothing else is out."""
        if not self._change_due or not self.fresh or self._awaiting or self._target_setting is None:
            return None
        if (
            self._configured_setting is not None
            and abs(self._configured_setting - self._target_setting) < 0.5
        ):
            self._change_due = False
            return None
        if self._stage is Stage.WAKING and self._step is not WakeStep.RAMPING:
            if self._step is WakeStep.BOOTING:
                return None  # still down: its last reading is from before the reboot
            # The wake goes on; setting the frequency restarts the starting mining software,
            # so its start is timed from now.
            self._web_back_at = now
            return self._order(OrderKind.CHANGE, self._target_setting)
        return self.change_setting(now, self._target_setting)

    def adopt(self, setting: float) -> None:
        """Keep a running miner as part of the plan at `setting`."""
        self._dispatched = True
        self._target_setting = setting

    def sleep(self, now: float, config: ControlConfig, *, hot: bool = False) -> Order | None:
        """Stop hashing. While the mining software is (re)starting it cannot hear a sleep, so
        it is stopped instead; while the wake's reboot keeps the miner down that order waits
        (parked by the actuator, and sent again by `follow_up`) until the web answers. With
        `hot`, its mining software is stopped rather than put to sleep: a hot reserve."""
        self._dispatched = False
        self._target_setting = None
        self._switched_at = now
        if self._stage is Stage.STOPPING:
            return None  # already on its way
        wake_heard = (
            self._stage is Stage.WAKING and self._step is not WakeStep.RAMPING and self._heard
        )
        restarting = self._stage is Stage.CHANGING
        self._enter_stopping(now, config, rebooting=wake_heard)
        self._want_hot = hot
        self._stop_not_sleep = wake_heard or restarting or hot
        return self._order(OrderKind.STOP if self._stop_not_sleep else OrderKind.SLEEP)

    def _enter_stopping(self, now: float, config: ControlConfig, *, rebooting: bool) -> None:
        self._change_due = False
        self._stage = Stage.STOPPING
        self._since = now
        self._heard = False
        self._reply_error = None
        if rebooting and not self._rebooting:
            self._reboot_at = self._heard_at if self._heard_at > -math.inf else now
        self._rebooting = rebooting
        self._stop_not_sleep = False
        self._want_hot = False
        if not rebooting:
            self._down_seen = False
        self._shed_deadline = now + config.shed_timeout_s
        self._shed_attempts = 0
        self._calibration.interrupt()

    def resume_after_restart(self, now: float) -> None:
        """The fleet ran this miner before a restart: one that hashes is kept, one that does
        not (rebooting on a wake, or its mining software starting) is watched like a wake
        that started now; its outcome is not counted (the wake was the earlier run's)."""
        self._dispatched = True
        if self.hashing() and self.fresh:
            return
        self._start_wake(now, None)
        self._progress.timed_wake = False  # it started before the restart: its duration is unknown
        self._heard = True
        self._heard_at = now
        self._outcome_due = False
        self._awaiting = False
        if self.fresh:
            self._down_seen = True  # up again: its mining software is still to start
            self._web_back_at = now
            self._step = WakeStep.STARTING
        else:
            self._down_seen = True

    def release(self) -> None:
        """The fleet lets go (excluded, overridden, or gone): it is left as it is. A sleep
        under way is carried through; a wake or change is no longer ours to watch."""
        self._dispatched = False
        self._target_setting = None
        self._change_due = False
        if self.in_transition:
            self._stage = Stage.MINING if self.hashing() else Stage.SLEEPING
            self._outcome_due = False
            self._rebooting = self._down_seen = False

    def fail_wake(
        self, now: float, reason: str, config: ControlConfig
    ) -> tuple[bool, Order | None]:
        """The wake or frequency change under way failed: rest, or fail after repeated tries,
        and go back to a known state. Returns whether it counts against the start rate, and
        the order that puts the miner to sleep."""
        counts = (
            self._stage is Stage.WAKING and self._outcome_due and self._step is not WakeStep.RAMPING
        )
        self._outcome_due = False
        if self._stage is Stage.CHANGING or (self._progress.timed_wake and self._heard):
            self._time(
                Transition.CHANGE if self._stage is Stage.CHANGING else Transition.FULL,
                now,
                ok=False,
            )
        self._progress.timed_wake = False
        self._wake_failures += 1
        self._last_error = reason
        if self._wake_failures >= config.max_wake_failures:
            self._failed_until = now + config.failed_cooldown_s
        else:
            self._resting_until = now + config.wake_backoff_s * 2 ** (self._wake_failures - 1)
        self._dispatched = False
        self._target_setting = None
        self._stage = Stage.MINING if self.hashing() else Stage.SLEEPING
        self._rebooting = self._down_seen = False
        if not self.capabilities.can_sleep:
            return counts, None
        # Back to a known state: a miner that never hashed may still be starting.
        never_hashed = not self.hashing()
        self._enter_stopping(now, config, rebooting=False)
        return counts, self._order(OrderKind.STOP if never_hashed else OrderKind.SLEEP)

    def overheat(self, now: float, config: ControlConfig, cause: str | None = None) -> Order | None:
        """A chip (or board) over the limit: rest it and put it to sleep (safety wins over
        overrides). `cause` says which temperature, if not the chips'."""
        reading = self._reading
        temp = reading.chip_temp_c if reading is not None else None
        self._overheated_until = now + config.overheat_cooldown_s
        shown = "unknown" if temp is None else f"{temp:.0f} °C"
        self._last_error = f"{cause or f'chip temperature {shown}'} over the limit"
        if not self.capabilities.can_sleep:
            return None
        return self.sleep(now, config)

    def reboot(self, now: float, config: ControlConfig) -> Order:
        """The operator's reboot. One the fleet runs is watched like a wake (it must come back
        mining); one it keeps asleep is put back to sleep once its web answers again (a Vnish
        S9 boots into mining)."""
        if self._dispatched:
            self._start_wake(now, None)
            self._progress.timed_wake = (
                False  # a reboot, not a wake from sleep: timed apart from them
            )
            self._outcome_due = False  # the operator's reboot, not a wake
            self._heard = True
            self._heard_at = now
        elif self._override is not MinerOverride.ON and self.capabilities.can_sleep:
            self._enter_stopping(now, config, rebooting=True)
            self._reboot_at = now
        return self._order(OrderKind.REBOOT)
