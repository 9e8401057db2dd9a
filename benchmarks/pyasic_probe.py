"""What pyasic makes of miners on given addresses; runs in pyasic's own environment.

Not part of the project: `benchmarks.independent` starts it with a Python that has pyasic
installed (never a project dependency) and reads one JSON object per address from stdout.
Only pyasic and the standard library are imported here. Per address it reports the firmware
pyasic recognises from the web page and from the cgminer API on its own (its factory's two
probes), the class `get_miner` settles on, and the power and hashrate it reads. With `--set-power
ADDRESS=WATTS` it then asks pyasic to set that miner's power limit (after all reads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

MAX_ERROR_CHARS = 160


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:MAX_ERROR_CHARS]


async def _read(address: str) -> dict[str, Any]:
    from pyasic.miners.factory import MinerFactory  # type: ignore[import-not-found]  # noqa: PLC0415

    factory = MinerFactory()
    web = await factory._get_miner_web(address)
    socket = await factory._get_miner_socket(address)
    miner = await factory.get_miner(address)
    found: dict[str, Any] = {
        "address": address,
        "web": getattr(web, "name", None),
        "api": getattr(socket, "name", None),
        "class": type(miner).__name__ if miner is not None else None,
    }
    if miner is None:
        return found
    try:
        found["watts"] = await miner.get_wattage()
    except Exception as err:  # pyasic raises whatever its transports raise
        found["watts_error"] = _error(err)
    try:
        rate = await miner.get_hashrate()
        found["ths"] = float(rate.into(rate.unit.TH)) if rate is not None else None
    except Exception as err:
        found["ths_error"] = _error(err)
    return found


async def _set_power(address: str, watts: int) -> dict[str, Any]:
    from pyasic.miners.factory import MinerFactory  # noqa: PLC0415

    miner = await MinerFactory().get_miner(address)
    result: dict[str, Any] = {"address": address, "set_power": watts}
    try:
        result["accepted"] = bool(await miner.set_power_limit(watts))
    except Exception as err:
        result["error"] = _error(err)
    return result


async def main() -> None:
    """Read every address, then make the power changes asked for; one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("addresses", nargs="*")
    parser.add_argument("--set-power", action="append", default=[], metavar="ADDRESS=WATTS")
    args = parser.parse_args()
    for address in args.addresses:
        print(json.dumps(await _read(address)), flush=True)
    for spec in args.set_power:
        address, _, watts = spec.partition("=")
        print(json.dumps(await _set_power(address, int(watts))), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
