"""Readings in the units Home Assistant entities report, converted to the ones the rules use.

Each function takes an entity's state text and its unit of measurement and returns the value in
W, currency per kWh, currency per TH/s and day, Hz or °C; None when the text is not a finite
number or the unit is not one this knows (a wrong unit must not pass as a right one).
"""

from __future__ import annotations

import math
import re

_POWER_W = {"w": 1.0, "kw": 1e3, "mw": 1e6, "gw": 1e9}
_ENERGY_KWH = {"wh": 1e-3, "kwh": 1.0, "mwh": 1e3}
_HASHRATE_TH = {"gh": 1e-3, "th": 1.0, "ph": 1e3, "eh": 1e6}
_FREQUENCY_HZ = {"mhz": 1e-3, "hz": 1.0}
_CENTS = ("ct", "c", "cent", "cents", "¢", "p", "pence", "öre", "øre", "rp")
# "per time" suffixes of a hashprice: the day is the unit, other periods are scaled to it.
_PER_DAY = {"day": 1.0, "d": 1.0, "24h": 1.0, "hour": 24.0, "h": 24.0}


def number(text: str) -> float | None:
    """The state as a finite number; None otherwise (never raises)."""
    if len(text) > 64:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def power_w(text: str, unit: str | None) -> float | None:
    """Power in W from W, kW, MW or GW (mW is a milliwatt only for W's lowercase: none here)."""
    value = number(text)
    factor = _POWER_W.get((unit or "").strip().lower())
    if unit and unit.strip() == "mW":
        factor = 1e-3
    return None if value is None or factor is None else value * factor


def _currency_scale(prefix: str) -> float | None:
    """1 for a currency, 0.01 for its cents; None for no currency at all."""
    token = prefix.strip().lower()
    if not token:
        return None
    return 0.01 if token in _CENTS else 1.0


def price_per_kwh(text: str, unit: str | None) -> float | None:
    """An energy price in currency per kWh from …/kWh, …/MWh or …/Wh, cents included."""
    value = number(text)
    match = re.fullmatch(r"\s*([^/]{1,16})/\s*(k|m)?wh\s*", unit or "", re.IGNORECASE)
    if value is None or match is None:
        return None
    scale = _currency_scale(match.group(1))
    per = _ENERGY_KWH[(match.group(2) or "").lower() + "wh"]
    return None if scale is None else value * scale / per


def hashprice_per_th_day(text: str, unit: str | None) -> float | None:
    """A hashprice in currency per TH/s per day from e.g. USD/TH/day, $/PH/day, EUR/PH/s/d."""
    value = number(text)
    parts = [p.strip().lower() for p in (unit or "").split("/")]
    if value is None or len(parts) not in (3, 4):
        return None
    if len(parts) == 4:
        if parts[2] != "s":
            return None
        del parts[2]
    currency, rate, period = parts
    scale = _currency_scale(currency)
    hashes = _HASHRATE_TH.get(rate.removesuffix("/s").removesuffix("s"))
    per_day = _PER_DAY.get(period)
    if scale is None or hashes is None or per_day is None:
        return None
    return value * scale * per_day / hashes


def frequency_hz(text: str, unit: str | None) -> float | None:
    """A grid frequency in Hz from Hz or mHz (a unitless number is taken as Hz)."""
    value = number(text)
    if not unit:
        return value
    stripped = unit.strip()
    factor = 1e-3 if stripped == "mHz" else _FREQUENCY_HZ.get(stripped.lower())
    return None if value is None or factor is None else value * factor


def temperature_c(text: str, unit: str | None) -> float | None:
    """A temperature in °C from °C, °F or K."""
    value = number(text)
    if value is None:
        return None
    match (unit or "").strip():
        case "°C" | "C" | "":
            return value
        case "°F" | "F":
            return (value - 32.0) * 5.0 / 9.0
        case "K":
            return value - 273.15
    return None
