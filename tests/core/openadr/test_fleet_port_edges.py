"""The fleet controller as the VEN's fleet: its reading, a dispatch reaching it, and the rest of
the site's load read defensively (a meter that fails or says nonsense is an unknown load)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import aiohttp
import pytest

from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
    GridDispatch,
    MinerState,
    PowerMode,
    TargetSource,
)
from custom_components.net_stabilization.core.miners.endpoint import Credentials, MinerEndpoint
from custom_components.net_stabilization.core.miners.identify import identify_miner
from custom_components.net_stabilization.core.openadr import ControllerPort
from custom_components.net_stabilization.core.openadr.fleet_port import STANDBY_KW
from simulator import ManualClock, SimulatedFleet

from ..fleet.test_controller import make_rig


async def test_the_port_reads_the_fleet_and_hands_it_a_dispatch() -> None:
    rig = await make_rig(3)
    port = ControllerPort(rig.controller)
    reading = port.reading()
    assert reading.miners == 3
    assert reading.standby_kw == pytest.approx(3 * STANDBY_KW)
    assert reading.rated_kw == rig.controller.nominal_rated_kw
    await port.dispatch(GridDispatch(target_w=1000.0, events="e1"))
    assert port.reading().source == TargetSource.OPENADR
    assert port.reading().target_kw == pytest.approx(1.0)
    assert port.other_load_kw() is None  # no reader given
    await rig.controller.close()


async def test_the_rest_of_the_site_is_unknown_when_its_meter_fails_or_says_nonsense() -> None:
    rig = await make_rig(1)
    values: list[float | None] = [4.5, None, math.inf, math.nan]
    port = ControllerPort(rig.controller, lambda: values.pop(0))
    assert port.other_load_kw() == 4.5
    assert port.other_load_kw() is None
    assert port.other_load_kw() is None
    assert port.other_load_kw() is None

    def broken() -> float | None:
        raise RuntimeError("meter gone")

    assert ControllerPort(rig.controller, broken).other_load_kw() is None
    await rig.controller.close()


# ----------------------------------------------------------------------------- standby per miner

KINDS = ["braiins", "luxos", "vnish_rest", "vnish_s9"]
POLL_S = 5.0


@dataclass
class MixedRig:
    fleet: SimulatedFleet
    controller: FleetController
    port: ControllerPort

    async def run(self, seconds: float) -> None:
        for _ in range(round(seconds / POLL_S)):
            await self.fleet.advance(POLL_S)
            await self.controller.poll()
            await self.controller.wait_idle()
            await self.fleet.sync()
            self.port.reading()  # the VEN reads the fleet at every turn


async def mixed_rig(
    session: aiohttp.ClientSession, fleet: SimulatedFleet
) -> tuple[FleetController, ControllerPort]:
    clock = fleet.clock
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall), config=ControlConfig(), mode=PowerMode.ON_OFF
    )
    for m in fleet.miners:
        result = await identify_miner(
            MinerEndpoint(m.host, m.api_port, m.web_port),
            session,
            credentials=Credentials("root", "root"),
        )
        assert result.driver is not None, result.detail
        controller.add_miner(result.driver)
    await controller.poll()
    return controller, ControllerPort(controller)


@pytest.mark.usefixtures("socket_enabled")
async def test_the_standby_is_what_each_miner_drew_asleep_not_an_s9s() -> None:
    fleet = SimulatedFleet(count=len(KINDS), clock=ManualClock(), seed=5, kinds=KINDS)
    async with fleet, aiohttp.ClientSession() as session:
        controller, port = await mixed_rig(session, fleet)
        rig = MixedRig(fleet, controller, port)
        try:
            assert (await controller.activate(controller.nominal_rated_kw)).accepted
            await rig.run(300.0)
            assert all(m.state is MinerState.MINING for m in controller.snapshot.miners)
            # Never seen asleep: each counts with its driver's figure for its model.
            never = port.reading().standby_kw
            figures = sum(m.standby_w for m in controller.snapshot.miners) / 1000.0
            assert never == pytest.approx(figures, abs=0.001)
            assert (await controller.deactivate()).accepted
            await rig.run(120.0)
            asleep = port.reading()
            truth_kw = fleet.power_w / 1000.0
            assert asleep.power_kw == pytest.approx(truth_kw, abs=0.01)
            # Asleep: what they report, which is what they draw (not 4 x 50 W).
            assert asleep.standby_kw == pytest.approx(truth_kw, abs=0.01)
            assert abs(asleep.standby_kw - len(KINDS) * STANDBY_KW) > 0.02
            # Mining again, the draw seen asleep is remembered.
            assert (await controller.activate(controller.nominal_rated_kw)).accepted
            await rig.run(300.0)
            again = port.reading()
            assert again.standby_kw == asleep.standby_kw
            assert again.power_kw > again.standby_kw + 1.0
            # An offline miner draws nothing now; a miner gone from the fleet is forgotten.
            first, second, *rest = controller.snapshot.miners
            offline = replace(first, state=MinerState.OFFLINE)
            remembered = port._asleep_w[second.mac]
            fewer = port._standby_kw((offline, *rest))
            assert fewer == pytest.approx(
                asleep.standby_kw - remembered / 1000.0 - (port._asleep_w[first.mac] / 1000.0),
                abs=0.002,
            )
            assert second.mac not in port._asleep_w
        finally:
            await controller.close()
