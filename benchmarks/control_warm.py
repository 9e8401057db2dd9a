#!/usr/bin/env python3
"""Control benchmark on a fleet that already knows itself, next to the same fleet fresh.

`scripts/bench control` starts every scenario with a fleet the controller has never seen mine:
each miner's own draw (a few per cent off the power curve) is learnt only once it mines steadily,
and in frequency mode the error that remains is then trimmed by one more restart and ramp. This
benchmark runs the same step scenarios twice per mode, on the same simulated fleet and seed:

  cold  as `scripts/bench control`
  warm  after a warm-up pass (the whole fleet run at full power until every miner's draw is
        learnt, then put to sleep), as a fleet that has been in service for a while is

and reports the figures per step, plus every transition the run sent (wakes, sleeps, frequency
changes), so the cost of spare wakes in scenario c shows.

Prints progress to stderr and one JSON line with every figure to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any

import aiohttp

from benchmarks.control import (
    POLL_S,
    WAKE_TIME_S,
    Run,
    compact,
    scenario_steps,
    start_run,
    stop_run,
)
from custom_components.net_stabilization.core.fleet import PowerMode

WARM_LIMIT_S = 2 * WAKE_TIME_S + 300.0


async def warm_up(run: Run) -> dict[str, Any]:
    """Run the whole fleet at full power until every miner's draw is learnt, then sleep it."""
    controller = run.controller
    started = run.fleet.clock.now()
    await run.command(controller.snapshot.rated_power_kw)
    macs = controller.macs
    while run.fleet.clock.now() - started < WARM_LIMIT_S:
        await run.step()
        if all(controller.power_scale(mac) != 1.0 for mac in macs):
            break
    calibrated = sum(1 for mac in macs if controller.power_scale(mac) != 1.0)
    await run.command(0.0)
    await run.hold(60.0)
    return {
        "calibrated_miners": f"{calibrated}/{len(macs)}",
        "warm_up_s": round(run.fleet.clock.now() - started, 1),
    }


async def one_run(
    scenario: str, mode: PowerMode, warm: bool, args: argparse.Namespace, session: Any
) -> dict[str, Any]:
    failing = 0.3 if scenario == "c" else 0.0
    run = await start_run(args.miners, mode, args.seed, failing, session)
    try:
        figures: dict[str, Any] = {}
        if warm:
            figures.update(await warm_up(run))
        before = dict(run.counter)
        figures.update(await scenario_steps(run, [0.5, 1.0, 0.2, 0.0], args.hold))
        figures["transitions"] = {k: run.counter[k] - before[k] for k in run.counter}
        figures["settle_s_per_step"] = [
            s.get("settle_s") for s in figures["steps"] if s.get("target_kw")
        ]
    finally:
        await stop_run(run)
    return figures


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--miners", type=int, default=100)
    parser.add_argument("--scenarios", default="a,c", help="step scenarios: a, c")
    parser.add_argument("--modes", default="frequency,on_off")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hold", type=float, default=900.0, help="simulated seconds per step")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.miners + 1024)), hard))

    results: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for scenario in args.scenarios.split(","):
            if scenario not in ("a", "c"):
                parser.error(f"unknown step scenario {scenario!r}")
            for mode_name in args.modes.split(","):
                mode = PowerMode(mode_name)
                for fleet in ("cold", "warm"):
                    figures = await one_run(scenario, mode, fleet == "warm", args, session)
                    key = f"{scenario}/{mode_name}/{fleet}"
                    results[key] = figures
                    print(f"seed {args.seed} {key}: {compact(figures)}", file=sys.stderr)
    print(
        json.dumps(
            {
                "bench": "control_warm",
                "miners": args.miners,
                "poll_s": POLL_S,
                "seed": args.seed,
                "real_s": round(time.perf_counter() - started, 1),
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
