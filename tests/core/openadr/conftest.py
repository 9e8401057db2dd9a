"""A VEN against the test VTN over loopback, a recording fleet, and a shared manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import FunctionClock, GridDispatch
from custom_components.net_stabilization.core.openadr import FleetReading, Ven, VenConfig
from custom_components.net_stabilization.core.openadr.timing import format_datetime
from simulator import ManualClock
from simulator.vtn import TestVtn

START = 1_767_225_600.0  # the simulator's epoch: 2026-01-01T00:00:00Z


@dataclass
class RecordingFleet:
    """A fleet that draws what it was last told (at once), within its rated power."""

    rated_kw: float = 10.0
    power_kw: float = 2.0
    other_kw: float | None = None
    source: str = "none"
    dispatches: list[GridDispatch] = field(default_factory=list)

    def reading(self) -> FleetReading:
        last = self.dispatches[-1] if self.dispatches else GridDispatch()
        target = None if last.target_w is None else last.target_w / 1000.0
        return FleetReading(
            power_kw=self.power_kw,
            rated_kw=self.rated_kw,
            standby_kw=0.2,
            target_kw=target,
            source=self.source if target is None or self.source != "none" else "openadr",
            available=True,
            miners=4,
        )

    async def dispatch(self, dispatch: GridDispatch) -> None:
        self.dispatches.append(dispatch)
        if dispatch.target_w is not None:
            self.power_kw = min(self.rated_kw, dispatch.target_w / 1000.0)
        if dispatch.cap_w is not None:
            self.power_kw = min(self.power_kw, dispatch.cap_w / 1000.0)

    def other_load_kw(self) -> float | None:
        return self.other_kw


@dataclass
class Site:
    """A VTN, a VEN and their clock."""

    clock: ManualClock
    vtn: TestVtn
    ven: Ven
    fleet: RecordingFleet
    program_id: str

    async def run(self, seconds: float, step_s: float = 5.0) -> None:
        """Advance time step by step, the VEN turning at each."""
        for _ in range(round(seconds / step_s)):
            self.clock.advance(step_s)
            await self.ven.step()

    def at(self, offset_s: float) -> str:
        """A date-time `offset_s` after the clock's present."""
        return format_datetime(self.clock.wall() + offset_s)


def event(program_id: str, start: str, kind: str, value: object, **extra: object) -> dict[str, Any]:
    """An event of one interval with one payload (and its descriptor in kW where it has one)."""
    units = {"DISPATCH_SETPOINT": "KW", "IMPORT_CAPACITY_LIMIT": "KW", "PRICE": "KWH"}
    body: dict[str, Any] = {
        "programID": program_id,
        "eventName": f"{kind.lower()} test",
        "intervalPeriod": {"start": start, "duration": extra.pop("duration", "PT30M")},
        "intervals": [{"id": 0, "payloads": [{"type": kind, "values": [value]}]}],
    }
    if kind in units:
        body["payloadDescriptors"] = [
            {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": kind, "units": units[kind]}
        ]
    body.update(extra)
    return body


@pytest.fixture
async def site(socket_enabled: None) -> AsyncIterator[Site]:
    """A started VTN with one program, and a VEN for it (not yet stepped)."""
    clock = ManualClock()
    vtn = TestVtn(clock, token_lifetime_s=600)
    await vtn.start()
    program_id = vtn.create_program("fleet-dr")
    fleet = RecordingFleet()
    async with aiohttp.ClientSession() as session:
        ven = Ven(
            VenConfig(
                vtn_url=vtn.base_url,
                ven_name="site-1",
                programs=("fleet-dr",),
                client_id="ven-client",
                client_secret="ven-secret",
                poll_interval_s=30.0,
                request_timeout_s=1.0,
            ),
            session,
            fleet,
            FunctionClock(clock.now, clock.wall),
        )
        yield Site(clock, vtn, ven, fleet, program_id)
    await vtn.close()
