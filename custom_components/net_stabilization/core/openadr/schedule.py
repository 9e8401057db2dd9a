"""Each event's schedule, honoured locally: which instruction holds at a given moment.

Pure functions of the events the VEN holds and the time, so a VTN that goes silent in the middle
of an event changes nothing: the event still ends when its intervals say, and the fleet is
released then, not left at a stale target.

Rules (OpenADR 3.1 User Guide, "Event and Interval Timing"):
- an interval's own intervalPeriod overrides the event's; an interval without a start follows the
  previous one; a start of `0001-01-01` (or none at all) is the moment the VEN first saw the event;
- `randomizeStart` shifts every start of the event by one amount drawn uniformly from
  [-r, +r] (seeded by the VEN and the event, so every poll draws the same);
- `event.duration` shorter than the intervals' span cuts them short; longer, it repeats them:
  the intervals loop, pass after pass, until the event's duration runs out (the last pass cut
  there; `P9999Y` loops for ever). User Guide 3.1.1, 7.3 "event.duration" (24 hourly prices with
  a duration of `P7D` repeat for a week) and 7.5 "Looping intervals". A pass spans from the
  first interval's start to the latest end; `Schedule` repeats it lazily, so an endless loop
  costs nothing;
- overlapping events: a lower `priority` number wins (none is the lowest); equal priorities go to
  the event modified last. Capacity limits all hold at once (the lowest wins), as limits do;
- a PRICE interval with several values is split into that many equal sub-intervals.

Units (Definition 3.1.1, "Unit Enumerations"; `enumerations/units.schema.yaml`): the only unit
of real power the specification enumerates is `KW`, of energy `KWH` (a PRICE in `KWH` is per
kWh). The enumerations may be extended by private strings agreed with the program (Definition,
"Private Strings"); the unambiguous SI multiples `W` and `MW` (and `WH`, `MWH` for a price) are
taken as such and converted, in any letter case. Anything else (`KVA`, `KVAR`, `PERCENT`, ...)
says something the fleet cannot turn into a draw: it is refused and the VTN told so.
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
# kW per unit of a power payload (none given: kW); only KW is enumerated, W and MW are taken as
# private strings of evident meaning.
POWER_UNITS = {"KW": 1.0, "W": 0.001, "MW": 1000.0}
# A price per this energy unit, times the factor, is the price per kWh.
PRICE_UNITS = {"KWH": 1.0, "WH": 1000.0, "MWH": 0.001}


def unit_factor(units: str | None, table: Mapping[str, float]) -> float | None:
    """The factor into the fleet's unit (kW, per kWh); None for a unit it cannot convert."""
    if units is None:
        return 1.0
    return table.get(units.strip().upper())


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
class Schedule:
    """An event's intervals in time: their first pass, repeated until `end` when the event's
    duration is longer than the pass (looping intervals)."""

    slots: tuple[Slot, ...]  # the first pass (cut at `end` when the event is shorter)
    end: float | None  # when the event ends (`FOREVER`: never); None without intervals

    @property
    def start(self) -> float | None:
        """When the first interval begins."""
        return self.slots[0].start if self.slots else None

    @property
    def span(self) -> float:
        """The length of one pass: from the first start to the latest end."""
        if not self.slots:
            return 0.0
        return max(s.end for s in self.slots) - self.slots[0].start

    @property
    def loops(self) -> bool:
        """Whether the intervals repeat (the event lasts longer than one pass)."""
        span = self.span
        return (
            self.end is not None and 0.0 < span < math.inf and self.end > self.slots[0].start + span
        )

    def pass_index(self, t: float) -> int:
        """The pass under way at `t` (0 before the start or without looping)."""
        start = self.start
        if not self.loops or start is None or t < start:
            return 0
        return int((t - start) // self.span)

    def pass_slots(self, index: int) -> tuple[Slot, ...]:
        """The intervals of one pass in time, cut at the event's end."""
        if index == 0 or not self.loops:
            return self.slots if index == 0 else ()
        assert self.end is not None
        offset, end = index * self.span, self.end
        return tuple(
            Slot(s.interval, s.start + offset, min(s.end + offset, end))
            for s in self.slots
            if s.start + offset < end
        )

    def in_force(self, t: float) -> list[Slot]:
        """The intervals that hold at `t`."""
        if not self.loops:
            return [s for s in self.slots if s.holds(t)]
        if self.end is not None and t >= self.end:
            return []
        index = self.pass_index(t)
        # A pass's intervals with starts of their own may reach into the next pass's time.
        return [s for k in (index - 1, index) if k >= 0 for s in self.pass_slots(k) if s.holds(t)]


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


def schedule(event: Event, seen_at: float, shift_s: float = 0.0) -> Schedule:
    """The event in time: its intervals placed (`place`), looped up to `event.duration`."""
    slots = place(event, seen_at, shift_s)
    end = event_end(slots)
    if event.duration_s is not None and slots:
        end = slots[0].start + event.duration_s
    return Schedule(slots, end)


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


def _price(
    values: tuple[object, ...], slot: Slot, t: float, factor: float
) -> tuple[float | None, float]:
    """The price in force at `t` (per kWh) and when it ends: several values split the interval
    into as many equal sub-intervals."""
    count = len(values)
    if not count:
        return None, slot.end
    width = (slot.end - slot.start) / count
    index = min(count - 1, int((t - slot.start) // width)) if width > 0 else 0
    item = values[index]
    if isinstance(item, bool) or not isinstance(item, int | float):
        return None, slot.end
    return float(item) * factor, slot.start + (index + 1) * width


def _amount(kind: Kind, value: float | None, factor: float) -> float | None:
    """A power in kW (a SIMPLE level as it is); None when it makes no sense for its kind."""
    if value is None:
        return None
    if kind is Kind.SIMPLE:
        return value if value in (0, 1, 2, 3) else None
    value *= factor
    return None if kind is not Kind.RELATIVE and value < 0 else value


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
            factor = unit_factor(units, PRICE_UNITS)
            if factor is None:
                wrong.append(f"{payload.type} per {units}: only prices per kWh are understood")
                continue
            value, ends_at = _price(payload.values, slot, t, factor)
        else:
            factor = 1.0 if kind is Kind.SIMPLE else unit_factor(units, POWER_UNITS)
            if factor is None:
                wrong.append(f"{payload.type} in {units}: only kW, W or MW are understood")
                continue
            value = _amount(kind, _number(payload.values), factor)
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


def signals_at(t: float, events: Iterable[Event], placed: Mapping[str, Schedule]) -> Signals:
    """What the events ask at `t`; `placed` holds each event's schedule (`schedule`)."""
    instructions: list[Instruction] = []
    problems: list[tuple[str, str]] = []
    active: list[str] = []
    for event in events:
        placement = placed.get(event.id)
        in_force = placement.in_force(t) if placement is not None else []
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
