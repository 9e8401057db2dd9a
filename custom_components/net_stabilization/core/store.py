"""SQLite persistence of a fleet: miners, snapshots, the command history and settings.

Fleet control never depends on the database. When it is locked, read-only, full or corrupt, the
store logs the problem once, reports it through `problem`, keeps commands in memory, and writes them
as soon as the database works again. Snapshots taken during such a problem are dropped: they are
samples, while commands are the record of what was asked of the fleet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import aiosqlite

from .fleet.command_log import CommandRecord, parameters
from .fleet.timings import TimingSample, sample_from_row

_LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 4
# How many rows one purge statement deletes; short statements let commands interleave.
PURGE_BATCH: Final = 20_000
# Commands kept in memory while the database cannot be written.
PENDING_LIMIT: Final = 10_000
BUSY_TIMEOUT_MS: Final = 2_000
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
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._connector = connect or _default_connect
        self._clock = clock
        self._on_problem = on_problem
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._problem: StoreProblem | None = None
        self._pending: deque[CommandRecord] = deque(maxlen=PENDING_LIMIT)
        self._miner_ids: dict[str, int] = {}
        self._closed = False
        self.moved_aside: Path | None = None

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
        async with self._lock:
            if self._db is not None and self._pending:
                await self._flush_pending()
            await self._disconnect()
            self._closed = True

    # Commands ---------------------------------------------------------------------------------

    async def record_command(self, record: CommandRecord) -> bool:
        """Commit a command before the caller acknowledges it.

        Returns True when it is on disk; False when the database has a problem, in which case the
        command is kept in memory and written once the database works again.
        """
        async with self._lock:
            self._pending.append(record)
            if not await self._ensure_open():
                return False
            return await self._flush_pending()

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
        async with self._lock:
            pending = list(self._pending)
            if await self._ensure_open():
                rows = await self._query(
                    "SELECT ts, source, command, parameters, accepted, reason, message, "
                    "plan_summary, extra FROM command_history ORDER BY id DESC LIMIT ?",
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
        """Store settings that must survive a restart (JSON values)."""
        rows = [(key, json.dumps(value)) for key, value in settings.items()]
        return await self._write(
            lambda db: db.executemany(
                "INSERT INTO dashboard_settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                rows,
            )
        )

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

    # Internals --------------------------------------------------------------------------------

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
            # A write that works means commands kept in memory can go to disk too.
            if self._pending:
                return await self._flush_pending()
            return True

    async def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        assert self._db is not None
        try:
            cursor = await self._db.execute(sql, params)
            return list(await cursor.fetchall())
        except sqlite3.Error as err:
            await self._fail(err)
            return []

    async def _flush_pending(self) -> bool:
        assert self._db is not None
        rows = [
            (
                r.timestamp.timestamp(),
                r.source,
                r.command,
                json.dumps(parameters(r.parameters)),
                int(r.accepted),
                str(r.reason),
                r.message,
                r.plan_summary,
                json.dumps(parameters(r.extra)),
            )
            for r in self._pending
        ]
        try:
            await self._db.executemany(
                "INSERT INTO command_history (ts, source, command, parameters, accepted, reason, "
                "message, plan_summary, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            await self._db.commit()
        except sqlite3.Error as err:
            await self._rollback()
            await self._fail(err)
            return False
        self._pending.clear()
        self._set_problem(None)
        return True

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
            self._db = await self._connect()
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
        self._set_problem(None)
        return True

    async def _connect(self) -> aiosqlite.Connection:
        db = await self._connector(self._path, self._busy_timeout_ms / 1000)
        self._db = db
        await db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
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
        # Keep the damaged file for forensics and start afresh: control must go on.
        aside = self._path.with_name(f"{self._path.name}.corrupt-{int(self._clock())}")
        _LOGGER.error("Database %s is corrupt (%s); moved it to %s", self._path, err, aside)
        try:
            self._path.rename(aside)
            for suffix in ("-wal", "-shm"):
                extra = self._path.with_name(self._path.name + suffix)
                if extra.exists():
                    extra.rename(aside.with_name(aside.name + suffix))
            self.moved_aside = aside
            self._db = await self._connect()
        except (OSError, sqlite3.Error) as second:
            await self._disconnect()
            await self._fail(second)
            return False
        self._set_problem(None)
        return True

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
        if problem in (StoreProblem.CORRUPT, StoreProblem.UNAVAILABLE):
            # Reconnect on the next write; the file may have been repaired or replaced.
            await self._disconnect()
        self._set_problem(problem)

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


def _command_from_row(row: Sequence[Any]) -> CommandRecord:
    return CommandRecord(
        timestamp=datetime.fromtimestamp(row[0], UTC),
        source=row[1],
        command=row[2],
        parameters=parameters(_json_object(row[3])),
        accepted=bool(row[4]),
        reason=row[5],
        message=row[6],
        plan_summary=row[7],
        extra=parameters(_json_object(row[8])),
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError, RecursionError:
        return {}
    return value if isinstance(value, dict) else {}
