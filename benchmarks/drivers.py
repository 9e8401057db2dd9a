"""Benchmark the miner drivers and discovery against 1000 simulated miners on loopback.

First 1000 S9 on Vnish 3.9 (`read_all`, `scan_empty_24`, `scan_fleet`), then a mixed fleet of
1000 (`mixed`: S9 on Vnish 3.9, Braiins OS+, LuxOS and Vnish REST as in `benchmarks.mixed`, plus
monitored cgminer miners): found by one scan, read in one poll, and read kind by kind for wall
and CPU time per kind. The simulated fleets run in a child process, so the CPU time measured
here is the driver side only. Usage: `scripts/bench drivers [--miners 1000] [--runs 5]`.
The last line printed is a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import multiprocessing as mp
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from custom_components.net_stabilization.core.discovery import Scanner
from custom_components.net_stabilization.core.miners import MinerError, MiningState
from custom_components.net_stabilization.core.miners.antminer_s9 import (
    AntminerS9Driver,
)
from custom_components.net_stabilization.core.miners.base import MinerDriver
from custom_components.net_stabilization.core.miners.endpoint import Credentials

FLEET_NETWORK = "127.0.4.0/22"  # 127.0.4.1 ... 127.0.7.x, away from 127.0.0.1
MIXED_NETWORK = "127.0.12.0/22"
# The mixed fleet's share of read-only miners (cgminer API only), beside `benchmarks.mixed`.
MONITORED_SHARE = 0.05
EMPTY_NETWORK = "127.0.9.0/24"
API_PORT = 4028
WEB_PORT = 8080
SEED = 1


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise the soft RLIMIT_NOFILE as far as allowed; two ports and a connection per miner."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def mixed_fleet_kinds(count: int) -> list[str]:
    """The mixed fleet: `benchmarks.mixed` with every twentieth miner a monitored one."""
    from benchmarks.mixed import mixed_kinds  # noqa: PLC0415

    kinds = mixed_kinds(count)
    step = round(1 / MONITORED_SHARE)
    return ["cgminer" if i % step == step - 1 else k for i, k in enumerate(kinds)]


def run_fleet(count: int, pipe: Connection, mixed: bool = False) -> None:
    """Child process: serve the simulated fleet until told to stop."""
    raise_open_file_limit()

    async def serve() -> None:
        from simulator import ManualClock, SimulatedFleet  # noqa: PLC0415

        fleet = SimulatedFleet(
            count=count,
            network=MIXED_NETWORK if mixed else FLEET_NETWORK,
            api_port=API_PORT,
            web_port=WEB_PORT,
            clock=ManualClock(),
            seed=SEED,
            kinds=mixed_fleet_kinds(count) if mixed else None,
        )
        await fleet.start()
        hosts = [m.host for m in fleet.miners]
        pipe.send({"hosts": hosts, "startup_s": fleet.startup_s})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.recv)
        await fleet.stop()

    asyncio.run(serve())


async def measure[T](action: Callable[[], Awaitable[T]]) -> tuple[float, float, T]:
    """Wall and CPU seconds (this process only) of one awaited action."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = await action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def summarize(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Median wall and CPU time over the runs, in milliseconds."""
    return {
        "wall_ms": round(statistics.median(s[0] for s in samples) * 1000, 1),
        "cpu_ms": round(statistics.median(s[1] for s in samples) * 1000, 1),
        "runs": len(samples),
    }


async def bench(hosts: list[str], runs: int) -> dict[str, Any]:
    """Run the three measurements."""
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        drivers = [
            AntminerS9Driver(h, session, api_port=API_PORT, web_port=WEB_PORT) for h in hosts
        ]

        async def read_all() -> list[Any]:
            return await asyncio.gather(*(d.read() for d in drivers), return_exceptions=True)

        reads: list[tuple[float, float]] = []
        mining = errors = 0
        for _ in range(runs):
            wall, cpu, results = await measure(read_all)
            reads.append((wall, cpu))
            mining = sum(
                1
                for r in results
                if not isinstance(r, BaseException) and r.state is MiningState.MINING
            )
            errors = sum(1 for r in results if isinstance(r, MinerError))
        read_figures = summarize(reads) | {"mining": mining, "errors": errors}

        empty_scanner = Scanner(
            session, networks=[EMPTY_NETWORK], api_port=API_PORT, web_port=WEB_PORT
        )
        empties: list[tuple[float, float]] = []
        for _ in range(runs):
            wall, cpu, result = await measure(empty_scanner.scan)
            empties.append((wall, cpu))
            assert not result.miners
        empty_figures = summarize(empties) | {"addresses": len(empty_scanner.targets)}

        fleet_scanner = Scanner(
            session, networks=[FLEET_NETWORK], api_port=API_PORT, web_port=WEB_PORT
        )
        scans: list[tuple[float, float]] = []
        found = 0
        for _ in range(max(1, runs // 2)):
            wall, cpu, result = await measure(fleet_scanner.scan)
            scans.append((wall, cpu))
            found = len(result.miners)
        scan_figures = summarize(scans) | {
            "addresses": len(fleet_scanner.targets),
            "found": found,
        }
    return {"read_all": read_figures, "scan_empty_24": empty_figures, "scan_fleet": scan_figures}


async def bench_mixed(runs: int) -> dict[str, Any]:
    """Find the mixed fleet by one scan, then read it whole and kind by kind."""
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        scanner = Scanner(
            session,
            networks=[MIXED_NETWORK],
            api_port=API_PORT,
            web_port=WEB_PORT,
            credentials=Credentials("root", "root"),
        )
        wall, cpu, result = await measure(scanner.scan)
        drivers = [found.driver for found in result.miners.values()]
        by_kind: dict[str, list[MinerDriver]] = {}
        for d in drivers:
            by_kind.setdefault(d.kind, []).append(d)
        scan = {
            "wall_ms": round(wall * 1000, 1),
            "cpu_ms": round(cpu * 1000, 1),
            "addresses": len(scanner.targets),
            "found": len(drivers),
            "by_kind": {k: len(v) for k, v in sorted(by_kind.items())},
            "unsupported": len(result.unsupported),
        }

        async def read(group: list[MinerDriver]) -> list[Any]:
            return await asyncio.gather(*(d.read() for d in group), return_exceptions=True)

        whole: list[tuple[float, float]] = []
        errors = 0
        for _ in range(runs):
            wall, cpu, results = await measure(lambda: read(drivers))
            whole.append((wall, cpu))
            errors = sum(1 for r in results if isinstance(r, BaseException))
        per_kind: dict[str, Any] = {}
        for kind, group in sorted(by_kind.items()):
            samples: list[tuple[float, float]] = []
            kind_errors = 0
            for _ in range(runs):
                wall, cpu, results = await measure(lambda g=group: read(g))  # type: ignore[misc]
                samples.append((wall, cpu))
                kind_errors = sum(1 for r in results if isinstance(r, BaseException))
            figures = summarize(samples)
            figures |= {
                "miners": len(group),
                "cpu_ms_per_miner": round(figures["cpu_ms"] / len(group), 3),
                "errors": kind_errors,
            }
            per_kind[kind] = figures
    return {
        "scan": scan,
        "read_all": summarize(whole) | {"miners": len(drivers), "errors": errors},
        "read_by_kind": per_kind,
    }


def serve_in_child(count: int, *, mixed: bool) -> tuple[Any, Connection, dict[str, Any]]:
    """Start a simulated fleet in a child process; returns the process, its pipe, its hello."""
    context = mp.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=run_fleet, args=(count, child_end, mixed), daemon=True)
    child.start()
    return child, parent_end, parent_end.recv()


def stop_child(child: Any, pipe: Connection) -> None:
    """Tell a fleet child to stop and wait for it."""
    pipe.send("stop")
    child.join(timeout=30)
    if child.is_alive():
        child.terminate()


def main() -> None:
    """Start the fleet in a child process, measure, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--miners", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    capacity = sum(
        1 for a in ipaddress.ip_network(FLEET_NETWORK).hosts() if a.packed[-1] not in (0, 255)
    )
    if not 0 < args.miners <= capacity:
        parser.error(f"--miners must be within 1..{capacity}")

    nofile = raise_open_file_limit()
    child, pipe, ready = serve_in_child(args.miners, mixed=False)
    try:
        hosts: list[str] = ready["hosts"]
        print(f"{len(hosts)} simulated miners up in {ready['startup_s']:.2f} s", flush=True)
        figures = asyncio.run(bench(hosts, args.runs))
        figures["sim_startup_s"] = round(ready["startup_s"], 3)
    finally:
        stop_child(child, pipe)
    child, pipe, ready = serve_in_child(args.miners, mixed=True)
    try:
        print(f"{len(ready['hosts'])} mixed miners up in {ready['startup_s']:.2f} s", flush=True)
        figures["mixed"] = asyncio.run(bench_mixed(args.runs))
        figures["mixed"]["sim_startup_s"] = round(ready["startup_s"], 3)
    finally:
        stop_child(child, pipe)
    for name, values in figures.items():
        print(f"{name:14} {values}")
    figures |= {"miners": len(hosts), "rlimit_nofile": nofile, "cpus": mp.cpu_count()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
