"""The fleet controller as the VEN's fleet: its reading, a dispatch reaching it, and the rest of
the site's load read defensively (a meter that fails or says nonsense is an unknown load)."""

from __future__ import annotations

import math

import pytest

from custom_components.net_stabilization.core.fleet import GridDispatch, TargetSource
from custom_components.net_stabilization.core.openadr import ControllerPort
from custom_components.net_stabilization.core.openadr.fleet_port import STANDBY_KW

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
