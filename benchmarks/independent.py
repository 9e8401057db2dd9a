"""An independent client against the simulator: does pyasic take each personality for its firmware?

Runs by hand (`scripts/check_pyasic`), never in CI. One miner of every personality listens on
its own loopback address with the ports pyasic assumes (API 4028, web 80, so it needs root),
on a stopped clock. pyasic (0.79, in an environment of its own: never a project dependency)
runs in a child process (`benchmarks.pyasic_probe`) and reports, per miner, the firmware it
recognises from the web page and from the API, the class it picks, and the power and hashrate
it reads; then it sets a LuxOS miner's power limit. Here those are held against what the
simulator knows: the sign pyasic uses for that firmware must be found, and every power or
hashrate pyasic does read must be within `--tolerance` of the ground truth.

Usage: `python -m benchmarks.independent --pyasic /tmp/pyasic-venv/bin/python`. The last line
printed is a JSON object with the results; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator import ManualClock, SimulatedFleet
from simulator.luxos_miner import PROFILES, LuxosMiner

NETWORK = "127.0.31.0/28"
PROBE = Path(__file__).with_name("pyasic_probe.py")


@dataclass(frozen=True, slots=True)
class Expected:
    """What pyasic should make of one personality: its signs, per probe (None: no sign)."""

    kind: str
    web: str | None  # pyasic's MinerTypes name from the web page
    api: str | None  # ... from the cgminer API on port 4028
    note: str = ""


EXPECTED = (
    # pyasic takes Vnish 3.9 on an S9 for a stock Antminer: the web realm and `Type` say so.
    Expected("vnish_s9", "ANTMINER", "ANTMINER", "pyasic has no Vnish 3.9 (S9) class"),
    Expected("braiins", "BRAIINS_OS", "BRAIINS_OS", "pyasic reads power over gRPC (50051)"),
    Expected("luxos", "LUX_OS", "LUX_OS", "pyasic 0.79 returns no LuxOS hashrate"),
    # pyasic checks "Antminer" before "Vnish" in an API reply that is not `devdetails`.
    Expected("vnish_rest", "VNISH", "ANTMINER", "API `version` names the Antminer first"),
    Expected("cgminer", None, "WHATSMINER", "a Whatsminer M30S on stock btminer"),
)


async def run(pyasic: str, tolerance: float) -> dict[str, Any]:
    """Start the fleet, let pyasic probe it, hold its answers against the ground truth."""
    kinds = [e.kind for e in EXPECTED]
    fleet = SimulatedFleet(
        count=len(kinds),
        kinds=kinds,
        network=NETWORK,
        api_port=4028,
        web_port=80,
        clock=ManualClock(),
        seed=5,
        jitter=0.0,
    )
    await fleet.start()
    try:
        truth = {m.host: (m.power_w, m.hashrate_ths) for m in fleet.miners}
        luxos = next(m for m in fleet.miners if isinstance(m, LuxosMiner))
        target = next(p for p in PROFILES if p.name != luxos.profile.name)
        args = [str(PROBE), *truth, "--set-power", f"{luxos.host}={target.watts:.0f}"]
        child = await asyncio.create_subprocess_exec(
            pyasic, "-W", "ignore", *args, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await child.communicate()
        answers = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        profile_after = luxos.profile.name
    finally:
        await fleet.stop()
    reads = {a["address"]: a for a in answers if "set_power" not in a}
    results = []
    for expected, miner in zip(EXPECTED, fleet.miners, strict=True):
        seen = reads.get(miner.host, {})
        watts, ths = truth[miner.host]
        results.append(
            {
                "kind": expected.kind,
                "class": seen.get("class"),
                "web": _sign(seen.get("web"), expected.web),
                "api": _sign(seen.get("api"), expected.api),
                "power": _within(seen.get("watts"), watts, tolerance, seen.get("watts_error")),
                "hashrate": _within(seen.get("ths"), ths, tolerance, seen.get("ths_error")),
                "note": expected.note,
            }
        )
    writes = [a for a in answers if "set_power" in a]
    for write in writes:
        write["profile_after"] = profile_after
        write["ok"] = bool(write.get("accepted")) and profile_after == target.name
    return {"tolerance": tolerance, "miners": results, "writes": writes}


def _sign(found: str | None, expected: str | None) -> dict[str, Any]:
    return {"found": found, "expected": expected, "ok": found == expected}


def _within(read: float | None, truth: float, tolerance: float, error: str | None) -> Any:
    if read is None:
        return {"read": None, "truth": round(truth, 2), "ok": None, "why": error or "not read"}
    off = abs(read - truth) / truth if truth else abs(read)
    return {"read": read, "truth": round(truth, 2), "off": round(off, 4), "ok": off <= tolerance}


def _failed(report: dict[str, Any]) -> list[str]:
    failed = []
    for miner in report["miners"]:
        for check in ("web", "api", "power", "hashrate"):
            if miner[check]["ok"] is False:
                failed.append(f"{miner['kind']} {check}")
    failed += [f"set power {w['address']}" for w in report["writes"] if not w["ok"]]
    return failed


def main() -> None:
    """Run the check and print a table, then the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyasic", default="/tmp/pyasic-venv/bin/python")
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args()
    report = asyncio.run(run(args.pyasic, args.tolerance))
    for m in report["miners"]:
        power, rate = m["power"], m["hashrate"]
        print(
            f"{m['kind']:<11} {m['class'] or '-':<18} web {m['web']['found']} "
            f"api {m['api']['found']} power {power.get('off', power.get('why'))} "
            f"hashrate {rate.get('off', rate.get('why'))}"
        )
    for w in report["writes"]:
        print(f"set power {w['set_power']} W on {w['address']}: {w}")
    report["failed"] = _failed(report)
    print(json.dumps(report))
    sys.exit(1 if report["failed"] else 0)


if __name__ == "__main__":
    main()
