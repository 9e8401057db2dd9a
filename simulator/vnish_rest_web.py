"""Vnish REST firmware web server (AnthillOS UI): `/api/v1/*` JSON behind a bearer token.

One aiohttp application serves every miner of this kind; the miner is chosen by the local
address and port the request arrived on. Reply shapes follow the firmware's API documentation;
faults are served as the S9 web interface serves them (SLOW, TRUNCATED, GARBAGE,
WRONG_PASSWORD, and OFFLINE with `hang=True`).

The token is accepted raw or as `Bearer <token>` (pyasic sends it raw; a real 1.2.1 unit took
it so). Assumptions: a refusal (`{"err": ...}`) comes with HTTP 500; a wrong password at
`unlock` with 403; a missing or forgotten token with 401; a sensitive write without the API key
a miner was given with 403. `info` and `status` need no token, as documented.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .faults import Fault
from .runtime import Runtime
from .vnish_rest_miner import (
    CHIPS_PER_BOARD,
    FIRMWARE_VERSION,
    MINER_TYPE,
    MODEL,
    MODEL_ID,
    VnishRestMiner,
)
from .web_faults import drop, mangle

MINER_KEY = web.RequestKey("vnish_rest_miner", VnishRestMiner)
Resolver = Callable[[str, int], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API = "/api/v1"
_PUBLIC = frozenset({f"{API}/unlock", f"{API}/info", f"{API}/status"})
# The UI's single page; discovery looks for the firmware's name in it.
INDEX_HTML = (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>AnthillOS</title>"
    '<script type=module src="/assets/index.js"></script></head>'
    "<body><div id=app></div></body></html>\n"
)
_SETTINGS_REPLY = {"restart_required": False, "reboot_required": False}
# Writes that some builds guard with an API key (`x-api-key`).
_SENSITIVE = frozenset({f"{API}/settings", f"{API}/system/reboot"})
_MAX_BODY = 64 * 1024


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(value).encode(), status=status, content_type="application/json"
    )


def _empty() -> web.Response:
    return web.Response(status=200)


def _refused(message: str) -> web.Response:
    return _json({"err": message}, status=500)


def _range(values: list[float]) -> dict[str, int]:
    if not values:
        return {"min": 0, "max": 0}
    return {"min": round(min(values)), "max": round(max(values))}


# ------------------------------------------------------------------ replies


def info(miner: VnishRestMiner) -> dict[str, Any]:
    """`GET info`."""
    gateway = ".".join([*miner.host.split(".")[:3], "1"])
    minutes = miner.uptime_s // 60
    days, rem = divmod(minutes, 1440)
    uptime = f"{days} days, {rem // 60}:{rem % 60:02d}" if days else f"{rem // 60}:{rem % 60:02d}"
    return {
        "miner": MODEL,
        "model": MODEL_ID,
        "fw_name": "Vnish",
        "fw_version": FIRMWARE_VERSION,
        "platform": "xil",
        "install_type": "nand",
        "algorithm": "sha256d",
        "hr_measure": "GH/s",
        "system": {
            "os": "GNU/Linux",
            "miner_name": MODEL_ID,
            "network_status": {
                "mac": miner.mac,
                "dhcp": False,
                "ip": miner.host,
                "netmask": "255.255.255.0",
                "gateway": gateway,
                "dns": [gateway],
                "hostname": miner.hostname,
            },
            "uptime": uptime,
        },
        "serial": miner.serial,
    }


def status(miner: VnishRestMiner) -> dict[str, Any]:
    """`GET status` (and `summary`'s `miner_status`, with the extra flags)."""
    reply: dict[str, Any] = {
        "miner_state": miner.firmware_state,
        "miner_state_time": miner.state_time_s,
    }
    if reply["miner_state"] == "failure":
        reply["description"] = miner.last_error or "Miner initialization failed"
        reply["failure_code"] = 1101
    return reply


def summary(miner: VnishRestMiner) -> dict[str, Any]:
    """`GET summary`: hashrates in GH/s (`hr_measure`) except `instant_hashrate` (TH/s)."""
    ths = miner.hashrate_ths
    hashing = miner.hashing
    # The firmware estimates the hash boards' draw; with the boards off it says 0.
    watts = round(miner.power_w) if hashing else 0
    chip = miner.board_chip_temps()
    pcb = miner.board_temps()
    per_board_ths = miner.board_hashrates_ths()
    mhz = miner.frequency_mhz
    chains = [
        {
            "id": i + 1,
            "frequency": mhz,
            "voltage": 1320 if hashing else 0,
            "power_consumption": round(watts / len(chip)),
            "hashrate_ideal": round(per_board_ths[i] * 1000.0, 2),
            "hashrate_rt": round(per_board_ths[i] * 1000.0, 2),
            "hashrate_percentage": 100.0 if hashing else 0.0,
            "hw_errors": 0,
            "pcb_temp": _range([pcb[i]]) if hashing else {"min": 0, "max": 0},
            "chip_temp": _range([chip[i]]) if hashing else {"min": 0, "max": 0},
            "chip_statuses": {"red": 0, "orange": 0, "green": CHIPS_PER_BOARD},
            "status": {"state": "mining" if hashing else miner.firmware_state},
        }
        for i in range(len(chip))
    ]
    fans = [
        {"id": i, "rpm": rpm, "status": "ok", "max_rpm": 6000}
        for i, rpm in enumerate(miner.fan_rpms())
    ]
    return {
        "miner": {
            "miner_status": status(miner),
            "miner_type": MINER_TYPE,
            "hr_stock": miner.spec.nominal_ths * 1000.0,
            "average_hashrate": round(ths, 2),
            "instant_hashrate": round(ths, 2),
            "hr_realtime": round(ths * 1000.0, 2),
            "hr_nominal": round(miner.spec.hashrate_ths(miner.target_w) * 1000.0, 2),
            "hr_average": round(ths * 1000.0, 2),
            "pcb_temp": _range(pcb) if hashing else {"min": 0, "max": 0},
            "chip_temp": _range(chip) if hashing else {"min": 0, "max": 0},
            "power_consumption": watts,
            "power_usage": watts,
            "power_efficiency": round(watts / ths, 1) if ths else 0.0,
            "hw_errors_percent": 0.0,
            "hw_errors": 0,
            "devfee_percent": 2.8,
            "pools": [
                {
                    "id": 0,
                    "url": "stratum+tcp://pool.example:3333",
                    "pool_type": "UserPool",
                    "user": "wallet.worker",
                    "status": "active" if hashing else "offline",
                    "accepted": int(miner.total_th // 1000),
                    "rejected": 0,
                }
            ],
            "cooling": {
                "fan_num": len(fans),
                "fans": fans,
                "settings": {"mode": {"name": "auto"}},
                "fan_duty": 70 if hashing else 10,
            },
            "chains": chains,
            "found_blocks": 0,
            "best_share": 0,
        },
        "system": {"network_status": {"mac": miner.mac, "hostname": miner.hostname}},
    }


def settings(miner: VnishRestMiner) -> dict[str, Any]:
    """`GET settings`: the part a client reads (the preset in force, cooling, pools)."""
    return {
        "miner": {
            "overclock": {"preset": miner.preset, "globals": {"volt": 1320, "freq": 525}},
            "cooling": {"mode": {"name": "auto", "param": 65}},
            "pools": [{"url": "stratum+tcp://pool.example:3333", "user": "wallet.worker"}],
        }
    }


def presets(miner: VnishRestMiner) -> list[dict[str, Any]]:
    """`GET autotune/presets`: the stock clock first, then the power presets."""
    entries: list[dict[str, Any]] = [
        {
            "name": "disabled",
            "pretty": "Disabled",
            "status": "untuned",
            "modded_psu_required": False,
        }
    ]
    entries += [
        {
            "name": p.name,
            "pretty": f"{p.name} watt ~ {p.ths:g} TH",
            "status": "tuned" if p.tuned else "untuned",
            "modded_psu_required": False,
        }
        for p in miner.presets.values()
    ]
    return entries


# ------------------------------------------------------------------ the application


class VnishRestWeb:
    """aiohttp application serving the REST API of every miner of this kind."""

    def __init__(self, resolve: Resolver, runtime: Runtime) -> None:
        self.resolve = resolve
        self.runtime = runtime
        self.app = web.Application(middlewares=[self._middleware], client_max_size=_MAX_BODY)
        routes = self.app.router
        routes.add_get("/", self.index)
        routes.add_get("/index.html", self.index)
        routes.add_post(f"{API}/unlock", self.unlock)
        routes.add_get(f"{API}/info", self.get(info))
        routes.add_get(f"{API}/status", self.get(status))
        routes.add_get(f"{API}/summary", self.get(summary))
        routes.add_get(f"{API}/settings", self.get(settings))
        routes.add_get(f"{API}/autotune/presets", self.get(presets))
        routes.add_post(f"{API}/settings", self.post_settings)
        routes.add_post(f"{API}/mining/{{action}}", self.mining)
        routes.add_post(f"{API}/system/reboot", self.reboot)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with self.runtime.track():
            transport = request.transport
            sockname = transport.get_extra_info("sockname") if transport else None
            miner = self.resolve(sockname[0], sockname[1]) if sockname else None
            if not isinstance(miner, VnishRestMiner) or not miner.wanted_listeners()[1]:
                return drop(request)
            if Fault.OFFLINE in miner.faults:  # web up implies the hanging variant
                await self.runtime.hang()
                return drop(request)
            path = request.path
            if (
                path.startswith(f"{API}/")
                and path not in _PUBLIC
                and not miner.token_valid(request.headers.get("Authorization"))
            ):
                return _json({"err": "Unauthorized"}, status=401)
            if (
                request.method == "POST"
                and path in _SENSITIVE
                and not miner.api_key_valid(request.headers.get("x-api-key"))
            ):
                return _json({"err": "API key required"}, status=403)
            if Fault.SLOW in miner.faults and not await self.runtime.pause(miner.faults.delay_s):
                return drop(request)
            request[MINER_KEY] = miner
            response = await handler(request)
            return await mangle(request, miner, response)

    @staticmethod
    def get(build: Callable[[VnishRestMiner], Any]) -> Handler:
        """A GET handler answering with `build(miner)` as JSON."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return _json(build(request[MINER_KEY]))

        return handler

    async def index(self, request: web.Request) -> web.Response:
        """The UI's single page."""
        return web.Response(text=INDEX_HTML, content_type="text/html")

    async def unlock(self, request: web.Request) -> web.Response:
        """`{"pw": ...}` -> `{"token": ...}`."""
        body = await _body(request)
        token = request[MINER_KEY].unlock(body.get("pw") if isinstance(body, dict) else None)
        if token is None:
            return _json({"err": "Wrong password"}, status=403)
        return _json({"token": token})

    async def post_settings(self, request: web.Request) -> web.Response:
        """Save settings; the reply is the same whether the preset was taken or not."""
        body = await _body(request)
        if not isinstance(body, dict):
            return _json({"err": "Invalid settings"}, status=400)
        miner = body.get("miner")
        overclock = miner.get("overclock") if isinstance(miner, dict) else None
        if isinstance(overclock, dict) and "preset" in overclock:
            request[MINER_KEY].apply_preset(overclock["preset"])
        return _json(_SETTINGS_REPLY)

    async def mining(self, request: web.Request) -> web.Response:
        """`mining/pause|resume|stop|start|restart`: empty on success, `{"err"}` if refused."""
        miner: VnishRestMiner = request[MINER_KEY]
        actions = {
            "pause": miner.fw_pause,
            "resume": miner.fw_resume,
            "stop": miner.fw_stop,
            "start": miner.fw_start,
            "restart": miner.fw_restart,
        }
        action = actions.get(request.match_info["action"])
        if action is None:
            return _json({"err": "Not found"}, status=404)
        refusal = action()
        return _empty() if refusal is None else _refused(refusal)

    async def reboot(self, request: web.Request) -> web.StreamResponse:
        """Answer completely, then reboot (the port closes with it)."""
        miner: VnishRestMiner = request[MINER_KEY]
        if Fault.GARBAGE in miner.faults or Fault.TRUNCATED in miner.faults:
            miner.fw_reboot()
            return drop(request)
        response = web.StreamResponse()
        response.content_length = 0
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        miner.fw_reboot()
        return response


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError, RecursionError:
        return None
