"""Command results and the validation every entry point shares (EMS, services, entities)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

# Targets are compared with rated power after rounding to watts, so "2.92" passes for 2920 W.
_RATED_SLACK_KW = 0.0005
# A target this far above rated power is still taken (and met as far as the fleet can): an EMS
# plans with a rated power it read a while ago, rounded its own way.
RATED_TOLERANCE = 0.02


class CommandSource(StrEnum):
    """Who sent a command; stored with it in the history."""

    EMS = "ems"  # the EMS contract's endpoints
    ACTION = "service"  # a Home Assistant action (automations, scripts, the UI)
    ENTITY = "home_assistant"  # an entity of the integration (switch, number, select, button)
    API = "api"  # the fleet JSON API
    OPTIONS = "options"  # the integration's options
    SETUP = "setup"  # the integration's own start-up
    SCAN = "scan"  # a network scan (miners joining)
    LIMITS = "limits"  # the site's limits (a safety trip, a grid operator's cap)
    STRATEGY = "strategy"  # the local strategy (PV surplus, price, frequency, ...)
    OPENADR = "openadr"  # a grid operator's or aggregator's event, through the OpenADR VEN
    SYSTEM = "system"  # the fleet itself (a change of the source in force)


class CommandReason(StrEnum):
    """Why a command was accepted or refused; maps one-to-one onto the EMS contract's HTTP codes."""

    OK = "ok"
    INVALID = "invalid"  # the input itself is wrong
    EXCEEDS_RATED = "exceeds_rated"  # more power than the dispatchable miners have
    CONFLICT = "conflict"  # manual override, dispatch disabled or fault
    UNAVAILABLE = "unavailable"  # no miner reachable
    NOT_FOUND = "not_found"  # no miner with that MAC

    @property
    def http_status(self) -> int:
        """The HTTP status the EMS contract uses for this reason."""
        return _HTTP_STATUS[self]


_HTTP_STATUS = {
    CommandReason.OK: 200,
    CommandReason.INVALID: 400,
    CommandReason.EXCEEDS_RATED: 400,
    CommandReason.CONFLICT: 409,
    CommandReason.UNAVAILABLE: 503,
    CommandReason.NOT_FOUND: 404,
}


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The answer to a command: `{"accepted": ..., "message": ...}` plus the reason code.

    A refusal also names its translation (`key`, with `placeholders`), so that Home Assistant
    can say it in the user's language; the message is the English one the EMS gets."""

    accepted: bool
    message: str
    reason: CommandReason = CommandReason.OK
    plan_summary: str | None = None
    key: str | None = None
    placeholders: tuple[tuple[str, str], ...] = ()

    @property
    def http_status(self) -> int:
        """The HTTP status for the EMS endpoints."""
        return self.reason.http_status

    def as_json(self) -> dict[str, bool | str]:
        """The EMS response body."""
        return {"accepted": self.accepted, "message": self.message}

    @classmethod
    def ok(cls, message: str, plan_summary: str | None = None) -> CommandResult:
        """An accepted command."""
        return cls(True, message, CommandReason.OK, plan_summary)

    @classmethod
    def refused(
        cls, reason: CommandReason, message: str, key: str | None = None, **placeholders: object
    ) -> CommandResult:
        """A refused command; `key` and `placeholders` name its translation."""
        values = tuple((name, _shown(value)) for name, value in placeholders.items())
        return cls(False, message, reason, key=key, placeholders=values)

    @classmethod
    def not_a_flag(cls, name: str) -> CommandResult:
        """A refusal for a switch given something other than true or false."""
        return cls.refused(CommandReason.INVALID, f"{name} must be true or false", "invalid_flag")

    @classmethod
    def invalid_power(cls, err: InvalidPowerError) -> CommandResult:
        """A refusal for a power that is not one."""
        return cls.refused(CommandReason.INVALID, str(err), err.key, name=err.name)


class InvalidPowerError(ValueError):
    """A power value that is not a finite, non-negative number."""

    def __init__(self, message: str, key: str, name: str) -> None:
        super().__init__(message)
        self.key = key  # the translation of the refusal
        self.name = name  # the parameter's name


def parse_power_kw(value: object, name: str = "activationPowerInKw") -> float:
    """Validate a power in kW from any source; raises `InvalidPowerError` naming the problem."""
    # bool is an int in Python, but `true` is not a power.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPowerError(
            f"{name} must be a number, got {_describe(value)}", "power_not_a_number", name
        )
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise InvalidPowerError(f"{name} must be a finite number", "power_not_finite", name)
    if number < 0:
        raise InvalidPowerError(f"{name} must not be negative", "power_negative", name)
    return number


def exceeds_rated(target_kw: float, rated_kw: float) -> bool:
    """Whether a target is too far above rated power to be taken."""
    return target_kw > rated_kw * (1.0 + RATED_TOLERANCE) + _RATED_SLACK_KW


def above_rated(target_kw: float, rated_kw: float) -> bool:
    """Whether a target is above rated power (but within the tolerance, if not refused)."""
    return target_kw > rated_kw + _RATED_SLACK_KW


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)[:200]


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__
