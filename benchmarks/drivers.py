"""Benchmark the miner drivers and discovery against 1000 simulated S9 on loopback.

The simulated fleet runs in a child process, so the CPU time measured here is the driver side
only. Usage: `scripts/bench drivers [--miners 1000] [--runs 5]`.
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

FLEET_NETWORK = "127.0.4.0/22"  # 127.0.4.1 ... 127.0.7.x, away from 127.0.0.1
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


def run_fleet(count: int, pipe: Connection) -> None:
    """Child process: serve the simulated fleet until told to stop."""
    raise_open_file_limit()

    async def serve() -> None:
        from simulator import ManualClock, SimulatedFleet  # noqa: PLC0415

        fleet = SimulatedFleet(
            count=count,
            network=FLEET_NETWORK,
            api_port=API_PORT,
            web_port=WEB_PORT,
            clock=ManualClock(),
            seed=SEED,
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
    context = mp.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = context.Process(target=run_fleet, args=(args.miners, child_end), daemon=True)
    child.start()
    try:
        ready = parent_end.recv()
        hosts: list[str] = ready["hosts"]
        print(f"{len(hosts)} simulated miners up in {ready['startup_s']:.2f} s", flush=True)
        figures = asyncio.run(bench(hosts, args.runs))
    finally:
        parent_end.send("stop")
        child.join(timeout=30)
        if child.is_alive():
            child.terminate()
    for name, values in figures.items():
        print(f"{name:14} {values}")
    figures |= {"miners": len(hosts), "rlimit_nofile": nofile, "cpus": mp.cpu_count()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
