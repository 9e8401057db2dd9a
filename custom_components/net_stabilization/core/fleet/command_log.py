"""The command history: every command is recorded before it is acknowledged."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .commands import CommandResult

_LOGGER = logging.getLogger(__name__)

type ParameterValue = str | float | int | bool | None


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command as received and answered."""

    timestamp: datetime
    source: str  # e.g. "ems", "service", "entity", "override"
    command: str  # e.g. "activate", "deactivate", "set_mode"
    parameters: Mapping[str, ParameterValue]
    accepted: bool
    reason: str
    message: str
    plan_summary: str | None = None
    extra: Mapping[str, ParameterValue] = field(default_factory=dict)


class CommandLog(Protocol):
    """Where commands are recorded (SQLite in production, memory in tests)."""

    async def record(self, entry: CommandRecord) -> None:
        """Store one command; must be durable when it returns."""
        ...

    async def recent(self, limit: int = 50) -> Sequence[CommandRecord]:
        """The latest commands, newest first."""
        ...


class InMemoryCommandLog:
    """A bounded command history in memory."""

    def __init__(self, max_entries: int = 1000) -> None:
        self._entries: deque[CommandRecord] = deque(maxlen=max_entries)

    async def record(self, entry: CommandRecord) -> None:
        """Append one command."""
        self._entries.append(entry)

    async def recent(self, limit: int = 50) -> list[CommandRecord]:
        """The latest `limit` commands, newest first."""
        if limit <= 0:
            return []
        return list(reversed(self._entries))[:limit]


def parameter(value: object) -> ParameterValue:
    """A command parameter as it can be stored: JSON scalars as they are, anything else as
    text."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return repr(value)


class CommandRecorder:
    """Records every command with its answer, before the answer is given."""

    def __init__(self, log: CommandLog, now: Callable[[], datetime]) -> None:
        self._log = log
        self._now = now
        self.last: CommandRecord | None = None

    async def record(
        self,
        command: str,
        source: str,
        params: Mapping[str, ParameterValue],
        result: CommandResult,
    ) -> CommandResult:
        """Store the command and its result; returns the result. A failing history never
        refuses or stalls dispatch: the failure is logged and the command stands."""
        entry = CommandRecord(
            timestamp=self._now(),
            source=str(source),
            command=command,
            parameters=dict(params),
            accepted=result.accepted,
            reason=result.reason.value,
            message=result.message,
            plan_summary=result.plan_summary,
        )
        self.last = entry
        try:
            await self._log.record(entry)
        except Exception:
            _LOGGER.exception("recording %s from %s failed", command, source)
        return result

    async def recent(self, limit: int) -> list[CommandRecord]:
        """Newest first."""
        return list(await self._log.recent(limit))
