"""The control benchmark's command line: it runs the scenarios it knows and refuses others."""

import pytest

from benchmarks.control import BINS_W, SCENARIOS, Moves, add_spans, parse_scenarios
from custom_components.net_stabilization.core.fleet import PowerMode


def test_known_scenarios_are_taken_in_order() -> None:
    assert parse_scenarios("m,a") == ["m", "a"]
    assert set(SCENARIOS) >= {"a", "b", "c", "d", "m"}


@pytest.mark.parametrize("text", ["x", "a,zz", "", "a,,b", "A"])
def test_an_unknown_scenario_is_refused_not_run_as_another(text: str) -> None:
    with pytest.raises(ValueError, match="scenario"):
        parse_scenarios(text)


def _reachable(sums: int, watts: float) -> bool:
    return bool(sums >> round(watts / BINS_W) & 1)


def test_the_fleet_draws_every_sum_of_its_miners_choices() -> None:
    sums = add_spans(add_spans(1, [(0.0, 0.0), (1000.0, 1000.0)]), [(100.0, 300.0)])
    drawn = [w for w in range(0, 1400, 10) if _reachable(sums, w)]
    assert drawn == [*range(100, 310, 10), *range(1100, 1310, 10)]


def test_a_miner_still_ramping_can_be_kept_only_once_it_has_arrived() -> None:
    choices = [(50.0, 0.0), *((w, w / 30.0) for w in (1200.0, 1800.0, 2400.0, 3000.0, 3600.0))]
    ramping = Moves(200.0, 3000.0, False, False, choices, up_s=400.0, down_s=30.0, present_w=1500)
    mode = PowerMode.FREQUENCY
    assert ramping.spans(10.0, mode) == [(50.0, 50.0)]  # only a sleep takes effect this soon
    assert ramping.spans(100.0, mode) == [(50.0, 50.0), (1200.0, 1500.0)]  # or a cut
    assert (3000.0, 3000.0) in ramping.spans(200.0, mode)
    assert (1200.0, 3000.0) in ramping.spans(200.0, mode)  # lowered once it is there
    assert (1200.0, 3600.0) in ramping.spans(400.0, mode)
    # On/off: kept or asleep, nothing in between.
    assert Moves(0.0, 3000.0, False, False, choices).spans(0.0, PowerMode.ON_OFF) == [
        (3000.0, 3000.0),
        (50.0, 50.0),
    ]
