"""The control benchmark's command line: it runs the scenarios it knows and refuses others."""

import pytest

from benchmarks.control import SCENARIOS, parse_scenarios


def test_known_scenarios_are_taken_in_order() -> None:
    assert parse_scenarios("m,a") == ["m", "a"]
    assert set(SCENARIOS) >= {"a", "b", "c", "d", "m"}


@pytest.mark.parametrize("text", ["x", "a,zz", "", "a,,b", "A"])
def test_an_unknown_scenario_is_refused_not_run_as_another(text: str) -> None:
    with pytest.raises(ValueError, match="scenario"):
        parse_scenarios(text)
