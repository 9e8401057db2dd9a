"""The fail-safe for a silent EMS: when an EMS that holds a target stops calling, fall back.

An EMS that polls the status and sends commands is alive; one that has said nothing for
`after_s` while its target is in force may have crashed and left the fleet at a stale target.
What to do then is the operator's choice: hold (the target stays, the operator is told), standby
(the fleet is deactivated) or hand the fleet to the local strategy (the EMS's target is dropped;
the strategy, if one is configured, decides from the next poll, else the fleet stands by).
"""

from __future__ import annotations

from enum import StrEnum


class Fallback(StrEnum):
    """What the fleet does when its dispatcher falls silent."""

    HOLD = "hold"
    STANDBY = "standby"
    STRATEGY = "strategy"


class SilenceWatch:
    """Notices an EMS that holds a target and has stopped calling."""

    def __init__(self, after_s: float, fallback: Fallback) -> None:
        """`after_s` 0 or less: never."""
        self.after_s = after_s
        self.fallback = fallback
        self.last_heard: float | None = None
        self.fell_back = False  # it fell back and the EMS has not called since

    def heard(self, now: float) -> None:
        """The EMS called (status or a command)."""
        self.last_heard = now
        self.fell_back = False

    def due(self, now: float, *, ems_holds_target: bool) -> bool:
        """Whether to fall back now (once per silence)."""
        if self.after_s <= 0 or not ems_holds_target or self.fell_back:
            return False
        if self.last_heard is None:
            self.last_heard = now  # silence is counted from the first look
            return False
        if now - self.last_heard < self.after_s:
            return False
        self.fell_back = True
        return True
