"""Benchmark the fleet database at full size: 24 h of 60 s snapshots of 1000 miners.

Measures the database size, the time of one snapshot write and of a purge, and the longest
event-loop stall during each (a ticker task records how late it wakes up).
Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

from custom_components.net_stabilization.core.store import (
    FleetSnapshot,
    FleetStore,
    MinerSnapshot,
)

INTERVAL_S = 60
DAY_S = 24 * 3600


class StallMeter:
    """Measures how late a 1 ms ticker wakes: the event loop's longest stall."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StallMeter:
        self.worst_s = 0.0
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst_s = max(self.worst_s, time.perf_counter() - before - 0.001)


def folder_size(folder: Path) -> int:
    """Bytes in the database, its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in folder.iterdir())


def miners(count: int, tick: int) -> list[MinerSnapshot]:
    return [
        MinerSnapshot(
            mac=f"02:00:00:00:{i // 256:02X}:{i % 256:02X}",
            state="mining" if (i + tick) % 7 else "sleeping",
            power_w=1460.0 + (i % 13),
            hashrate_ths=13.7 - (i % 5) / 10,
            frequency_mhz=650.0,
            chip_temp_c=70.0 + (i + tick) % 10,
        )
        for i in range(count)
    ]


async def run(count: int, hours: float) -> dict[str, float]:
    fleet = FleetSnapshot("active", 700.0, 690.0, 1460.0, count, count, 13_000.0)
    snapshots = int(hours * 3600 / INTERVAL_S)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.db"
        now = 1_800_000_000.0
        store = FleetStore(path, clock=lambda: now)
        await store.open()
        # Fill the day quickly, then measure writes at full size.
        start = now - snapshots * INTERVAL_S
        fill_started = time.perf_counter()
        for tick in range(snapshots):
            await store.write_snapshot(fleet, miners(count, tick), timestamp=start + tick * 60)
        fill_s = time.perf_counter() - fill_started
        size_mb = folder_size(Path(folder)) / 1e6

        write_s: list[float] = []
        write_stall_s: list[float] = []
        for tick in range(5):
            rows = miners(count, tick)
            async with StallMeter() as meter:
                began = time.perf_counter()
                await store.write_snapshot(fleet, rows, timestamp=now + tick * 60)
                write_s.append(time.perf_counter() - began)
            write_stall_s.append(meter.worst_s)

        # Purge one hour's worth past the retention, as the periodic purge would.
        async with StallMeter() as meter:
            began = time.perf_counter()
            deleted = await store.purge(older_than=start + 3600)
            purge_s = time.perf_counter() - began
        purge_stall_s = meter.worst_s
        await store.close()
    return {
        "miners": count,
        "snapshots": snapshots,
        "fill_s": round(fill_s, 1),
        "db_size_mb": round(size_mb, 1),
        "snapshot_write_ms_median": round(statistics.median(write_s) * 1000, 1),
        "snapshot_write_stall_ms_max": round(max(write_stall_s) * 1000, 1),
        "purge_rows": deleted,
        "purge_ms": round(purge_s * 1000, 1),
        "purge_stall_ms_max": round(purge_stall_s * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.miners, args.hours))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
