"""The strategy's options page checks what it stores: each field named with its problem."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.strategy_options import check_strategy


def test_a_complete_heat_page_is_stored_as_numbers() -> None:
    new, errors = check_strategy(
        "heat",
        {"heat_temperature_entity": "sensor.tank", "heat_setpoint_c": 45, "heat_limit_c": 60},
    )
    assert errors == {}
    assert new["heat_setpoint_c"] == 45.0 and isinstance(new["heat_setpoint_c"], float)
    assert new["strategy_policy"] == "while_ems_idle"


@pytest.mark.parametrize(
    ("strategy", "given", "errors"),
    [
        ("heat", {"heat_setpoint_c": 45}, {"heat_temperature_entity": "entity_required"}),
        ("heat", {"heat_temperature_entity": "sensor.tank"}, {"heat_setpoint_c": "value_required"}),
        (
            "heat",
            {"heat_temperature_entity": "sensor.tank", "heat_setpoint_c": True},
            {"heat_setpoint_c": "out_of_range"},
        ),
        (
            "heat",
            {"heat_temperature_entity": "sensor.tank", "heat_setpoint_c": float("nan")},
            {"heat_setpoint_c": "out_of_range"},
        ),
        (
            "heat",
            {"heat_temperature_entity": "sensor.t", "heat_setpoint_c": 45, "heat_limit_c": 40},
            {"heat_limit_c": "limit_below_setpoint"},
        ),
        (
            "heat",
            {"heat_temperature_entity": "sensor.t", "heat_setpoint_c": 45, "strategy_policy": "x"},
            {"strategy_policy": "invalid_choice"},
        ),
        ("price", {"price_entity": "sensor.price"}, {"price_threshold": "price_needs_limit"}),
        (
            "frequency",
            {
                "frequency_entity": "sensor.f",
                "droop_gain_kw_per_hz": 5,
                "droop_deadband_hz": 0.5,
                "frequency_trip_hz": 49.6,
            },
            {"frequency_trip_hz": "trip_inside_deadband"},
        ),
    ],
)
def test_each_problem_is_named_on_its_field(
    strategy: str, given: dict[str, object], errors: dict[str, str]
) -> None:
    assert check_strategy(strategy, given)[1] == errors


def test_an_optional_entity_is_kept_only_when_given() -> None:
    given = {"price_entity": "sensor.price", "hashprice_entity": "sensor.hashprice"}
    new, errors = check_strategy("price", given)
    assert errors == {}
    assert new["hashprice_entity"] == "sensor.hashprice"
    new, _errors = check_strategy("price", {"price_entity": "sensor.p", "price_threshold": 0.1})
    assert "hashprice_entity" not in new
