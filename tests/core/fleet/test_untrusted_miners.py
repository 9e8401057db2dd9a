"""Devices that only claim to be miners must not move the figures an EMS dispatches on: they
are left out of the rated power until a read shows their firmware, and a power beyond what
their model can draw is not believed. Real simulated miners and hostile devices, one scan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest

from custom_components.net_stabilization.core.discovery import Scanner
from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
)
from custom_components.net_stabilization.core.fleet.trust import POWER_MARGIN
from custom_components.net_stabilization.core.miners.cgminer_models import rating_for
from custom_components.net_stabilization.core.miners.endpoint import Credentials, Timeouts
from simulator import ManualClock, SimulatedFleet
from simulator.hostile import HostileDevice, WebReply

pytestmark = pytest.mark.usefixtures("socket_enabled")

FAST = Timeouts(connect_s=1.0, api_read_s=1.0, web_s=1.0)
REAL = 3
FAKE_S9 = 5


def _fake_s9(index: int) -> HostileDevice:
    """Serves an S9's system page to anyone, and nothing else."""
    info = {
        "minertype": "Antminer S9 (vnish 3.9.0)",
        "macaddr": f"02:00:00:00:0b:{index:02x}",
        "hostname": f"fake-{index}",
    }
    return HostileDevice(pages={"/cgi-bin/get_system_info.cgi": WebReply(info)})


def _fake_cgminer(index: int, model: str, power_w: float) -> HostileDevice:
    """A cgminer API naming a model and claiming a draw far beyond it."""
    status = [{"STATUS": "S", "Code": 11, "Msg": "Summary"}]
    summary = {
        "STATUS": status,
        "SUMMARY": [
            {
                "Elapsed": 3600,
                "MHS 5s": 50_000_000.0,
                "MHS av": 50_000_000.0,
                "Power": power_w,
                "MAC": f"02:00:00:00:0c:{index:02x}",
            }
        ],
    }
    version = {"STATUS": status, "VERSION": [{"CGMiner": "4.9.0", "API": "3.7", "Type": model}]}
    return HostileDevice(api={"version": version, "summary": summary})


@pytest.fixture
async def site() -> AsyncIterator[tuple[SimulatedFleet, list[HostileDevice], Scanner]]:
    clock = ManualClock()
    async with AsyncExitStack() as stack:
        fleet = SimulatedFleet(count=REAL, clock=clock, seed=1, initial_state="sleeping")
        await fleet.start()
        stack.push_async_callback(fleet.stop)
        fakes = [_fake_s9(i) for i in range(FAKE_S9)]
        fakes += [_fake_cgminer(1, "Antminer S19", 19_900.0)]
        fakes += [_fake_cgminer(2, "Antminer S17", 3_300.0)]
        for fake in fakes:
            await stack.enter_async_context(fake)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        hosts = [f"{m.host}:{m.api_port}:{m.web_port}" for m in fleet.miners]
        hosts += [f"{f.host}:{f.api_port}:{f.web_port}" for f in fakes]
        scanner = Scanner(
            session, hosts=hosts, credentials=Credentials("root", "root"), probe_timeouts=FAST
        )
        yield fleet, fakes, scanner


async def _controller(scanner: Scanner, clock: Any) -> FleetController:
    result = await scanner.scan()
    assert len(result.miners) == REAL + FAKE_S9 + 2  # every one of them joins
    controller = FleetController(clock=FunctionClock(clock.now, clock.wall), config=ControlConfig())
    for found in result.miners.values():
        controller.add_miner(found.driver)
    for _ in range(2):
        await controller.poll()
    return controller


async def test_devices_that_only_claim_to_be_miners_are_not_summed_into_rated_power(
    site: tuple[SimulatedFleet, list[HostileDevice], Scanner],
) -> None:
    fleet, _fakes, scanner = site
    controller = await _controller(scanner, fleet.clock)
    snapshot = controller.snapshot
    real_macs = {m.mac for m in fleet.miners}
    trusted = {m.mac for m in snapshot.miners if m.trusted}
    assert trusted >= real_macs
    fakes = [m for m in snapshot.miners if m.mac not in real_macs]
    assert [m.trusted for m in fakes] == [False] * (FAKE_S9 + 2)
    assert not any(m.dispatchable for m in fakes)
    # Only the real (sleeping) S9s count, each at its full power.
    real = [m for m in snapshot.miners if m.mac in real_macs]
    assert all(m.dispatchable for m in real)
    per_s9 = snapshot.rated_power_kw / REAL
    assert 1.0 < per_s9 < 1.6


async def test_a_reported_power_beyond_the_model_is_not_believed(
    site: tuple[SimulatedFleet, list[HostileDevice], Scanner],
) -> None:
    fleet, _fakes, scanner = site
    controller = await _controller(scanner, fleet.clock)
    claims = {m.model: m for m in controller.snapshot.miners if m.driver == "monitor"}
    for model, miner in claims.items():
        rating = rating_for(model)
        assert rating is not None
        assert miner.power_w is None  # the claim is dropped, not summed
        assert miner.consumption_w <= rating.rated_w * POWER_MARGIN
    true_kw = fleet.power_w / 1000.0
    assert controller.snapshot.active_power_kw < true_kw + 2 * 3.25 * POWER_MARGIN
