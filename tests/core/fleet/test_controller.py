"""The fleet controller against in-memory fake miners on a manual clock (no real sleeps)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from custom_components.net_stabilization.core.fleet import (
    CommandReason,
    CommandRecord,
    ControlConfig,
    FleetController,
    FleetSettings,
    FleetState,
    InMemoryCommandLog,
    ManualClock,
    MinerOverride,
    MinerState,
    PowerMode,
    RunningStatus,
)

from .fakes import BOOT_S, RAMP_S, FakeMiner, fake_fleet

POLL_S = 5.0
CONFIG = ControlConfig(wake_start_timeout_s=90.0, wake_timeout_s=200.0, wake_backoff_s=60.0)


class Rig:
    """A controller, its fake miners and a clock, driven poll by poll."""

    def __init__(self, miners: list[FakeMiner], clock: ManualClock, controller: FleetController):
        self.miners = miners
        self.clock = clock
        self.controller = controller
        self.log: InMemoryCommandLog | None = None

    async def run(self, seconds: float) -> None:
        """Advance time poll by poll, letting orders finish in between."""
        for _ in range(math.ceil(seconds / POLL_S)):
            self.clock.advance(POLL_S)
            await self.controller.poll()
            await self.controller.wait_idle()

    @property
    def ground_truth_w(self) -> float:
        return sum(m.power_w for m in self.miners)

    def commands(self) -> list[str]:
        return [c for m in self.miners for c in m.calls if c != "read"]


async def make_rig(
    count: int, *, state: str = "sleeping", config: ControlConfig = CONFIG, **kwargs: object
) -> Rig:
    clock = ManualClock()
    miners = fake_fleet(clock, count, state)
    log = InMemoryCommandLog()
    controller = FleetController(clock=clock, config=config, command_log=log, **kwargs)  # type: ignore[arg-type]
    for m in miners:
        controller.add_miner(m)
    rig = Rig(miners, clock, controller)
    rig.log = log
    await controller.poll()
    return rig


@pytest.fixture
async def rig2() -> AsyncIterator[Rig]:
    rig = await make_rig(2)
    yield rig
    await rig.controller.close()


# --- status values ------------------------------------------------------------------------


async def test_status_of_two_sleeping_s9(rig2: Rig) -> None:
    snap = rig2.controller.snapshot
    assert snap.ems_status() == {
        "isAvailableForDispatch": True,
        "runningStatus": 1,
        "ratedPowerInKw": 2.92,
        "activePowerInKw": 0.1,  # two sleeping S9 at ~50 W each
    }
    assert snap.state is FleetState.STANDBY
    assert [m.state for m in snap.miners] == [MinerState.SLEEPING] * 2


async def test_snapshots_are_new_objects_and_compare_by_value(rig2: Rig) -> None:
    first = rig2.controller.snapshot
    await rig2.controller.poll()
    second = rig2.controller.snapshot
    assert first is not second
    assert replace(first, updated_at=second.updated_at) == second


async def test_activate_meets_target_and_reports_plan(rig2: Rig) -> None:
    result = await rig2.controller.activate(2.92)
    assert (result.accepted, result.http_status, result.reason) == (True, 200, CommandReason.OK)
    assert result.message == "2 miners at 650 MHz ≈ 2.92 kW"
    snap = rig2.controller.snapshot
    assert snap.running_status is RunningStatus.ACTIVE  # a target > 0 is in force
    assert snap.state is FleetState.ACTIVATING
    await rig2.controller.wait_idle()
    assert rig2.commands() == ["wake", "wake"]
    await rig2.run(BOOT_S + RAMP_S + POLL_S)
    snap = rig2.controller.snapshot
    assert snap.state is FleetState.ACTIVE
    assert [m.state for m in snap.miners] == [MinerState.MINING] * 2
    assert snap.active_power_kw == pytest.approx(2.92, abs=0.01)


async def test_waking_miners_count_as_expected_power(rig2: Rig) -> None:
    rig = await make_rig(6)
    try:
        await rig.controller.activate(2.0)  # one miner plus standby draw is nearest
        await rig.run(BOOT_S + RAMP_S + 4 * POLL_S)
        assert rig.commands().count("wake") == 1
    finally:
        await rig.controller.close()


# --- the contract's command table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "must be a number"),
        ("2.0", "must be a number"),
        (True, "must be a number"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (-1.0, "negative"),
        ([2], "must be a number"),
    ],
)
async def test_activate_rejects_bad_input(rig2: Rig, value: object, fragment: str) -> None:
    result = await rig2.controller.activate(value)
    assert (result.accepted, result.http_status, result.reason) == (
        False,
        400,
        CommandReason.INVALID,
    )
    assert fragment in result.message
    assert "activationPowerInKw" in result.message


async def test_activate_above_rated(rig2: Rig) -> None:
    result = await rig2.controller.activate(3.0)
    assert (result.accepted, result.http_status) == (False, 400)
    assert result.reason is CommandReason.EXCEEDS_RATED
    assert "exceeds rated power 2.92 kW" in result.message
    assert rig2.commands() == []


async def test_a_target_a_little_above_rated_is_met_as_far_as_the_fleet_can(rig2: Rig) -> None:
    result = await rig2.controller.activate(2.95)  # rated 2.92: within the 2 % tolerance
    assert result.accepted
    assert result.message.startswith("2.95 kW is above rated power 2.92 kW, running at rated")
    assert rig2.controller.snapshot.target_kw == pytest.approx(2.92)
    refused = await rig2.controller.activate(3.0)
    assert refused.reason is CommandReason.EXCEEDS_RATED


async def test_activate_zero_is_deactivate(rig2: Rig) -> None:
    await rig2.controller.activate(2.92)
    result = await rig2.controller.activate(0)
    assert (result.accepted, result.http_status) == (True, 200)
    assert rig2.controller.target_w is None
    await rig2.controller.wait_idle()
    assert rig2.commands()[-2:] == ["sleep", "sleep"]


async def test_activate_during_manual_override_conflicts(rig2: Rig) -> None:
    assert (await rig2.controller.set_override(True, 1.46)).accepted
    result = await rig2.controller.activate(1.0)
    assert (result.accepted, result.http_status, result.reason) == (
        False,
        409,
        CommandReason.CONFLICT,
    )
    assert "override" in result.message
    assert not rig2.controller.snapshot.available
    assert rig2.controller.snapshot.state is FleetState.OVERRIDE


async def test_activate_with_dispatch_disabled_conflicts(rig2: Rig) -> None:
    await rig2.controller.set_dispatch_enabled(False)
    result = await rig2.controller.activate(1.0)
    assert (result.accepted, result.http_status) == (False, 409)
    assert not rig2.controller.snapshot.available
    # Deactivate still works.
    assert (await rig2.controller.deactivate()).accepted


async def test_activate_in_fault_conflicts() -> None:
    rig = await make_rig(2, config=replace(CONFIG, shed_timeout_s=5.0, max_shed_attempts=2))
    try:
        rig.miners[0].ignores_sleep = True
        await rig.controller.activate(2.92)
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        await rig.controller.deactivate()
        await rig.run(4 * POLL_S)
        snap = rig.controller.snapshot
        assert snap.state is FleetState.FAULT
        assert snap.faults and rig.miners[0].mac in snap.faults[0]
        assert not snap.available
        result = await rig.controller.activate(1.0)
        assert (result.accepted, result.http_status) == (False, 409)
        assert "fault" in result.message
        # The fault clears once the miner finally stops.
        rig.miners[0].ignores_sleep = False
        await rig.run(3 * POLL_S)
        assert rig.controller.snapshot.state is FleetState.STANDBY
    finally:
        await rig.controller.close()


async def test_activate_with_no_miner_reachable() -> None:
    clock = ManualClock()
    controller = FleetController(clock=clock, config=CONFIG)
    try:
        result = await controller.activate(1.0)
        assert (result.accepted, result.http_status, result.reason) == (
            False,
            503,
            CommandReason.UNAVAILABLE,
        )
        miner = FakeMiner(clock, 0, unreachable=True)
        controller.add_miner(miner)
        for _ in range(3):
            await controller.poll()
        assert (await controller.activate(1.0)).http_status == 503
        assert not controller.snapshot.available
    finally:
        await controller.close()


async def test_deactivate_is_idempotent_and_refused_only_during_override(rig2: Rig) -> None:
    first = await rig2.controller.deactivate()
    second = await rig2.controller.deactivate()
    assert first.accepted and second.accepted
    assert second.message == "already deactivated"
    await rig2.controller.set_override(True, 1.46)
    refused = await rig2.controller.deactivate()
    assert (refused.accepted, refused.http_status) == (False, 409)
    await rig2.controller.set_override(False)
    assert (await rig2.controller.deactivate()).accepted


async def test_every_command_is_recorded(rig2: Rig) -> None:
    await rig2.controller.activate(1.0, source="ems")
    await rig2.controller.activate(-1, source="ems")
    await rig2.controller.deactivate(source="ems")
    await rig2.controller.set_mode("frequency", source="service")
    everything = await rig2.controller.recent_commands()
    # Between the commands, the fleet notes each change of the source in force.
    assert [(h.command, h.parameters) for h in everything if h.is_note] == [
        ("target_source", {"from": "ems", "to": "none"}),
        ("target_source", {"from": "none", "to": "ems"}),
    ]
    history = [h for h in everything if not h.is_note]
    assert [(h.command, h.accepted) for h in history] == [
        ("set_mode", True),
        ("deactivate", True),
        ("activate", False),
        ("activate", True),
    ]
    newest_activate = history[3]
    assert newest_activate.parameters == {"activationPowerInKw": 1.0}
    assert newest_activate.plan_summary == "1 miner at 650 MHz ≈ 1.51 kW"
    assert history[2].reason == "invalid"
    assert rig2.controller.snapshot.last_command == history[0]


async def test_command_waits_for_the_log() -> None:
    release = asyncio.Event()

    class SlowLog(InMemoryCommandLog):
        async def record(self, entry: CommandRecord) -> None:
            await release.wait()
            await super().record(entry)

    clock = ManualClock()
    log = SlowLog()
    controller = FleetController(clock=clock, config=CONFIG, command_log=log)
    miner = FakeMiner(clock, 0)
    controller.add_miner(miner)
    await controller.poll()
    task = asyncio.create_task(controller.activate(1.46))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not task.done()
    assert miner.calls.count("wake") == 0  # nothing acted on before it is recorded
    release.set()
    assert (await task).accepted
    assert [c.command for c in await log.recent() if not c.is_note] == ["activate"]
    await controller.close()


# --- closed loop ---------------------------------------------------------------------------


async def test_replaces_miners_that_never_start_and_fails_them_after_retries() -> None:
    rig = await make_rig(4)
    try:
        bad = rig.miners[0]  # least runtime: started first
        bad.never_starts = True
        await rig.controller.activate(1.6)  # one miner
        # Its web comes back after the boot, its mining software never starts: failed once the
        # grace for the mining software is over (not by a clock set at the wake).
        await rig.run(BOOT_S + CONFIG.wake_api_grace_s + 2 * POLL_S)
        snap = rig.controller.snapshot
        assert snap.miner(bad.mac) is not None
        assert snap.miner(bad.mac).wake_failures == 1  # type: ignore[union-attr]
        assert "stop" in bad.calls  # put back into a known state (it never hashed)
        # Someone else was woken to replace it.
        assert sum(1 for m in rig.miners[1:] if "wake" in m.calls) == 1
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        assert rig.ground_truth_w == pytest.approx(1460 + 3 * 50, abs=1)
        # Keep only the bad miner available: it is retried after back-off, then failed.
        for m in rig.miners[1:]:
            await rig.controller.set_excluded(m.mac, True)
            await m.sleep()
        await rig.run(1200)
        state = rig.controller.snapshot.miner(bad.mac)
        assert state is not None and state.state is MinerState.FAILED
        assert bad.calls.count("wake") == CONFIG.max_wake_failures
        # After the cool-down it may be tried again.
        await rig.run(CONFIG.failed_cooldown_s)
        assert bad.calls.count("wake") > CONFIG.max_wake_failures
    finally:
        await rig.controller.close()


async def test_overheated_miner_is_stopped_and_replaced() -> None:
    rig = await make_rig(3)
    try:
        await rig.controller.activate(1.6)
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        hot = next(m for m in rig.miners if m.state == "mining")
        hot.chip_temp_c = 97.0
        await rig.run(POLL_S)
        assert hot.state == "sleeping"
        snap = rig.controller.snapshot.miner(hot.mac)
        assert snap is not None and snap.overheated and not snap.dispatchable
        assert sum(1 for m in rig.miners if m.state == "booting") == 1
        assert rig.controller.snapshot.rated_power_kw == pytest.approx(2.92)
    finally:
        await rig.controller.close()


async def test_offline_only_after_three_failed_reads() -> None:
    rig = await make_rig(1, state="mining")
    try:
        miner = rig.miners[0]
        miner.fail_reads = 2
        await rig.run(2 * POLL_S)
        snap = rig.controller.snapshot.miners[0]
        assert snap.state is MinerState.MINING and snap.stale
        assert snap.consumption_w == pytest.approx(1460)  # last known, not a made-up zero
        miner.unreachable = True
        await rig.run(3 * POLL_S)
        assert rig.controller.snapshot.miners[0].state is MinerState.OFFLINE
        assert rig.controller.snapshot.active_power_kw == 0.0
    finally:
        await rig.controller.close()


@pytest.mark.parametrize("mode", list(PowerMode))
async def test_no_transitions_at_constant_target(mode: PowerMode) -> None:
    rig = await make_rig(10, mode=mode)
    try:
        await rig.controller.activate(7.3)
        await rig.run(BOOT_S + RAMP_S + 2 * POLL_S)
        settled = len(rig.commands())
        await rig.run(3600)
        assert len(rig.commands()) == settled
        tolerance = 730 if mode is PowerMode.ON_OFF else 100
        assert abs(rig.ground_truth_w - 7300) <= tolerance
    finally:
        await rig.controller.close()


async def test_newest_command_wins_and_replans_from_present_state() -> None:
    rig = await make_rig(5)
    try:
        await rig.controller.activate(5 * 1.46)
        result = await rig.controller.activate(1.46 + 4 * 0.05)
        assert result.accepted
        await rig.controller.wait_idle()
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        assert sum(1 for m in rig.miners if m.state == "mining") == 1
        assert sum(1 for m in rig.miners if m.state == "sleeping") == 4
    finally:
        await rig.controller.close()


async def test_deactivate_puts_every_dispatched_miner_to_sleep_at_once() -> None:
    rig = await make_rig(8)
    try:
        await rig.controller.activate(8.0)
        await rig.run(BOOT_S + 20)  # mid-ramp
        assert (await rig.controller.deactivate()).accepted
        await rig.controller.wait_idle()
        assert all(m.state == "sleeping" for m in rig.miners)
        await rig.run(POLL_S)
        snap = rig.controller.snapshot
        assert snap.state is FleetState.STANDBY
        assert snap.running_status is RunningStatus.STANDBY
    finally:
        await rig.controller.close()


async def test_deactivate_leaves_overridden_miners_alone(rig2: Rig) -> None:
    mac = rig2.miners[0].mac
    assert (await rig2.controller.set_miner_override(mac, "on")).accepted
    await rig2.controller.wait_idle()
    assert rig2.miners[0].calls[-1] == "wake"
    assert rig2.controller.snapshot.rated_power_kw == pytest.approx(1.46)
    await rig2.controller.deactivate()
    await rig2.controller.wait_idle()
    assert "sleep" not in rig2.miners[0].calls
    assert (await rig2.controller.set_miner_override(mac, "off")).accepted
    await rig2.controller.wait_idle()
    assert rig2.miners[0].calls[-1] == "stop"  # still booting: its mining software is stopped
    assert (await rig2.controller.set_miner_override(mac, None)).accepted
    assert rig2.controller.snapshot.rated_power_kw == pytest.approx(2.92)


async def test_per_miner_commands_validate(rig2: Rig) -> None:
    missing = await rig2.controller.set_excluded("00:00:00:00:00:00", True)
    assert (missing.accepted, missing.reason) == (False, CommandReason.NOT_FOUND)
    bad = await rig2.controller.set_miner_override(rig2.miners[0].mac, "maybe")
    assert (bad.accepted, bad.http_status) == (False, 400)
    bad_flag = await rig2.controller.set_excluded(rig2.miners[0].mac, "yes")
    assert (bad_flag.accepted, bad_flag.http_status) == (False, 400)
    assert (await rig2.controller.set_mode("turbo")).http_status == 400
    assert (await rig2.controller.set_dispatch_enabled(1)).http_status == 400
    assert (await rig2.controller.set_override(True, -2)).http_status == 400
    assert (await rig2.controller.set_override(True, 9.0)).reason is CommandReason.EXCEEDS_RATED


async def test_excluded_miners_are_never_planned(rig2: Rig) -> None:
    await rig2.controller.set_excluded(rig2.miners[0].mac, True)
    assert rig2.controller.snapshot.rated_power_kw == pytest.approx(1.46)
    assert (await rig2.controller.activate(2.0)).reason is CommandReason.EXCEEDS_RATED
    await rig2.controller.activate(1.46)
    await rig2.controller.wait_idle()
    assert rig2.miners[0].calls.count("wake") == 0
    assert rig2.miners[1].calls.count("wake") == 1


async def test_override_target_and_release_to_ems_target(rig2: Rig) -> None:
    await rig2.controller.activate(2.92)
    await rig2.controller.set_override(True, 1.5)
    assert rig2.controller.target_w == 1500
    assert rig2.controller.snapshot.override_target_kw == 1.5
    await rig2.controller.set_override(False)
    assert rig2.controller.target_w == 2920


async def test_frequency_mode_tracks_target_closely() -> None:
    rig = await make_rig(10, mode=PowerMode.FREQUENCY)
    try:
        result = await rig.controller.activate(5.0)
        assert "MHz" in result.message
        await rig.run(BOOT_S + RAMP_S + 2 * POLL_S)
        assert rig.ground_truth_w == pytest.approx(5000, abs=100)
        # A mode change re-plans the target in force.
        changed = await rig.controller.set_mode("on_off")
        assert changed.accepted and "miners at 650 MHz" in changed.message
    finally:
        await rig.controller.close()


async def test_site_meter_feeds_active_power_and_loop() -> None:
    reading: list[float | None] = [None]
    rig = await make_rig(4, site_meter=lambda: reading[0])
    try:
        assert rig.controller.snapshot.power_source == "miners"
        reading[0] = 3.3
        await rig.run(POLL_S)
        assert rig.controller.snapshot.active_power_kw == 3.3
        assert rig.controller.snapshot.power_source == "meter"
        reading[0] = float("nan")
        await rig.run(POLL_S)
        assert rig.controller.snapshot.power_source == "miners"  # stale: fall back
    finally:
        await rig.controller.close()


async def test_site_meter_gap_is_corrected() -> None:
    # Auxiliaries the model cannot see draw 1.5 kW: the loop sheds a miner to make room.
    rig = await make_rig(4)
    await rig.controller.close()
    extra = 1500.0
    clock = rig.clock
    controller = FleetController(
        clock=clock,
        config=replace(CONFIG, meter_settle_s=10.0),
        site_meter=lambda: (sum(m.power_w for m in rig.miners) + extra) / 1000.0,
    )
    for m in rig.miners:
        controller.add_miner(m)
    rig.controller = controller
    try:
        await controller.poll()
        await controller.activate(4.6)
        await rig.run(BOOT_S + RAMP_S + 20 * POLL_S)
        assert abs(rig.ground_truth_w + extra - 4600) <= 730
    finally:
        await controller.close()


async def test_commands_for_1000_miners_are_answered_at_once_and_sent_side_by_side() -> None:
    """The answer does not wait for a single round trip, and the orders go out side by side but
    never more than `max_concurrent_commands` at once (how fast is measured by the scale
    benchmark, not here)."""
    clock = ManualClock()
    limit = CONFIG.max_concurrent_commands
    gate = asyncio.Event()  # the miners' answers, held back until the test lets them through
    at_limit = asyncio.Event()
    in_flight = most_in_flight = 0

    class HeldMiner(FakeMiner):
        async def wake(self) -> None:
            nonlocal in_flight, most_in_flight
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            if in_flight == limit:
                at_limit.set()
            try:
                await gate.wait()
                await super().wake()
            finally:
                in_flight -= 1

    miners = [HeldMiner(clock, i) for i in range(1000)]
    controller = FleetController(clock=clock, config=CONFIG)
    for m in miners:
        controller.add_miner(m)
    try:
        await controller.poll()
        # The timeouts guard against a hang (an answer that waited for the miners would never
        # come while they are held); they measure nothing.
        async with asyncio.timeout(30):
            result = await controller.activate(1000 * 1.46)
        assert result.accepted
        assert not any("wake" in m.calls for m in miners)  # answered before any miner was
        async with asyncio.timeout(30):
            await at_limit.wait()
        for _ in range(20):  # let the workers try for more than their share
            await asyncio.sleep(0)
        assert in_flight == limit
        gate.set()
        await controller.wait_idle()
        assert most_in_flight == limit
        assert all(m.calls.count("wake") == 1 for m in miners)
    finally:
        await controller.close()


# --- restart ---------------------------------------------------------------------------------


async def test_settings_round_trip_and_restore_keeps_running_miners() -> None:
    rig = await make_rig(4)
    try:
        await rig.controller.activate(2.92 + 0.1)
        await rig.controller.set_excluded(rig.miners[3].mac, True)
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        settings = rig.controller.settings()
        assert settings.ems_target_kw == pytest.approx(3.02)
        assert settings.excluded == frozenset({rig.miners[3].mac})
        calls_before = len(rig.commands())
        # A new controller (Home Assistant restarted) over the same miners.
        fresh = FleetController(clock=rig.clock, config=CONFIG)
        for m in rig.miners:
            fresh.add_miner(m)
        await fresh.poll()
        fresh.restore(settings)
        await fresh.wait_idle()
        assert len(rig.commands()) == calls_before  # nothing woken or slept needlessly
        assert fresh.target_w == pytest.approx(3020)
        assert fresh.snapshot.running_status is RunningStatus.ACTIVE
        assert fresh.settings() == settings
        await fresh.close()
    finally:
        await rig.controller.close()


async def test_restore_applies_operator_overrides() -> None:
    rig = await make_rig(2)
    try:
        settings = FleetSettings(
            mode=PowerMode.FREQUENCY,
            miner_overrides={rig.miners[0].mac: MinerOverride.ON},
            dispatch_enabled=False,
        )
        rig.controller.restore(settings)
        await rig.controller.wait_idle()
        assert rig.miners[0].calls[-1] == "wake"
        assert rig.controller.mode is PowerMode.FREQUENCY
        assert not rig.controller.snapshot.available
    finally:
        await rig.controller.close()


# --- reboot --------------------------------------------------------------------------------


async def test_reboot_of_a_dispatched_miner_is_watched_like_a_wake(rig2: Rig) -> None:
    controller = rig2.controller
    await controller.activate(1.46)
    await rig2.run(300)
    mac = next(m.mac for m in controller.snapshot.miners if m.state is MinerState.MINING)
    result = await controller.reboot_miner(mac)
    assert result.accepted
    await controller.wait_idle()
    assert controller.snapshot.miner(mac).state is MinerState.WAKING  # type: ignore[union-attr]
    await rig2.run(300)
    # It came back mining and the fleet neither replaced it nor woke the other one.
    assert [m.state for m in controller.snapshot.miners].count(MinerState.MINING) == 1
    assert controller.snapshot.miner(mac).state is MinerState.MINING  # type: ignore[union-attr]


async def test_reboot_of_a_sleeping_miner_ends_asleep(rig2: Rig) -> None:
    controller = rig2.controller
    mac = controller.snapshot.miners[0].mac
    assert (await controller.reboot_miner(mac)).accepted
    await rig2.run(300)
    assert controller.snapshot.miner(mac).state is MinerState.SLEEPING  # type: ignore[union-attr]
    assert "reboot" in rig2.miners[0].calls
    assert (await controller.reboot_miner("00:00:00:00:00:00")).reason is CommandReason.NOT_FOUND
