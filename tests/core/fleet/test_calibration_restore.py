"""What the fleet learnt about each miner's draw survives a restart."""

from __future__ import annotations

import math

import pytest

from custom_components.net_stabilization.core.fleet import PowerMode
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .fakes import BOOT_S, RAMP_S
from .test_calibration_and_pins import SPREAD, spread_rig
from .test_controller import POLL_S, make_rig


async def test_learnt_draw_is_taken_back_by_a_new_controller() -> None:
    before = await spread_rig(PowerMode.ON_OFF)
    try:
        await before.controller.activate(14.6)
        await before.run(BOOT_S + RAMP_S + 4 * POLL_S)
        stored = before.controller.calibration()
    finally:
        await before.controller.close()
    assert len(stored) == len(SPREAD)
    assert sorted(stored.values()) == pytest.approx(sorted(SPREAD), abs=0.002)

    after = await make_rig(len(SPREAD), mode=PowerMode.ON_OFF)  # the same miners, asleep
    try:
        assert after.controller.calibration() == {}
        assert after.controller.restore_calibration(stored) == len(SPREAD)
        for mac, scale in stored.items():
            assert after.controller.power_scale(mac) == scale
        # The plan uses what the miners were measured to draw, before any of them ran again
        # (rated power stays nominal).
        expected_w = sum(stored.values()) * S9_CURVE.nominal_w
        result = await after.controller.activate(after.controller.snapshot.rated_power_kw)
        assert result.message == f"10 miners at 650 MHz ≈ {expected_w / 1000:.2f} kW"
        assert after.controller.calibration() == stored
    finally:
        await after.controller.close()


async def test_implausible_or_unknown_entries_are_skipped() -> None:
    rig = await make_rig(3)
    try:
        a, b, c = (m.mac for m in rig.miners)
        taken = rig.controller.restore_calibration(
            {
                a: 1.04,
                b: math.nan,
                c: True,
                "AA:BB:CC:FF:FF:FF": 1.02,  # a miner no longer in the fleet
            }
        )
        assert taken == 1
        assert rig.controller.power_scale(a) == 1.04
        assert rig.controller.power_scale(b) == 1.0
        assert rig.controller.power_scale(c) == 1.0
        assert rig.controller.restore_calibration({b: 5.0, c: "1.1"}) == 0  # out of range, text
        assert rig.controller.calibration() == {a: 1.04}
    finally:
        await rig.controller.close()
