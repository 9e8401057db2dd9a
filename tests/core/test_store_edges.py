"""Corners of the fleet database: a store that cannot open answers reads with nothing, a
closed store takes no settings, unreadable performance rows are skipped, a full backlog
gives up its oldest command only when no refusal is left to drop, the fleet's own notes are no
last command and the refusals remembered for counting are bounded."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.net_stabilization.core import store as store_module
from custom_components.net_stabilization.core.fleet.command_log import (
    SOURCE_CHANGE,
    CommandRecord,
)
from custom_components.net_stabilization.core.store import FleetStore
from custom_components.net_stabilization.core.store_salvage import read_salvage
from tests.store_faults import DatabaseFaults, Fault, rows_on_disk


def command(n: int, *, accepted: bool = True, name: str = "activate") -> CommandRecord:
    return CommandRecord(
        timestamp=datetime.fromtimestamp(1_800_000_000 + n, UTC),
        source="ems",
        command=name,
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


async def test_the_fleets_own_notes_are_no_last_command(tmp_path: Path) -> None:
    store = FleetStore(tmp_path / "fleet.db")
    await store.open()
    await store.record_command(command(1, name=SOURCE_CHANGE))
    assert await store.last_command() is None
    await store.record_command(command(2))
    last = await store.last_command()
    assert last is not None
    assert last.message == "command 2"
    await store.close()


async def test_refusals_remembered_for_counting_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the bound the memory starts over: a refusal it forgot gets a row of its own
    instead of being counted in its old one (a flood of distinct refusals costs no memory)."""
    monkeypatch.setattr(store_module, "REFUSAL_KINDS_KEPT", 3)
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    for n in (1, 1, 2, 3, 4, 1):  # the same second each time: one minute
        await store.record_command(command(0, accepted=False) if n == 1 else command_n(n))
        await store.wait_written()
    await store.close()
    assert rows_on_disk(path) == [
        ("command 0", 2),
        ("refusal 2", 1),
        ("refusal 3", 1),
        ("refusal 4", 1),
        ("command 0", 1),
    ]


def command_n(n: int) -> CommandRecord:
    """A refusal in the same second as `command(0)` that differs from it by its message."""
    return replace(command(0, accepted=False), message=f"refusal {n}")


def test_a_file_that_cannot_be_opened_salvages_nothing(tmp_path: Path) -> None:
    """The damaged file moved aside is gone (or its folder is): nothing to carry over."""
    salvage = read_salvage(tmp_path / "gone" / "fleet.db.corrupt-1")
    assert salvage.rows == 0
    assert salvage.commands == []
