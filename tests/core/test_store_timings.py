"""Timed transitions survive a restart in the fleet database, and a database written before
they were kept gains their table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from custom_components.net_stabilization.core.fleet.timings import TimingSample, Transition
from custom_components.net_stabilization.core.store import SCHEMA_VERSION, FleetStore


def sample(seconds: float, *, ok: bool = True) -> TimingSample:
    return TimingSample("AA:BB", "luxos/Antminer S19", Transition.FULL, seconds, 200.0, ok)


async def test_timed_transitions_come_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    assert await store.record_timings([sample(240.0), sample(900.0, ok=False)], 1.0)
    await store.close()
    again = FleetStore(path)
    await again.open()
    assert await again.timings() == [sample(240.0), sample(900.0, ok=False)]
    await again.close()


async def test_an_older_database_gains_the_timings_table(tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    store = FleetStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE transition_timings")
        db.execute("PRAGMA user_version = 3")
    upgraded = FleetStore(path)
    await upgraded.open()
    assert await upgraded.timings() == []
    assert await upgraded.record_timings([sample(60.0)], 2.0)
    await upgraded.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        bad = ("x", "k", "teleport", 1.0, 1.0, 1)
        db.execute(
            "INSERT INTO transition_timings (ts, mac, kind, transition, seconds, pause_s, ok) "
            "VALUES (0, ?, ?, ?, ?, ?, ?)",
            bad,
        )
    reopened = FleetStore(path)
    await reopened.open()
    assert await reopened.timings() == [sample(60.0)]  # the nonsense row is skipped
    await reopened.close()
