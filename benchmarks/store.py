"""Benchmark the fleet database at full size: 24 h of 60 s snapshots of 1000 miners.

Measures the database size, the time of one snapshot write and of a purge, and the longest
event-loop stall during each (a ticker task records how late it wakes up).
Prints one JSON line at the end.

With `--faults`: one JSON line per fault (locked, read_only, full, corrupt, as made by
tests/store_faults.py) on a store with its production timeouts. Commands arrive at 10/s, each
followed by its settings, as on the EMS path; the fault lasts `--fault-s`. Reports
`acknowledged_lost` (acknowledged commands missing from the file after the fault cleared and a
restart; must be 0), `answer_ms_max` (the longest the store held a command's answer) and
`recovered_s` (from the fault clearing to the backlog on disk; for corrupt, the fault clears at
the restart, which salvages the file).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from custom_components.net_stabilization.core.fleet.command_log import CommandRecord
from custom_components.net_stabilization.core.store import (
    FleetSnapshot,
    FleetStore,
    MinerSnapshot,
)
from tests.store_faults import DatabaseFaults, Fault, rows_on_disk

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


COMMAND_INTERVAL_S = 0.1


async def run_fault(fault: Fault, count: int, hours: float, fault_s: float) -> dict[str, object]:
    """One fault mid-run on a store with production timeouts; see the module docstring."""
    fleet = FleetSnapshot("active", 700.0, 690.0, 1460.0, count, count, 13_000.0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.db"
        faults = DatabaseFaults(path)
        store = FleetStore(path, connect=faults.connect)
        await store.open()
        for tick in range(int(hours * 3600 / INTERVAL_S)):
            await store.write_snapshot(fleet, miners(count, tick), timestamp=tick * INTERVAL_S)
        acknowledged: list[str] = []
        answers_s: list[float] = []
        n = 0

        async def command() -> None:
            nonlocal n
            n += 1
            record = CommandRecord(
                datetime.now(UTC),
                "ems",
                "activate",
                {"activationPowerInKw": n},
                True,
                "ok",
                f"command {n}",
            )
            began = time.perf_counter()
            await store.record_command(record)
            await store.save_settings({"fleet": {"ems_target_kw": n}})
            answers_s.append(time.perf_counter() - began)
            acknowledged.append(record.message)

        for _ in range(5):
            await command()
        await faults.start(fault, store)
        fault_end = time.perf_counter() + fault_s

        async def snapshots(tick: int) -> None:
            # They keep coming on their own timer (here once a second): the bulk of writes.
            while True:
                tick += 1
                await store.write_snapshot(fleet, miners(count, tick), timestamp=tick * 60)
                await asyncio.sleep(1.0)

        snapshot_task = asyncio.create_task(snapshots(int(hours * 3600 / INTERVAL_S)))
        while time.perf_counter() < fault_end:
            await command()
            await asyncio.sleep(COMMAND_INTERVAL_S)
        snapshot_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await snapshot_task
        if fault is Fault.CORRUPT:
            await store.close()  # the damage is found and salvaged at the next start
            cleared = time.perf_counter()
            store = FleetStore(path, connect=faults.connect)
            await store.open()
        else:
            await faults.clear(fault, store)
            cleared = time.perf_counter()
        await store.wait_written()
        recovered_s = time.perf_counter() - cleared
        moved_aside, salvaged = store.moved_aside is not None, store.salvaged_rows
        await store.close()
        lost, in_order = await lost_after_restart(path, acknowledged)
    return {
        "fault": fault.value,
        "fault_s": fault_s,
        "commands": len(acknowledged),
        "acknowledged_lost": lost,
        "in_order": in_order,
        "answer_ms_max": round(max(answers_s) * 1000, 1),
        "recovered_s": round(recovered_s, 2),
        "moved_aside": moved_aside,
        "salvaged_rows": salvaged,
    }


async def lost_after_restart(path: Path, acknowledged: list[str]) -> tuple[int, bool]:
    """Start the store once more, then count the acknowledged commands missing from the file
    and whether the rest are in the order they were acknowledged."""
    restarted = FleetStore(path)
    await restarted.open()
    await restarted.close()
    on_disk = [message for message, _ in rows_on_disk(path)]
    wanted = set(acknowledged)
    in_order = [m for m in on_disk if m in wanted] == acknowledged
    return len(wanted - set(on_disk)), in_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--miners", type=int, default=None)
    parser.add_argument("--hours", type=float, default=None)
    parser.add_argument("--faults", action="store_true", help="one line per database fault")
    parser.add_argument("--fault-s", type=float, default=10.0)
    args = parser.parse_args()
    if args.faults:
        for fault in Fault:
            result = asyncio.run(
                run_fault(fault, args.miners or 100, args.hours or 2.0, args.fault_s)
            )
            print(json.dumps(result), flush=True)
        return
    print(json.dumps(asyncio.run(run(args.miners or 1000, args.hours or 24.0))))


if __name__ == "__main__":
    main()
