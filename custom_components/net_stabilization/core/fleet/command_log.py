"""The command history: every command is recorded before it is acknowledged."""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .commands import CommandResult

_LOGGER = logging.getLogger(__name__)

type ParameterValue = str | float | int | bool | None


SOURCE_CHANGE = "target_source"
"""The history's note of a change of the source in force (from, to)."""


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
    repeats: int = 1  # identical refusals of one caller within a minute share one record

    @property
    def is_note(self) -> bool:
        """A note of the fleet's own (a change of source in force), not a command."""
        return self.command == SOURCE_CHANGE

    @property
    def caller(self) -> str | None:
        """Who sent it (a user, a peer address), when known."""
        value = self.extra.get("caller")
        return value if isinstance(value, str) else None


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


# What a command record keeps of each parameter: whatever a client sent, bounded, so the
# history, its JSON and the command event can always be written and read back.
MAX_PARAMETER_CHARS = 200
MAX_PARAMETER_KEY_CHARS = 64
MAX_PARAMETERS = 20
_SAFE_INT = 2**53  # beyond this, JSON readers (and SQLite, past 2**63) disagree on integers


def parameter(value: object) -> ParameterValue:
    """A command parameter as it can be stored: finite numbers within JSON's safe range, text
    of bounded length; anything else as its (bounded) text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        try:
            return float(value)
        except OverflowError:
            return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return _text(value)
    try:
        return _text(repr(value))
    except Exception:  # a repr that fails is still a parameter we must record
        return type(value).__name__


def parameters(raw: Mapping[str, object]) -> dict[str, ParameterValue]:
    """A whole parameter map, bounded (used for what is stored and what is read back)."""
    bounded: dict[str, ParameterValue] = {}
    for key, value in list(raw.items())[:MAX_PARAMETERS]:
        bounded[_text(str(key), MAX_PARAMETER_KEY_CHARS)] = parameter(value)
    return bounded


def _text(text: str, limit: int = MAX_PARAMETER_CHARS) -> str:
    text = storable_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def storable_text(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate (which JSON's `\\ud800` escape yields)
    becomes its escape as visible text, so the history, its JSON and the command event stay
    writable and readable."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# Who sent the commands run in this context (a user, a peer address): recorded with each.
_CALLER: ContextVar[str | None] = ContextVar("net_stabilization_caller", default=None)


@contextmanager
def command_caller(caller: str | None) -> Iterator[None]:
    """Record `caller` with every command run inside this block."""
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


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
        *,
        as_last: bool = True,
    ) -> CommandResult:
        """Store the command and its result; returns the result. A failing history never
        refuses or stalls dispatch: the failure is logged and the command stands. A note
        that is no command (`as_last` false) does not replace the last command shown."""
        caller = _CALLER.get()
        entry = CommandRecord(
            timestamp=self._now(),
            source=storable_text(str(source)),
            command=command,
            parameters=parameters(params),
            accepted=result.accepted,
            reason=result.reason.value,
            message=storable_text(result.message),
            plan_summary=None
            if result.plan_summary is None
            else storable_text(result.plan_summary),
            extra={"caller": _text(caller)} if caller else {},
        )
        if as_last:
            self.last = entry
        try:
            await self._log.record(entry)
        except Exception:
            _LOGGER.exception("recording %s from %s failed", command, source)
        return result

    async def recent(self, limit: int) -> list[CommandRecord]:
        """Newest first."""
        return list(await self._log.recent(limit))
