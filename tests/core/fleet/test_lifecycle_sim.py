"""A miner's lifecycle under commands that change their mind, against simulated S9s (Vnish 3.9)
over real sockets, judged on the simulator's ground truth."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from custom_components.net_stabilization.core.fleet import (
    FleetController,
    FunctionClock,
    MinerState,
    PowerMode,
)

from .test_controller_simulated import BOOT_S, CONFIG, POLL_S, RAMP_S, SimRig, make_sim_rig

pytestmark = pytest.mark.usefixtures("socket_enabled")

HASHING = ("ramping", "mining")
WAKE_S = BOOT_S * 1.2 + 8 * 1.2 + RAMP_S * 1.2 + 2 * POLL_S


async def run_watching(rig: SimRig, seconds: float) -> set[str]:
    """Step through `seconds`; returns the MACs seen hashing at any step (before its poll)."""
    seen: set[str] = set()
    for _ in range(int(seconds // POLL_S)):
        await rig.fleet.advance(POLL_S)
        seen.update(m.mac for m in rig.fleet.miners if m.state in HASHING)
        await rig.controller.poll()
        await rig.controller.wait_idle()
        await rig.fleet.sync()
    return seen


async def test_sleep_during_a_wakes_reboot_is_held_and_lands_before_the_ramp() -> None:
    async for rig in make_sim_rig(3):
        rated = rig.controller.snapshot.rated_power_kw
        await rig.controller.activate(4.38)
        await rig.controller.wait_idle()
        await rig.run(20)  # booting: the web is down and cannot hear a sleep
        assert all(m.state == "booting" for m in rig.fleet.miners)
        assert (await rig.controller.deactivate()).accepted
        await rig.controller.wait_idle()
        snap = rig.controller.snapshot
        # Rebooting on our wake: in a transition the fleet started, not offline.
        assert {m.state for m in snap.miners} == {MinerState.WAKING}
        assert snap.rated_power_kw == rated and snap.available
        hashed = await run_watching(rig, BOOT_S * 1.2 + 8 * 1.2 + 2 * POLL_S)
        assert hashed == set()  # the mining software was stopped before it ramped
        assert all(m.state in ("stopped", "sleeping") for m in rig.fleet.miners)
        snap = rig.controller.snapshot
        assert all(m.state is MinerState.SLEEPING and m.wake_failures == 0 for m in snap.miners)
        assert snap.rated_power_kw == rated


async def test_a_wake_called_off_and_asked_again_during_its_reboot_needs_no_new_wake() -> None:
    async for rig in make_sim_rig(2):
        await rig.controller.activate(2.92)
        await rig.controller.wait_idle()
        await rig.run(15)
        booted = {m.mac: m.uptime_s for m in rig.fleet.miners}
        await rig.controller.deactivate()
        await rig.controller.wait_idle()
        await rig.fleet.advance(0.4)
        result = await rig.controller.activate(2.92)
        await rig.controller.wait_idle()
        assert result.accepted
        await rig.run(WAKE_S)
        assert all(m.state == "mining" for m in rig.fleet.miners)
        # One reboot each: the boot that was under way carried on.
        for m in rig.fleet.miners:
            assert m.uptime_s >= booted[m.mac] + WAKE_S - POLL_S
        assert all(m.wake_failures == 0 for m in rig.controller.snapshot.miners)


async def test_a_frequency_asked_of_a_booting_miner_is_set_once_it_answers() -> None:
    async for rig in make_sim_rig(2, mode=PowerMode.FREQUENCY):
        await rig.controller.activate(2.6)
        await rig.controller.wait_idle()
        await rig.run(20)  # booting
        await rig.controller.activate(1.8)  # both keep running, at a lower frequency
        await rig.controller.wait_idle()
        await rig.run(WAKE_S + 120)
        snap = rig.controller.snapshot
        assert all(m.wake_failures == 0 for m in snap.miners)
        assert abs(rig.fleet.power_w - 1800) <= 100


async def test_an_unheard_sleep_is_sent_the_moment_the_web_answers() -> None:
    """Between polls: the actuator tries the sleep again until the rebooting miner hears it."""
    config = replace(CONFIG, order_retry_s=0.02, order_retry_for_s=30.0)
    async for rig in make_sim_rig(1, config=config):
        miner = rig.fleet.miners[0]
        await rig.controller.activate(1.46)
        await rig.controller.wait_idle()
        await rig.run(20)
        await rig.controller.deactivate()
        await rig.controller.wait_idle()  # the stop found the web down: it is parked
        while miner.state == "booting":  # to the end of the boot, without a poll
            await rig.fleet.advance(0.5)
        assert miner.state == "restarting"  # web up, mining software initialising
        async with asyncio.timeout(5):
            while miner.state == "restarting":
                await miner.wait_state_change()
        assert miner.state == "stopped"


async def test_a_restart_mid_ramp_waits_for_the_miners_it_was_bringing_up() -> None:
    async for rig in make_sim_rig(4):
        await rig.controller.activate(2.92)
        await rig.controller.wait_idle()
        await rig.run(30)  # two miners rebooting on the wake
        settings = rig.controller.settings()
        assert len(settings.dispatched) == 2
        await rig.controller.close()
        # Home Assistant comes back: a new controller, the same miners.
        clock = rig.fleet.clock
        after = FleetController(clock=FunctionClock(clock.now, clock.wall), config=CONFIG)
        for driver in rig.drivers:
            after.add_miner(driver)
        await after.poll()
        after.restore(settings)
        await after.wait_idle()
        rig.controller = after
        booting = {m.mac for m in rig.fleet.miners if m.state == "booting"}
        assert len(booting) == 2
        await rig.run(WAKE_S)
        mining = {m.mac for m in rig.fleet.miners if m.state == "mining"}
        assert mining == booting  # no extra wakes while the first two were on their way
        assert all(m.wake_failures == 0 for m in after.snapshot.miners)
        await after.close()
