"""Benchmark helper installed only into the benchmark's Home Assistant: event-loop stalls and
state writes, read over HTTP. Not part of the integration."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.typing import ConfigType

DOMAIN = "loop_monitor"
TICK_S = 0.005


class Monitor:
    """Wakes every few milliseconds and records how late it woke: the loop's stalls."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self.stalls_over_50ms = 0
        self.state_writes = 0
        self.since = time.monotonic()

    def reset(self) -> None:
        self.worst_s = 0.0
        self.stalls_over_50ms = 0
        self.state_writes = 0
        self.since = time.monotonic()

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            late = time.monotonic() - before - TICK_S
            self.worst_s = max(self.worst_s, late)
            if late > 0.05:
                self.stalls_over_50ms += 1

    def report(self) -> dict[str, Any]:
        return {
            "max_stall_ms": round(self.worst_s * 1000, 1),
            "stalls_over_50ms": self.stalls_over_50ms,
            "state_writes": self.state_writes,
            "seconds": round(time.monotonic() - self.since, 2),
        }


class MonitorView(HomeAssistantView):
    url = "/api/loop_monitor"
    name = "api:loop_monitor"

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    async def get(self, request: web.Request) -> web.Response:
        return self.json(self.monitor.report())

    async def post(self, request: web.Request) -> web.Response:
        report = self.monitor.report()
        self.monitor.reset()
        return self.json(report)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    monitor = Monitor()

    @callback
    def count(event: Event) -> None:
        monitor.state_writes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count)
    task = hass.async_create_background_task(monitor.run(), "loop monitor")

    async def stop(event: Event) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop)
    hass.http.register_view(MonitorView(monitor))
    return True
