"""Entity readings in the units integrations report, converted for the rules."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.strategies import units


@pytest.mark.parametrize(
    ("text", "unit", "watts"),
    [
        ("1500", "W", 1500.0),
        ("1.5", "kW", 1500.0),
        ("0.0015", "MW", 1500.0),
        ("-2", "kW", -2000.0),
        ("1500", "mW", 1.5),
        ("1500", "kWh", None),
        ("1500", None, None),
        ("nan", "W", None),
        ("inf", "kW", None),
        ("on", "W", None),
        ("1" * 100, "W", None),
    ],
)
def test_power(text: str, unit: str | None, watts: float | None) -> None:
    assert units.power_w(text, unit) == (pytest.approx(watts) if watts is not None else None)


@pytest.mark.parametrize(
    ("text", "unit", "per_kwh"),
    [
        ("0.25", "EUR/kWh", 0.25),
        ("250", "EUR/MWh", 0.25),
        ("25", "ct/kWh", 0.25),
        ("25", "c/kWh", 0.25),
        ("0.00025", "€/Wh", 0.25),
        ("-10", "EUR/MWh", -0.01),  # negative prices happen
        ("0.25", "kWh", None),
        ("0.25", "EUR", None),
        ("0.25", "EUR/kW", None),
        ("0.25", None, None),
    ],
)
def test_price(text: str, unit: str | None, per_kwh: float | None) -> None:
    got = units.price_per_kwh(text, unit)
    assert got == (pytest.approx(per_kwh) if per_kwh is not None else None)


@pytest.mark.parametrize(
    ("text", "unit", "per_th_day"),
    [
        ("0.05", "USD/TH/day", 0.05),
        ("50", "USD/PH/day", 0.05),
        ("50", "$/PH/s/day", 0.05),
        ("50000", "USD/EH/day", 0.05),
        ("5", "ct/TH/d", 0.05),
        ("50", "USD/PH/hour", 1.2),
        ("50", "USD/PH", None),
        ("50", "USD/kWh/day", None),
        ("50", "USD/PH/x/day", None),
    ],
)
def test_hashprice(text: str, unit: str | None, per_th_day: float | None) -> None:
    got = units.hashprice_per_th_day(text, unit)
    assert got == (pytest.approx(per_th_day) if per_th_day is not None else None)


def test_frequency_and_temperature() -> None:
    assert units.frequency_hz("49.8", "Hz") == pytest.approx(49.8)
    assert units.frequency_hz("49800", "mHz") == pytest.approx(49.8)
    assert units.frequency_hz("49.8", None) == pytest.approx(49.8)
    assert units.frequency_hz("49.8", "kW") is None
    assert units.temperature_c("20", "°C") == 20.0
    assert units.temperature_c("68", "°F") == pytest.approx(20.0)
    assert units.temperature_c("293.15", "K") == pytest.approx(20.0)
    assert units.temperature_c("20", "%") is None
