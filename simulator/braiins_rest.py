"""Braiins OS+ on an Antminer S19j Pro (kind "braiins"): the public REST API on the web port and
the cgminer-compatible API on port 4028, served from a `ModernMiner`.

REST: `POST /api/v1/auth/login` checks the miner's password (`effective_password`) and returns a
token valid for `TOKEN_TIMEOUT_S` of simulated time, restarted by every request that uses it and
lost when the miner reboots; a missing or unknown token is answered 401. Pause, resume, reboot
and the power target act on the model at once.

Sources: the Braiins OS public REST OpenAPI (login answering `token` and `timeout_s`, the token
sent as `authorization` without "Bearer", pause and resume as `PUT` answering a boolean, the
power target echoing its watts, integer enums, hashrates in GH/s) and `braiins/bos-plus-api`
(the same services over gRPC on 50051, which is not simulated: pyasic 0.79 reads power there,
so it reads none from this personality); pyasic's `BOSer` (`version` naming `BOSer`, `summary`,
`devs`, `tunerstatus` and `fans` on port 4028).

Timings and draws of `SPEC`. Documented: the firmware's quick ramping exists for curtailment and
is set in seconds (`SetQuickRamping`, example `up_s` 5, `down_s` 2); a power target applies while
hashing. Assumed: 75 s system boot, 20 s for the boards to power up and enumerate after a resume,
10 s quick ramp up to the target, 10 s for a new target to settle while hashing, 35 W paused
(control board, idling fans, power supply losses), 100 TH/s at the stock 3050 W target (an
S19j Pro tuned by Braiins OS+ runs at about 29.5 J/TH), targets 1200-3600 W.

Undocumented replies, chosen here: a refused login or token is `401 {"message": ...}`, a target
outside the constraints is `400`, and port 4028 ends each reply with a NUL (as BOSminer+ does).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import braiins_reports as reports
from .cgminer_api import ApiReply, ApiServer
from .clock import Clock
from .faults import Fault
from .modern import ModernMiner, ModernSpec
from .personality import BRAIINS, Personality
from .runtime import Runtime
from .web_faults import drop, mangle

_LOGGER = logging.getLogger(__name__)

SPEC = ModernSpec(
    model="Antminer S19j Pro",
    firmware=f"Braiins OS+ {reports.BOS_RELEASE}",
    nominal_w=3050.0,
    min_w=1200.0,
    max_w=3600.0,
    nominal_ths=100.0,
    standby_w=35.0,
    boot_s=75.0,
    start_s=20.0,
    ramp_s=10.0,
    change_s=10.0,
    change_restarts=False,
)
MAC_PREFIX = (0x02, 0xB0, 0x5E)
USER = "root"
MINER_KEY = web.RequestKey("braiins_miner", ModernMiner)
Resolver = Callable[[str, int], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Tokens kept at most; expired ones are dropped when a login passes this.
MAX_TOKENS = 10_000
_OPEN_PATHS = frozenset({"/", "/api/v1/auth/login", "/api/v1/version/"})
_INDEX_HTML = (
    "<!DOCTYPE html><html><head><meta charset=utf-8><title>Braiins OS</title></head>"
    "<body><div id=root></div></body></html>\n"
)


def create(
    index: int,
    host: str,
    api_port: int,
    web_port: int,
    clock: Clock,
    *,
    seed: int,
    password: str,
    jitter: float,
    initial_state: str,
) -> ModernMiner:
    """One S19j Pro on Braiins OS+."""
    return ModernMiner(
        index,
        host,
        api_port,
        web_port,
        clock,
        spec=SPEC,
        kind=BRAIINS,
        mac_prefix=MAC_PREFIX,
        seed=seed,
        password=password,
        jitter=jitter,
        initial_state=initial_state,
    )


@dataclass(slots=True)
class _Token:
    miner: ModernMiner
    expires_at: float  # simulated time
    issued_at: float


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"message": message}, status)


async def _json_body(request: web.Request) -> object:
    try:
        return json.loads(await request.text())
    except ValueError:
        return None


class BraiinsRest:
    """aiohttp application serving the REST API of every Braiins miner of a fleet."""

    def __init__(self, resolve: Resolver, runtime: Runtime) -> None:
        self.resolve = resolve
        self.runtime = runtime
        self.tokens: dict[str, _Token] = {}
        self.logins = 0
        self.app = web.Application(middlewares=[self._middleware])
        reads: dict[str, Callable[[ModernMiner], dict[str, Any]]] = {
            "/api/v1/miner/details": reports.details,
            "/api/v1/miner/stats": reports.stats,
            "/api/v1/miner/hw/hashboards": reports.hashboards,
            "/api/v1/cooling/state": reports.cooling,
            "/api/v1/configuration/constraints": reports.constraints,
            "/api/v1/performance/tuner-state": reports.tuner_state,
        }
        for path, report in reads.items():
            self.app.router.add_get(path, self._reader(report))
        router = self.app.router
        router.add_get("/", self.index)
        router.add_get("/api/v1/version/", self.version)
        router.add_post("/api/v1/auth/login", self.login)
        router.add_put("/api/v1/actions/pause", self.pause)
        router.add_put("/api/v1/actions/resume", self.resume)
        router.add_put("/api/v1/actions/reboot", self.reboot)
        router.add_put("/api/v1/performance/power-target", self.power_target)

    # ------------------------------------------------------------ plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with self.runtime.track():
            transport = request.transport
            sockname = transport.get_extra_info("sockname") if transport else None
            miner = self.resolve(sockname[0], sockname[1]) if sockname else None
            if not isinstance(miner, ModernMiner) or not miner.wanted_listeners()[1]:
                return drop(request)
            if Fault.OFFLINE in miner.faults:  # the port is open only in the hanging variant
                await self.runtime.hang()
                return drop(request)
            if Fault.SLOW in miner.faults and not await self.runtime.pause(miner.faults.delay_s):
                return drop(request)
            if request.path not in _OPEN_PATHS and not self._authorized(request, miner):
                return await mangle(request, miner, _error(401, "Unauthenticated"))
            request[MINER_KEY] = miner
            response = await handler(request)
            return await mangle(request, miner, response)

    def _authorized(self, request: web.Request, miner: ModernMiner) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        session = self.tokens.get(token)
        if session is None or session.miner is not miner:
            return False
        now = miner.clock.now()
        # Within a second of the boot; every port is down while booting, so a token issued
        # since the boot is much younger than this.
        booted_at = now - miner.uptime_s
        if now >= session.expires_at or session.issued_at <= booted_at:
            del self.tokens[token]  # expired, or issued before the last boot
            return False
        session.expires_at = now + reports.TOKEN_TIMEOUT_S
        return True

    def _reader(self, report: Callable[[ModernMiner], dict[str, Any]]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return _json(report(request[MINER_KEY]))

        return handle

    # ------------------------------------------------------------ endpoints

    async def index(self, request: web.Request) -> web.Response:
        """The web interface's shell."""
        return web.Response(text=_INDEX_HTML, content_type="text/html")

    async def version(self, request: web.Request) -> web.Response:
        """API version, without authentication."""
        return _json(reports.API_VERSION)

    async def login(self, request: web.Request) -> web.Response:
        """Check the credentials and hand out a token."""
        miner: ModernMiner = request[MINER_KEY]
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _error(400, "invalid login request")
        if body.get("username") != USER or body.get("password") != miner.effective_password:
            return _error(401, "Invalid username or password")
        now = miner.clock.now()
        if len(self.tokens) >= MAX_TOKENS:
            self.tokens = {k: t for k, t in self.tokens.items() if t.expires_at > now}
        token = secrets.token_urlsafe(12)
        self.tokens[token] = _Token(miner, now + reports.TOKEN_TIMEOUT_S, now)
        self.logins += 1
        return _json({"token": token, "timeout_s": reports.TOKEN_TIMEOUT_S})

    async def pause(self, request: web.Request) -> web.Response:
        """Hash boards off; answers whether it was paused already."""
        return _json(not request[MINER_KEY].pause())

    async def resume(self, request: web.Request) -> web.Response:
        """Hash boards on; answers whether it was mining already."""
        return _json(not request[MINER_KEY].resume())

    async def power_target(self, request: web.Request) -> web.Response:
        """A new power target, applied at once; one outside the constraints is refused."""
        miner: ModernMiner = request[MINER_KEY]
        body = await _json_body(request)
        watt = body.get("watt") if isinstance(body, dict) else None
        if not isinstance(watt, int) or isinstance(watt, bool):
            return _error(400, "power target must be a whole number of watts")
        if not miner.spec.min_w <= watt <= miner.spec.max_w:
            return _error(400, f"power target {watt} W is outside the constraints")
        return _json({"watt": round(miner.set_target(float(watt)))})

    async def reboot(self, request: web.Request) -> web.StreamResponse:
        """Answer 204, then reboot: every port goes down."""
        miner: ModernMiner = request[MINER_KEY]
        if Fault.GARBAGE in miner.faults or Fault.TRUNCATED in miner.faults:
            miner.reboot()
            return drop(request)
        response = web.StreamResponse(status=204)
        response.force_close()
        await response.prepare(request)
        await response.write_eof()
        miner.reboot()
        return response


def web_app(resolve: Resolver, runtime: Runtime) -> web.Application:
    """The REST application of a fleet's Braiins miners."""
    return BraiinsRest(resolve, runtime).app


# ------------------------------------------------------------------ port 4028


def _command(text: str) -> str | None:
    """The command of a JSON `{"command": ...}` or text `command|parameter` request."""
    if not text.startswith("{"):
        return text.partition("|")[0].strip()
    try:
        request = json.loads(text)
    except ValueError:
        return None
    command = request.get("command") if isinstance(request, dict) else None
    return command.strip() if isinstance(command, str) else None


def api_reply(miner: ModernMiner, raw: bytes) -> str:
    """The reply to one request (BOSer knows no privileged commands on this port)."""
    command = _command(raw.decode("utf-8", "replace").strip().rstrip("\x00"))
    if command is None:
        status = reports.api_status(miner, 23, "Invalid JSON", "E")
        return json.dumps({"STATUS": [status], "id": 1})
    report = reports.API_REPORTS.get(command)
    if report is None:
        status = reports.api_status(miner, 14, "Invalid command", "E")
        return json.dumps({"STATUS": [status], "id": 1})
    return json.dumps(report(miner))


def _api_handler(miner: ModernMiner, runtime: Runtime) -> ApiServer:
    """Port 4028: the cgminer-compatible reads (`version`, `summary`, ...)."""
    return ApiServer(miner, runtime, lambda raw: ApiReply(api_reply(miner, raw)))


PERSONALITY = Personality(
    kind=BRAIINS,
    create=create,
    web_app=web_app,
    api_handler=_api_handler,
)
