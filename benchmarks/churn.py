"""An EMS that changes its mind: random targets 0.2-60 s apart against a faulty simulated fleet.

Used by `scripts/bench control` (scenario d) and by the churn test. Time is simulated (a manual
clock): the fleet is advanced to each command and each poll in turn, so an hour runs in about
a minute. Everything is judged on the simulator's ground truth:

- `wrongful_failures`: failed wakes counted for miners that have no fault that stops them
  (miners whose replies are only slow count as healthy);
- `rated_dips`: polls at which rated power was below the nominal power of those healthy
  miners (a drop the EMS would see for no real reason);
- `mined_after_deactivate_s`: simulated seconds during which any miner hashed after a
  deactivation was acknowledged and before the next activation;
- `energy_over_target_kwh`: energy drawn above the target (or above the fleet's standby draw,
  whichever is higher);
- `late_asleep`: deactivations after which the fleet was not all asleep within the longest
  boot plus one poll (when the next activation came later than that);
- `commands` and `commands_recorded`: every command must be in the history.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from custom_components.net_stabilization.core.fleet import (
    FleetController,
    FleetSnapshot,
    InMemoryCommandLog,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from simulator import Fault, SimulatedFleet

HASHING = ("ramping", "mining")
AWAKE = ("ramping", "mining", "booting", "restarting")


@dataclass(frozen=True, slots=True)
class ChurnProfile:
    """How the EMS and the faults behave."""

    duration_s: float = 3600.0
    poll_s: float = 5.0
    # Half the gaps are a burst (an EMS tracking a fast signal), half a longer hold.
    burst_gap_s: tuple[float, float] = (0.2, 2.0)
    hold_gap_s: tuple[float, float] = (2.0, 60.0)
    zero_share: float = 0.15  # targets that are a deactivation
    offline_share: float = 0.1  # miners that lose power for a while
    offline_from_s: float = 1200.0
    offline_until_s: float = 2100.0
    slow_share: float = 0.1  # miners whose replies are slow (real seconds)
    slow_delay_s: float = 0.02
    boot_s: float = 75.0  # the longest boot of the simulated miners (boot time with jitter)


@dataclass
class ChurnFigures:
    """What one churn run measured."""

    polls: int = 0
    commands: int = 0
    commands_recorded: int = 0
    wrongful_failures: int = 0
    rated_dips: int = 0
    mined_after_deactivate_s: float = 0.0
    energy_over_target_kwh: float = 0.0
    late_asleep: int = 0
    deactivations: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    real_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The figures as one JSON object."""
        return {
            "polls": self.polls,
            "commands": self.commands,
            "commands_recorded": self.commands_recorded,
            "wrongful_failures": self.wrongful_failures,
            "rated_dips": self.rated_dips,
            "mined_after_deactivate_s": round(self.mined_after_deactivate_s, 1),
            "energy_over_target_kwh": round(self.energy_over_target_kwh, 3),
            "late_asleep": self.late_asleep,
            "deactivations": self.deactivations,
            "refused": self.refused,
            "violations": self.violations[:20],
            "real_s": round(self.real_s, 1),
        }


type PollCheck = Callable[[FleetSnapshot, float], None]


class ChurnRun:
    """Drives one controller against one simulated fleet through a churn profile."""

    def __init__(
        self,
        fleet: SimulatedFleet,
        controller: FleetController,
        log: InMemoryCommandLog | None,
        profile: ChurnProfile,
        seed: int,
    ) -> None:
        self.fleet = fleet
        self.controller = controller
        self.log = log
        self.profile = profile
        self.rng = random.Random(f"churn:{seed}")
        self.figures = ChurnFigures()
        self.target_w = 0.0
        self._deactivated_at: float | None = None
        self._failures: dict[str, int] = {}
        self._offline: set[int] = set()
        self._healthy: set[str] = set()

    @property
    def offline_miners(self) -> set[int]:
        """Indices of the miners that lose power for a while."""
        return set(self._offline)

    def assign_faults(self, never_starts: set[int]) -> None:
        """Offline and slow miners among those that do start; who is healthy."""
        profile = self.profile
        others = [i for i in range(len(self.fleet.miners)) if i not in never_starts]
        self.rng.shuffle(others)
        n_off = round(len(self.fleet.miners) * profile.offline_share)
        n_slow = round(len(self.fleet.miners) * profile.slow_share)
        self._offline = set(others[:n_off])
        for i in others[n_off : n_off + n_slow]:
            self.fleet.miners[i].set_fault(Fault.SLOW, delay_s=profile.slow_delay_s)
        self._healthy = {self.fleet.miners[i].mac for i in others if i not in self._offline}

    async def run(self, check: PollCheck | None = None) -> ChurnFigures:
        """The whole profile; `check` is called with every poll's snapshot."""
        started = time.perf_counter()
        profile = self.profile
        clock = self.fleet.clock
        t0 = clock.now()
        next_poll = t0 + profile.poll_s
        next_command = t0 + self._gap()
        last = t0
        while clock.now() - t0 < profile.duration_s:
            due = min(next_poll, next_command)
            self._apply_offline(due - t0)
            await self.fleet.advance(due - clock.now())
            self._measure(last, due)
            last = due
            if due == next_command:
                await self._command()
                next_command = due + self._gap()
            if due == next_poll:
                snapshot = await self.controller.poll()
                await self.controller.wait_idle()
                await self.fleet.sync()
                self._judge_poll(snapshot, due)
                if check is not None:
                    check(snapshot, due)
                next_poll = due + profile.poll_s
        await self.controller.wait_idle()
        if self.log is not None:
            history = await self.log.recent(1_000_000)
            self.figures.commands_recorded = sum(1 for c in history if not c.is_note)
        self.figures.real_s = time.perf_counter() - started
        return self.figures

    def _gap(self) -> float:
        lo, hi = self.profile.burst_gap_s if self.rng.random() < 0.5 else self.profile.hold_gap_s
        return round(self.rng.uniform(lo, hi), 1)

    def _apply_offline(self, elapsed: float) -> None:
        profile = self.profile
        for i in self._offline:
            miner = self.fleet.miners[i]
            down = profile.offline_from_s <= elapsed < profile.offline_until_s
            if down and Fault.OFFLINE not in miner.faults:
                miner.set_fault(Fault.OFFLINE)
            elif not down and Fault.OFFLINE in miner.faults:
                miner.clear_fault(Fault.OFFLINE)  # power back: it boots (into mining)

    async def _command(self) -> None:
        controller = self.controller
        figures = self.figures
        rated = controller.snapshot.rated_power_kw
        if self.rng.random() < self.profile.zero_share:
            result = await controller.deactivate()
            target = 0.0
        else:
            target = round(self.rng.uniform(0.05, 1.0) * rated, 2)
            result = await controller.activate(target)
        figures.commands += 1
        if result.accepted:
            self.target_w = target * 1000.0 if target > 0 else 0.0
            now = self.fleet.clock.now()
            if target == 0:
                figures.deactivations += 1
                if self._deactivated_at is None:
                    self._deactivated_at = now
            else:
                self._deactivated_at = None
        else:
            figures.refused[result.reason.value] = figures.refused.get(result.reason.value, 0) + 1
        await controller.wait_idle()
        await self.fleet.sync()

    def _measure(self, t0: float, t1: float) -> None:
        """Ground truth over (t0, t1]: hashing after a deactivation, energy over target."""
        miners = self.fleet.miners
        deactivated = self._deactivated_at
        if deactivated is not None:
            since = max(t0, deactivated)
            mined = 0.0
            for m in miners:
                if m.state in HASHING:
                    mined = max(mined, t1 - max(since, t1 - m.elapsed_s))
            self.figures.mined_after_deactivate_s += max(0.0, mined)
            late = t1 - deactivated > self.profile.boot_s + 2 * self.profile.poll_s
            if late and any(m.state in AWAKE for m in miners):
                self.figures.late_asleep += 1
                self.figures.violations.append(
                    f"not all asleep {t1 - deactivated:.0f} s after deactivating"
                )
                self._deactivated_at = t1  # count each late stretch once
        floor_w = len(miners) * S9_CURVE.standby_w
        over_w = self.fleet.power_w - max(self.target_w, floor_w)
        self.figures.energy_over_target_kwh += max(0.0, over_w) * (t1 - t0) / 3.6e6

    def _judge_poll(self, snapshot: FleetSnapshot, now: float) -> None:
        figures = self.figures
        figures.polls += 1
        for m in snapshot.miners:
            before = self._failures.get(m.mac, 0)
            if m.wake_failures > before and m.mac in self._healthy:
                figures.wrongful_failures += m.wake_failures - before
                figures.violations.append(f"{m.mac} counted failed: {m.last_error}")
            self._failures[m.mac] = m.wake_failures
        healthy_kw = len(self._healthy) * S9_CURVE.nominal_w / 1000.0
        if snapshot.rated_power_kw < healthy_kw - 1e-6:
            figures.rated_dips += 1
            if len(figures.violations) < 100:
                figures.violations.append(
                    f"rated {snapshot.rated_power_kw} kW < {healthy_kw:.2f} kW of healthy miners"
                )
