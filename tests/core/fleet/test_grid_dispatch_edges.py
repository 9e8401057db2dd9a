"""The grid's dispatch at its edges: a power that is no power is refused, a cap that leaves the
target in force alone says so, and the controller tells what the grid asks now."""

from __future__ import annotations

import math

import pytest

from custom_components.net_stabilization.core.fleet import GridDispatch

from .test_controller import make_rig


@pytest.mark.parametrize(
    "changes", [{"target_w": -1.0}, {"cap_w": math.inf}, {"target_w": math.nan}]
)
def test_a_dispatch_of_no_real_power_is_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="finite power"):
        GridDispatch(**changes)


async def test_a_cap_without_a_target_leaves_the_target_in_force_and_is_kept() -> None:
    rig = await make_rig(2)
    fleet = rig.controller
    capped = GridDispatch(cap_w=500.0, events="cap")
    result = await fleet.set_grid_dispatch(capped)
    assert result is not None
    assert "target in force unchanged" in result.message
    assert fleet.grid_dispatch == capped
    assert await fleet.set_grid_dispatch(capped) is None  # nothing changed
    await fleet.close()
