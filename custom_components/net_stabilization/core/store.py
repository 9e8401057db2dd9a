"""SQLite persistence of a fleet: miners, snapshots, the command history and settings.

Fleet control never depends on the database. A command waits for its commit a bounded time; when
the database is locked, read-only, full or corrupt (or just too slow), the store logs the problem
once, reports it through `problem`, keeps commands and settings in memory, and a writer task
writes them in order as soon as the database works again, trying every few seconds by itself.
A corrupt file is moved aside and what is still readable in it is carried into the new one.
Snapshots taken during a problem are dropped: they are samples, while commands are the record of
what was asked of the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import aiosqlite

from .fleet.command_log import CommandRecord, parameters, storable_text
from .fleet.timings import TimingSample, sample_from_row
from .store_salvage import MINER_COLUMNS, Salvage, lenient_text, read_salvage

_LOGGER = logging.getLogger(__name__)

# How many rows one purge statement deletes; short statements let commands interleave.
PURGE_BATCH: Final = 20_000
# Commands kept in memory while the database cannot be written.
PENDING_LIMIT: Final = 10_000
BUSY_TIMEOUT_MS: Final = 2_000
# How long a command waits for its commit before it is answered anyway (the EMS contract
# allows 2 s for the whole answer).
COMMIT_TIMEOUT_S: Final = 1.0
# How often the writer tries again while commands wait in memory.
RETRY_S: Final = 2.0
# Commands written in this run that are kept in memory, to put back into a replaced file.
WRITTEN_KEPT: Final = 1_000
# Kinds of refusal whose latest row is remembered for counting repeats.
REFUSAL_KINDS_KEPT: Final = 1_000
# Timed transitions kept: the newest this many (a fleet learns from the recent ones).
TIMINGS_KEPT: Final = 20_000

type _Step = str | Callable[[aiosqlite.Connection], Awaitable[None]]


async def _bound_command_parameters(db: aiosqlite.Connection) -> None:
    """Rewrite command parameters stored before they were bounded (an integer beyond 64 bits
    made the history and the command event unreadable)."""
    cursor = await db.execute("SELECT id, parameters, extra FROM command_history")
    for row_id, params, extra in await cursor.fetchall():
        fixed = (
            json.dumps(parameters(_json_object(params))),
            json.dumps(parameters(_json_object(extra))),
        )
        if fixed != (params, extra):
            await db.execute(
                "UPDATE command_history SET parameters = ?, extra = ? WHERE id = ?",
                (*fixed, row_id),
            )


async def _add_driver_column(db: aiosqlite.Connection) -> None:
    """Which driver a miner needs, so a restart rebuilds it before any scan: the firmware's
    name alone does not tell Vnish 3.9 on an S9 from Vnish's REST firmware."""
    cursor = await db.execute("PRAGMA table_info(miner_records)")
    if not any(row[1] == "driver" for row in await cursor.fetchall()):
        await db.execute("ALTER TABLE miner_records ADD COLUMN driver TEXT")


async def _count_repeats_and_repair_text(db: aiosqlite.Connection) -> None:
    """Count identical refusals in one row (a `repeats` column), and rewrite rows holding text
    UTF-8 cannot carry (a lone surrogate sent in a body made the history unreadable)."""
    cursor = await db.execute("PRAGMA table_info(command_history)")
    if not any(row[1] == "repeats" for row in await cursor.fetchall()):
        await db.execute(
            "ALTER TABLE command_history ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1"
        )
    columns = ("source", "command", "reason", "message", "plan_summary")
    cursor = await db.execute(
        "SELECT id, " + ", ".join(f"CAST({c} AS BLOB)" for c in columns) + ", "
        "CAST(parameters AS BLOB), CAST(extra AS BLOB) FROM command_history"
    )
    for row in await cursor.fetchall():
        raw = [None if v is None else bytes(v) for v in row[1:]]
        text = [None if v is None else storable_text(lenient_text(v)) for v in raw]
        fixed_params = json.dumps(parameters(_json_object(text[5] or "")))
        fixed_extra = json.dumps(parameters(_json_object(text[6] or "")))
        wanted = [*text[:5], fixed_params, fixed_extra]
        if any(w is not None and w.encode("utf-8") != r for w, r in zip(wanted, raw, strict=True)):
            await db.execute(
                "UPDATE command_history SET "
                + ", ".join(f"{c} = ?" for c in (*columns, "parameters", "extra"))
                + " WHERE id = ?",
                (*wanted, row[0]),
            )


# Each migration takes the schema from version i to i + 1.
_MIGRATIONS: Final[tuple[tuple[_Step, ...], ...]] = (
    (
        """CREATE TABLE miner_records (
            id INTEGER PRIMARY KEY,
            mac TEXT NOT NULL UNIQUE,
            host TEXT NOT NULL,
            api_port INTEGER,
            web_port INTEGER,
            model TEXT,
            firmware TEXT,
            hostname TEXT,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            excluded INTEGER NOT NULL DEFAULT 0,
            override TEXT
        )""",
        """CREATE TABLE miner_snapshots (
            ts INTEGER NOT NULL,
            miner_id INTEGER NOT NULL REFERENCES miner_records(id),
            state TEXT NOT NULL,
            power_w REAL,
            hashrate_ths REAL,
            frequency_mhz REAL,
            chip_temp_c REAL,
            PRIMARY KEY (ts, miner_id)
        ) WITHOUT ROWID""",
        """CREATE TABLE fleet_snapshots (
            ts INTEGER PRIMARY KEY,
            state TEXT NOT NULL,
            target_kw REAL,
            active_kw REAL,
            rated_kw REAL,
            miners_online INTEGER,
            miners_mining INTEGER,
            hashrate_ths REAL
        )""",
        """CREATE TABLE command_history (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            source TEXT NOT NULL,
            command TEXT NOT NULL,
            parameters TEXT NOT NULL,
            accepted INTEGER NOT NULL,
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            plan_summary TEXT,
            extra TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX command_history_ts ON command_history(ts)",
        """CREATE TABLE dashboard_settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
    ),
    (_bound_command_parameters,),
    (_add_driver_column,),
    (_count_repeats_and_repair_text,),
    # What each dispatch delivered (measurement and verification), kept like the history.
    (
        """CREATE TABLE IF NOT EXISTS dispatch_performance (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dispatch_id TEXT NOT NULL,
            source TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            figures TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS dispatch_performance_started "
        "ON dispatch_performance(started_at)",
    ),
    (
        """CREATE TABLE IF NOT EXISTS transition_timings (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            mac TEXT NOT NULL,
            kind TEXT NOT NULL,
            transition TEXT NOT NULL,
            seconds REAL NOT NULL,
            pause_s REAL NOT NULL,
            ok INTEGER NOT NULL
        )""",
    ),
)
# One migration per version: a database at version N has had the first N applied.
SCHEMA_VERSION: Final = len(_MIGRATIONS)


class StoreProblem(StrEnum):
    """Why the database cannot be written right now."""

    LOCKED = "locked"
    READ_ONLY = "read_only"
    FULL = "full"
    CORRUPT = "corrupt"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class MinerRecord:
    """A miner the fleet knows, as registered in the database."""

    mac: str
    host: str
    api_port: int | None = None
    web_port: int | None = None
    model: str | None = None
    firmware: str | None = None
    hostname: str | None = None
    excluded: bool = False
    override: str | None = None
    driver: str | None = None  # the driver kind (`FirmwareKind`); None: stored before kinds


@dataclass(frozen=True, slots=True)
class MinerSnapshot:
    """One miner at one moment."""

    mac: str
    state: str
    power_w: float | None
    hashrate_ths: float | None
    frequency_mhz: float | None
    chip_temp_c: float | None


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """The whole fleet at one moment."""

    state: str
    target_kw: float | None
    active_kw: float | None
    rated_kw: float | None
    miners_online: int
    miners_mining: int
    hashrate_ths: float | None


def classify_error(err: BaseException) -> StoreProblem:
    """Map an SQLite error to the problem an operator can act on."""
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return StoreProblem.LOCKED
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StoreProblem.READ_ONLY
    if "full" in text or "no space" in text:
        return StoreProblem.FULL
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return StoreProblem.CORRUPT
    return StoreProblem.UNAVAILABLE


@dataclass(slots=True)
class _Queued:
    """A command waiting in memory for the database."""

    record: CommandRecord
    seq: int
    queued_at: float
    late: bool = False  # answered before it was on disk


class FleetStore:
    """The fleet's database. All methods are safe to call whatever state the database is in."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        on_problem: Callable[[StoreProblem | None], None] | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        connect: Callable[[Path, float], Awaitable[aiosqlite.Connection]] | None = None,
        commit_timeout_s: float = COMMIT_TIMEOUT_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._connector = connect or _default_connect
        self._clock = clock
        self._on_problem = on_problem
        self._commit_timeout_s = commit_timeout_s
        self._retry_s = retry_s
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._problem: StoreProblem | None = None
        self._pending: deque[_Queued] = deque()
        self._pending_refusals: dict[tuple[Any, ...], _Queued] = {}
        self._pending_settings: dict[str, str] = {}
        self._settings_seq = 0
        self._queued_seq = 0
        self._durable_seq = 0
        self._progress = asyncio.Event()
        self._stalled = False  # a commit took longer than answers may wait
        self._failures = 0  # failed attempts so far (a waiter stops at the next one)
        self._writer: asyncio.Task[None] | None = None
        self._wake_writer = asyncio.Event()
        # Commands written in this run, to put back if the file has to be replaced.
        self._written: deque[CommandRecord] = deque(maxlen=WRITTEN_KEPT)
        # The row of the latest refusal per kind, so identical ones within a minute share it.
        self._refusal_rows: dict[tuple[Any, ...], tuple[int, int]] = {}
        self._miner_ids: dict[str, int] = {}
        self._verified = False  # the file passed its integrity check since it was opened
        self._closed = False
        self.moved_aside: Path | None = None
        self.salvaged_rows = 0

    @property
    def path(self) -> Path:
        """Where the database file lives."""
        return self._path

    @property
    def problem(self) -> StoreProblem | None:
        """The current problem, or None while the database works."""
        return self._problem

    @property
    def pending_commands(self) -> int:
        """Commands waiting in memory for the database to work again."""
        return len(self._pending)

    async def open(self) -> None:
        """Open (and if needed create or migrate) the database. Never raises."""
        async with self._lock:
            await self._ensure_open()

    async def close(self) -> None:
        """Flush what can be flushed and close the connection (stops aiosqlite's thread)."""
        self._closed = True
        self._wake_writer.set()
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        async with self._lock:
            if self._db is not None and self._has_backlog():
                await self._flush_pending()
            await self._disconnect()
        if self._pending:
            _LOGGER.error(
                "Closing %s with %d commands that could not be written",
                self._path,
                len(self._pending),
            )
        self._notify()

    async def wait_written(self) -> None:
        """Return once nothing waits in memory (for tests and benchmarks; bound it yourself)."""
        while self._has_backlog() and not self._closed:
            await self._next_progress()

    # Commands ---------------------------------------------------------------------------------

    async def record_command(self, record: CommandRecord) -> bool:
        """Commit a command before the caller acknowledges it, waiting `commit_timeout_s` at most.

        Returns True when it is on disk; False when the database has a problem or is too slow,
        in which case the command is kept in memory and written, in order, once the database
        works again (its history row then says how late). Refusals are not waited for: they
        changed nothing a restart would resume.
        """
        if self._closed:
            return False
        queued = self._enqueue(_storable_record(record))
        if queued is None or not record.accepted:
            return False
        return await self._wait_durable(queued.seq, queued)

    async def record(self, entry: CommandRecord) -> None:
        """The fleet's command log interface: see `record_command`."""
        await self.record_command(entry)

    async def recent(self, limit: int = 50) -> list[CommandRecord]:
        """The fleet's command log interface: see `recent_commands`."""
        return await self.recent_commands(limit)

    async def recent_commands(self, limit: int = 50) -> list[CommandRecord]:
        """The newest commands first, including those still waiting in memory."""
        limit = max(1, min(limit, 10_000))
        stored: list[CommandRecord] = []
        pending = [q.record for q in self._pending]
        async with self._lock:
            # Rows written while this waited for the lock left the queue: read the queue again.
            pending = [q.record for q in self._pending]
            if await self._ensure_open():
                rows = await self._query(
                    "SELECT ts, source, command, parameters, accepted, reason, message, "
                    "plan_summary, extra, repeats FROM command_history ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
                stored = [_command_from_row(row) for row in rows]
        merged = list(reversed(pending)) + stored
        return merged[:limit]

    async def last_command(self) -> CommandRecord | None:
        """The newest command, if any (notes of the fleet's own are no commands)."""
        for command in await self.recent_commands(20):
            if not command.is_note:
                return command
        return None

    # Miners -----------------------------------------------------------------------------------

    async def upsert_miners(self, miners: Iterable[MinerRecord]) -> None:
        """Register miners or update their host, identity and operator flags."""
        now = self._clock()
        rows = [
            (
                m.mac,
                m.host,
                m.api_port,
                m.web_port,
                m.model,
                m.firmware,
                m.hostname,
                now,
                now,
                int(m.excluded),
                m.override,
                m.driver,
            )
            for m in miners
        ]
        if not rows:
            return
        await self._write(
            lambda db: db.executemany(
                "INSERT INTO miner_records (mac, host, api_port, web_port, model, firmware, "
                "hostname, first_seen, last_seen, excluded, override, driver) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(mac) DO UPDATE SET "
                "host=excluded.host, api_port=excluded.api_port, web_port=excluded.web_port, "
                "model=excluded.model, firmware=excluded.firmware, "
                "hostname=excluded.hostname, last_seen=excluded.last_seen, "
                "excluded=excluded.excluded, override=excluded.override, "
                "driver=COALESCE(excluded.driver, miner_records.driver)",
                rows,
            )
        )

    async def miners(self) -> list[MinerRecord]:
        """Every registered miner."""
        async with self._lock:
            if not await self._ensure_open():
                return []
            rows = await self._query(
                "SELECT mac, host, api_port, web_port, model, firmware, hostname, excluded, "
                "override, driver FROM miner_records ORDER BY mac"
            )
        return [
            MinerRecord(
                mac=row[0],
                host=row[1],
                api_port=row[2],
                web_port=row[3],
                model=row[4],
                firmware=row[5],
                hostname=row[6],
                excluded=bool(row[7]),
                override=row[8],
                driver=row[9],
            )
            for row in rows
        ]

    async def remove_miner(self, mac: str) -> None:
        """Forget a miner and its snapshots."""

        async def remove(db: aiosqlite.Connection) -> None:
            cursor = await db.execute("SELECT id FROM miner_records WHERE mac = ?", (mac,))
            row = await cursor.fetchone()
            if row is None:
                return
            await db.execute("DELETE FROM miner_snapshots WHERE miner_id = ?", (row[0],))
            await db.execute("DELETE FROM miner_records WHERE id = ?", (row[0],))
            self._miner_ids.pop(mac, None)

        await self._write(remove)

    # Snapshots --------------------------------------------------------------------------------

    async def write_snapshot(
        self, fleet: FleetSnapshot, miners: Sequence[MinerSnapshot], timestamp: float | None = None
    ) -> bool:
        """Store one snapshot of the fleet and its miners in one transaction."""
        ts = int(self._clock() if timestamp is None else timestamp)

        async def write(db: aiosqlite.Connection) -> None:
            await self._resolve_miner_ids(db, [m.mac for m in miners], ts)
            await db.execute(
                "INSERT OR REPLACE INTO fleet_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts,
                    fleet.state,
                    fleet.target_kw,
                    fleet.active_kw,
                    fleet.rated_kw,
                    fleet.miners_online,
                    fleet.miners_mining,
                    fleet.hashrate_ths,
                ),
            )
            await db.executemany(
                "INSERT OR REPLACE INTO miner_snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        ts,
                        self._miner_ids[m.mac],
                        m.state,
                        m.power_w,
                        m.hashrate_ths,
                        m.frequency_mhz,
                        m.chip_temp_c,
                    )
                    for m in miners
                ],
            )

        return await self._write(write)

    async def fleet_history(self, since: float) -> list[tuple[int, FleetSnapshot]]:
        """Fleet snapshots since `since` (epoch seconds), oldest first."""
        async with self._lock:
            if not await self._ensure_open():
                return []
            rows = await self._query(
                "SELECT ts, state, target_kw, active_kw, rated_kw, miners_online, miners_mining, "
                "hashrate_ths FROM fleet_snapshots WHERE ts >= ? ORDER BY ts",
                (int(since),),
            )
        return [(row[0], FleetSnapshot(*row[1:])) for row in rows]

    async def last_snapshot_time(self) -> float | None:
        """When the newest fleet snapshot was written (epoch seconds): the fleet was running
        then."""
        async with self._lock:
            if not await self._ensure_open():
                return None
            rows = await self._query("SELECT MAX(ts) FROM fleet_snapshots")
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    async def miner_history(self, mac: str, since: float) -> list[tuple[int, MinerSnapshot]]:
        """One miner's snapshots since `since` (epoch seconds), oldest first."""
        async with self._lock:
            if not await self._ensure_open():
                return []
            rows = await self._query(
                "SELECT s.ts, s.state, s.power_w, s.hashrate_ths, s.frequency_mhz, s.chip_temp_c "
                "FROM miner_snapshots s JOIN miner_records r ON r.id = s.miner_id "
                "WHERE r.mac = ? AND s.ts >= ? ORDER BY s.ts",
                (mac, int(since)),
            )
        return [(row[0], MinerSnapshot(mac, *row[1:])) for row in rows]

    async def purge(self, older_than: float) -> int:
        """Delete snapshots older than `older_than` (epoch seconds); commands are kept forever.

        Works in short batches so a command arriving meanwhile waits for one batch at most.
        """
        cutoff = int(older_than)
        deleted = 0
        for table in ("miner_snapshots", "fleet_snapshots"):
            while True:
                count = 0

                async def batch(db: aiosqlite.Connection, table: str = table) -> None:
                    nonlocal count
                    # Snapshots are keyed by time first, so the oldest rows are a range scan.
                    cursor = await db.execute(
                        f"DELETE FROM {table} WHERE ts IN "  # table is one of two fixed names
                        f"(SELECT DISTINCT ts FROM {table} WHERE ts < ? ORDER BY ts LIMIT ?)",
                        (cutoff, _purge_timestamps(table)),
                    )
                    count = cursor.rowcount

                if not await self._write(batch) or count <= 0:
                    break
                deleted += count
                await asyncio.sleep(0)
        return deleted

    # Settings ---------------------------------------------------------------------------------

    async def save_settings(self, settings: Mapping[str, Any]) -> bool:
        """Store settings that must survive a restart (JSON values), after every command
        recorded before them; waits like `record_command` and keeps them in memory the same
        way, so a restart never resumes settings older than the commands on disk."""
        if self._closed:
            return False
        for key, value in settings.items():
            self._pending_settings[key] = json.dumps(value)
        self._queued_seq += 1
        self._settings_seq = self._queued_seq
        self._kick_writer()
        return await self._wait_durable(self._settings_seq, None)

    async def load_settings(self) -> dict[str, Any]:
        """Every stored setting."""
        async with self._lock:
            if not await self._ensure_open():
                return {}
            rows = await self._query("SELECT key, value FROM dashboard_settings")
        settings: dict[str, Any] = {}
        for key, value in rows:
            try:
                settings[key] = json.loads(value)
            except ValueError:
                _LOGGER.warning("Ignoring unreadable stored setting %s", key)
        return settings

    async def record_performance(self, figures: Mapping[str, Any]) -> bool:
        """Keep what one dispatch delivered (`Performance.as_json()`)."""
        row = (
            str(figures.get("dispatchId", "")),
            str(figures.get("source", "")),
            float(figures.get("startedAt") or 0.0),
            figures.get("endedAt"),
            json.dumps(dict(figures)),
        )
        return await self._write(
            lambda db: db.execute(
                "INSERT INTO dispatch_performance "
                "(dispatch_id, source, started_at, ended_at, figures) VALUES (?, ?, ?, ?, ?)",
                row,
            )
        )

    async def recent_performance(self, limit: int = 20) -> list[dict[str, Any]]:
        """The figures of the last dispatches, newest first."""
        async with self._lock:
            if not await self._ensure_open():
                return []
            rows = await self._query(
                "SELECT figures FROM dispatch_performance ORDER BY id DESC LIMIT ?",
                (max(1, min(limit, 500)),),
            )
        found = []
        for (figures,) in rows:
            value = _json_object(figures)
            if value:
                found.append(value)
        return found

    # Transition timings -----------------------------------------------------------------------

    async def record_timings(self, samples: Sequence[TimingSample], ts: float) -> bool:
        """Store timed transitions (the newest `TIMINGS_KEPT` are kept)."""
        if not samples:
            return True
        rows = [
            (ts, s.mac, s.kind, s.transition.value, s.seconds, s.pause_s, int(s.ok))
            for s in samples
        ]

        async def write(db: aiosqlite.Connection) -> None:
            await db.executemany(
                "INSERT INTO transition_timings "
                "(ts, mac, kind, transition, seconds, pause_s, ok) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            await db.execute(
                "DELETE FROM transition_timings "
                "WHERE id <= (SELECT MAX(id) FROM transition_timings) - ?",
                (TIMINGS_KEPT,),
            )

        return await self._write(write)

    async def timings(self) -> list[TimingSample]:
        """The stored timed transitions, oldest first (rows that make no sense are skipped)."""
        async with self._lock:
            if not await self._ensure_open():
                return []
            rows = await self._query(
                "SELECT mac, kind, transition, seconds, pause_s, ok FROM transition_timings "
                "ORDER BY id"
            )
        names = ("mac", "kind", "transition", "seconds", "pause_s", "ok")
        samples = (sample_from_row(dict(zip(names, row, strict=True))) for row in rows)
        return [s for s in samples if s is not None]

    # Internals: the queue of commands and its writer -------------------------------------------

    def _enqueue(self, record: CommandRecord) -> _Queued | None:
        now = self._clock()
        key = None if record.accepted else _refusal_key(record)
        if key is not None:
            same = self._pending_refusals.get(key)
            if same is not None and same in self._pending:
                # Counted, not queued again: a flood of refusals stays one row a minute.
                same.record = replace(same.record, repeats=same.record.repeats + 1)
                return None
        self._queued_seq += 1
        queued = _Queued(record, self._queued_seq, now)
        if len(self._pending) >= PENDING_LIMIT:
            self._drop_oldest()
        self._pending.append(queued)
        if key is not None:
            self._pending_refusals[key] = queued
        self._kick_writer()
        return queued

    def _drop_oldest(self) -> None:
        # Refusals go first: an accepted command is what a restart must resume.
        for queued in self._pending:
            if not queued.record.accepted:
                self._pending.remove(queued)
                return
        lost = self._pending.popleft()
        _LOGGER.error("Too many commands waiting for %s; dropped %s", self._path, lost.record)

    def _has_backlog(self) -> bool:
        return bool(self._pending or self._pending_settings)

    def _kick_writer(self) -> None:
        self._wake_writer.set()
        if self._writer is None and not self._closed:
            self._writer = asyncio.get_running_loop().create_task(
                self._write_backlog(), name=f"fleet database writer {self._path.name}"
            )

    async def _write_backlog(self) -> None:
        """Write what waits in memory; after a failure try again every `retry_s`, so the
        backlog reaches the disk by itself once the fault clears."""
        try:
            while self._has_backlog() and not self._closed:
                self._wake_writer.clear()
                async with self._lock:
                    written = await self._ensure_open() and await self._flush_pending()
                if written:
                    continue
                # Until the next try is due, or a new command or closing asks for one now.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._retry_s):
                        await self._wake_writer.wait()
        finally:
            self._writer = None
            self._notify()

    def _notify(self) -> None:
        # Wake everyone waiting for progress (a commit, a failure, closing).
        self._progress.set()
        self._progress = asyncio.Event()

    async def _next_progress(self) -> None:
        await self._progress.wait()

    async def _wait_durable(self, seq: int, queued: _Queued | None) -> bool:
        if self._durable_seq >= seq:
            return True
        if not self._stalled:
            failures = self._failures
            try:
                async with asyncio.timeout(self._commit_timeout_s):
                    # Until it is written, or the writer's next attempt fails.
                    while (
                        self._durable_seq < seq and self._failures == failures and not self._closed
                    ):
                        await self._next_progress()
            except TimeoutError:
                # The commit is stuck (another process holds the database): answer now, and
                # answer the next commands at once until the backlog is written.
                self._stalled = True
                self._set_problem(StoreProblem.LOCKED)
        if self._durable_seq >= seq:
            return True
        if queued is not None:
            queued.late = True
        return False

    async def _flush_pending(self) -> bool:
        """Write every queued command, then the queued settings, in one transaction."""
        assert self._db is not None
        batch = list(self._pending)
        settings = dict(self._pending_settings)
        upto = self._queued_seq
        try:
            written: list[tuple[CommandRecord, int | None]] = []
            for queued in batch:
                record = self._late_marked(queued)
                written.append((record, await self._insert_command(self._db, record)))
            if settings:
                await self._db.executemany(
                    "INSERT INTO dashboard_settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    list(settings.items()),
                )
            await self._db.commit()
        except sqlite3.Error as err:
            self._refusal_rows.clear()  # the rows they name were rolled back
            await self._rollback()
            await self._fail(err)
            return False
        for queued, (record, _row) in zip(batch, written, strict=True):
            self._pending.popleft()
            if queued.record.repeats > record.repeats:
                # Counted while it was being written: the difference joins the same row.
                more = replace(queued.record, repeats=queued.record.repeats - record.repeats)
                self._pending.append(_Queued(more, queued.seq, queued.queued_at, queued.late))
        for key, value in settings.items():
            if self._pending_settings.get(key) == value:
                del self._pending_settings[key]
        self._pending_refusals = {
            k: q for k, q in self._pending_refusals.items() if q in self._pending
        }
        self._written.extend(record for record, _row in written)
        self._durable_seq = self._queued_seq if not self._has_backlog() else upto
        self._stalled = False
        self._set_problem(None)
        self._notify()
        # Commands answered while this commit was still waiting: say so in their rows.
        await self._mark_late(
            [
                (self._late_marked(q), row)
                for q, (r, row) in zip(batch, written, strict=True)
                if q.late and "stored_late_s" not in r.extra and row is not None
            ]
        )
        return True

    def _late_marked(self, queued: _Queued) -> CommandRecord:
        if not queued.late:
            return queued.record
        late_s = round(max(0.0, self._clock() - queued.queued_at), 1)
        return replace(queued.record, extra={**queued.record.extra, "stored_late_s": late_s})

    async def _mark_late(self, rows: list[tuple[CommandRecord, int | None]]) -> None:
        if not rows or self._db is None:
            return
        try:
            await self._db.executemany(
                "UPDATE command_history SET extra = ? WHERE id = ?",
                [(json.dumps(parameters(r.extra)), row) for r, row in rows],
            )
            await self._db.commit()
        except sqlite3.Error as err:
            await self._rollback()
            await self._fail(err)

    async def _insert_command(self, db: aiosqlite.Connection, record: CommandRecord) -> int | None:
        """Insert a command (or count a repeated refusal); returns its row."""
        key = None if record.accepted else _refusal_key(record)
        minute = int(record.timestamp.timestamp() // 60)
        if key is not None:
            row = self._refusal_rows.get(key)
            if row is not None and row[0] == minute:
                await db.execute(
                    "UPDATE command_history SET repeats = repeats + ? WHERE id = ?",
                    (record.repeats, row[1]),
                )
                return row[1]
        cursor = await db.execute(
            "INSERT INTO command_history (ts, source, command, parameters, accepted, reason, "
            "message, plan_summary, extra, repeats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _command_row(record),
        )
        if key is not None and cursor.lastrowid is not None:
            if len(self._refusal_rows) >= REFUSAL_KINDS_KEPT:
                self._refusal_rows.clear()
            self._refusal_rows[key] = (minute, cursor.lastrowid)
        return cursor.lastrowid

    # Internals: the connection -----------------------------------------------------------------

    async def _write(self, operation: Callable[[aiosqlite.Connection], Any]) -> bool:
        async with self._lock:
            if not await self._ensure_open() or self._db is None:
                return False
            try:
                await operation(self._db)
                await self._db.commit()
            except sqlite3.Error as err:
                await self._rollback()
                await self._fail(err)
                return False
            if self._has_backlog():
                # A write that works means what waits in memory can go to disk too.
                self._kick_writer()
            else:
                self._stalled = False
                self._set_problem(None)
            return True

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        assert self._db is not None
        try:
            cursor = await self._db.execute(sql, params)
            return list(await cursor.fetchall())
        except sqlite3.Error as err:
            await self._fail(err)
            return []

    async def _resolve_miner_ids(self, db: aiosqlite.Connection, macs: list[str], ts: int) -> None:
        unknown = [mac for mac in macs if mac not in self._miner_ids]
        if not unknown:
            return
        await db.executemany(
            "INSERT OR IGNORE INTO miner_records (mac, host, first_seen, last_seen) "
            "VALUES (?, '', ?, ?)",
            [(mac, ts, ts) for mac in unknown],
        )
        cursor = await db.execute("SELECT mac, id FROM miner_records")
        self._miner_ids = {mac: miner_id for mac, miner_id in await cursor.fetchall()}

    async def _ensure_open(self) -> bool:
        if self._db is not None:
            return True
        if self._closed:
            return False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            await self._connect()
        except sqlite3.DatabaseError as err:
            await self._disconnect()
            if classify_error(err) is StoreProblem.CORRUPT:
                return await self._replace_corrupt(err)
            await self._fail(err)
            return False
        except OSError as err:
            await self._disconnect()
            await self._fail(err)
            return False
        if not self._has_backlog():
            self._set_problem(None)
        return True

    async def _connect(self) -> aiosqlite.Connection:
        db = await self._connector(self._path, self._busy_timeout_ms / 1000)
        self._db = db  # from here on, a failure closes it (`_ensure_open`)
        # Invalid UTF-8 in a row must not make the history unreadable.
        db.text_factory = lenient_text
        await db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        if not self._verified:
            # Once per file: a reconnect after a passing fault must not rescan a large file.
            cursor = await db.execute("PRAGMA quick_check")
            row = await cursor.fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {row}")
        await db.execute("PRAGMA journal_mode = WAL")
        # FULL: a command reported as recorded survives a power cut, not only a crash.
        await db.execute("PRAGMA synchronous = FULL")
        await db.execute("PRAGMA foreign_keys = ON")
        await self._migrate(db)
        cursor = await db.execute("SELECT mac, id FROM miner_records")
        self._miner_ids = {mac: miner_id for mac, miner_id in await cursor.fetchall()}
        self._verified = True
        return db

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        cursor = await db.execute("PRAGMA user_version")
        row = await cursor.fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"database schema {version} is newer than this version understands "
                f"({SCHEMA_VERSION}); it is left untouched"
            )
        for target in range(version, SCHEMA_VERSION):
            for step in _MIGRATIONS[target]:
                if isinstance(step, str):
                    await db.execute(step)
                else:
                    await step(db)
            await db.execute(f"PRAGMA user_version = {target + 1}")
            await db.commit()

    async def _replace_corrupt(self, err: BaseException) -> bool:
        # Keep the damaged file for forensics, start afresh (control must go on) and carry over
        # what can still be read, then the commands of this run the damage may have taken.
        aside = self._path.with_name(f"{self._path.name}.corrupt-{int(self._clock())}")
        _LOGGER.error("Database %s is corrupt (%s); moved it to %s", self._path, err, aside)
        try:
            self._path.rename(aside)
            for suffix in ("-wal", "-shm"):
                extra = self._path.with_name(self._path.name + suffix)
                if extra.exists():
                    extra.rename(aside.with_name(aside.name + suffix))
            self.moved_aside = aside
            self._verified = False
            db = await self._connect()
            salvage = await asyncio.to_thread(read_salvage, aside)
            await self._carry_over(db, salvage)
        except (OSError, sqlite3.Error) as second:
            await self._disconnect()
            await self._fail(second)
            return False
        self.salvaged_rows = salvage.rows
        _LOGGER.warning("Carried %d readable rows over from %s", salvage.rows, aside)
        if not self._has_backlog():
            self._set_problem(None)
        return True

    async def _carry_over(self, db: aiosqlite.Connection, salvage: Salvage) -> None:
        await db.executemany(
            "INSERT OR REPLACE INTO dashboard_settings (key, value) VALUES (?, ?)",
            salvage.settings,
        )
        await db.executemany(
            f"INSERT OR IGNORE INTO miner_records ({MINER_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            salvage.miners,
        )
        if salvage.last_fleet_snapshot is not None and len(salvage.last_fleet_snapshot) == 8:
            await db.execute(
                "INSERT OR REPLACE INTO fleet_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                salvage.last_fleet_snapshot,
            )
        commands = _readable_commands(salvage.commands)
        seen = {_identity(c) for c in commands}
        # A command of this run on a destroyed page is put back from memory, in time order.
        commands += [c for c in self._written if _identity(c) not in seen]
        commands.sort(key=lambda c: c.timestamp)
        await db.executemany(
            "INSERT INTO command_history (ts, source, command, parameters, accepted, reason, "
            "message, plan_summary, extra, repeats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_command_row(c) for c in commands],
        )
        await db.commit()
        cursor = await db.execute("SELECT mac, id FROM miner_records")
        self._miner_ids = {mac: miner_id for mac, miner_id in await cursor.fetchall()}
        self._refusal_rows.clear()

    async def _rollback(self) -> None:
        if self._db is None:
            return
        try:
            await self._db.rollback()
        except sqlite3.Error:
            await self._disconnect()

    async def _disconnect(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        try:
            await db.close()
        except sqlite3.Error:
            _LOGGER.debug("Error while closing %s", self._path, exc_info=True)

    async def _fail(self, err: BaseException) -> None:
        problem = classify_error(err)
        if problem is not self._problem:
            # Logged once per problem, not once per write.
            _LOGGER.error("Cannot write fleet database %s (%s): %s", self._path, problem, err)
        if problem is StoreProblem.CORRUPT:
            self._verified = False  # the reconnect checks the file and replaces it if need be
        if problem in (StoreProblem.CORRUPT, StoreProblem.UNAVAILABLE, StoreProblem.READ_ONLY):
            # Reconnect on the next attempt: the file may have been repaired or replaced, and a
            # connection opened while the files were read-only stays read-only for good.
            await self._disconnect()
        self._set_problem(problem)
        self._failures += 1
        self._notify()

    def _set_problem(self, problem: StoreProblem | None) -> None:
        if problem is self._problem:
            return
        if problem is None:
            _LOGGER.info("Fleet database %s works again", self._path)
        self._problem = problem
        if self._on_problem is not None:
            self._on_problem(problem)


async def _default_connect(path: Path, busy_timeout_s: float) -> aiosqlite.Connection:
    return await aiosqlite.connect(path, timeout=busy_timeout_s)


def _purge_timestamps(table: str) -> int:
    # How many distinct timestamps one batch covers: fleet rows are one per timestamp, miner rows
    # are one per miner, so keep miner batches to a few snapshots.
    return PURGE_BATCH if table == "fleet_snapshots" else 10


def _storable_record(record: CommandRecord) -> CommandRecord:
    """The record with only text UTF-8 can carry (what a client sent may not be)."""
    return replace(
        record,
        source=storable_text(record.source),
        command=storable_text(record.command),
        parameters=parameters(record.parameters),
        reason=storable_text(record.reason),
        message=storable_text(record.message),
        plan_summary=None if record.plan_summary is None else storable_text(record.plan_summary),
        extra=parameters(record.extra),
    )


def _refusal_key(record: CommandRecord) -> tuple[Any, ...]:
    """What makes two refusals the same (and the minute they fall in)."""
    return (
        int(record.timestamp.timestamp() // 60),
        record.source,
        record.command,
        record.caller,
        record.reason,
        record.message,
        json.dumps(dict(record.parameters), sort_keys=True),
    )


def _identity(record: CommandRecord) -> tuple[Any, ...]:
    return (
        record.timestamp.timestamp(),
        record.source,
        record.command,
        record.message,
        json.dumps(dict(record.parameters), sort_keys=True),
    )


def _command_row(r: CommandRecord) -> tuple[Any, ...]:
    return (
        r.timestamp.timestamp(),
        r.source,
        r.command,
        json.dumps(parameters(r.parameters)),
        int(r.accepted),
        str(r.reason),
        r.message,
        r.plan_summary,
        json.dumps(parameters(r.extra)),
        r.repeats,
    )


def _command_from_row(row: Sequence[Any]) -> CommandRecord:
    return CommandRecord(
        timestamp=datetime.fromtimestamp(row[0], UTC),
        source=storable_text(str(row[1])),
        command=storable_text(str(row[2])),
        parameters=parameters(_json_object(row[3])),
        accepted=bool(row[4]),
        reason=storable_text(str(row[5])),
        message=storable_text(str(row[6])),
        plan_summary=None if row[7] is None else storable_text(str(row[7])),
        extra=parameters(_json_object(row[8])),
        repeats=max(1, int(row[9])) if len(row) > 9 and isinstance(row[9], int) else 1,
    )


def _readable_commands(rows: Iterable[Sequence[Any]]) -> list[CommandRecord]:
    commands = []
    for row in rows:
        try:
            commands.append(_command_from_row(row))
        except TypeError, ValueError, OverflowError, OSError:
            continue  # a row the damage left without a usable time is no record
    return commands


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError, RecursionError, TypeError:
        return {}
    return value if isinstance(value, dict) else {}
