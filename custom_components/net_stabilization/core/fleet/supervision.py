"""Each poll's watch over every miner: safety, deadlines, follow-ups and lost miners."""

from __future__ import annotations

import logging

from .dispatch import Dispatcher
from .lifecycle import FleetMiner
from .roster import Roster
from .temperature import overheat_of

_LOGGER = logging.getLogger(__name__)


class Supervisor:
    """Checks every miner once per poll; returns whether the plan lost a miner (re-plan now)."""

    def __init__(self, roster: Roster, dispatcher: Dispatcher) -> None:
        self._roster = roster
        self._dispatch = dispatcher

    def supervise(self, now: float) -> bool:
        """Temperature, transition deadlines, orders still due, miners lost to the plan."""
        roster = self._roster
        cfg = roster.config
        grace = roster.api_grace_s
        lost = False
        for m in roster:
            m.end_cooldown(now, cfg)
            lost |= self._check_temperature(m, now)
            if m.unheard_and_gone(roster.offline_after):
                m.release()  # its wake never reached it and it went offline: not a failure
                lost = True
            reason = m.check(now, cfg, grace, roster.deadlines(m))
            if reason is not None:
                self._fail(m, now, reason)
                lost = True
            self._dispatch.submit(m, m.follow_up(now, cfg))
            if (
                m.dispatched
                and not m.in_transition
                and not m.dispatchable(now, roster.offline_after)
            ):
                # Gone offline, excluded or overridden while running for us: replace it.
                m.release()
                lost = True
        return lost

    def _check_temperature(self, m: FleetMiner, now: float) -> bool:
        cfg = self._roster.config
        if not (m.fresh and m.hashing()):
            return False
        excess = overheat_of(m.reading, cfg.temp_limit_c, cfg.board_temp_limit_c)
        if excess is None:
            return False
        if not m.overheated(now):
            _LOGGER.warning(
                "%s %s (limit %.0f °C): stopping it", m.mac, excess.describe(), excess.limit_c
            )
        ours = m.dispatched or m.in_transition
        self._dispatch.submit(m, m.overheat(now, cfg, excess.describe()))
        return ours

    def _fail(self, m: FleetMiner, now: float, reason: str) -> None:
        """A wake or frequency change that did not produce mining."""
        roster = self._roster
        counts, order = m.fail_wake(now, reason, roster.config)
        if counts:
            roster.wakes.failed()
        if m.wake_failures >= roster.config.max_wake_failures:
            _LOGGER.warning("%s failed %d wakes in a row: resting", m.mac, m.wake_failures)
        self._dispatch.submit(m, order)
