"""Turning refused fleet commands into Home Assistant errors, the same for entities and services."""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .core.fleet import CommandReason, CommandResult

# Refusals caused by what the user asked for are validation errors; the rest are the fleet's.
_VALIDATION = {CommandReason.INVALID, CommandReason.EXCEEDS_RATED, CommandReason.NOT_FOUND}


def raise_for_result(result: CommandResult) -> CommandResult:
    """Return an accepted result; raise a translated error for a refused one."""
    if result.accepted:
        return result
    error = ServiceValidationError if result.reason in _VALIDATION else HomeAssistantError
    key = result.key or result.reason.value
    raise error(
        translation_domain=DOMAIN,
        translation_key=f"command_{key}",
        translation_placeholders={"message": result.message, **dict(result.placeholders)},
    )
