"""An EMS asking for power when no miner can give it is told why, miner by miner: read-only,
overheated, offline, failed, or not vouched for by its own readings (resting)."""

from __future__ import annotations

from custom_components.net_stabilization.core.fleet import FleetController, ManualClock
from custom_components.net_stabilization.core.fleet.command_log import InMemoryCommandLog

from .fakes import BOOT_S, FakeMiner
from .test_controller import CONFIG, POLL_S


async def start(clock: ManualClock, miners: list[FakeMiner]) -> FleetController:
    controller = FleetController(clock=clock, config=CONFIG, command_log=InMemoryCommandLog())
    for m in miners:
        controller.add_miner(m)
    await controller.poll()
    return controller


async def run(clock: ManualClock, controller: FleetController, seconds: float) -> None:
    for _ in range(round(seconds / POLL_S)):
        clock.advance(POLL_S)
        await controller.poll()
        await controller.wait_idle()


async def test_an_activation_with_no_miner_available_says_why_of_each() -> None:
    clock = ManualClock()
    miners = [
        FakeMiner(clock, 0, state="sleeping", can_sleep=False),
        FakeMiner(clock, 1, state="mining", chip_temp_c=130.0),
        FakeMiner(clock, 2, state="sleeping"),
        FakeMiner(clock, 3, state="mining", power_factor=3.0),  # draws beyond any S9
    ]
    controller = await start(clock, miners)
    miners[2].unreachable = True
    await run(clock, controller, 100)
    result = await controller.activate(1.0)
    assert not result.accepted
    assert result.message == (
        "no miner is available for dispatch (1 offline, 1 overheated, 1 read-only, 1 resting)"
    )
    await controller.close()


async def test_a_miner_whose_wake_failed_is_named_failed() -> None:
    clock = ManualClock()
    bad = FakeMiner(clock, 0, state="sleeping", never_starts=True)
    controller = await start(clock, [bad])
    assert (await controller.activate(1.0)).accepted
    await run(clock, controller, BOOT_S + CONFIG.wake_api_grace_s + 2 * POLL_S)
    result = await controller.activate(1.0)
    assert not result.accepted
    assert result.message == "no miner is available for dispatch (1 failed)"
    await controller.close()
