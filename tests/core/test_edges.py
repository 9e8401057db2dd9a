"""Small behaviours at the edges of the core: endpoints, the power curve, the clock, command
parameters and the roster."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet import ManualClock
from custom_components.net_stabilization.core.fleet.command_log import (
    InMemoryCommandLog,
    parameter,
)
from custom_components.net_stabilization.core.fleet.config import ControlConfig
from custom_components.net_stabilization.core.fleet.roster import Roster
from custom_components.net_stabilization.core.miners.antminer_s9 import AntminerS9Driver
from custom_components.net_stabilization.core.miners.endpoint import MinerEndpoint
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from custom_components.net_stabilization.core.power_curve import S9_CURVE

from .fleet.fakes import FakeMiner


def test_an_ipv6_endpoint_is_written_with_brackets() -> None:
    assert str(MinerEndpoint("fd00::5", 4028, 80)) == "[fd00::5]:4028/80"
    assert str(MinerEndpoint("10.0.0.5")) == "10.0.0.5:4028/80"


def test_the_power_curve_is_clamped_at_its_ends() -> None:
    assert S9_CURVE.min_w == 660.0
    assert S9_CURVE.power_w(100.0) == S9_CURVE.min_w
    assert S9_CURVE.power_w(2000.0) == S9_CURVE.max_w
    assert S9_CURVE.mhz_for_power(10_000.0) == S9_CURVE.max_mhz


def test_a_manual_clock_never_goes_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)


async def test_parameters_that_cannot_even_be_shown_are_recorded_by_type() -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert parameter(Unprintable()) == "Unprintable"
    assert await InMemoryCommandLog().recent(0) == []


def test_a_miner_found_at_a_new_address_is_followed() -> None:
    clock = ManualClock()
    roster = Roster(ControlConfig())
    first = FakeMiner(clock, 0)
    known = roster.add(first)
    moved = FakeMiner(clock, 0)
    assert roster.add(moved) is known and known.driver is moved and len(roster) == 1


def test_the_s9_driver_refuses_firmware_it_does_not_drive() -> None:
    with pytest.raises(ValueError, match="Vnish or stock"):
        AntminerS9Driver("10.0.0.1", None, firmware=FirmwareKind.UNSUPPORTED)  # type: ignore[arg-type]
