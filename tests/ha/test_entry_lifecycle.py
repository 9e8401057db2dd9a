"""A fleet's config entry from creation to removal."""

from __future__ import annotations

from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN

# What a crash or a corrupt database may leave beside the database.
LEFTOVERS = ("-wal", "-shm", ".corrupt-1700000000", ".corrupt-1700000000-wal")


def _files_of(database: Path) -> list[str]:
    return sorted(p.name for p in database.parent.glob(f"{database.name}*"))


def _leave_files(database: Path, other: Path) -> None:
    for leftover in LEFTOVERS:
        database.with_name(database.name + leftover).write_bytes(b"x")
    other.write_bytes(b"keep")


def _clean_up(database: Path, other: Path) -> bytes:
    for path in database.parent.glob(f"{database.name}*"):
        path.unlink()
    kept = other.read_bytes()
    other.unlink()
    return kept


async def test_removing_the_fleet_deletes_its_database(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    database = Path(hass.config.path(f"{DOMAIN}.{loaded_entry.entry_id}.db"))
    other = database.with_name(f"{DOMAIN}.{loaded_entry.entry_id}0.db")  # another fleet's
    assert _files_of(database) != []
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    _leave_files(database, other)
    try:
        assert await hass.config_entries.async_remove(loaded_entry.entry_id)
        await hass.async_block_till_done()
        assert loaded_entry.state is ConfigEntryState.NOT_LOADED
        assert _files_of(database) == []
    finally:
        assert _clean_up(database, other) == b"keep"


async def test_removing_a_fleet_without_a_database_works(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_remove(config_entry.entry_id)
    assert not hass.config_entries.async_entries(DOMAIN)
