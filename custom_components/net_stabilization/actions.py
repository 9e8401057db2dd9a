"""Turning refused fleet commands into Home Assistant errors, the same for entities and services."""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .core.fleet import CommandReason, CommandResult, MinerSnapshot
from .language import localize_placeholders
from .naming import miner_name

# Refusals the user can act on (what was asked, or a setting or state the user controls) are
# validation errors: Home Assistant shows them without logging an error. What remains (no miner
# answers, the fleet in fault) is the fleet's problem and is logged.
_FLEET_FAULTS = {CommandReason.UNAVAILABLE}
_FLEET_FAULT_KEYS = {"fleet_fault"}


def raise_for_result(
    result: CommandResult,
    language: str = "en",
    miners: Mapping[str, MinerSnapshot] | None = None,
) -> CommandResult:
    """Return an accepted result; raise a translated error for a refused one. Figures are
    written for `language`; a miner named by its MAC is called by its name from `miners`."""
    if result.accepted:
        return result
    key = result.key or result.reason.value
    fault = result.reason in _FLEET_FAULTS or key in _FLEET_FAULT_KEYS
    error = HomeAssistantError if fault else ServiceValidationError
    placeholders = localize_placeholders(dict(result.placeholders), language)
    if (mac := placeholders.get("mac")) is not None:
        miner = (miners or {}).get(mac)
        placeholders["miner"] = miner_name(miner) if miner is not None else mac
    raise error(
        translation_domain=DOMAIN,
        translation_key=f"command_{key}",
        translation_placeholders={"message": result.message, **placeholders},
    )
