"""Each event's schedule, honoured locally: which instruction holds at a given moment.

Pure functions of the events the VEN holds and the time, so a VTN that goes silent in the middle
of an event changes nothing: the event still ends when its intervals say, and the fleet is
released then, not left at a stale target.

Rules (OpenADR 3.1 User Guide, "Event and Interval Timing"):
- an interval's own intervalPeriod overrides the event's; an interval without a start follows the
  previous one; a start of `0001-01-01` (or none at all) is the moment the VEN first saw the event;
- `randomizeStart` shifts every start of the event by one amount drawn uniformly from
  [-r, +r] (seeded by the VEN and the event, so every poll draws the same);
- `event.duration` cuts the intervals short (looping beyond their span is not done);
- overlapping events: a lower `priority` number wins (none is the lowest); equal priorities go to
  the event modified last. Capacity limits all hold at once (the lowest wins), as limits do;
- a PRICE interval with several values is split into that many equal sub-intervals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .model import Event, Interval

SETPOINT = "DISPATCH_SETPOINT"
SETPOINT_RELATIVE = "DISPATCH_SETPOINT_RELATIVE"
SIMPLE = "SIMPLE"
IMPORT_LIMIT = "IMPORT_CAPACITY_LIMIT"
EMERGENCY = "ALERT_GRID_EMERGENCY"
PRICE = "PRICE"
POWER_UNITS = ("KW",)  # what a power payload may be given in (none given: kW)
PRICE_UNITS = ("KWH",)  # a price per kWh


class Kind(StrEnum):
    """What an instruction asks of the fleet."""

    SETPOINT = "setpoint"  # draw this many kW
    RELATIVE = "relative"  # draw this many kW more than the baseline (negative: less)
    SIMPLE = "simple"  # a level 1-3, mapped to shares of rated power by configuration
    IMPORT_LIMIT = "import_limit"  # the site imports at most this many kW
    EMERGENCY = "emergency"  # shed
    PRICE = "price"  # the energy price per kWh


_TARGET_KINDS = (Kind.SETPOINT, Kind.RELATIVE, Kind.SIMPLE)


@dataclass(frozen=True, slots=True)
class Slot:
    """An interval placed in time (Unix s)."""

    interval: Interval
    start: float
    end: float

    def holds(self, t: float) -> bool:
        """Whether the interval is in force at `t`."""
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class Instruction:
    """What one event's interval asks now."""

    kind: Kind
    value: float | str
    event_id: str
    priority: int | None
    modified: float
    interval_id: int
    ends_at: float  # when the interval (or sub-interval) ends

    @property
    def rank(self) -> tuple[float, float, str]:
        """Sort key: the instruction that wins sorts first."""
        priority = math.inf if self.priority is None else float(self.priority)
        return (priority, -self.modified, self.event_id)


@dataclass(frozen=True, slots=True)
class Signals:
    """What the events ask of the fleet now."""

    target: Instruction | None = None
    caps: tuple[Instruction, ...] = ()  # every capacity limit in force
    emergency: Instruction | None = None
    price: Instruction | None = None
    active: tuple[str, ...] = ()  # the events with an interval in force
    problems: tuple[tuple[str, str], ...] = ()  # (event id, why the fleet cannot act on it)

    @property
    def cap(self) -> Instruction | None:
        """The lowest import limit in force."""
        return min(self.caps, key=lambda i: float(i.value), default=None)


def random_shift(event: Event, seed: str) -> float:
    """The seeded random shift of an event's starts, within its randomizeStart bound."""
    bound = event.period.randomize_s if event.period is not None else None
    if bound is None and event.intervals and event.intervals[0].period is not None:
        bound = event.intervals[0].period.randomize_s
    if not bound or not math.isfinite(bound):
        return 0.0
    return random.Random(f"{seed}:{event.id}").uniform(-bound, bound)


def place(event: Event, seen_at: float, shift_s: float = 0.0) -> tuple[Slot, ...]:
    """The event's intervals in time. `seen_at` stands for a start of "now"."""
    default = event.period
    base = default.start if default is not None and default.start is not None else seen_at
    default_duration = default.duration_s if default is not None else None
    slots: list[Slot] = []
    previous_end: float | None = None
    for index, interval in enumerate(event.intervals):
        own = interval.period
        if own is not None and own.start is not None:
            start = own.start + shift_s
        elif index == 0 or previous_end is None:
            start = base + shift_s
        else:
            start = previous_end
        duration = own.duration_s if own is not None and own.duration_s is not None else None
        if duration is None:
            duration = default_duration if default_duration is not None else 0.0
        end = start + duration
        slots.append(Slot(interval, start, end))
        previous_end = end
    if event.duration_s is not None and slots:
        limit = slots[0].start + event.duration_s
        slots = [Slot(s.interval, s.start, min(s.end, limit)) for s in slots if s.start < limit]
    return tuple(slots)


def event_end(slots: Iterable[Slot]) -> float | None:
    """When the last interval ends; None for an event without intervals."""
    return max((s.end for s in slots), default=None)


def _number(values: tuple[object, ...]) -> float | None:
    if len(values) != 1:
        return None
    value = values[0]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _instruction(event: Event, slot: Slot, t: float) -> tuple[list[Instruction], list[str]]:
    """The instructions one interval in force gives, and what is wrong with it."""
    found: list[Instruction] = []
    wrong: list[str] = []
    for payload in slot.interval.payloads:
        kind_of = {
            SETPOINT: Kind.SETPOINT,
            SETPOINT_RELATIVE: Kind.RELATIVE,
            SIMPLE: Kind.SIMPLE,
            IMPORT_LIMIT: Kind.IMPORT_LIMIT,
            EMERGENCY: Kind.EMERGENCY,
            PRICE: Kind.PRICE,
        }
        kind = kind_of.get(payload.type)
        if kind is None:
            continue  # a payload this fleet does not act on (GHG, ...): not its business
        descriptor = event.descriptor(payload.type)
        units = descriptor.units if descriptor is not None else None
        value: float | str | None
        ends_at = slot.end
        if kind is Kind.EMERGENCY:
            text = payload.values[0] if len(payload.values) == 1 else None
            value = text if isinstance(text, str) and text else None
        elif kind is Kind.PRICE:
            value = None
            count = len(payload.values)
            if count and units in (None, *PRICE_UNITS):
                width = (slot.end - slot.start) / count
                index = min(count - 1, int((t - slot.start) // width)) if width > 0 else 0
                item = payload.values[index]
                if not isinstance(item, bool) and isinstance(item, int | float):
                    value = float(item)
                    ends_at = slot.start + (index + 1) * width
        else:
            value = _number(payload.values)
            if units not in (None, *POWER_UNITS) and kind is not Kind.SIMPLE:
                wrong.append(f"{payload.type} in {units}: only kW is understood")
                continue
            simple_bad = kind is Kind.SIMPLE and value not in (0, 1, 2, 3)
            negative = kind is not Kind.RELATIVE and value is not None and value < 0
            if simple_bad or negative:
                value = None
        if value is None:
            wrong.append(f"{payload.type} value {list(payload.values)[:3]} is not usable")
            continue
        if kind is Kind.SIMPLE and value == 0:
            continue  # level 0: normal operation, nothing asked
        found.append(
            Instruction(
                kind, value, event.id, event.priority, event.modified, slot.interval.id, ends_at
            )
        )
    return found, wrong


def signals_at(
    t: float, events: Iterable[Event], placed: Mapping[str, tuple[Slot, ...]]
) -> Signals:
    """What the events ask at `t`; `placed` holds each event's slots (`place`)."""
    instructions: list[Instruction] = []
    problems: list[tuple[str, str]] = []
    active: list[str] = []
    for event in events:
        slots = placed.get(event.id, ())
        in_force = [s for s in slots if s.holds(t)]
        if not in_force:
            continue
        active.append(event.id)
        for slot in in_force:
            found, wrong = _instruction(event, slot, t)
            instructions.extend(found)
            problems.extend((event.id, why) for why in wrong)

    def best(kinds: tuple[Kind, ...]) -> Instruction | None:
        return min((i for i in instructions if i.kind in kinds), key=lambda i: i.rank, default=None)

    return Signals(
        target=best(_TARGET_KINDS),
        caps=tuple(i for i in instructions if i.kind is Kind.IMPORT_LIMIT),
        emergency=best((Kind.EMERGENCY,)),
        price=best((Kind.PRICE,)),
        active=tuple(active),
        problems=tuple(problems),
    )
