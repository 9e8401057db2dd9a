"""Ramps still on course: miners that move while hashing (power targets, profiles) whose change
was judged over on a hold but whose power still climbs toward what their setting is worth, as
a power target that holds steps while temperatures settle does. The loop does not re-plan
against what they are still bringing."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..miners.base import SettingUnit
from .lifecycle import FleetMiner
from .miner_state import ARRIVAL_SHARE
from .roster import Roster

# A rise smaller than this share of the power (or 15 W) is noise, as for a transition's progress.
_RISE_SHARE = 0.02
_MIN_RISE_W = 15.0


@dataclass(slots=True)
class _Climb:
    since: float  # when the miner was last switched: a new transition starts a new climb
    peak_w: float
    rose_at: float  # the last rise seen (-inf: none yet)


class RampWatch:
    """Follows the power of the miners the fleet runs from poll to poll."""

    def __init__(self, roster: Roster) -> None:
        self._roster = roster
        self._climbs: dict[str, _Climb] = {}
        self._last_w: dict[str, float] = {}  # each miner's power at the poll before

    def observe(self, now: float) -> None:
        """Take the latest readings: note every miner seen to climb."""
        climbs: dict[str, _Climb] = {}
        last_w: dict[str, float] = {}
        for m in self._roster:
            reading = m.reading
            power = reading.power_w if reading is not None and m.fresh else None
            if power is None or not _climbs_while_hashing(m):
                continue
            last_w[m.mac] = power
            if not (m.dispatched and m.running()):
                continue
            climb = self._climbs.get(m.mac)
            if climb is None or climb.since != m.switched_at:
                # A new transition: it climbs from where it was before it was switched.
                climb = _Climb(m.switched_at, self._last_w.get(m.mac, power), -math.inf)
            if power > climb.peak_w + max(_MIN_RISE_W, _RISE_SHARE * power):
                climb.peak_w, climb.rose_at = power, now
            climbs[m.mac] = climb
        self._climbs, self._last_w = climbs, last_w

    def room_w(self, now: float) -> float:
        """What the miners still on course may yet add to what they are counted at: those seen
        to climb within the longest pause their transitions were seen to take, up to what
        their setting is worth (on the curve, or more where they were measured to draw more)
        while visibly short of it, else what they draw now. Miners still in a transition
        are counted at their setting already."""
        roster = self._roster
        room = 0.0
        for m in roster:
            climb = self._climbs.get(m.mac)
            if climb is None or m.in_transition or m.reading is None:
                continue
            deadlines = roster.deadlines(m)
            if now - climb.rose_at > max(deadlines.start_pause_s, deadlines.change_pause_s):
                continue
            setting = m.running_setting()
            power = m.reading.power_w
            if setting is None or power is None:
                continue
            # What it is counted at: its own draw, learnt on a hold and smoothed, lags what
            # it draws and may understate where it heads.
            curve_w = roster.curve_of(m).power_w(setting)
            scale = roster.scale(m)
            heading = curve_w * max(1.0, scale)
            expected = power
            if power < heading * (1.0 - ARRIVAL_SHARE):  # visibly short of it, not a spread
                expected = heading * (1.0 + ARRIVAL_SHARE)  # arrived within this share
            room += max(0.0, expected - scale * curve_w)
        return room


def _climbs_while_hashing(m: FleetMiner) -> bool:
    """A miner set by power that keeps hashing through a change: its power may go on
    climbing after its change was judged over (an S9's restart is watched to the end)."""
    points = m.capabilities.points
    return points.unit is SettingUnit.WATT and not points.change_stops_hashing
