"""The command history: every command is recorded before it is acknowledged."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

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
