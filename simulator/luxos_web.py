"""The LuxOS web interface's front page, served on the web port of every LuxOS miner.

LuxOS ships a web dashboard; pyasic 0.79 recognises the firmware by the words "Luxor Firmware"
in the page at `/` (`miners/factory.py`). Only that page is served: the dashboard's own API is
not modelled (the driver and pyasic use port 4028). The page's markup beyond those words is an
assumption. The port follows the control board: up while it runs, curtailed or not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .faults import Fault
from .luxos_miner import LuxosMiner
from .runtime import Runtime
from .web_faults import drop, mangle

Resolver = Callable[[str, int], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INDEX_HTML = (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>LuxOS</title></head>"
    "<body><noscript>Luxor Firmware needs JavaScript.</noscript><div id=root></div></body>"
    "</html>\n"
)


def web_app(resolve: Resolver, runtime: Runtime) -> web.Application:
    """The front page of every LuxOS miner of a fleet (the miner found by address and port)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        with runtime.track():
            transport = request.transport
            sockname = transport.get_extra_info("sockname") if transport else None
            miner = resolve(sockname[0], sockname[1]) if sockname else None
            if not isinstance(miner, LuxosMiner) or not miner.wanted_listeners()[1]:
                return drop(request)
            if Fault.OFFLINE in miner.faults:  # the port is open only in the hanging variant
                await runtime.hang()
                return drop(request)
            if Fault.SLOW in miner.faults and not await runtime.pause(miner.faults.delay_s):
                return drop(request)
            return await mangle(request, miner, await handler(request))

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=INDEX_HTML, content_type="text/html")

    app = web.Application(middlewares=[middleware])
    app.router.add_get("/", index)
    return app
