"""The fleet database: schema, history, retention, restarts and every way a database breaks."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from custom_components.net_stabilization.core.fleet.command_log import CommandRecord
from custom_components.net_stabilization.core.store import (
    SCHEMA_VERSION,
    FleetSnapshot,
    FleetStore,
    MinerRecord,
    MinerSnapshot,
    StoreProblem,
)

ROOT = Path(__file__).parents[2]


class FakeClock:
    """Wall-clock stand-in the tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def command(n: int, *, accepted: bool = True) -> CommandRecord:
    return CommandRecord(
        timestamp=datetime.fromtimestamp(1_800_000_000 + n, UTC),
        source="ems",
        command="activate",
        parameters={"activationPowerInKw": float(n)},
        accepted=accepted,
        reason="ok" if accepted else "conflict",
        message=f"command {n}",
        plan_summary=f"{n} miners",
        extra={"http_status": 200},
    )


def fleet_snapshot(active_kw: float = 1.5) -> FleetSnapshot:
    return FleetSnapshot(
        state="active",
        target_kw=2.0,
        active_kw=active_kw,
        rated_kw=2.92,
        miners_online=2,
        miners_mining=1,
        hashrate_ths=13.7,
    )


def miner_snapshots(count: int) -> list[MinerSnapshot]:
    return [
        MinerSnapshot(
            mac=f"AA:BB:CC:00:{i // 256:02X}:{i % 256:02X}",
            state="mining",
            power_w=1460.0,
            hashrate_ths=13.7,
            frequency_mhz=650.0,
            chip_temp_c=75.0,
        )
        for i in range(count)
    ]


@pytest.fixture(autouse=True)
def no_unclosed_connections() -> Iterator[None]:
    """Every connection opened (by the store, on error paths too, or by the test) is closed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    leaks = [str(w.message) for w in caught if "unclosed database" in str(w.message)]
    assert not leaks, leaks


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[FleetStore]:
    fleet_store = FleetStore(tmp_path / "fleet.db", clock=clock, busy_timeout_ms=50)
    await fleet_store.open()
    yield fleet_store
    await fleet_store.close()


async def test_new_database_has_schema_and_wal(store: FleetStore) -> None:
    assert store.problem is None
    async with aiosqlite.connect(store.path) as db:
        cursor = await db.execute("PRAGMA user_version")
        assert (await cursor.fetchone()) == (SCHEMA_VERSION,)
        cursor = await db.execute("PRAGMA journal_mode")
        assert (await cursor.fetchone()) == ("wal",)
        cursor = await db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in await cursor.fetchall()}
    assert tables >= {
        "miner_records",
        "miner_snapshots",
        "fleet_snapshots",
        "command_history",
        "dashboard_settings",
    }


async def test_commands_are_on_disk_when_recorded(store: FleetStore, tmp_path: Path) -> None:
    for n in range(3):
        assert await store.record_command(command(n))
    # Another connection sees them at once: committed, not buffered.
    async with aiosqlite.connect(tmp_path / "fleet.db") as db:
        cursor = await db.execute("SELECT count(*) FROM command_history")
        assert (await cursor.fetchone()) == (3,)
    recent = await store.recent_commands(2)
    assert [c.message for c in recent] == ["command 2", "command 1"]
    assert recent[0].parameters == {"activationPowerInKw": 2.0}
    assert recent[0].plan_summary == "2 miners"
    assert recent[0].extra == {"http_status": 200}
    assert recent[0].timestamp == datetime.fromtimestamp(1_800_000_002, UTC)
    assert (await store.last_command()) == recent[0]


async def test_snapshots_and_purge_keep_commands(store: FleetStore, clock: FakeClock) -> None:
    await store.record_command(command(1))
    start = clock.now
    for minute in range(30):
        clock.now = start + 60 * minute
        assert await store.write_snapshot(fleet_snapshot(minute / 10), miner_snapshots(5))
    history = await store.fleet_history(since=start)
    assert len(history) == 30
    assert history[-1][1].active_kw == pytest.approx(2.9)
    mac = miner_snapshots(1)[0].mac
    assert len(await store.miner_history(mac, since=start)) == 30

    deleted = await store.purge(older_than=start + 60 * 20)
    assert deleted == 20 + 20 * 5
    assert len(await store.fleet_history(since=0)) == 10
    assert len(await store.miner_history(mac, since=0)) == 10
    assert len(await store.recent_commands()) == 1


async def test_purge_of_nothing(store: FleetStore) -> None:
    assert await store.purge(older_than=0) == 0


async def test_miners_and_settings_survive_reopen(tmp_path: Path, clock: FakeClock) -> None:
    first = FleetStore(tmp_path / "fleet.db", clock=clock)
    await first.open()
    await first.upsert_miners(
        [
            MinerRecord(
                mac="AA:00", host="10.0.0.2", api_port=4028, model="Antminer S9", excluded=True
            ),
            MinerRecord(mac="AA:01", host="10.0.0.3", override="on"),
        ]
    )
    await first.upsert_miners([MinerRecord(mac="AA:01", host="10.0.0.9", override="on")])
    await first.save_settings({"target_kw": 2.0, "mode": "frequency", "override": None})
    await first.close()

    second = FleetStore(tmp_path / "fleet.db", clock=clock)
    await second.open()
    miners = await second.miners()
    settings = await second.load_settings()
    await second.remove_miner("AA:00")
    remaining = await second.miners()
    await second.close()
    assert [(m.mac, m.host, m.api_port, m.excluded, m.override) for m in miners] == [
        ("AA:00", "10.0.0.2", 4028, True, None),
        ("AA:01", "10.0.0.9", None, False, "on"),
    ]
    assert settings == {"target_kw": 2.0, "mode": "frequency", "override": None}
    assert [m.mac for m in remaining] == ["AA:01"]


async def test_newer_schema_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 99")
    store = FleetStore(path)
    await store.open()
    assert store.problem is StoreProblem.UNAVAILABLE
    # Control goes on: the command is accepted into memory.
    assert not await store.record_command(command(1))
    assert [c.message for c in await store.recent_commands()] == ["command 1"]
    await store.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (99,)


async def test_locked_database_keeps_commands_and_resumes(store: FleetStore) -> None:
    problems: list[StoreProblem | None] = []
    store._on_problem = problems.append
    blocker = sqlite3.connect(store.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert not await store.record_command(command(1))
        assert not await store.record_command(command(2))
        assert store.problem is StoreProblem.LOCKED
        assert store.pending_commands == 2
        assert not await store.write_snapshot(fleet_snapshot(), miner_snapshots(2))
    finally:
        blocker.rollback()
        blocker.close()
    assert await store.record_command(command(3))
    assert store.problem is None
    assert store.pending_commands == 0
    assert [c.message for c in await store.recent_commands()] == [
        "command 3",
        "command 2",
        "command 1",
    ]
    # Reported once when it started and once when it cleared, not once per write.
    assert problems == [StoreProblem.LOCKED, None]


async def test_read_only_database(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    setup = FleetStore(path)
    await setup.open()
    await setup.close()
    read_only = True

    async def connect(db_path: Path, busy_timeout_s: float) -> aiosqlite.Connection:
        # Root ignores file modes, so open the file the way a read-only mount would behave.
        mode = "ro" if read_only else "rw"
        return await aiosqlite.connect(
            f"file:{db_path}?mode={mode}", uri=True, timeout=busy_timeout_s
        )

    store = FleetStore(path, connect=connect)
    await store.open()
    assert not await store.record_command(command(1))
    assert store.problem is StoreProblem.READ_ONLY
    assert await store.recent_commands() == [command(1)]
    read_only = False
    await store._disconnect()  # the operator remounted: the next write reconnects
    assert await store.record_command(command(2))
    assert store.problem is None
    await store.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM command_history").fetchone() == (2,)


async def test_full_database(store: FleetStore) -> None:
    assert store._db is not None
    cursor = await store._db.execute("PRAGMA page_count")
    row = await cursor.fetchone()
    assert row is not None
    await store._db.execute(f"PRAGMA max_page_count = {row[0]}")
    assert not await store.write_snapshot(fleet_snapshot(), miner_snapshots(500))
    assert store.problem is StoreProblem.FULL
    # Small commands may still fit in free pages; keep sending until they do not either.
    sent = 0
    while await store.record_command(command(sent)) or store.pending_commands == 0:
        sent += 1
        assert sent < 10_000
    assert store.pending_commands == 1
    await store._db.execute("PRAGMA max_page_count = 1073741823")
    assert await store.write_snapshot(fleet_snapshot(), miner_snapshots(500))
    async with asyncio.timeout(10):
        await store.wait_written()  # the writer takes the backlog at once
    assert store.problem is None
    assert len(await store.recent_commands(limit=20_000)) == sent + 1


async def test_corrupt_database_is_moved_aside(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "fleet.db"
    path.write_bytes(b"this is not an sqlite database" * 200)
    store = FleetStore(path, clock=clock)
    await store.open()
    assert store.problem is None
    assert store.moved_aside == tmp_path / f"fleet.db.corrupt-{int(clock.now)}"
    assert store.moved_aside.read_bytes().startswith(b"this is not")
    assert await store.record_command(command(1))
    await store.close()


async def test_closed_store_refuses_quietly(tmp_path: Path) -> None:
    store = FleetStore(tmp_path / "fleet.db")
    await store.open()
    await store.close()
    assert not await store.record_command(command(1))
    assert not await store.write_snapshot(fleet_snapshot(), [])


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from custom_components.net_stabilization.core.store import (
        FleetSnapshot, FleetStore, MinerSnapshot)
    from custom_components.net_stabilization.core.fleet.command_log import CommandRecord
    from datetime import UTC, datetime

    async def main() -> None:
        store = FleetStore(Path(sys.argv[1]))
        await store.open()
        miners = [MinerSnapshot(f"M{i}", "mining", 1460.0, 13.7, 650.0, 70.0) for i in range(300)]
        fleet = FleetSnapshot("active", 2.0, 1.9, 2.9, 300, 300, 4000.0)
        n = 0
        while True:
            n += 1
            await store.write_snapshot(fleet, miners, timestamp=n)
            record = CommandRecord(
                datetime.fromtimestamp(n, UTC), "ems", "activate", {"n": n}, True, "ok", "")
            ok = await store.record_command(record)
            print(n if ok else -n, flush=True)

    asyncio.run(main())
    """
)


async def test_killed_writer_leaves_consistent_database(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(path),
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    acknowledged: list[int] = []
    while len(acknowledged) < 40:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line, "writer died on its own"
        acknowledged.append(int(line))
    process.send_signal(signal.SIGKILL)
    await process.wait()

    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = {int(row[0]) for row in db.execute("SELECT ts FROM command_history")}
        snapshot_times = {row[0] for row in db.execute("SELECT ts FROM fleet_snapshots")}
        per_snapshot = set(
            db.execute("SELECT count(*) FROM miner_snapshots GROUP BY ts").fetchall()
        )
    assert all(n > 0 for n in acknowledged)
    # Everything acknowledged is there, and no snapshot was half written.
    assert set(acknowledged) <= ids
    assert set(acknowledged) <= snapshot_times
    assert per_snapshot == {(300,)}


async def test_queries_on_an_unusable_database_return_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 99")
    store = FleetStore(path)
    await store.open()
    assert await store.miners() == []
    assert await store.load_settings() == {}
    assert await store.fleet_history(since=0) == []
    assert await store.miner_history("AA", since=0) == []
    assert await store.purge(older_than=0) == 0
    await store.upsert_miners([])  # nothing to write is not an error
    await store.close()


async def test_command_log_interface_and_odd_rows(store: FleetStore) -> None:
    await store.record(command(1))
    assert [c.message for c in await store.recent()] == ["command 1"]
    assert store._db is not None
    await store._db.execute(
        "INSERT INTO dashboard_settings (key, value) VALUES ('broken', '{not json')"
    )
    await store._db.execute(
        "UPDATE command_history SET parameters = 'oops', extra = '[1]' WHERE id = 1"
    )
    await store._db.commit()
    assert await store.load_settings() == {}
    odd = (await store.recent_commands())[0]
    assert odd.parameters == {}
    assert odd.extra == {}
    await store.remove_miner("not-there")


async def test_close_flushes_commands_kept_in_memory(tmp_path: Path) -> None:
    store = FleetStore(tmp_path / "fleet.db", busy_timeout_ms=50)
    await store.open()
    blocker = sqlite3.connect(store.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    assert not await store.record_command(command(1))
    blocker.rollback()
    blocker.close()
    await store.close()
    with closing(sqlite3.connect(store.path)) as db:
        assert db.execute("SELECT count(*) FROM command_history").fetchone() == (1,)


async def test_commands_stored_before_parameters_were_bounded_are_repaired(
    tmp_path: Path,
) -> None:
    """An activation of 18446744073709551616 kW was stored as it came, and from then on the
    history could not be sent as JSON. Opening the database repairs such rows."""
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    await store.record_command(command(1))
    await store.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "UPDATE command_history SET parameters = ?, extra = ?",
            ('{"activationPowerInKw": 18446744073709551616}', '{"note": "' + "x" * 5000 + '"}'),
        )
        db.execute("PRAGMA user_version = 1")  # as written by the version before the repair
        db.commit()
    repaired = FleetStore(path)
    await repaired.open()
    (row,) = await repaired.recent_commands()
    assert row.parameters == {"activationPowerInKw": 1.8446744073709552e19}
    assert len(str(row.extra["note"])) <= 200
    await repaired.close()
    with closing(sqlite3.connect(path)) as db:
        text = db.execute("SELECT parameters FROM command_history").fetchone()[0]
        assert "18446744073709551616" not in text
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


async def test_a_database_that_cannot_even_be_created_reports_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the folder should be")
    store = FleetStore(blocker / "fleet.db")
    await store.open()
    assert store.problem is not None
    assert await store.last_snapshot_time() is None
    assert not await store.record_command(command(1))  # kept in memory
    await store.close()


async def test_a_corrupt_file_that_cannot_be_moved_aside_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fleet.db"
    path.write_bytes(b"not a database at all" * 100)

    def refuse(self: Path, target: Path) -> Path:
        raise PermissionError("read-only folder")

    monkeypatch.setattr(Path, "rename", refuse)
    store = FleetStore(path)
    await store.open()
    assert store.problem is not None
    assert not await store.record_command(command(1))
    await store.close()
