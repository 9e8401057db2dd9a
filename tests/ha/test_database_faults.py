"""The fleet database under real faults while Home Assistant runs the fleet: locked, read-only,
full and corrupt, each at start and mid-run, each ending with the fault cleared and a restart.
Every acknowledged command is on disk in order afterwards, the restart resumes the last one, and
the history API shows what the database holds. (The faults: tests/store_faults.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.core.store import FleetStore
from tests.store_faults import DatabaseFaults, Fault, rows_on_disk

type ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]

# Far longer than the store lets an answer wait for a commit: an answer that arrives while the
# database is still held proves the bound; the guard only keeps a broken bound from hanging.
LONG_BUSY_MS = 30_000
GUARD_S = 20.0


@pytest.fixture(autouse=True)
def remove_moved_aside_files(hass: HomeAssistant) -> Iterator[None]:
    """The corrupt cases leave the damaged file next to the database: remove what this test
    made (the databases themselves are Home Assistant's test config's to keep)."""
    folder = Path(hass.config.path())
    before = set(folder.glob("*.corrupt-*"))
    yield
    for path in set(folder.glob("*.corrupt-*")) - before:
        path.unlink(missing_ok=True)


def injected(store: FleetStore, faults: DatabaseFaults) -> None:
    """Let `faults` decide how the store connects, and retry quickly (the test's time)."""
    store._connector = faults.connect
    store._retry_s = 0.05


async def activate(client: TestClient[Any, Any], kw: float) -> dict[str, Any]:
    async with asyncio.timeout(GUARD_S):
        response = await client.post("/api/activate", json={"activationPowerInKw": kw})
        body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def history_messages(client: TestClient[Any, Any]) -> list[str]:
    response = await client.get("/api/net_stabilization/history?limit=1000")
    assert response.status == 200
    rows = await response.json()
    return [row["message"] for row in reversed(rows)]


@pytest.mark.parametrize("fault", list(Fault))
@pytest.mark.parametrize("when", ["start", "mid_run"])
async def test_acknowledged_commands_survive_the_fault_and_a_restart(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client: ClientFactory,
    fault: Fault,
    when: str,
) -> None:
    client = await hass_client()
    runtime = loaded_entry.runtime_data
    store = runtime.store
    faults = DatabaseFaults(store.path)
    injected(store, faults)
    await activate(client, 2.7)
    await runtime.async_write_snapshot()
    if when == "start":
        # Broken while Home Assistant was down: the fault greets the next start.
        await hass.config_entries.async_unload(loaded_entry.entry_id)
        await hass.async_block_till_done()
        if fault is not Fault.FULL:
            await faults.start(fault)
        assert await hass.config_entries.async_setup(loaded_entry.entry_id)
        await hass.async_block_till_done()
        runtime = loaded_entry.runtime_data
        store = runtime.store
        injected(store, faults)
        if fault is Fault.FULL:
            await faults.start(fault, store)
    else:
        await faults.start(fault, store)
    if fault is Fault.LOCKED and store._db is not None:
        await store._db.execute(f"PRAGMA busy_timeout = {LONG_BUSY_MS}")

    await activate(client, 2.2)
    await activate(client, 1.9)  # answered while the database is still broken
    expected = [c.message for c in reversed(await store.recent_commands(1000))]

    await faults.clear(fault, store)
    async with asyncio.timeout(GUARD_S):
        await store.wait_written()
    assert await history_messages(client) == expected
    assert [m for m, _ in rows_on_disk(store.path)] == expected

    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    runtime = loaded_entry.runtime_data
    assert runtime.controller.settings().ems_target_kw == 1.9
    on_disk = [m for m, _ in rows_on_disk(runtime.store.path)]
    assert await history_messages(client) == on_disk
    assert on_disk[: len(expected)] == expected  # then what the restart itself noted


async def test_five_activations_against_a_held_database_are_answered_within_the_bound(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    store = loaded_entry.runtime_data.store
    store._retry_s = 0.05
    assert store._db is not None
    await store._db.execute(f"PRAGMA busy_timeout = {LONG_BUSY_MS}")
    blocker = sqlite3.connect(store.path, timeout=0, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        # All five are answered while the other process still holds the database.
        answers = await asyncio.gather(*(activate(client, kw) for kw in (1.0, 1.2, 1.4, 1.6, 1.9)))
        assert all(a["accepted"] for a in answers)
    finally:
        blocker.rollback()
        blocker.close()
    async with asyncio.timeout(GUARD_S):
        await store.wait_written()
    response = await client.get("/api/net_stabilization/history?limit=20")
    rows = [r for r in await response.json() if r["command"] == "activate"]
    assert [r["parameters"]["activationPowerInKw"] for r in reversed(rows)] == [
        1.0,
        1.2,
        1.4,
        1.6,
        1.9,
    ]
    # The history says which were answered before they were stored.
    assert all("stored_late_s" in r for r in rows), rows
