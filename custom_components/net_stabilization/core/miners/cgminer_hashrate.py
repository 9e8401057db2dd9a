"""Hashrates in TH/s from cgminer-API numbers whose unit label cannot be trusted.

Firmwares name the unit in the key (`GHS 5s`, `MHS 1m`, `THS av`) or in `stats` `rate_unit`,
and some get it wrong: a stock S21 build that writes TH under `GHS 5s`, a `rate_unit` missing
next to TH figures. A wrong label is always a factor of 1000 (or 1000²). So a labelled value is
checked against what the model can hash: inside the band around its nominal hashrate it is kept,
outside it is moved by powers of 1000 into the band, and a value no power of 1000 brings into the
band is dropped rather than shown.
"""

from __future__ import annotations

from typing import Any

from .cgminer import number

# TH/s per unit of each label.
_UNITS = {"TH": 1.0, "GH": 1e-3, "MH": 1e-6, "KH": 1e-9, "H": 1e-12}
_STEP = 1000.0

# The band a real reading falls in, as shares of the nominal hashrate: no stock-cooled miner
# hashes 2.5 times its nominal, and below 0.25 % it is at most a chip or two. The band spans
# exactly one factor of 1000, so every positive number has one place in it.
HIGH_SHARE = 2.5
LOW_SHARE = HIGH_SHARE / _STEP
# Without a nominal hashrate, only the top is known: no single miner reaches 2 PH/s.
MAX_THS = 2000.0
# Raw numbers beyond this are junk in any unit (and keep all sums finite).
_MAX_RAW = 1e15
_MIN_REFERENCE_THS = 1e-3


def unit_factor(label: object, default: str = "GH") -> float:
    """TH/s per unit of a `rate_unit` value ("GH", "TH/s", "mh"); the default when unknown."""
    text = label.strip().upper() if isinstance(label, str) and len(label) <= 8 else ""
    text = text.removesuffix("/S")
    if text.endswith("HS") and len(text) > 2:
        text = text[:-1]  # "GHS" -> "GH"
    return _UNITS.get(text, _UNITS[default])


def key_factor(key: str) -> float | None:
    """TH/s per unit of a key's label: "GHS 5s" -> 1e-3, "MHS av" -> 1e-6; None if unlabelled."""
    prefix = key.split(" ", 1)[0].upper()
    if prefix.endswith("HS"):
        return _UNITS.get(prefix[:-1] or "H")
    return None


def raw_ths(value: Any, factor: float) -> float | None:
    """A reported rate in TH/s at its label's face value; None unless a sane number."""
    rate = number(value)
    if rate is None or rate < 0 or rate > _MAX_RAW:
        return None
    return rate * factor


def resolve(
    value_ths: float | None, reference_ths: float | None, *, allow_up: bool
) -> float | None:
    """`value_ths` moved by powers of 1000 into the band around `reference_ths`.

    Without a reference only values above `MAX_THS` can be told wrong. `allow_up=False` keeps
    small values as they are (a miner ramping up really does report them).
    """
    if value_ths is None or value_ths <= 0:
        return value_ths
    if reference_ths is None or reference_ths < _MIN_REFERENCE_THS:
        return _within_max(value_ths)
    high = reference_ths * HIGH_SHARE
    low = reference_ths * LOW_SHARE
    if value_ths > high:
        for steps in (1, 2):
            moved = value_ths / _STEP**steps
            if low <= moved <= high:
                return moved
        return None
    if value_ths < low and allow_up:
        for steps in (1, 2):
            moved = value_ths * _STEP**steps
            if low <= moved <= high:
                return moved
    return value_ths


def _within_max(value_ths: float) -> float | None:
    for steps in (0, 1, 2):
        moved = value_ths / _STEP**steps
        if moved <= MAX_THS:
            return moved
    return None
