"""How long each miner's transitions take, as measured: a wake to hashing and to full power, a
change of setting to the new power, a sleep to standby draw, with the longest pause without
progress seen on the way and the outcome.

What is measured replaces what the driver claims (`OperatingPoints`): the planner costs a
miner's moves at its own typical durations (its kind's for a miner not yet seen), and a
transition fails only when progress stops for longer than the miner (or, for one not yet
seen, its kind) was seen to pause, or beyond a hard ceiling per kind. The driver's figures are
the priors: a miner not yet seen is given at least the driver's (conservative) pause.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from ..miners.base import OperatingPoints

if TYPE_CHECKING:
    from .config import ControlConfig


class Transition(StrEnum):
    """What was timed."""

    START = "start"  # wake order heard → hashing seen
    FULL = "full"  # wake order heard → full power seen
    CHANGE = "change"  # change of setting to more power ordered → the new power seen
    # The same to less power: a Braiins OS+ target cut is quick, a raise holds steps for
    # minutes, so the two are timed apart. A change stored before they were told apart counts
    # as one up, the slower and safer guess.
    CHANGE_DOWN = "change_down"
    STOP = "stop"  # sleep heard → standby seen


@dataclass(frozen=True, slots=True)
class TimingSample:
    """One timed transition of one miner."""

    mac: str
    kind: str  # driver and model, e.g. "luxos/Antminer S19j Pro"
    transition: Transition
    seconds: float
    pause_s: float  # the longest stretch without visible progress on the way
    ok: bool = True  # False: the transition failed after `seconds`


@dataclass(frozen=True, slots=True)
class TimingLearning:
    """Knobs of `TimingBook`."""

    samples: int = 16  # kept per miner and transition (the kind keeps four times as many)
    # A miner seen before may pause this much longer than it ever did; one not seen yet,
    # `unseen_margin` times the longest pause of its kind (never less than the driver's).
    margin: float = 2.0
    unseen_margin: float = 2.5
    min_pause_s: float = 60.0  # never less: a ramp may flatten for a few polls


_KIND_FACTOR: Final = 4
_CHANGES: Final = (Transition.CHANGE, Transition.CHANGE_DOWN)
# What a transition not measured yet is judged by: a change down, before one was seen on the
# miner or its kind, by the changes up (slower, so no deadline comes too soon).
_FALLBACK: Final = {Transition.CHANGE_DOWN: Transition.CHANGE}


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long a miner's transitions may go without progress, and their hard ceilings."""

    start_pause_s: float
    start_ceiling_s: float
    change_pause_s: float
    change_ceiling_s: float
    change_down_pause_s: float | None = None  # a change to less power; None: as one up

    @classmethod
    def of_config(cls, config: ControlConfig) -> Deadlines:
        """The configured timeouts, for a miner whose timings are not known."""
        return cls(
            config.wake_start_timeout_s,
            config.wake_timeout_s,
            config.change_timeout_s,
            config.change_timeout_s,
        )


def prior_pause_s(points: OperatingPoints, transition: Transition, config: ControlConfig) -> float:
    """The longest pause of a healthy transition before any was measured: the fleet's
    configured figure, or the driver's where its firmware is known to take longer."""
    if transition in _CHANGES:
        return max(config.change_timeout_s, points.change_pause_s)
    if transition is Transition.STOP:
        return points.stop_ceiling_s
    return max(config.wake_start_timeout_s, points.start_pause_s)


def ceiling_s(points: OperatingPoints, transition: Transition, config: ControlConfig) -> float:
    """The hard ceiling of a transition of this kind, whatever its progress."""
    if transition in _CHANGES:
        return max(config.wake_timeout_s, points.change_ceiling_s)
    if transition is Transition.STOP:
        return points.stop_ceiling_s
    return max(config.wake_timeout_s, points.start_ceiling_s)


def prior_typical_s(points: OperatingPoints, transition: Transition) -> float:
    """The driver's claim of how long a transition takes."""
    if transition in _CHANGES:
        return points.change_s
    if transition is Transition.STOP:
        return points.stop_s
    return points.wake_s


class _Record:
    """Recent successful samples (seconds, longest pause) and failure count."""

    __slots__ = ("failures", "pauses", "seconds")

    def __init__(self, size: int) -> None:
        self.seconds: deque[float] = deque(maxlen=size)
        self.pauses: deque[float] = deque(maxlen=size)
        self.failures = 0

    def add(self, sample: TimingSample) -> None:
        if sample.ok:
            self.seconds.append(sample.seconds)
            self.pauses.append(sample.pause_s)
        else:
            self.failures += 1


class TimingBook:
    """The fleet's measured transition timings, per miner and per kind."""

    def __init__(self, learning: TimingLearning | None = None) -> None:
        self._learning = learning or TimingLearning()
        self._miners: dict[tuple[str, Transition], _Record] = {}
        self._kinds: dict[tuple[str, Transition], _Record] = {}
        self._log: list[TimingSample] = []  # taken since the last `drain`, to be stored

    def record(self, sample: TimingSample, *, store: bool = True) -> None:
        """Take one timed transition (with `store`, also hand it to the next `drain`)."""
        if not math.isfinite(sample.seconds) or sample.seconds < 0:
            return
        size = self._learning.samples
        key = (sample.mac, sample.transition)
        self._miners.setdefault(key, _Record(size)).add(sample)
        kind_key = (sample.kind, sample.transition)
        self._kinds.setdefault(kind_key, _Record(size * _KIND_FACTOR)).add(sample)
        if store:
            self._log.append(sample)

    def drain(self) -> list[TimingSample]:
        """The samples taken since the last call (for the fleet database)."""
        out, self._log = self._log, []
        return out

    def restore(self, samples: Iterable[TimingSample]) -> int:
        """Take back samples stored before a restart; returns how many were taken."""
        taken = 0
        for s in samples:
            if s.seconds >= 0 and math.isfinite(s.seconds) and math.isfinite(s.pause_s):
                self.record(s, store=False)
                taken += 1
        return taken

    def typical_s(self, mac: str, kind: str, transition: Transition) -> float | None:
        """The miner's median duration, else its kind's; None before any was measured (a change
        down not measured yet: as the changes up)."""
        for record in (self._miners.get((mac, transition)), self._kinds.get((kind, transition))):
            if record is not None and record.seconds:
                return statistics.median(record.seconds)
        fallback = _FALLBACK.get(transition)
        return None if fallback is None else self.typical_s(mac, kind, fallback)

    def pause_limit_s(
        self, mac: str, kind: str, transition: Transition, prior_s: float, poll_gap_s: float
    ) -> float:
        """How long a transition may show no progress before it counts as failed: a margin
        over the longest pause this miner was seen to take; for a miner not seen yet, a wider
        one over its kind's, and never less than the driver's prior."""
        learning = self._learning
        fallback = _FALLBACK.get(transition)
        if fallback is not None and not self._seen(mac, kind, transition):
            return self.pause_limit_s(mac, kind, fallback, prior_s, poll_gap_s)
        own = self._miners.get((mac, transition))
        if own is not None and own.pauses:
            learnt = learning.margin * max(own.pauses) + 2 * poll_gap_s
            return max(learning.min_pause_s, learnt)
        kind_record = self._kinds.get((kind, transition))
        learnt = 0.0
        if kind_record is not None and kind_record.pauses:
            learnt = learning.unseen_margin * max(kind_record.pauses) + 2 * poll_gap_s
        return max(prior_s, learnt)

    def _seen(self, mac: str, kind: str, transition: Transition) -> bool:
        """Whether the miner or its kind completed this transition at least once."""
        records = (self._miners.get((mac, transition)), self._kinds.get((kind, transition)))
        return any(r is not None and r.pauses for r in records)

    def summary(self) -> dict[str, dict[str, dict[str, float | int]]]:
        """Per kind and transition: samples, failures, median and longest duration and pause."""
        out: dict[str, dict[str, dict[str, float | int]]] = {}
        for (kind, transition), record in sorted(self._kinds.items()):
            entry: dict[str, float | int] = {
                "samples": len(record.seconds),
                "failures": record.failures,
            }
            if record.seconds:
                entry["median_s"] = round(statistics.median(record.seconds), 1)
                entry["max_s"] = round(max(record.seconds), 1)
                entry["max_pause_s"] = round(max(record.pauses), 1)
            out.setdefault(kind, {})[transition.value] = entry
        return out


def sample_from_row(row: Mapping[str, object]) -> TimingSample | None:
    """A stored sample back from its row; None for a row that does not make sense."""
    try:
        transition = Transition(str(row["transition"]))
        seconds = _number(row["seconds"])
        pause = _number(row["pause_s"])
    except KeyError, ValueError:
        return None
    if seconds is None or pause is None:
        return None
    return TimingSample(
        mac=str(row["mac"]),
        kind=str(row["kind"]),
        transition=transition,
        seconds=seconds,
        pause_s=pause,
        ok=bool(row.get("ok", True)),
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None
