"""Corners of the local strategy in the controller: an input that raises is a missing one, a
decision between polls waits for the first poll's, and switching it needs a real flag and a
configured strategy."""

from __future__ import annotations

from custom_components.net_stabilization.core.fleet import StrategySeat, StrategyStatus
from custom_components.net_stabilization.core.strategies import (
    LocalStrategy,
    Pacing,
    SiteInputs,
    SurplusFollower,
)

from .test_controller import make_rig

FAST = Pacing(band_w=500.0, min_on_s=600.0, min_off_s=600.0)


class BrokenSensor:
    """A reader whose entity cannot be read at all."""

    def __call__(self) -> SiteInputs:
        raise RuntimeError("state machine gone")


async def test_an_input_that_cannot_be_read_holds_the_fleet() -> None:
    seat = StrategySeat(LocalStrategy(SurplusFollower(), FAST), BrokenSensor())
    rig = await make_rig(2, strategy=seat)
    await rig.run(60.0)
    assert rig.controller.strategy_status is StrategyStatus.HOLDING
    assert rig.ground_truth_w < 200.0  # nothing was woken on a guess
    await rig.controller.close()


async def test_between_polls_it_waits_for_its_first_decision_at_a_poll() -> None:
    exported = SiteInputs(grid_w=-5000.0)
    seat = StrategySeat(LocalStrategy(SurplusFollower(), FAST), lambda: exported, started=False)
    rig = await make_rig(2, strategy=seat)
    rig.controller.start_strategy()
    await rig.controller.follow_strategy_now()
    assert seat.strategy.target_w is None  # no decision before a poll read the fleet
    await rig.run(10.0)
    assert seat.strategy.target_w is not None and seat.strategy.target_w > 0
    await rig.controller.close()


async def test_switching_needs_a_flag_and_a_strategy() -> None:
    rig = await make_rig(1)
    controller = rig.controller
    refused = await controller.set_strategy_enabled("on")
    assert (refused.accepted, refused.key) == (False, "invalid_flag")
    refused = await controller.set_strategy_enabled(True)
    assert (refused.accepted, refused.key) == (False, "no_strategy")
    assert controller.strategy_status is StrategyStatus.NONE
    await controller.follow_strategy_now()  # nothing configured: nothing happens
    await controller.close()
