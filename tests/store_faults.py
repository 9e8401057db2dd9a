"""Real faults of the fleet database, for tests and the store benchmark.

Each makes SQLite itself answer with the error a broken disk gives:

- locked: a second connection (as another process would) holds `BEGIN EXCLUSIVE`: SQLITE_BUSY.
- read-only: tests run as root, and root ignores file modes, so `chmod` proves nothing here.
  Instead the open connection is switched to `PRAGMA query_only` (writes answer SQLITE_READONLY,
  as on a file whose mount turned read-only) and every new connection is opened with the URI
  `mode=ro` (what SQLite falls back to when it cannot open the files for writing), until the
  fault clears.
- full: `PRAGMA max_page_count` on the store's own connection, capped at the pages in use, and
  the room left in them taken by a scratch table (emptied when the fault clears): SQLITE_FULL
  for every write, as on a full disk.
- corrupt: 4 kB of random bytes written into the file.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from enum import StrEnum
from pathlib import Path

import aiosqlite

from custom_components.net_stabilization.core.store import FleetStore

GARBAGE_BYTES = 4096


class Fault(StrEnum):
    """The ways a database breaks."""

    LOCKED = "locked"
    READ_ONLY = "read_only"
    FULL = "full"
    CORRUPT = "corrupt"


class DatabaseFaults:
    """Starts and clears one fault on one store's database."""

    def __init__(self, path: Path, *, seed: int = 1) -> None:
        """Faults of the database at `path`; `seed` picks where garbage lands."""
        self.path = path
        self.read_only = False
        self._blocker: sqlite3.Connection | None = None
        self._random = random.Random(seed)

    async def connect(self, path: Path, busy_timeout_s: float) -> aiosqlite.Connection:
        """The store's connect function: read-only while that fault lasts."""
        mode = "ro" if self.read_only else "rwc"
        return await aiosqlite.connect(f"file:{path}?mode={mode}", uri=True, timeout=busy_timeout_s)

    async def start(self, fault: Fault, store: FleetStore | None = None) -> None:
        """Break the database (`store`: the running store, None before it opens)."""
        if fault is Fault.LOCKED:
            self._blocker = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            self._blocker.execute("BEGIN EXCLUSIVE")
        elif fault is Fault.READ_ONLY:
            self.read_only = True
            if store is not None and store._db is not None:
                await store._db.execute("PRAGMA query_only = ON")
        elif fault is Fault.FULL:
            if store is None or store._db is None:
                raise ValueError("a full database needs the store's connection")
            db = store._db
            await db.execute("CREATE TABLE IF NOT EXISTS fault_fill (data BLOB)")
            await db.commit()
            cursor = await db.execute("PRAGMA page_count")
            row = await cursor.fetchone()
            assert row is not None
            await db.execute(f"PRAGMA max_page_count = {row[0]}")
            # A disk is full when the last free byte is taken: take the room left in the pages.
            for size in (65536, 4096, 256, 16, 1):
                try:
                    while True:
                        async with db.execute(
                            "INSERT INTO fault_fill VALUES (zeroblob(?))", (size,)
                        ):
                            pass  # closed at once: an open statement would block the DROP
                        await db.commit()
                except sqlite3.OperationalError:
                    await db.rollback()
        else:
            if store is not None and store._db is not None:
                # Garbage over pages the write-ahead log no longer covers, or a checkpoint
                # would quietly write the good copies back.
                await store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.write_garbage()

    async def clear(self, fault: Fault, store: FleetStore | None = None) -> None:
        """Repair what `start` broke (garbage stays: the store must deal with the file)."""
        if fault is Fault.LOCKED and self._blocker is not None:
            self._blocker.rollback()
            self._blocker.close()
            self._blocker = None
        elif fault is Fault.READ_ONLY:
            self.read_only = False
        elif fault is Fault.FULL and store is not None and store._db is not None:
            await store._db.execute("PRAGMA max_page_count = 1073741823")
            # Emptied, not dropped: a statement of the store's may still be open on it.
            await store._db.execute("DELETE FROM fault_fill")
            await store._db.commit()

    def write_garbage(self) -> int:
        """Overwrite 4 kB over the snapshots' pages (else in the second half of the file);
        returns the offset.

        In a file of a day's snapshots the schema and the small tables (settings, miners,
        learnt timings) are a tiny fraction, so garbage lands among the bulk. A test's file is
        small, and its small tables need not all lie in its first half: the snapshots' own pages
        are aimed at. Garbage over the schema itself is tested on its own.
        """
        size = self.path.stat().st_size
        pages = self._snapshot_pages()
        if pages:
            page_size, page = pages[0], self._random.choice(pages[1:])
            offset = (page - 1) * page_size
        else:
            low = max(0, min(size // 2, size - GARBAGE_BYTES))
            offset = self._random.randrange(low, max(low + 1, size - GARBAGE_BYTES))
        with self.path.open("r+b") as file:
            file.seek(offset)
            file.write(self._random.randbytes(GARBAGE_BYTES))
        return offset

    def _snapshot_pages(self) -> list[int]:
        """[page size, then each page of the snapshot tables in the file]; [] if unreadable."""
        try:
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
                page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
                rows = db.execute(
                    "SELECT pageno FROM dbstat"
                    " WHERE name IN ('fleet_snapshots', 'miner_snapshots') ORDER BY pageno"
                ).fetchall()
        except sqlite3.Error:
            return []
        return [page_size, *(int(r[0]) for r in rows)] if rows else []


def rows_on_disk(path: Path) -> list[tuple[str, int]]:
    """(message, repeats) of every command row, in the order written, read by a connection of
    its own."""
    with closing(sqlite3.connect(path)) as db:
        return [
            (str(row[0]), int(row[1]))
            for row in db.execute("SELECT message, repeats FROM command_history ORDER BY id")
        ]
