"""The fleet database under real faults: locked, read-only, full and corrupt, each at start and
mid-run, each ending with the fault cleared and a restart."""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custom_components.net_stabilization.core import store as store_module
from custom_components.net_stabilization.core.fleet.command_log import CommandRecord
from custom_components.net_stabilization.core.store import (
    FleetSnapshot,
    FleetStore,
    MinerSnapshot,
    StoreProblem,
)
from tests.store_faults import DatabaseFaults, Fault, rows_on_disk

# What the store is told: a commit may take COMMIT_S before a command is answered anyway. Busy
# waits are far longer, so an answer that comes at all while the database is held proves the
# bound; ANSWER_GUARD_S only keeps a broken bound from hanging the suite.
COMMIT_S = 0.05
BUSY_MS = 30_000
ANSWER_GUARD_S = 10.0


@pytest.fixture(autouse=True)
def no_unclosed_connections() -> Iterator[None]:
    """Every connection the store opened is closed, on error paths too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    leaks = [w for w in caught if "unclosed database" in str(w.message)]
    assert not leaks, [str(w.message) for w in leaks]


def activation(n: int, kw: float | None = None, *, accepted: bool = True) -> CommandRecord:
    return CommandRecord(
        timestamp=datetime.fromtimestamp(1_800_000_000 + n, UTC),
        source="ems",
        command="activate",
        parameters={"activationPowerInKw": kw if kw is not None else float(n)},
        accepted=accepted,
        reason="ok" if accepted else "invalid_power",
        message=f"command {n}",
        extra={"caller": "10.0.0.9 without token"},
    )


def store_for(path: Path, faults: DatabaseFaults, fault: Fault) -> FleetStore:
    # Locked at start: opening waits for the lock like any statement, so keep that wait short.
    busy = 100 if fault is Fault.LOCKED else BUSY_MS
    return FleetStore(
        path, busy_timeout_ms=busy, connect=faults.connect, commit_timeout_s=COMMIT_S, retry_s=0.02
    )


async def answer(store: FleetStore, record: CommandRecord) -> bool:
    async with asyncio.timeout(ANSWER_GUARD_S):
        return await store.record_command(record)


def snapshot() -> tuple[FleetSnapshot, list[MinerSnapshot]]:
    miners = [MinerSnapshot(f"AA:{i:04X}", "mining", 1460.0, 13.7, 650.0, 70.0) for i in range(40)]
    return FleetSnapshot("active", 2.0, 1.9, 2.9, 40, 40, 548.0), miners


@pytest.mark.parametrize("fault", list(Fault))
@pytest.mark.parametrize("when", ["start", "mid_run"])
async def test_every_acknowledged_command_reaches_the_disk_in_order(
    tmp_path: Path, fault: Fault, when: str
) -> None:
    path = tmp_path / "fleet.db"
    faults = DatabaseFaults(path)
    acknowledged: list[str] = []
    first = store_for(path, faults, fault)
    await first.open()
    fleet, miners = snapshot()
    for n in range(3):
        assert await answer(first, activation(n))
        acknowledged.append(f"command {n}")
        for minute in range(10):  # bulk, so garbage lands among snapshots as in a real file
            await first.write_snapshot(fleet, miners, timestamp=n * 600 + minute * 60)
    await first.save_settings({"fleet": {"ems_target_kw": 2.0}, "calibration": {"AA": 1.1}})
    if when == "start":
        await first.close()
        store = store_for(path, faults, fault)
        if fault is Fault.FULL:  # a limit of the store's own connection
            await store.open()
            await faults.start(fault, store)
        else:
            await faults.start(fault)
            await store.open()
    else:
        store = first
        await faults.start(fault, store)

    for n in range(3, 8):
        await answer(store, activation(n, kw=1.9 if n == 7 else 2.7))
        acknowledged.append(f"command {n}")
    await store.save_settings({"fleet": {"ems_target_kw": 1.9}})
    await store.write_snapshot(fleet, miners)  # dropped or written, never blocking for long
    # What the API shows (memory and disk) is every acknowledged command, newest first.
    shown = [c.message for c in await store.recent_commands(100)]
    assert shown == list(reversed(acknowledged))

    await faults.clear(fault, store)
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()  # by itself: nothing else is asked of the store
    assert store.problem is None
    await store.close()

    restarted = FleetStore(path, busy_timeout_ms=BUSY_MS)
    await restarted.open()
    assert [m for m, _ in rows_on_disk(path)] == acknowledged
    assert [c.message for c in await restarted.recent_commands(100)] == list(reversed(acknowledged))
    last = await restarted.last_command()
    assert last is not None
    assert last.parameters == {"activationPowerInKw": 1.9}
    settings = await restarted.load_settings()
    assert settings["fleet"] == {"ems_target_kw": 1.9}
    assert settings["calibration"] == {"AA": 1.1}
    await restarted.close()


async def test_a_store_that_reconnected_read_only_recovers_by_itself(tmp_path: Path) -> None:
    """The files were read-only for a while and the store reconnected then: it must not keep
    that read-only connection once the files are writable again."""
    path = tmp_path / "fleet.db"
    faults = DatabaseFaults(path)
    store = store_for(path, faults, Fault.READ_ONLY)
    await store.open()
    assert await answer(store, activation(1, kw=2.7))
    await faults.start(Fault.READ_ONLY, store)
    for n in range(2, 13):
        assert not await answer(store, activation(n, kw=1.9))
    assert store.problem is StoreProblem.READ_ONLY
    await faults.clear(Fault.READ_ONLY)
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()
    assert store.pending_commands == 0
    await store.close()
    assert [m for m, _ in rows_on_disk(path)] == [f"command {n}" for n in range(1, 13)]


async def test_a_locked_database_answers_within_the_bound_and_says_so_later(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path, busy_timeout_ms=BUSY_MS, commit_timeout_s=COMMIT_S, retry_s=0.02)
    await store.open()
    blocker = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        # Five at once, all answered while the other process still holds the database.
        answers = await asyncio.gather(*(answer(store, activation(n)) for n in range(5)))
        assert answers == [False] * 5
        assert store.problem is StoreProblem.LOCKED
        assert store.pending_commands == 5
    finally:
        blocker.rollback()
        blocker.close()
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()
    assert store.problem is None
    late = [c.extra.get("stored_late_s") for c in reversed(await store.recent_commands())]
    assert all(isinstance(s, float) for s in late), late
    await store.close()
    assert [m for m, _ in rows_on_disk(path)] == [f"command {n}" for n in range(5)]


async def test_a_corrupt_file_keeps_what_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    fleet, miners = snapshot()
    await store.save_settings({"fleet": {"ems_target_kw": 2.0}, "calibration": {"AA": 1.07}})
    for n in range(507):
        await store.record_command(activation(n))
    for minute in range(40):
        await store.write_snapshot(fleet, miners, timestamp=minute * 60)
    await store.close()
    with closing(sqlite3.connect(path)) as db:
        # A row without a usable time (as damage leaves one): skipped, not carried over.
        db.execute(
            "INSERT INTO command_history (ts, source, command, parameters, accepted, reason, "
            "message, extra) VALUES ('not a time', 'ems', 'activate', '{}', 1, 'ok', '', '{}')"
        )
        db.commit()
        snapshot_pages = [
            row[0]
            for row in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'miner_snapshots' ORDER BY pageno"
            )
        ]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    assert snapshot_pages
    # Garbage over a page of the snapshots, the bulk of a real file (the small tables need not
    # all lie before the middle of a test's small file).
    with path.open("r+b") as file:
        file.seek((snapshot_pages[len(snapshot_pages) // 2] - 1) * page_size)
        file.write(b"\x5a\xa5" * 2048)

    reopened = FleetStore(path)
    await reopened.open()
    assert reopened.moved_aside is not None
    assert reopened.problem is None
    settings = await reopened.load_settings()
    assert settings == {"fleet": {"ems_target_kw": 2.0}, "calibration": {"AA": 1.07}}
    assert len(await reopened.recent_commands(10_000)) == 507
    assert reopened.salvaged_rows >= 509
    await reopened.close()


async def test_garbage_over_the_schema_still_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    await store.record_command(activation(1))
    await store.close()
    with path.open("r+b") as file:
        file.write(b"\x00garbage" * 512)
    reopened = FleetStore(path)
    await reopened.open()
    assert reopened.problem is None
    assert reopened.moved_aside is not None
    assert await reopened.record_command(activation(2))
    await reopened.close()


async def test_identical_refusals_are_counted_not_kept_one_row_each(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    for n in range(1000):
        refusal = activation(0, accepted=False)  # the same second, the same refusal
        await store.record_command(refusal)
        if n % 100 == 0:
            assert await store.record_command(activation(n + 1))
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()
    await store.close()
    rows = rows_on_disk(path)
    refusals = [r for m, r in rows if m == "command 0"]
    accepted = [m for m, _ in rows if m != "command 0"]
    assert sum(refusals) == 1000
    assert len(refusals) <= 11  # one row per minute, or per run of refusals between commands
    assert accepted == [f"command {n + 1}" for n in range(0, 1000, 100)]


async def test_a_refusal_repeated_while_its_row_is_written_is_counted_in_that_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path, busy_timeout_ms=BUSY_MS, commit_timeout_s=COMMIT_S, retry_s=0.02)
    await store.open()
    faults = DatabaseFaults(path)
    await faults.start(Fault.LOCKED)
    try:
        await answer(store, activation(0, accepted=False))
        # An accepted command is answered once its commit is overdue: by then the refusal's row
        # is being written, held up by the lock.
        assert not await answer(store, activation(1))
        assert store.problem is StoreProblem.LOCKED
        await answer(store, activation(0, accepted=False))
    finally:
        await faults.clear(Fault.LOCKED)
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()
    await store.close()
    assert rows_on_disk(path) == [("command 0", 2), ("command 1", 1)]


async def test_a_flood_of_refusals_never_pushes_out_an_accepted_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PENDING_LIMIT", 50)
    path = tmp_path / "fleet.db"
    faults = DatabaseFaults(path)
    store = store_for(path, faults, Fault.READ_ONLY)
    await store.open()
    await faults.start(Fault.READ_ONLY, store)
    await answer(store, activation(1))
    for n in range(500):  # each different, so none can be counted with another
        await store.record_command(activation(1000 + n, accepted=False))
    await faults.clear(Fault.READ_ONLY)
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()
    await store.close()
    assert "command 1" in [m for m, _ in rows_on_disk(path)]


async def test_text_utf8_cannot_carry_is_stored_readably(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    odd = CommandRecord(
        timestamp=datetime.fromtimestamp(1_800_000_000, UTC),
        source="ems",
        command="activate",
        parameters={"activationPowerInKw": "\ud800", "\udcff": 1},
        accepted=False,
        reason="invalid_power",
        message="'\ud800' is not a number",
    )
    await store.record_command(odd)
    async with asyncio.timeout(ANSWER_GUARD_S):
        await store.wait_written()
    (row,) = await store.recent_commands()
    # What the history API and the event send must encode as UTF-8.
    json.dumps([row.parameters, row.message], ensure_ascii=False).encode("utf-8")
    await store.close()


async def test_rows_stored_before_text_was_checked_are_repaired_at_open(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    await store.record_command(activation(1))
    await store.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "UPDATE command_history SET parameters = ?, message = CAST(? AS TEXT)",
            ('{"activationPowerInKw": "\\ud800"}', b"bad \xff\xfe bytes"),
        )
        db.execute("ALTER TABLE command_history DROP COLUMN repeats")
        db.execute("PRAGMA user_version = 3")  # as written by the version before the repair
        db.commit()
    repaired = FleetStore(path)
    await repaired.open()
    (row,) = await repaired.recent_commands()
    json.dumps([row.parameters, row.message], ensure_ascii=False).encode("utf-8")
    await repaired.close()
    with closing(sqlite3.connect(path)) as db:
        message, params = db.execute("SELECT message, parameters FROM command_history").fetchone()
    assert message == "bad \ufffd\ufffd bytes"
    assert json.loads(params) == {"activationPowerInKw": "\\ud800"}
