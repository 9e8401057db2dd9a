"""Repair issues: failed miners, miners refusing the login, a fleet database in trouble."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .core.discovery import ScanResult
from .core.fleet import FleetSnapshot, MinerState
from .core.store import StoreProblem
from .language import async_texts

ISSUE_FAILED_MINERS = "failed_miners"
ISSUE_AUTH = "auth_failed"
ISSUE_DATABASE = "database_problem"
ISSUE_FLEET_SIZE = "fleet_size_exceeded"
ISSUE_FIRMWARE_UPDATE = "firmware_update_needed"
ISSUE_UNTRUSTED = "untrusted_miners"
_LISTED = 20  # miners named in an issue; the count says how many there are


def update_failed_miners(hass: HomeAssistant, snapshot: FleetSnapshot) -> None:
    """Raise the issue while some miner is failed (did not come back after repeated wakes)."""
    failed = [m for m in snapshot.miners if m.state is MinerState.FAILED]
    if not failed:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_FAILED_MINERS)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_FAILED_MINERS,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_FAILED_MINERS,
        translation_placeholders={
            "count": str(len(failed)),
            "miners": ", ".join(f"{m.hostname or m.mac} ({m.host})" for m in failed[:_LISTED]),
        },
    )


def update_auth(hass: HomeAssistant, result: ScanResult) -> None:
    """Raise the issue while some miner rejects the login."""
    if not result.auth_failed:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_AUTH)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_AUTH,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_AUTH,
        translation_placeholders={
            "count": str(len(result.auth_failed)),
            "hosts": ", ".join(f.endpoint.host for f in result.auth_failed[:_LISTED]),
        },
    )


def update_firmware_updates(hass: HomeAssistant, result: ScanResult) -> None:
    """Raise the issue while some miner needs a firmware update to be controlled."""
    if not result.advisories:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_FIRMWARE_UPDATE)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_FIRMWARE_UPDATE,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_FIRMWARE_UPDATE,
        translation_placeholders={
            "count": str(len(result.advisories)),
            "hosts": ", ".join(f.endpoint.host for f in result.advisories[:_LISTED]),
        },
    )


def update_untrusted(hass: HomeAssistant, snapshot: FleetSnapshot) -> None:
    """Raise the issue while some miner has not shown it behaves like its firmware: it is left
    out of the rated power instead of summed into it."""
    untrusted = [m for m in snapshot.miners if not m.trusted and m.state is not MinerState.OFFLINE]
    if not untrusted:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_UNTRUSTED)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_UNTRUSTED,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_UNTRUSTED,
        translation_placeholders={
            "count": str(len(untrusted)),
            "miners": ", ".join(
                f"{m.hostname or m.mac} ({m.host}, {m.model})" for m in untrusted[:_LISTED]
            ),
        },
    )


def update_fleet_size(hass: HomeAssistant, left_out: int, limit: int) -> None:
    """Raise the issue while more miners answer than the fleet takes."""
    if not left_out:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_FLEET_SIZE)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_FLEET_SIZE,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_FLEET_SIZE,
        translation_placeholders={"count": str(left_out), "limit": str(limit)},
    )


def database_watch(
    hass: HomeAssistant, entry: ConfigEntry, path: str
) -> Callable[[StoreProblem | None], None]:
    """A store's `on_problem` callback that keeps the database issue in step with the store.

    The issue names the problem in the user's language, which takes a translation lookup: each
    change starts one, and whichever lookup finishes writes the newest problem, so a problem
    that clears while a lookup is under way does not come back."""
    latest: list[StoreProblem | None] = [None]

    async def show() -> None:
        texts = await async_texts(hass, "selector")
        update_database(hass, latest[0], path, texts)

    def on_problem(problem: StoreProblem | None) -> None:
        latest[0] = problem
        entry.async_create_task(hass, show(), "show fleet database problem", eager_start=True)

    return on_problem


def update_database(
    hass: HomeAssistant, problem: StoreProblem | None, path: str, texts: Mapping[str, str]
) -> None:
    """Raise the issue while the fleet database cannot be written; `texts` are the selector
    translations that name the problem."""
    if problem is None:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_DATABASE)
        return
    label = texts.get(f"component.{DOMAIN}.selector.store_problem.options.{problem}", problem)
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_DATABASE,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_DATABASE,
        translation_placeholders={"problem": label, "path": path},
    )
