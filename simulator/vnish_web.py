"""Vnish 3.9.0 web interface: the CGI scripts behind lighttpd Digest authentication.

One aiohttp application serves every miner; the miner is chosen by the local address and
port the request arrived on. Replies mimic the shell scripts byte for byte where it
matters (`ok`, `OK`, `Reboot`, and the malformed JSON of get_miner_status.cgi while
bmminer is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .digest import DigestAuth
from .faults import Fault
from .identity import (
    CGMINER_VERSION,
    FILESYSTEM_VERSION,
    KERNEL_VERSION,
    MINER_TYPE,
    MINER_VERSION,
)
from .miner import SimulatedMiner
from .physics import CHAINS, CHIPS_PER_CHAIN
from .reports import MinerReport
from .runtime import Runtime
from .web_faults import drop, mangle

_LOGGER = logging.getLogger(__name__)

USER = "root"
CONTENT_TYPE = "text/plain"
MINER_KEY = web.RequestKey("miner", SimulatedMiner)
Resolver = Callable[[str, int], SimulatedMiner | None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# reboot_cgminer.cgi holds the connection while bmminer restarts, at most this long.
REBOOT_CGMINER_MAX_HOLD_S = 60.0
_API_DOWN = "Socket connect failed: Connection refused"
_UNAUTHORIZED_BODY = (
    '<?xml version="1.0" encoding="iso-8859-1"?>\n<html>\n<head>\n'
    "<title>401 Unauthorized</title>\n</head>\n<body>\n<h1>401 Unauthorized</h1>\n"
    "</body>\n</html>\n"
)
_INDEX_HTML = (
    "<!DOCTYPE html><html><head><meta charset=utf-8><title>antMiner</title></head>"
    "<body><div id=app></div></body></html>\n"
)


def _text(body: str) -> web.Response:
    return web.Response(text=body, content_type=CONTENT_TYPE)


def _jq(value: Any) -> str:
    """Format a JSON value the way jq prints it (integral floats lose their `.0`)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


# ------------------------------------------------------------------ page builders


def busybox_uptime_token(seconds: int) -> str:
    """The third word of busybox `uptime` after its first comma became a space."""
    days, rem = divmod(seconds, 86400)
    hours, minutes = rem // 3600, rem % 3600 // 60
    if days:
        return str(days)
    if hours:
        return f"{hours}:{minutes:02d}"
    return str(minutes)


def system_info(miner: SimulatedMiner) -> str:
    """get_system_info.cgi output."""
    octets = miner.host.split(".")
    gateway = ".".join([*octets[:3], "1"])
    running = miner.bmminer_running
    wall = time.gmtime(miner.clock.wall())
    fields = {
        "minertype": MINER_TYPE,
        "nettype": "Static",
        "netdevice": "eth0",
        "macaddr": miner.mac,
        "hostname": miner.hostname,
        "ipaddress": miner.host,
        "netmask": "255.255.255.0",
        "gateway": gateway,
        "dnsservers": gateway,
        "curtime": time.strftime("%H:%M:%S", wall),
        "uptime": busybox_uptime_token(miner.uptime_s),
        "loadaverage": "0.42, 0.37, 0.35" if running else "0.03, 0.05, 0.07",
        "mem_total": "1023712",
        "mem_used": "191540" if running else "98220",
        "mem_free": "832172" if running else "925492",
        "mem_buffers": "0",
        "mem_cached": "88576",
        "system_mode": "GNU/Linux",
        # The script scrapes these from the API; with bmminer down it gets the error text.
        "ant_hwv": MINER_VERSION if running else _API_DOWN,
        "system_kernel_version": KERNEL_VERSION,
        "system_filesystem_version": FILESYSTEM_VERSION,
        "bmminer_version": CGMINER_VERSION if running else "",
    }
    lines = [f'"{k}":{json.dumps(v)},' for k, v in fields.items()]
    lines[-1] = lines[-1].rstrip(",")
    return "{\n" + "\n".join(lines) + "\n}\n"


_SUMMARY_RENAMES = (
    ("elapsed", "Elapsed"),
    ("stale", "Stale"),
    ("ghs5s", "GHS 5s"),
    ("ghsav", "GHS av"),
    ("foundblocks", "Found Blocks"),
    ("getworks ", "Getworks"),  # the firmware's key really has a trailing space
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
    ("hw", "Hardware Errors"),
    ("utility", "Utility"),
    ("discarded", "Discarded"),
    ("localwork", "Local Work"),
    ("wu", "Work Utility"),
    ("diffa", "Difficulty Accepted"),
    ("diffr", "Difficulty Rejected"),
    ("diffs", "Difficulty Stale"),
    ("bestshare", "Best Share"),
)
_SUMMARY_DROPPED = frozenset(
    {
        "Get Failures",
        "Remote Failures",
        "Network Blocks",
        "Total MH",
        "Device Hardware%",
        "Device Rejected%",
        "Pool Rejected%",
        "Pool Stale%",
        "Last getwork",
    }
) | {src for _dst, src in _SUMMARY_RENAMES}
_POOL_FIELDS = (
    ("getworks", "Getworks"),
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
    ("discarded", "Discarded"),
    ("stale", "Stale"),
    ("diff", "Diff"),
    ("diff1", "Diff1 Shares"),
    ("diffa", "Difficulty Accepted"),
    ("diffr", "Difficulty Rejected"),
    ("diffs", "Difficulty Stale"),
    ("lsdiff", "Last Share Difficulty"),
    ("lstime", "Last Share Time"),
)


def _dev_lines(chain: int, stats: dict[str, Any] | None) -> list[str]:
    """One devs item; with `stats` None every lookup comes back empty, as in the script."""

    def quoted(key: str) -> str:
        return "" if stats is None else _jq(stats[key])

    def raw(key: str) -> str:
        return "" if stats is None else _jq(stats[key])

    lines = ["{", f'"index":"{chain}",', f'"chain_acn":"{quoted(f"chain_acn{chain}")}",']
    lines.append(f'"freq":"{quoted(f"freq_avg{chain}")}",')
    lines.append(f'"freqavg":"{quoted("total_freqavg")}",')
    if chain == CHAINS[0]:
        lines += [f'"fan{n}":"{quoted(f"fan{n}")}",' for n in range(1, 9)]
    rate = "" if stats is None else _jq(float(stats[f"chain_rate{chain}"] or 0))
    lines += [
        f'"temp":"{quoted(f"temp{chain}")}",',
        f'"temp2":"{quoted(f"temp2_{chain}")}",',
        f'"hw":"{quoted(f"chain_hw{chain}")}",',
        # Documented 3.9.0 output has the chain rate as a bare number here.
        f'"rate": {rate},',
        f'"rtideal":"{quoted(f"chain_rateideal{chain}")}",',
        f'"totalideal":"{quoted("total_rateideal")}",',
        f'"totalrate":"{quoted("total_rate")}",',
        f'"totalacn":"{quoted("total_acn")}",',
        f'"chain_acs": {raw(f"chain_acs{chain}")},',
        f'"chain_bchips": {raw(f"chain_bchips{chain}")},',
        f'"chain_vol":"{quoted(f"chain_vol{chain}")}",',
        f'"chain_consumption":"{quoted(f"chain_consumption{chain}")}"',
        "}",
    ]
    return lines


def miner_status(miner: SimulatedMiner) -> str:
    """get_miner_status.cgi output, malformed exactly like the script while bmminer is down."""
    up = miner.bmminer_running
    rep = MinerReport(miner) if up else None
    lines = ["{"]
    if rep is not None:
        summary = rep.summary()[0]
        merged = {k: v for k, v in summary.items() if k not in _SUMMARY_DROPPED}
        for dst, src in _SUMMARY_RENAMES:
            merged[dst] = summary.get(src)
        lines += ['"summary":', json.dumps(merged, indent=2)]
    else:
        lines.append('"summary":')
    lines.append(",")
    lines.append('"pools": [')
    if rep is not None:
        pools = rep.pools()
        for i, pool in enumerate(pools):
            lines += ["{", f'"index": {i},']
            lines.append(f'"url":{_jq(pool["URL"].replace("stratum+tcp://", ""))},')
            lines.append(f'"user":{_jq(pool["User"])},')
            lines.append(f'"status":{_jq(pool["Status"])},')
            lines.append(f'"priority":{_jq(pool["Priority"])},')
            lines += [f'"{dst}":{_jq(pool[src])},' for dst, src in _POOL_FIELDS]
            lines += [f'"boost":{_jq(pool["Boost"])}', "}"]
            lines.append("," if i < len(pools) - 1 else "]")
    # With bmminer down the pool loop never runs, so the `[` is never closed.
    lines += [",", '"devs": [']
    stats = rep.stats()[1] if rep is not None else None
    for i, chain in enumerate(CHAINS):
        if i:
            lines.append(",")
        lines += _dev_lines(chain, stats)
    lines += ["]", "}"]
    return "\n".join(lines) + "\n"


def chip_hashrates(miner: SimulatedMiner) -> str:
    """chip_hr.json: per-chip GH/s strings, one object per chain."""
    rep = MinerReport(miner) if miner.bmminer_running else None
    chains = []
    for i in range(len(CHAINS)):
        per_chip = rep.chain_rate[i] / CHIPS_PER_CHAIN if rep is not None else 0.0
        chips = {
            f"Asic{c:02d}": str(round(per_chip * (1 + miner.rng.uniform(-0.06, 0.06))))
            if per_chip
            else "0"
            for c in range(CHIPS_PER_CHAIN)
        }
        chains.append(chips)
    return json.dumps({"chiphr": chains}, indent=0) + "\n"


def _first_form_value(body: str, name: str) -> str:
    """The firmware reads only the first form item and strips `name=` from it."""
    items = body.replace("&", " ").split()
    return items[0].replace(f"{name}=", "", 1) if items else ""


# ------------------------------------------------------------------ the application


class VnishWeb:
    """aiohttp application serving the CGI endpoints of every miner in a fleet."""

    def __init__(self, resolve: Resolver, runtime: Runtime) -> None:
        self.resolve = resolve
        self.runtime = runtime
        self.auth = DigestAuth()
        self.app = web.Application(middlewares=[self._middleware])
        routes = {
            "get_system_info.cgi": self.get_system_info,
            "get_miner_conf.cgi": self.get_miner_conf,
            "get_miner_status.cgi": self.get_miner_status,
            "set_miner_conf_custom.cgi": self.set_miner_conf_custom,
            "stop_bmminer.cgi": self.stop_bmminer,
            "kill_bmminer.cgi": self.kill_bmminer,
            "do_sleep_mode.cgi": self.do_sleep_mode,
            "reboot_cgminer.cgi": self.reboot_cgminer,
            "reboot.cgi": self.reboot,
            "check.cgi": self.check,
            "chip_hr.json": self.chip_hr,
            "volt.cgi": self.volt,
        }
        for name, handler in routes.items():
            self.app.router.add_route("*", f"/cgi-bin/{name}", handler)
        self.app.router.add_get("/", self.index)
        self.app.router.add_get("/index.html", self.index)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with self.runtime.track():
            transport = request.transport
            sockname = transport.get_extra_info("sockname") if transport else None
            miner = self.resolve(sockname[0], sockname[1]) if sockname else None
            if miner is None or not miner.web_up:
                return drop(request)
            if Fault.OFFLINE in miner.faults:  # web_up implies the hanging variant
                await self.runtime.hang()
                return drop(request)
            auth_header = request.headers.get("Authorization")
            if not self.auth.verify(
                request.method, request.raw_path, auth_header, USER, miner.effective_password
            ):
                return web.Response(
                    status=401,
                    text=_UNAUTHORIZED_BODY,
                    content_type="text/html",
                    headers={"WWW-Authenticate": self.auth.challenge()},
                )
            if Fault.SLOW in miner.faults and not await self.runtime.pause(miner.faults.delay_s):
                return drop(request)
            request[MINER_KEY] = miner
            response = await handler(request)
            return await mangle(request, miner, response)

    # ------------------------------------------------------------ CGI handlers

    async def index(self, request: web.Request) -> web.Response:
        """The SPA shell."""
        return web.Response(text=_INDEX_HTML, content_type="text/html")

    async def get_system_info(self, request: web.Request) -> web.Response:
        """System and network facts."""
        return _text(system_info(request[MINER_KEY]))

    async def get_miner_conf(self, request: web.Request) -> web.Response:
        """The raw bmminer.conf."""
        return _text(request[MINER_KEY].config_text)

    async def get_miner_status(self, request: web.Request) -> web.Response:
        """Summary, pools and devs scraped from the API."""
        return _text(miner_status(request[MINER_KEY]))

    async def set_miner_conf_custom(self, request: web.Request) -> web.Response:
        """Rewrite bmminer.conf from 50 positional fields; restart unless presaving."""
        body = await request.text()
        request[MINER_KEY].apply_custom_conf(body)
        return _text("ok\n")

    async def stop_bmminer(self, request: web.Request) -> web.Response:
        """Kill bmminer and keep it down."""
        request[MINER_KEY].stop_bmminer()
        return _text("ok\n")

    async def kill_bmminer(self, request: web.Request) -> web.Response:
        """Kill bmminer."""
        request[MINER_KEY].stop_bmminer()
        return _text("ok\n")

    async def do_sleep_mode(self, request: web.Request) -> web.StreamResponse:
        """mode=1: sleep via the API; mode=0: full reboot. Replies OK either way."""
        miner: SimulatedMiner = request[MINER_KEY]
        mode = _first_form_value(await request.text(), "mode")
        if mode == "1":
            # The script pipes `dosleep|1` into port 4028: nothing happens if it is closed.
            if miner.bmminer_running:
                miner.sleep()
            return _text("OK\n")
        if mode == "0":
            return await self._reply_then(request, "OK\n", miner.reboot)
        return _text("OK\n")

    async def reboot_cgminer(self, request: web.Request) -> web.Response:
        """Restart bmminer; the script prints nothing and the reply only comes late."""
        miner: SimulatedMiner = request[MINER_KEY]
        miner.restart_bmminer()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REBOOT_CGMINER_MAX_HOLD_S):
                while miner.machine_state == "restarting" and not self.runtime.stopping.is_set():
                    waiter = asyncio.ensure_future(miner.wait_state_change())
                    stop = asyncio.ensure_future(self.runtime.stopping.wait())
                    try:
                        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        waiter.cancel()
                        stop.cancel()
        return _text("")

    async def reboot(self, request: web.Request) -> web.StreamResponse:
        """Print Reboot, then reboot."""
        miner: SimulatedMiner = request[MINER_KEY]
        return await self._reply_then(request, "Reboot\n", miner.reboot)

    async def check(self, request: web.Request) -> web.Response:
        """Heartbeat."""
        return _text("1\n")

    async def chip_hr(self, request: web.Request) -> web.Response:
        """Per-chip hashrates."""
        return _text(chip_hashrates(request[MINER_KEY]))

    async def volt(self, request: web.Request) -> web.Response:
        """Live voltage change through the API (`volt|N`)."""
        miner: SimulatedMiner = request[MINER_KEY]
        value = _first_form_value(await request.text(), "voltage")
        if miner.bmminer_running and value.isdigit():
            miner.set_live_voltage(int(value))
        return _text("Set new voltage \n")

    async def _reply_then(
        self, request: web.Request, body: str, action: Callable[[], None]
    ) -> web.StreamResponse:
        """Send the reply completely, then run an action that takes the web server down."""
        miner: SimulatedMiner = request[MINER_KEY]
        payload = body.encode()
        if Fault.GARBAGE in miner.faults or Fault.TRUNCATED in miner.faults:
            action()
            return drop(request)
        response = web.StreamResponse()
        response.content_type = CONTENT_TYPE
        response.content_length = len(payload)
        response.force_close()
        await response.prepare(request)
        await response.write(payload)
        await response.write_eof()
        action()
        return response
