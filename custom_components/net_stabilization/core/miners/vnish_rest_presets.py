"""Vnish REST firmware power presets (`GET /api/v1/autotune/presets`) and the operating points
they give the planner.

A preset is named by the power it was tuned for: `{"name": "1100", "pretty": "1100 watt ~ 53 TH",
"status": "tuned" | "untuned", "modded_psu_required": false}`, plus a `"disabled"` entry for the
stock clock. Only tuned presets apply at once; an untuned one would start hours of autotuning,
so it is never offered. Some firmware builds wrap the list as `{"presets": [...]}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..power_curve import PowerCurve
from .base import OperatingPoints, SettingUnit
from .cgminer import number

# Timings of this firmware on S19-class hardware (assumptions, not measured on hardware):
# a resume initialises the hash boards (about 45 s) and then ramps to the preset (about 30 s).
# A preset change restarts mining the same way: nothing documents a live switch, and a preset
# is a per-chip voltage and frequency table that the boards are initialised with.
START_S = 45.0
RAMP_S = 30.0
WAKE_S = START_S + RAMP_S
CHANGE_S = START_S + RAMP_S
CHANGE_STOPS_HASHING = True
# Wall draw with the hash boards off: control board, fans at their minimum, PSU losses
# (assumption for an APW12-class supply; the S9's 50 W comes from a far less efficient PSU).
STANDBY_W = 30.0

MAX_PRESETS = 64
_MAX_NAME_CHARS = 32
_MAX_PRETTY_CHARS = 64
_MIN_PRESET_W, _MAX_PRESET_W = 100.0, 20_000.0
_MAX_THS = 10_000.0
# The hashrate unit of a preset's `pretty` text, in TH/s.
_PRETTY_UNITS = {"TH": 1.0, "GH": 1e-3, "PH": 1e3}

# Nominal efficiency (J/TH) and power of common models, for presets whose text names no
# hashrate and for miners with no tuned preset (Bitmain's published figures, rounded).
_MODELS: dict[str, tuple[float, float]] = {
    "s19": (34.5, 3250.0),
    "s19pro": (29.5, 3250.0),
    "s19j": (34.5, 3100.0),
    "s19jpro": (29.5, 3068.0),
    "s19jpro+": (27.5, 3355.0),
    "s19kpro": (23.0, 2760.0),
    "s19xp": (21.5, 3010.0),
    "t19": (37.5, 3150.0),
    "s21": (17.5, 3500.0),
    "s21pro": (15.0, 3510.0),
}
_DEFAULT_MODEL = (30.0, 3250.0)


@dataclass(frozen=True, slots=True)
class Preset:
    """One power preset as the firmware lists it."""

    name: str  # what the settings call it, e.g. "1100"
    watts: float
    ths: float | None  # from its text, when the text names a hashrate
    tuned: bool
    modded_psu: bool  # needs a modified power supply: never applied

    @property
    def usable(self) -> bool:
        """Applies at once on a stock power supply."""
        return self.tuned and not self.modded_psu


def parse_presets(reply: Any) -> tuple[Preset, ...]:
    """The presets of a `GET autotune/presets` reply that are named by a power (bounded)."""
    entries = reply.get("presets") if isinstance(reply, dict) else reply
    if not isinstance(entries, list):
        return ()
    presets: dict[float, Preset] = {}
    for entry in entries[:MAX_PRESETS]:
        preset = _preset(entry)
        # Two entries for one power: a tuned one wins, so it is never hidden by a copy.
        if preset is not None and (preset.watts not in presets or preset.usable):
            presets[preset.watts] = preset
    return tuple(sorted(presets.values(), key=lambda p: p.watts))


def _preset(entry: Any) -> Preset | None:
    if not isinstance(entry, dict):
        return None
    name = entry.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME_CHARS:
        return None
    pretty = entry.get("pretty")
    pretty_w, ths = parse_pretty(pretty) if isinstance(pretty, str) else (None, None)
    watts = number(name)
    if watts is None:
        watts = pretty_w
    if watts is None or not _MIN_PRESET_W <= watts <= _MAX_PRESET_W:
        return None  # "disabled" (the stock clock) and junk
    return Preset(
        name=name,
        watts=watts,
        ths=ths,
        tuned=entry.get("status") == "tuned",
        modded_psu=entry.get("modded_psu_required") is True,
    )


def parse_pretty(text: str) -> tuple[float | None, float | None]:
    """(watts, TH/s) from a preset's text such as "1100 watt ~ 53 TH" or "3200W ~ 65 TH"."""
    left, sep, right = text[:_MAX_PRETTY_CHARS].partition("~")
    watts = _leading_number(left.strip())[0]
    if watts is not None and not _MIN_PRESET_W <= watts <= _MAX_PRESET_W:
        watts = None
    if not sep:
        return watts, None
    value, unit = _leading_number(right.strip())
    factor = _PRETTY_UNITS.get(unit.split("/")[0].upper()) if unit else None
    if value is None or factor is None:
        return watts, None
    ths = value * factor
    return watts, ths if 0 < ths <= _MAX_THS else None


def _leading_number(text: str) -> tuple[float | None, str]:
    """The number a text starts with and the first word after it ("53 TH" -> 53, "TH")."""
    end = 0
    while end < len(text) and (text[end].isdigit() or text[end] == "."):
        end += 1
    rest = text[end:].split()
    return number(text[:end]) if end else None, rest[0] if rest else ""


def model_figures(model: str | None) -> tuple[float, float]:
    """(J/TH, nominal W) of a model such as "Antminer S19j Pro" (a default when unknown)."""
    if not model:
        return _DEFAULT_MODEL
    key = "".join(model.lower().removeprefix("antminer").split())[:_MAX_NAME_CHARS]
    return _MODELS.get(key, _DEFAULT_MODEL)


def operating_points(presets: tuple[Preset, ...], model: str | None) -> OperatingPoints:
    """What the planner may choose: the usable presets, each at its named power.

    A preset's watts are taken as wall power; its hashrate is the one its text names, or the
    model's nominal efficiency applied to its watts. The nominal setting is the highest usable
    preset. With none, the curve is one point at the model's nominal power and the miner can
    only be paused and resumed.
    """
    joules_per_th, nominal_w = model_figures(model)
    usable = [p for p in presets if p.usable]
    if usable:
        points = tuple(
            (p.watts, p.watts, p.ths if p.ths is not None else p.watts / joules_per_th)
            for p in usable
        )
    else:
        points = ((nominal_w, nominal_w, nominal_w / joules_per_th),)
    curve = PowerCurve(points=points, nominal_mhz=points[-1][0], standby_w=STANDBY_W)
    return OperatingPoints(
        curve=curve,
        unit=SettingUnit.WATT,
        levels=tuple(p[0] for p in points),
        step=1.0,
        wake_s=WAKE_S,
        wake_reboots=False,
        change_s=CHANGE_S,
        change_stops_hashing=CHANGE_STOPS_HASHING,
    )
