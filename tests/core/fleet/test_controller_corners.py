"""Corners of the controller's commands and poll: what happens when nothing is what it seems."""

from __future__ import annotations

from custom_components.net_stabilization.core.fleet import (
    CommandReason,
    ControlConfig,
    FleetController,
    FleetSettings,
    ManualClock,
    MinerOverride,
    PowerMode,
)
from custom_components.net_stabilization.core.miners.base import MinerProtocolError

from .fakes import BOOT_S, RAMP_S, FakeMiner
from .test_controller import POLL_S, make_rig


async def test_no_miner_available_is_a_conflict_that_says_why() -> None:
    rig = await make_rig(3)
    try:
        for m in rig.miners[:2]:
            await rig.controller.set_excluded(m.mac, True)
        await rig.controller.set_miner_override(rig.miners[2].mac, "off")
        result = await rig.controller.activate(1.0)
        assert (result.http_status, result.key) == (409, "no_miner_available")
        assert "2 excluded" in result.message and "1 overridden" in result.message
    finally:
        await rig.controller.close()


async def test_mode_and_override_corners() -> None:
    rig = await make_rig(2)
    try:
        same = await rig.controller.set_mode("on_off")
        assert same.accepted and "already" in same.message
        await rig.controller.activate(1.46)
        held = await rig.controller.set_override(True)  # no target: hold what is in force
        assert held.accepted and rig.controller.target_w == 1460.0
        await rig.controller.drop_restored_target(3600.0)  # the override is the operator's
        assert rig.controller.target_w == 1460.0
    finally:
        await rig.controller.close()


async def test_a_refused_frequency_change_is_planned_around() -> None:
    class NoRetune(FakeMiner):
        async def apply_setting(self, mhz: float) -> None:
            raise MinerProtocolError("config says otherwise")

    clock = ManualClock()
    controller = FleetController(clock=clock, config=ControlConfig(), mode=PowerMode.FREQUENCY)
    miners = [NoRetune(clock, i, state="mining") for i in range(2)]
    for m in miners:
        controller.add_miner(m)
    await controller.poll()
    await controller.activate(2.0)
    await controller.wait_idle()
    for _ in range(3):
        clock.advance(POLL_S)
        await controller.poll()
        await controller.wait_idle()
    assert all(m.mhz == 650.0 for m in miners)  # they stayed where they were
    snap = controller.snapshot
    assert all(s.wake_failures == 0 and s.last_error for s in snap.miners)
    await controller.close()


async def test_a_broken_meter_or_driver_does_not_stop_the_poll() -> None:
    class Exploding(FakeMiner):
        async def read(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("parser bug")

    def meter() -> float:
        raise ZeroDivisionError

    clock = ManualClock()
    controller = FleetController(clock=clock, site_meter=meter)
    controller.add_miner(Exploding(clock, 0))
    controller.add_miner(FakeMiner(clock, 1))
    snapshot = await controller.poll()
    assert snapshot.power_source == "miners"
    assert "unexpected error" in (snapshot.miners[0].last_error or "")
    await controller.close()


async def test_restoring_a_forced_off_miner_that_runs_puts_it_to_sleep() -> None:
    rig = await make_rig(2, state="mining")
    try:
        mac = rig.miners[0].mac
        rig.controller.restore(FleetSettings(miner_overrides={mac: MinerOverride.OFF}))
        await rig.controller.wait_idle()
        assert rig.miners[0].state == "sleeping" and rig.miners[1].state == "mining"
        await rig.run(BOOT_S + RAMP_S)
    finally:
        await rig.controller.close()


async def test_unknown_miners_are_named_in_the_refusal() -> None:
    rig = await make_rig(1)
    try:
        result = await rig.controller.reboot_miner("00:00:00:00:00:01")
        assert result.reason is CommandReason.NOT_FOUND and result.placeholders
    finally:
        await rig.controller.close()


async def test_a_miner_lost_while_running_or_before_its_wake_was_heard_is_replaced() -> None:
    rig = await make_rig(3)
    try:
        await rig.controller.activate(1.6)
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        running = next(m for m in rig.miners if m.state == "mining")
        running.unreachable = True  # its network goes away
        await rig.run(4 * POLL_S)
        snap = rig.controller.snapshot.miner(running.mac)
        assert snap is not None and not snap.dispatched and snap.wake_failures == 0
        assert sum(1 for m in rig.miners if m.state in ("booting", "ramping", "mining")) == 2
        # A wake that never reached its miner, which then went offline: not a failure either.
        fresh = await make_rig(2)
        target = min(fresh.miners, key=lambda m: m.mac)
        target.unreachable = True
        await fresh.controller.activate(1.6)
        await fresh.run(4 * POLL_S)
        lost = fresh.controller.snapshot.miner(target.mac)
        assert lost is not None and not lost.dispatched and lost.wake_failures == 0
        await fresh.controller.close()
    finally:
        await rig.controller.close()
