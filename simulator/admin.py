"""Small JSON admin endpoint: ground-truth power and runtime fault switching.

GET  /                      fleet summary and every miner
GET  /machine-states        how many miners are in each machine state
GET  /machine-states/wait?state=sleeping&until=none|all[&timeout_s=60]
                            answers once no miner (or every miner) is in that machine state
GET  /miners/{index}        one miner
POST /miners/{index}/faults {"fault": "slow", "enabled": true, "delay_s": 2.0}
POST /miners/{index}/action {"action": "sleep" | "stop" | "restart" | "reboot"}
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .faults import Fault
from .miner import SimulatedMiner
from .modern import ModernMiner

if TYPE_CHECKING:
    from .fleet import SimulatedFleet


def miner_json(miner: SimulatedMiner) -> dict[str, Any]:
    """Ground-truth view of one miner."""
    return {
        "index": miner.index,
        "host": miner.host,
        "api_port": miner.api_port,
        "web_port": miner.web_port,
        "mac": miner.mac,
        "hostname": miner.hostname,
        "state": miner.state,
        "machine_state": miner.machine_state,
        "frequency_mhz": round(miner.frequency_mhz, 1),
        "power_w": round(miner.power_w, 1),
        "hashrate_ths": round(miner.hashrate_ths, 3),
        "chip_temp_c": round(miner.chip_temp_c, 1),
        "faults": sorted(f.value for f in miner.faults.active),
    }


class AdminServer:
    """aiohttp app on its own port, bound to the admin host only."""

    def __init__(self, fleet: SimulatedFleet, host: str, port: int) -> None:
        self.fleet = fleet
        self.host = host
        self.port = port
        self.app = web.Application()
        self.app.router.add_get("/", self.index)
        self.app.router.add_get("/machine-states", self.machine_states)
        self.app.router.add_get("/machine-states/wait", self.wait_machine_states)
        self.app.router.add_get("/miners/{index}", self.one)
        self.app.router.add_post("/miners/{index}/faults", self.faults)
        self.app.router.add_post("/miners/{index}/action", self.action)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve."""
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])

    async def stop(self) -> None:
        """Close the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _miner(self, request: web.Request) -> SimulatedMiner:
        try:
            return self.fleet.miners[int(request.match_info["index"])]
        except ValueError, IndexError:
            raise web.HTTPNotFound(text="no such miner") from None

    async def index(self, request: web.Request) -> web.Response:
        """Fleet totals and all miners."""
        miners = [miner_json(m) for m in self.fleet.miners]
        return web.json_response(
            {
                "count": len(miners),
                "time_s": round(self.fleet.clock.now(), 3),
                "power_w": round(sum(m["power_w"] for m in miners), 1),
                "hashrate_ths": round(sum(m["hashrate_ths"] for m in miners), 3),
                "states": self.fleet.state_counts(),
                "miners": miners,
            }
        )

    async def machine_states(self, request: web.Request) -> web.Response:
        """Counts by machine state only: a benchmark polls this while miners are told, and
        the full index (every miner's JSON, about 275 kB at 1,000 miners) would compete with
        the miners' own replies for the simulator's loop."""
        counts: dict[str, int] = {}
        for miner in self.fleet.miners:
            state = miner.machine_state
            counts[state] = counts.get(state, 0) + 1
        return web.json_response({"count": len(self.fleet.miners), "machine_states": counts})

    async def wait_machine_states(self, request: web.Request) -> web.Response:
        """Hold the request until no miner (`until=none`) or every miner (`until=all`) is in
        `state`. Only the miners not there yet are looked at again, every 10 ms: a benchmark
        waiting for a thousand miners to be told costs the simulator one pass over the fleet,
        not one per look."""
        state = request.query.get("state", "")
        until = request.query.get("until", "none")
        if until not in ("none", "all"):
            raise web.HTTPBadRequest(text="until must be none or all")
        try:
            timeout_s = float(request.query.get("timeout_s", "60"))
        except ValueError:
            raise web.HTTPBadRequest(text="timeout_s must be a number") from None
        in_state = until == "none"  # which miners are not there yet
        pending = [m for m in self.fleet.miners if (m.machine_state == state) is in_state]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending and loop.time() < deadline:
            await asyncio.sleep(0.01)
            pending = [m for m in pending if (m.machine_state == state) is in_state]
        return web.json_response({"done": not pending, "pending": len(pending)})

    async def one(self, request: web.Request) -> web.Response:
        """A single miner."""
        return web.json_response(miner_json(self._miner(request)))

    async def faults(self, request: web.Request) -> web.Response:
        """Switch a fault on or off."""
        miner = self._miner(request)
        data = await request.json()
        try:
            fault = Fault(str(data["fault"]).lower())
        except KeyError, ValueError:
            raise web.HTTPBadRequest(text="unknown fault") from None
        if data.get("enabled", True):
            miner.set_fault(
                fault,
                delay_s=data.get("delay_s"),
                powered=data.get("powered"),
                hang=data.get("hang"),
                dead_chain=data.get("dead_chain"),
            )
        else:
            miner.clear_fault(fault)
        await self.fleet.sync()
        return web.json_response(miner_json(miner))

    async def action(self, request: web.Request) -> web.Response:
        """Drive a miner directly (handy for demos)."""
        miner = self._miner(request)
        data = await request.json()
        if isinstance(miner, ModernMiner):
            actions = {"sleep": miner.pause, "resume": miner.resume, "reboot": miner.reboot}
        else:
            actions = {
                "sleep": miner.sleep,
                "stop": miner.stop_bmminer,
                "restart": miner.restart_bmminer,
                "reboot": miner.reboot,
            }
        name = str(data.get("action", ""))
        if name not in actions:
            raise web.HTTPBadRequest(text=f"action must be one of {sorted(actions)}")
        actions[name]()
        await self.fleet.sync()
        return web.json_response(miner_json(miner))
