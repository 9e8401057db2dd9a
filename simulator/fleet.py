"""A fleet of simulated miners in one process: addressing, listeners and time."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Sequence
from random import Random
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .admin import AdminServer
from .cgminer_api import ApiServer
from .clock import Clock, ManualClock, ScaledClock
from .faults import Fault, pick_miners
from .listener import Listener
from .miner import SimulatedMiner
from .personality import VNISH_S9, Personality, SimMiner, initial_state_for, personality
from .runtime import Runtime
from .timings import Drawn, apply_spread
from .vnish_web import VnishWeb

_LOGGER = logging.getLogger(__name__)

# Open listeners in batches so a 1000-miner start does not create 2000 coroutines at once.
_OPEN_BATCH = 256


def network_hosts(network: str, count: int) -> list[str]:
    """Consecutive host addresses of `network`, skipping .0 and .255 last octets."""
    net = ipaddress.ip_network(network, strict=False)
    hosts: list[str] = []
    for addr in net.hosts():
        if addr.packed[-1] in (0, 255):
            continue
        hosts.append(str(addr))
        if len(hosts) == count:
            return hosts
    raise ValueError(f"{network} has room for {len(hosts)} miners, {count} requested")


class MinerEndpoints:
    """The two ports of one miner, opened and closed to follow its state."""

    def __init__(self, miner: SimMiner, api: Listener, web_listener: Listener) -> None:
        self.miner = miner
        self.api = api
        self.web = web_listener

    def close_unwanted(self) -> None:
        """Close ports the current state forbids (synchronous: refusals start at once)."""
        api_ok, web_ok = self.miner.wanted_listeners()
        if not api_ok:
            self.api.close()
        if not web_ok:
            self.web.close()

    def in_sync(self) -> bool:
        """Whether open/closed ports match the miner's state."""
        api_ok, web_ok = self.miner.wanted_listeners()
        return api_ok == self.api.is_open and web_ok == self.web.is_open

    async def reconcile(self) -> None:
        """Open wanted ports and close unwanted ones."""
        self.close_unwanted()
        api_ok, web_ok = self.miner.wanted_listeners()
        if api_ok:
            await self.api.open()
        if web_ok:
            await self.web.open()

    async def aclose(self) -> None:
        """Release both ports for good."""
        await asyncio.gather(self.api.aclose(), self.web.aclose())


class SimulatedFleet:
    """Many miners on loopback, each with its API and web ports: Antminer S9 on Vnish 3.9.0
    unless `kinds` names a personality per miner (see `personality.KINDS`).

    With `network` set, miner i listens on the i-th usable address of the network with
    the same ports for all. Otherwise every miner uses `host`; ports are ephemeral when
    0, or `api_port + i` / `web_port + i` when given.
    """

    def __init__(
        self,
        count: int = 1,
        *,
        host: str = "127.0.0.1",
        network: str | None = None,
        api_port: int = 0,
        web_port: int = 0,
        clock: Clock | None = None,
        seed: int = 0,
        password: str = "root",
        stats_brace_bug: bool = True,
        boot_time_s: float = 60.0,
        ramp_time_s: float = 80.0,
        initial_state: str = "mining",
        restart_time_s: float = 8.0,
        jitter: float = 0.2,
        admin_port: int | None = None,
        admin_host: str = "127.0.0.1",
        tick_interval_s: float = 0.05,
        kinds: Sequence[str] | None = None,
        stopped_w: float | None = None,
        spread: bool = False,
    ) -> None:
        self.clock: Clock = clock if clock is not None else ScaledClock(1.0)
        self.seed = seed
        self.network = network
        self.admin_port = admin_port
        self.admin_host = admin_host
        self.tick_interval_s = tick_interval_s
        if network is not None:
            hosts = network_hosts(network, count)
            ports = [(api_port, web_port)] * count
        else:
            hosts = [host] * count
            ports = [
                (api_port + i if api_port else 0, web_port + i if web_port else 0)
                for i in range(count)
            ]
        kinds = list(kinds) if kinds is not None else [VNISH_S9] * count
        if len(kinds) != count:
            raise ValueError(f"{len(kinds)} kinds given for {count} miners")
        self.kinds = kinds
        self._personalities: dict[str, Personality] = {
            kind: personality(kind) for kind in set(kinds) if kind != VNISH_S9
        }
        self.miners: list[Any] = []
        for i in range(count):
            kind = kinds[i]
            if kind == VNISH_S9:
                self.miners.append(
                    SimulatedMiner(
                        i,
                        hosts[i],
                        ports[i][0],
                        ports[i][1],
                        self.clock,
                        seed=seed,
                        password=password,
                        stats_brace_bug=stats_brace_bug,
                        boot_time_s=boot_time_s,
                        ramp_time_s=ramp_time_s,
                        restart_time_s=restart_time_s,
                        jitter=jitter,
                        initial_state=initial_state,
                        stopped_w=stopped_w,
                    )
                )
                continue
            own_port = self._personalities[kind].api_port
            self.miners.append(
                self._personalities[kind].create(
                    i,
                    hosts[i],
                    own_port if network is not None and own_port else ports[i][0],
                    ports[i][1],
                    self.clock,
                    seed=seed,
                    password=password,
                    jitter=jitter / 2,
                    initial_state=initial_state_for(kind, initial_state),
                )
            )
        # With `spread`, each miner's own timings drawn from the public record (`timings`).
        self.drawn: list[Drawn | None] = [
            apply_spread(m, kinds[i], seed) if spread else None for i, m in enumerate(self.miners)
        ]
        self.runtime = Runtime()
        self._by_web_addr: dict[tuple[str, int], Any] = {}
        self._endpoints: list[MinerEndpoints] = []
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._web: VnishWeb | None = None
        self._web_runner: web.AppRunner | None = None
        self._kind_runners: dict[str, web.AppRunner] = {}
        self._admin: AdminServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.started = False
        self.startup_s = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind every port and open those the miners' states allow."""
        if self.started:
            return
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        self._web = VnishWeb(self._resolve, self.runtime)
        runner = web.AppRunner(self._web.app, handle_signals=False, access_log=None)
        await runner.setup()
        self._web_runner = runner
        server = runner.server
        assert server is not None

        kind_servers: dict[str, Any] = {}
        for kind, pers in self._personalities.items():
            if pers.web_app is None:
                continue
            kind_runner = web.AppRunner(
                pers.web_app(self._resolve, self.runtime), handle_signals=False, access_log=None
            )
            await kind_runner.setup()
            self._kind_runners[kind] = kind_runner
            kind_servers[kind] = kind_runner.server

        def web_server_for(kind: str) -> Callable[[socket.socket], Any]:
            chosen = server if kind == VNISH_S9 else kind_servers.get(kind)

            async def serve(sock: socket.socket) -> asyncio.Server:
                if chosen is None:  # a firmware without a web interface: port stays shut
                    return await loop.create_server(_ClosingProtocol, sock=sock)
                return await loop.create_server(chosen, sock=sock)

            return serve

        try:
            for miner, kind in zip(self.miners, self.kinds, strict=True):
                if kind == VNISH_S9:
                    api_handler: Any = ApiServer(miner, self.runtime)
                else:
                    make_api = self._personalities[kind].api_handler
                    api_handler = make_api(miner, self.runtime) if make_api else _refuse

                async def serve_api(
                    sock: socket.socket, handler: Any = api_handler
                ) -> asyncio.Server:
                    return await asyncio.start_server(handler, sock=sock)

                api = Listener(miner.host, miner.api_port, serve_api)
                web_l = Listener(miner.host, miner.web_port, web_server_for(kind))
                endpoints = MinerEndpoints(miner, api, web_l)
                self._endpoints.append(endpoints)
                miner.api_port = api.reserve()
                miner.web_port = web_l.reserve()
                self._by_web_addr[(miner.host, miner.web_port)] = miner
                miner.on_change = self._make_on_change(miner.index, endpoints)
            self.started = True
            await self._reconcile(range(len(self.miners)))
            if self.admin_port is not None:
                self._admin = AdminServer(self, self.admin_host, self.admin_port)
                await self._admin.start()
                self.admin_port = self._admin.port
        except BaseException:
            await self.stop()
            raise
        if not self.clock.manual:
            self._ticker = asyncio.create_task(self._tick_loop(), name="simulator-ticker")
        self.startup_s = time.perf_counter() - t0
        _LOGGER.info("%d miners up in %.2f s", len(self.miners), self.startup_s)

    async def stop(self) -> None:
        """Close every port and wait for all handlers to finish."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        self.runtime.stopping.set()
        for ep in self._endpoints:
            self._detach(ep)
        await asyncio.gather(*(ep.aclose() for ep in self._endpoints))
        await self.runtime.drain()
        if self._admin is not None:
            await self._admin.stop()
            self._admin = None
        if self._web_runner is not None:
            await self._web_runner.cleanup()
            self._web_runner = None
        for kind_runner in self._kind_runners.values():
            await kind_runner.cleanup()
        self._kind_runners.clear()
        self._endpoints.clear()
        self.started = False

    @staticmethod
    def _detach(ep: MinerEndpoints) -> None:
        ep.miner.on_change = None

    # ------------------------------------------------------------------ time

    async def advance(self, seconds: float) -> None:
        """ManualClock only: move time and apply every due transition, listeners included."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs a ManualClock; a ScaledClock runs by itself")
        self.clock.advance(seconds)
        await self.sync()

    async def sync(self) -> None:
        """Bring every miner and its ports up to the current simulated time."""
        now = self.clock.now()
        for miner in self.miners:
            miner.advance_to(now)
        await self._reconcile(range(len(self.miners)))

    async def _reconcile(self, indices: range | list[int]) -> None:
        if not self.started:
            return
        pending = [self._endpoints[i] for i in indices if not self._endpoints[i].in_sync()]
        for start in range(0, len(pending), _OPEN_BATCH):
            await asyncio.gather(*(ep.reconcile() for ep in pending[start : start + _OPEN_BATCH]))

    def _make_on_change(self, index: int, endpoints: MinerEndpoints) -> Callable[[], None]:
        def on_change() -> None:
            endpoints.close_unwanted()
            self._dirty.add(index)
            self._wake.set()

        return on_change

    async def _tick_loop(self) -> None:
        """ScaledClock: apply due transitions and reopen ports as simulated time passes."""
        while True:
            try:
                async with asyncio.timeout(self.tick_interval_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            now = self.clock.now()
            due = [
                m.index
                for m in self.miners
                if m.index in self._dirty
                or (m.next_deadline is not None and m.next_deadline <= now)
            ]
            self._dirty.clear()
            for i in due:
                self.miners[i].advance_to(now)
            try:
                await self._reconcile(due)
            except OSError as err:  # e.g. a port grabbed by another process
                _LOGGER.warning("could not reopen a port: %s", err)

    # ------------------------------------------------------------------ queries

    def _resolve(self, host: str, port: int) -> Any:
        return self._by_web_addr.get((host, port))

    @property
    def auth_challenges(self) -> int:
        """Digest challenges the web interfaces sent so far."""
        return self._web.auth.challenges if self._web is not None else 0

    @property
    def power_w(self) -> float:
        """True total wall power of the fleet (ground truth)."""
        return sum(m.power_w for m in self.miners)

    @property
    def hashrate_ths(self) -> float:
        """True total hashrate."""
        return sum(m.hashrate_ths for m in self.miners)

    @property
    def admin_url(self) -> str | None:
        """URL of the admin endpoint, if enabled."""
        if self._admin is None:
            return None
        return f"http://{self.admin_host}:{self.admin_port}/"

    def apply_fault_fraction(
        self, fault: Fault, fraction: float, rng: Random | None = None, **params: Any
    ) -> list[int]:
        """Give `fault` to a seeded random `fraction` of the fleet; returns the indices."""
        rng = rng if rng is not None else Random(f"faults:{self.seed}:{fault.value}")
        picked = pick_miners(len(self.miners), fraction, rng)
        for i in picked:
            self.miners[i].set_fault(fault, **params)
        return picked

    def state_counts(self) -> dict[str, int]:
        """How many miners are in each state."""
        counts: dict[str, int] = {}
        for m in self.miners:
            counts[m.state] = counts.get(m.state, 0) + 1
        return counts


class _ClosingProtocol(asyncio.Protocol):
    """A port that accepts and hangs up at once (a firmware with nothing there)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Port 4028 of a firmware that serves no API there: close at once."""
    del reader
    writer.close()
