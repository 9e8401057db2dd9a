"""Command line: run a simulated fleet until SIGINT/SIGTERM.

Example:
    python -m simulator --count 20 --network 127.0.1.0/24 --web-port 8080 \
        --admin-port 8099 --time-scale 10 --fault never_starts=0.3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import signal
import sys
from random import Random

from .clock import ScaledClock
from .faults import Fault, parse_fault_spec
from .fleet import SimulatedFleet
from .miner import INITIAL_STATES
from .personality import mix_kinds


def raise_open_file_limit() -> tuple[int, int]:
    """Lift the soft RLIMIT_NOFILE to the hard limit (1000 miners need >2000 sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def build_parser() -> argparse.ArgumentParser:
    """CLI options."""
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=10, help="number of miners")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--network", help="one loopback address per miner, e.g. 127.0.1.0/24")
    where.add_argument("--host", default=None, help="all miners on this address, own ports")
    p.add_argument("--api-port", type=int, default=None, help="cgminer API port (4028)")
    p.add_argument("--web-port", type=int, default=None, help="web port (80 needs root)")
    p.add_argument("--admin-port", type=int, default=8099, help="admin JSON port, -1 = off")
    p.add_argument("--admin-host", default="127.0.0.1")
    p.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--password", default="root", help="web password of every miner")
    p.add_argument("--boot-time", type=float, default=60.0, help="boot time, simulated s")
    p.add_argument("--ramp-time", type=float, default=80.0, help="ramp time, simulated s")
    p.add_argument("--restart-time", type=float, default=8.0, help="bmminer start, sim s")
    p.add_argument("--initial-state", choices=INITIAL_STATES, default="mining")
    p.add_argument("--no-stats-brace-bug", action="store_true", help="emit valid JSON for stats")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=FRACTION",
        help=f"fault a fraction of the fleet; names: {', '.join(f.value for f in Fault)}",
    )
    p.add_argument("--slow-delay", type=float, default=2.0, help="delay of the slow fault, s")
    p.add_argument(
        "--mix",
        default="",
        metavar="KIND=SHARE,...",
        help="other firmwares for a share of the fleet (the rest are S9 on Vnish 3.9); "
        "kinds: braiins, luxos, vnish_rest, cgminer, whatsminer_v3",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


async def run(args: argparse.Namespace) -> int:
    """Start the fleet, print READY, wait for a signal, stop."""
    if args.network:
        host, default_api, default_web = "127.0.0.1", 4028, 80
    else:
        host, default_api, default_web = args.host or "127.0.0.1", 0, 0
    fleet = SimulatedFleet(
        count=args.count,
        host=host,
        network=args.network,
        api_port=default_api if args.api_port is None else args.api_port,
        web_port=default_web if args.web_port is None else args.web_port,
        clock=ScaledClock(args.time_scale),
        seed=args.seed,
        password=args.password,
        stats_brace_bug=not args.no_stats_brace_bug,
        boot_time_s=args.boot_time,
        ramp_time_s=args.ramp_time,
        restart_time_s=args.restart_time,
        initial_state=args.initial_state,
        admin_port=None if args.admin_port < 0 else args.admin_port,
        admin_host=args.admin_host,
        kinds=mix_kinds(args.count, args.mix) if args.mix else None,
    )
    rng = Random(f"faults:{args.seed}")
    for spec in args.fault:
        fault, fraction = parse_fault_spec(spec)
        params = {"delay_s": args.slow_delay} if fault is Fault.SLOW else {}
        fleet.apply_fault_fraction(fault, fraction, rng, **params)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await fleet.start()
    try:
        print(
            f"READY count={len(fleet.miners)} admin={fleet.admin_url or '-'} "
            f"startup_s={fleet.startup_s:.2f} power_w={fleet.power_w:.0f}",
            flush=True,
        )
        await stop.wait()
    finally:
        await fleet.stop()
    print("STOPPED", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    raise_open_file_limit()
    try:
        return asyncio.run(run(args))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
