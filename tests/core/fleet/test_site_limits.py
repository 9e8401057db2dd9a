"""Site limits over the commanded target: a safety trip and a cap, against the override and the
EMS, every pair of sources; judged on what the (fake) miners really draw."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet import (
    CommandReason,
    SiteLimits,
    TargetSource,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .test_controller import make_rig

WAKE_S = 400.0  # a fake S9's boot and ramp, with room
FULL_W = S9_CURVE.nominal_w


def test_the_limits_cap_and_trip_in_order() -> None:
    assert SiteLimits().effective_w(3000.0) == 3000.0
    assert SiteLimits(cap_w=2000.0).effective_w(3000.0) == 2000.0
    assert SiteLimits(cap_w=5000.0).effective_w(3000.0) == 3000.0
    assert SiteLimits(tripped=True, cap_w=5000.0).effective_w(3000.0) == 0.0
    assert SiteLimits(tripped=True).effective_w(None) is None
    assert SiteLimits(cap_w=1500.0).rated_kw(4.38) == 1.5
    assert SiteLimits(tripped=True).rated_kw(4.38) == 0.0
    with pytest.raises(ValueError, match="finite"):
        SiteLimits(cap_w=float("nan"))
    with pytest.raises(ValueError, match="finite"):
        SiteLimits(cap_w=-1.0)


@pytest.mark.parametrize(
    ("limits", "override", "commanded", "source"),
    [
        # safety beats every other source
        (SiteLimits(tripped=True), False, 3000.0, TargetSource.SAFETY),
        (SiteLimits(tripped=True, cap_w=1000.0), True, 3000.0, TargetSource.SAFETY),
        (SiteLimits(tripped=True), False, None, TargetSource.SAFETY),
        # a limit beats the override and the EMS, but only where it binds
        (SiteLimits(cap_w=1000.0), True, 3000.0, TargetSource.LIMIT),
        (SiteLimits(cap_w=1000.0), False, 3000.0, TargetSource.LIMIT),
        (SiteLimits(cap_w=9000.0), True, 3000.0, TargetSource.OVERRIDE),
        (SiteLimits(cap_w=9000.0), False, 3000.0, TargetSource.EMS),
        # the override beats the EMS; nothing commanded is standby
        (SiteLimits(), True, 3000.0, TargetSource.OVERRIDE),
        (SiteLimits(), False, 3000.0, TargetSource.EMS),
        (SiteLimits(cap_w=1000.0), False, None, TargetSource.NONE),
    ],
)
def test_precedence_of_every_pair_of_sources(
    limits: SiteLimits, override: bool, commanded: float | None, source: TargetSource
) -> None:
    assert limits.source(commanded, override=override) is source


async def test_a_safety_trip_sheds_at_once_and_the_ems_target_comes_back() -> None:
    rig = await make_rig(3)
    controller = rig.controller
    assert (await controller.activate(3 * FULL_W / 1000.0)).accepted
    await rig.run(WAKE_S)
    assert rig.ground_truth_w == pytest.approx(3 * FULL_W, rel=0.05)
    result = await controller.set_limits(SiteLimits(tripped=True))
    assert result is not None and result.accepted
    await controller.wait_idle()
    assert all(m.state in ("sleeping", "stopped") for m in rig.miners)
    snapshot = controller.snapshot
    assert snapshot.target_source == "safety" and snapshot.tripped
    assert not snapshot.available and snapshot.rated_power_kw == 0.0
    refused = await controller.activate(1.0)
    assert not refused.accepted and refused.reason is CommandReason.CONFLICT
    assert refused.key == "safety_trip"
    # Deactivation stays possible (it drops the EMS target: nothing to come back then).
    await rig.run(60.0)
    assert all(m.state in ("sleeping", "stopped") for m in rig.miners)
    # The trip clears: the EMS target in force before comes back.
    await controller.set_limits(SiteLimits())
    await rig.run(WAKE_S)
    assert rig.ground_truth_w == pytest.approx(3 * FULL_W, rel=0.05)
    assert controller.snapshot.target_source == "ems"
    await controller.close()


async def test_a_cap_below_the_target_binds_and_shows_in_rated_power() -> None:
    rig = await make_rig(3)
    controller = rig.controller
    assert (await controller.activate(3 * FULL_W / 1000.0)).accepted
    await rig.run(WAKE_S)
    await controller.set_limits(SiteLimits(cap_w=1.5 * FULL_W))
    await rig.run(60.0)
    # On/off: whole miners, never above the cap.
    assert rig.ground_truth_w <= 1.5 * FULL_W + 100.0
    assert rig.ground_truth_w >= FULL_W - 100.0
    snapshot = controller.snapshot
    assert snapshot.target_source == "limit"
    assert snapshot.limit_kw == pytest.approx(1.5 * FULL_W / 1000.0)
    assert snapshot.rated_power_kw == pytest.approx(1.5 * FULL_W / 1000.0, abs=0.01)
    # An EMS asking more than the limit leaves is refused like any target above rated power.
    refused = await controller.activate(3 * FULL_W / 1000.0)
    assert not refused.accepted and refused.reason is CommandReason.EXCEEDS_RATED
    # Lifting the cap brings the commanded target back.
    await controller.set_limits(SiteLimits())
    await rig.run(WAKE_S)
    assert rig.ground_truth_w == pytest.approx(3 * FULL_W, rel=0.05)
    history = [c.command for c in await controller.recent_commands(10)]
    assert history.count("site_limits") == 2
    await controller.close()


async def test_the_same_limits_again_change_nothing() -> None:
    rig = await make_rig(1)
    assert await rig.controller.set_limits(SiteLimits()) is None
    assert await rig.controller.set_limits(SiteLimits(cap_w=500.0)) is not None
    assert await rig.controller.set_limits(SiteLimits(cap_w=500.0)) is None
    await rig.controller.close()
