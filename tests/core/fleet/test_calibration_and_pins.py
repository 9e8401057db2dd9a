"""Per-miner power calibration, early detection of wakes that never start, honest rated power,
and the operator's per-miner frequency pin."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.net_stabilization.core.fleet import (
    CommandReason,
    FleetController,
    FleetSettings,
    MinerOverride,
    MinerState,
    PowerMode,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .fakes import BOOT_S, RAMP_S
from .test_controller import CONFIG, POLL_S, Rig, make_rig

SPREAD = (1.03, 1.025, 1.02, 1.03, 1.015, 1.025, 1.02, 1.03, 1.01, 1.025)  # most draw more


async def spread_rig(mode: PowerMode = PowerMode.FREQUENCY) -> Rig:
    rig = await make_rig(len(SPREAD), mode=mode)
    for miner, factor in zip(rig.miners, SPREAD, strict=True):
        miner.power_factor = factor
    return rig


# --- calibration ---------------------------------------------------------------------------


async def test_learns_each_miners_power_from_steady_readings() -> None:
    rig = await spread_rig()
    try:
        await rig.controller.activate(14.0)
        await rig.run(BOOT_S + RAMP_S / 2)
        # Still ramping: nothing is learnt from a rising power.
        assert all(rig.controller.power_scale(m.mac) == 1.0 for m in rig.miners)
        await rig.run(RAMP_S / 2 + 4 * POLL_S)
        for snap, miner in zip(
            sorted(rig.controller.snapshot.miners, key=lambda s: s.mac),
            sorted(rig.miners, key=lambda m: m.mac),
            strict=True,
        ):
            if snap.state is MinerState.MINING:
                scale = rig.controller.power_scale(snap.mac)
                assert scale == pytest.approx(miner.power_factor, abs=0.002)
    finally:
        await rig.controller.close()


async def test_frequency_mode_meets_target_without_meter_despite_spread() -> None:
    rig = await spread_rig()
    try:
        for target_kw in (9.0, 6.3):
            await rig.controller.activate(target_kw)
            await rig.run(2 * (BOOT_S + RAMP_S) + 60)
            assert rig.ground_truth_w == pytest.approx(target_kw * 1000, abs=100)
            # Settled: the loop leaves it alone.
            commands = len(rig.commands())
            await rig.run(600)
            assert len(rig.commands()) == commands
    finally:
        await rig.controller.close()


async def test_rated_power_stays_nominal_while_the_fleet_learns_its_miners() -> None:
    """What an EMS plans with must not drift: learning each miner's draw moves the plan, not
    the rated power, and a target at the rated power read before is still taken."""
    low = (0.97, 0.975, 0.98, 0.97, 0.985, 0.975, 0.98, 0.97, 0.99, 0.975)  # most draw less
    rig = await make_rig(len(low), mode=PowerMode.ON_OFF)
    for miner, factor in zip(rig.miners, low, strict=True):
        miner.power_factor = factor
    try:
        rated_before = rig.controller.snapshot.rated_power_kw
        assert rated_before == pytest.approx(14.6)
        first = await rig.controller.activate(rated_before)
        assert first.accepted
        await rig.run(BOOT_S + RAMP_S + 4 * POLL_S)
        assert all(rig.controller.power_scale(m.mac) != 1.0 for m in rig.miners)
        assert rig.controller.snapshot.rated_power_kw == rated_before
        again = await rig.controller.activate(rated_before)
        assert again.accepted
        assert "the most the fleet can draw now" not in again.message  # 0.35 kW short: in band
    finally:
        await rig.controller.close()


# --- wakes that never start ------------------------------------------------------------------


async def test_wake_that_never_starts_is_caught_once_the_web_is_back() -> None:
    config = replace(CONFIG, wake_start_timeout_s=150.0, wake_api_grace_s=10.0)
    rig = await make_rig(4, config=config)
    try:
        bad = rig.miners[0]  # least runtime: started first
        bad.never_starts = True
        await rig.controller.activate(1.6)
        # Booting (no answer) then web up without the mining software: failed well before
        # the 150 s deadline.
        await rig.run(BOOT_S + 4 * POLL_S)
        snap = rig.controller.snapshot
        bad_snap = snap.miner(bad.mac)
        assert bad_snap is not None and bad_snap.wake_failures == 1
        assert sum(1 for m in rig.miners[1:] if "wake" in m.calls) == 1
        # Rated power and availability count only healthy miners.
        assert snap.rated_power_kw == pytest.approx(3 * 1.46)
        assert snap.available
    finally:
        await rig.controller.close()


async def test_a_slow_start_is_not_taken_for_a_failure() -> None:
    config = replace(CONFIG, wake_api_grace_s=10.0)
    rig = await make_rig(1, config=config)
    try:
        await rig.controller.activate(1.46)
        await rig.run(BOOT_S + RAMP_S + 2 * POLL_S)
        snap = rig.controller.snapshot.miners[0]
        assert snap.state is MinerState.MINING and snap.wake_failures == 0
    finally:
        await rig.controller.close()


# --- frequency pin ----------------------------------------------------------------------------


async def test_pin_wakes_a_sleeping_miner_at_that_frequency() -> None:
    rig = await make_rig(3)
    try:
        miner = rig.miners[0]
        result = await rig.controller.set_miner_override(miner.mac, "on", mhz=500)
        assert result.accepted and "500 MHz" in result.message
        await rig.controller.wait_idle()
        assert miner.calls[-2:] == ["set_frequency 500", "wake"]
        snap = rig.controller.snapshot.miner(miner.mac)
        assert snap is not None
        assert (snap.override, snap.target_setting) == (MinerOverride.ON, 500)
        assert not snap.dispatchable
        await rig.run(BOOT_S + RAMP_S + POLL_S)
        assert miner.state == "mining" and miner.mhz == 500
        assert rig.controller.settings().miner_pins == {miner.mac: 500.0}
    finally:
        await rig.controller.close()


async def test_pin_retunes_a_running_miner_and_counts_as_fixed_power() -> None:
    rig = await make_rig(3, mode=PowerMode.FREQUENCY)
    try:
        await rig.controller.activate(1.51)  # one miner at full power, two asleep
        await rig.run(BOOT_S + RAMP_S + 2 * POLL_S)
        running = next(m for m in rig.miners if m.state == "mining")
        wakes = rig.commands().count("wake")
        assert (await rig.controller.set_miner_override(running.mac, "on", mhz=400)).accepted
        await rig.controller.wait_idle()
        assert running.calls[-1] == "set_frequency 400"
        assert rig.commands().count("wake") == wakes  # retuned, not rebooted
        # The fleet makes up the difference with the others; the pinned one stays put.
        await rig.run(2 * (BOOT_S + RAMP_S))
        assert running.mhz == 400
        assert rig.ground_truth_w == pytest.approx(1510, abs=100)
        snap = rig.controller.snapshot.miner(running.mac)
        assert snap is not None and snap.target_setting == 400 and not snap.dispatched
        # An EMS target is planned around it: its power is counted as fixed.
        plan_target = 400 + S9_CURVE.power_w(400) + S9_CURVE.nominal_w + 50
        await rig.controller.activate(round(plan_target / 1000, 3))
        await rig.run(BOOT_S + RAMP_S + 4 * POLL_S)
        assert running.mhz == 400 and running.state == "mining"
        assert rig.ground_truth_w == pytest.approx(plan_target, abs=100)
    finally:
        await rig.controller.close()


@pytest.mark.parametrize(
    ("override", "mhz", "status", "fragment"),
    [
        ("on", 200, 400, "between 350 and 800"),
        ("on", 900.0, 400, "between 350 and 800"),
        ("on", float("nan"), 400, "finite"),
        ("on", True, 400, "finite"),
        ("on", "500", 400, "finite"),
        ("off", 500, 400, "only with override 'on'"),
        (None, 500, 400, "only with override 'on'"),
    ],
)
async def test_pin_validates(override: str | None, mhz: object, status: int, fragment: str) -> None:
    rig = await make_rig(1)
    try:
        result = await rig.controller.set_miner_override(rig.miners[0].mac, override, mhz=mhz)
        assert (result.accepted, result.http_status) == (False, status)
        assert fragment in result.message
        assert rig.controller.snapshot.miners[0].override is None
        assert rig.commands() == []
    finally:
        await rig.controller.close()


async def test_pin_refused_for_firmware_without_frequency_control() -> None:
    rig = await make_rig(1)
    try:
        rig.miners[0].frequency_control = False
        fresh = FleetController(clock=rig.clock, config=CONFIG)
        fresh.add_miner(rig.miners[0])
        await fresh.poll()
        result = await fresh.set_miner_override(rig.miners[0].mac, "on", mhz=500)
        assert (result.accepted, result.reason) == (False, CommandReason.CONFLICT)
        # Without a frequency the override itself is fine.
        assert (await fresh.set_miner_override(rig.miners[0].mac, "on")).accepted
        await fresh.close()
    finally:
        await rig.controller.close()


async def test_releasing_or_switching_off_clears_the_pin() -> None:
    rig = await make_rig(1)
    try:
        mac = rig.miners[0].mac
        await rig.controller.set_miner_override(mac, "on", mhz=450)
        await rig.controller.set_miner_override(mac, "off")
        snap = rig.controller.snapshot.miners[0]
        assert snap.target_setting is None
        assert rig.controller.settings().miner_pins == {}
        await rig.controller.set_miner_override(mac, "on", mhz=450)
        await rig.controller.set_miner_override(mac, "on")
        assert rig.controller.snapshot.miners[0].target_setting is None
        assert rig.controller.settings().miner_pins == {}
    finally:
        await rig.controller.close()


def test_settings_carry_pins_and_read_older_data() -> None:
    settings = FleetSettings(
        miner_overrides={"AA": MinerOverride.ON, "BB": MinerOverride.OFF},
        miner_pins={"AA": 500.0},
    )
    data = settings.to_dict()
    assert data["miner_pins"] == {"AA": 500.0}
    assert FleetSettings.from_dict(data) == settings
    older = {k: v for k, v in data.items() if k != "miner_pins"}
    assert FleetSettings.from_dict(older).miner_pins == {}
    assert "miner_pins" not in FleetSettings().to_dict()  # same keys as before without pins
    # A pin without an "on" override, or junk, is dropped.
    junk = dict(data, miner_pins={"AA": "fast", "BB": 500, "CC": True})
    assert FleetSettings.from_dict(junk).miner_pins == {}


async def test_restore_re_pins_a_miner() -> None:
    rig = await make_rig(2)
    try:
        mac = rig.miners[1].mac
        settings = FleetSettings(miner_overrides={mac: MinerOverride.ON}, miner_pins={mac: 420.0})
        rig.controller.restore(settings)
        await rig.controller.wait_idle()
        assert rig.miners[1].calls[-2:] == ["set_frequency 420", "wake"]
        assert rig.controller.settings().miner_pins == {mac: 420.0}
        assert rig.controller.snapshot.miner(mac).target_setting == 420  # type: ignore[union-attr]
    finally:
        await rig.controller.close()
