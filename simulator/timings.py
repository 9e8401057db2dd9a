"""How long each simulated miner takes to move, drawn from ranges that cover the public record.

By default every personality keeps its firmware's nominal timings with a little jitter. A fleet
built with `spread=True` draws each miner's own timings once, fixed by the seed, from these
ranges instead, so that a controller meets the spread real fleets show:

- LuxOS: `curtail wakeup` without ramp parameters brings the boards up as a reboot or a profile
  change does, and a system init "can take up to 5 minutes" (LuxOS API documentation, the
  `curtail` and events pages); the vendor's blog claims full power in under 10 s with its fast
  ramp. A wake here takes 15 s to 5 min before hashing. A profile change ramps the boards as
  a wakeup does; whether they stop hashing on the way is not documented, so half the miners
  start their boards again (the wake's initialisation and ramp, minutes on a slow unit) and
  the others step while hashing for 30 s to 4 min.
- Braiins OS+: a new power target is reached in steps, each held while temperatures settle —
  an S19k Pro set from 771 W to 3,000 W over REST "sits there in 800w for a long time …
  Stabilizing temperature … then 1000w and takes long time again" (hass-miner issue 586),
  against "about 10 s" in the vendor's notes. Ramps and changes here take seconds to minutes,
  with up to three plateaus held 30-180 s.
- Vnish REST (AnthillOS): whether a preset change restarts mining is not documented; half the
  miners restart on a change (boards initialise again), half move while hashing.
- S9 on Vnish 3.9: boots differ from unit to unit (60-180 s, field observation of the fleets
  this integration was built for); bmminer restarts in 5-15 s and ramps in 60-100 s.
- Read-only cgminer miners (Whatsminer): btminer's randomised start delay of up to 120 s
  against inrush, as in its personality.

Where the record is silent the ranges are wide rather than kind: a simulator must not be
faster than the hardware it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from random import Random
from typing import Any

from .personality import BRAIINS, CGMINER, LUXOS, VNISH_REST, VNISH_S9

# Jitter of a miner's own timings from one transition to the next once they are drawn: the
# same unit boots alike twice, different units do not.
SPREAD_JITTER = 0.05


@dataclass(frozen=True, slots=True)
class Ranges:
    """Where one kind's timings lie (seconds, low and high)."""

    boot_s: tuple[float, float]
    start_s: tuple[float, float]  # boards initialising after a resume, before hashing
    ramp_s: tuple[float, float]  # from hashing to the target power, without the plateaus
    change_s: tuple[float, float]  # a new target while hashing, without the plateaus
    plateaus: tuple[int, int] = (0, 0)  # steps held on the way up while temperatures settle
    hold_s: tuple[float, float] = (0.0, 0.0)  # how long each plateau is held
    change_restart_share: float | None = None  # None: as the firmware's spec says


RANGES: dict[str, Ranges] = {
    LUXOS: Ranges(
        boot_s=(80.0, 300.0),
        start_s=(15.0, 300.0),
        ramp_s=(10.0, 60.0),
        change_s=(30.0, 240.0),
        change_restart_share=0.5,
    ),
    BRAIINS: Ranges(
        boot_s=(75.0, 180.0),
        start_s=(20.0, 90.0),
        ramp_s=(10.0, 240.0),
        change_s=(10.0, 300.0),
        plateaus=(0, 3),
        hold_s=(30.0, 180.0),
    ),
    VNISH_REST: Ranges(
        boot_s=(70.0, 180.0),
        start_s=(30.0, 90.0),
        ramp_s=(20.0, 60.0),
        change_s=(15.0, 60.0),
        change_restart_share=0.5,
    ),
    CGMINER: Ranges(
        boot_s=(90.0, 180.0),
        start_s=(30.0, 120.0),
        ramp_s=(120.0, 240.0),
        change_s=(0.0, 0.0),
    ),
    VNISH_S9: Ranges(
        boot_s=(60.0, 180.0),
        start_s=(5.0, 15.0),
        ramp_s=(60.0, 100.0),
        change_s=(0.0, 0.0),
    ),
}


@dataclass(frozen=True, slots=True)
class Plateaus:
    """The steps a ramp or change holds on its way: how many, and how long each."""

    holds_s: tuple[float, ...]

    def knots(
        self, t0: float, w0: float, w1: float, rise_s: float
    ) -> tuple[tuple[float, float], ...]:
        """The (time, power) corners of a ramp from `w0` to `w1`: equal rises of `rise_s`
        in all, with a hold after each but the last. Only a ramp up holds (a cut is quick)."""
        if w1 <= w0 or not self.holds_s:
            return ((t0, w0), (t0 + rise_s, w1))
        steps = len(self.holds_s) + 1
        rise = rise_s / steps
        knots = [(t0, w0)]
        t, w = t0, w0
        for i in range(steps):
            t += rise
            w = w0 + (w1 - w0) * (i + 1) / steps
            knots.append((t, w))
            if i < len(self.holds_s):
                t += self.holds_s[i]
                knots.append((t, w))
        return tuple(knots)


@dataclass(frozen=True, slots=True)
class Drawn:
    """One miner's own timings."""

    boot_s: float
    start_s: float
    ramp_s: float
    change_s: float
    change_restarts: bool | None
    plateaus: Plateaus


def draw(kind: str, seed: int, index: int) -> Drawn:
    """One miner's timings, the same for the same seed and index."""
    ranges = RANGES[kind]
    rng = Random(f"{seed}:{index}:{kind}:timings")
    restarts = None
    if ranges.change_restart_share is not None:
        restarts = rng.random() < ranges.change_restart_share
    count = rng.randint(*ranges.plateaus)
    return Drawn(
        boot_s=rng.uniform(*ranges.boot_s),
        start_s=rng.uniform(*ranges.start_s),
        ramp_s=rng.uniform(*ranges.ramp_s),
        change_s=rng.uniform(*ranges.change_s),
        change_restarts=restarts,
        plateaus=Plateaus(tuple(rng.uniform(*ranges.hold_s) for _ in range(count))),
    )


def apply_spread(miner: Any, kind: str, seed: int) -> Drawn:
    """Give a simulated miner its own drawn timings (see the module's notes)."""
    drawn = draw(kind, seed, miner.index)
    miner.jitter = SPREAD_JITTER
    if kind == VNISH_S9:
        miner.boot_time_s = drawn.boot_s
        miner.restart_time_s = drawn.start_s
        miner.ramp_time_s = drawn.ramp_s
    else:
        restarts = miner.spec.change_restarts
        miner.spec = replace(
            miner.spec,
            boot_s=drawn.boot_s,
            start_s=drawn.start_s,
            ramp_s=drawn.ramp_s,
            change_s=drawn.change_s or miner.spec.change_s,
            change_restarts=restarts if drawn.change_restarts is None else drawn.change_restarts,
        )
        miner.plateaus = drawn.plateaus
    return drawn


def physical_limit_s(drawn: Drawn, kind: str, *, waking: bool) -> float:
    """The least time a miner with these timings needs to reach a new target's power from
    standby (`waking`) or from another setting while hashing, held plateaus included."""
    holds = sum(drawn.plateaus.holds_s)
    if kind == VNISH_S9:
        return (drawn.boot_s if waking else 0.0) + drawn.start_s + drawn.ramp_s
    if waking:
        return drawn.start_s + drawn.ramp_s + holds
    if drawn.change_restarts:
        return drawn.start_s + drawn.ramp_s + holds
    return drawn.change_s + holds
