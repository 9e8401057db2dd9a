"""Reading what is still readable from a damaged fleet database.

A few kilobytes of garbage destroy a page or two; the rest of the file still holds the settings,
the learnt calibration, the miners and most of the command history. Each table is read in rowid
order; where a page cannot be read, reading resumes a little further on, further each time, so
a damaged region costs a bounded number of attempts.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

_LOGGER = logging.getLogger(__name__)

# Attempts to step over unreadable pages, per table; each step is twice the previous one.
MAX_SKIPS: Final = 48

COMMAND_COLUMNS: Final = (
    "ts, source, command, parameters, accepted, reason, message, plan_summary, extra"
)
MINER_COLUMNS: Final = (
    "mac, host, api_port, web_port, model, firmware, hostname, first_seen, last_seen, "
    "excluded, override"
)


@dataclass(slots=True)
class Salvage:
    """What could be read from a damaged database."""

    settings: list[tuple[Any, ...]] = field(default_factory=list)
    miners: list[tuple[Any, ...]] = field(default_factory=list)
    commands: list[tuple[Any, ...]] = field(default_factory=list)
    last_fleet_snapshot: tuple[Any, ...] | None = None

    @property
    def rows(self) -> int:
        """How many rows were saved."""
        snapshot = 0 if self.last_fleet_snapshot is None else 1
        return len(self.settings) + len(self.miners) + len(self.commands) + snapshot


def lenient_text(data: bytes) -> str:
    """Text from a column, whatever bytes it holds (invalid UTF-8 becomes U+FFFD)."""
    return data.decode("utf-8", "replace")


def read_salvage(path: Path) -> Salvage:
    """Everything still readable in the database at `path` (settings and calibration first).
    Never raises for a damaged file; the connection is always closed."""
    salvage = Salvage()
    try:
        db = sqlite3.connect(path, timeout=0)
    except sqlite3.Error as err:
        _LOGGER.warning("Nothing could be read from %s: %s", path, err)
        return salvage
    try:
        db.text_factory = lenient_text
        salvage.settings = _readable_rows(db, "dashboard_settings", "key, value")
        salvage.miners = _readable_rows(db, "miner_records", MINER_COLUMNS)
        salvage.commands = _readable_rows(db, "command_history", _command_columns(db))
        salvage.last_fleet_snapshot = _last_fleet_snapshot(db)
    finally:
        db.close()
    return salvage


def _command_columns(db: sqlite3.Connection) -> str:
    try:
        names = {row[1] for row in db.execute("PRAGMA table_info(command_history)")}
    except sqlite3.Error:
        names = set()
    # A file from before refusals were counted has no `repeats`: each row was one.
    return COMMAND_COLUMNS + (", repeats" if "repeats" in names else ", 1")


def _readable_rows(db: sqlite3.Connection, table: str, columns: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    after, step, skips = 0, 1, 0
    sql = f"SELECT rowid, {columns} FROM {table} WHERE rowid > ? ORDER BY rowid"  # fixed names
    while skips <= MAX_SKIPS:
        try:
            for row in db.execute(sql, (after,)):
                rows.append(tuple(row[1:]))
                after, step = row[0], 1
            return rows
        except sqlite3.Error:
            skips += 1
            after, step = after + step, step * 2
    _LOGGER.warning("Gave up reading %s after %d unreadable regions", table, skips)
    return rows


def _last_fleet_snapshot(db: sqlite3.Connection) -> tuple[Any, ...] | None:
    # The newest snapshot tells a restart how long the fleet was down; older ones are samples.
    try:
        row: Sequence[Any] | None = db.execute(
            "SELECT * FROM fleet_snapshots ORDER BY ts DESC LIMIT 1"
        ).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else tuple(row)
