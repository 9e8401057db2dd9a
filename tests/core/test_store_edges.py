"""Corners of the fleet database: a store that cannot open answers reads with nothing, a
closed store takes no settings, unreadable performance rows are skipped, and a full backlog
gives up its oldest command only when no refusal is left to drop."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.net_stabilization.core import store as store_module
from custom_components.net_stabilization.core.fleet.command_log import CommandRecord
from custom_components.net_stabilization.core.store import FleetStore
from tests.store_faults import DatabaseFaults, Fault


def command(n: int, *, accepted: bool = True) -> CommandRecord:
    return CommandRecord(
        timestamp=datetime.fromtimestamp(1_800_000_000 + n, UTC),
        source="ems",
        command="activate",
        parameters={"activationPowerInKw": float(n)},
        accepted=accepted,
        reason="ok" if accepted else "invalid_power",
        message=f"command {n}",
    )


async def test_a_store_that_cannot_open_reads_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    store = FleetStore(blocker / "fleet.db")
    await store.open()
    assert store.problem is not None
    assert await store.recent_performance() == []
    assert await store.timings() == []
    await store.close()


async def test_a_closed_store_takes_no_settings(tmp_path: Path) -> None:
    store = FleetStore(tmp_path / "fleet.db")
    await store.open()
    await store.close()
    assert await store.save_settings({"fleet": {"ems_target_kw": 1.0}}) is False


async def test_performance_rows_that_cannot_be_read_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    assert await store.record_performance({"dispatchId": "a", "source": "ems", "startedAt": 1.0})
    await store.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "INSERT INTO dispatch_performance (dispatch_id, source, started_at, figures) "
            "VALUES ('b', 'ems', 2.0, 'not json')"
        )
        db.commit()
    reopened = FleetStore(path)
    await reopened.open()
    found = await reopened.recent_performance()
    assert [f["dispatchId"] for f in found] == ["a"]
    await reopened.close()


async def test_a_full_backlog_of_accepted_commands_drops_the_oldest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PENDING_LIMIT", 3)
    path = tmp_path / "fleet.db"
    faults = DatabaseFaults(path)
    store = FleetStore(path, connect=faults.connect, commit_timeout_s=0.01, retry_s=60.0)
    await store.open()
    await faults.start(Fault.READ_ONLY, store)
    for n in range(5):
        await store.record_command(command(n))
    kept = [c.message for c in await store.recent_commands(10)]
    assert "command 4" in kept
    assert "command 0" not in kept
    await faults.clear(Fault.READ_ONLY, store)
    await store.close()
