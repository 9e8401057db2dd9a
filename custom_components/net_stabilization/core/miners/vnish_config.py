"""The form `set_miner_conf_custom.cgi` expects on Vnish 3.9.x, built from `bmminer.conf`.

The script assigns values by position (0-49), not by name, and rewrites the whole config from
them: a missing or misplaced field shifts every later value into the wrong setting. So we always
send all 50 fields in the documented order, each taken from the miner's current config, and change
only what we mean to change.

It also decodes only a fixed set of `%XX` escapes (plus `+` for a space) after splitting the body
on `&` and whitespace in an unquoted shell loop. `encode_form` uses exactly that set and refuses
values it could not carry intact.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from typing import Any

from .base import MinerUnsupportedError
from .cgminer import JsonDict

FORM_FIELDS: tuple[str, ...] = (
    "_ant_pool1url",
    "_ant_pool1user",
    "_ant_pool1pw",
    "_ant_pool2url",
    "_ant_pool2user",
    "_ant_pool2pw",
    "_ant_pool3url",
    "_ant_pool3user",
    "_ant_pool3pw",
    "_ant_nobeeper",
    "_ant_notempoverctrl",
    "_ant_fan_customize_switch",
    "_ant_fan_customize_value",
    "_ant_freq",
    "_ant_freq1",
    "_ant_freq2",
    "_ant_freq3",
    "_ant_voltage",
    "_ant_voltage1",
    "_ant_voltage2",
    "_ant_voltage3",
    "_ant_fan_rpm_off",
    "_ant_chip_freq",
    "_ant_autodownscale",
    "_ant_autodownscale_watch",
    "_ant_autodownscale_watchtimer",
    "_ant_autodownscale_timer",
    "_ant_autodownscale_after",
    "_ant_autodownscale_step",
    "_ant_autodownscale_min",
    "_ant_autodownscale_prec",
    "_ant_autodownscale_profile",
    "_ant_minhr",
    "_ant_asicboost",
    "_ant_tempoff",
    "_ant_altdf",
    "_ant_presave",
    "_ant_name",
    "_ant_warn",
    "_ant_maxx",
    "_ant_trigger_reboot",
    "_ant_target_temp",
    "_ant_silentstart",
    "_ant_altdfno",
    "_ant_autodownscale_reboot",
    "_ant_hotel_fee",
    "_ant_lpm_mode",
    "_ant_dchain5",
    "_ant_dchain6",
    "_ant_dchain7",
)

FREQUENCY_FIELD = "_ant_freq"
FREQUENCY_CONFIG_KEY = "bitmain-freq"


def _text(key: str, default: str = "") -> Callable[[JsonDict], str]:
    return lambda conf: _as_text(conf.get(key), default)


def _flag(key: str) -> Callable[[JsonDict], str]:
    # The script writes these keys only when the form says "true" (as a JSON `true`).
    return lambda conf: "true" if _as_text(conf.get(key), "").lower() == "true" else "false"


def _present(key: str) -> Callable[[JsonDict], str]:
    return lambda conf: "true" if key in conf else "false"


def _pool(index: int, key: str) -> Callable[[JsonDict], str]:
    def value(conf: JsonDict) -> str:
        pools = conf.get("pools")
        if isinstance(pools, list) and index < len(pools) and isinstance(pools[index], dict):
            return _as_text(pools[index].get(key), "")
        return ""

    return value


def _constant(value: str) -> Callable[[JsonDict], str]:
    return lambda _conf: value


# Where each form field's value lives in bmminer.conf (the inverse of what the script writes).
_FROM_CONFIG: dict[str, Callable[[JsonDict], str]] = {
    "_ant_pool1url": _pool(0, "url"),
    "_ant_pool1user": _pool(0, "user"),
    "_ant_pool1pw": _pool(0, "pass"),
    "_ant_pool2url": _pool(1, "url"),
    "_ant_pool2user": _pool(1, "user"),
    "_ant_pool2pw": _pool(1, "pass"),
    "_ant_pool3url": _pool(2, "url"),
    "_ant_pool3user": _pool(2, "user"),
    "_ant_pool3pw": _pool(2, "pass"),
    "_ant_nobeeper": _flag("bitmain-nobeeper"),
    "_ant_notempoverctrl": _flag("bitmain-notempoverctrl"),
    "_ant_fan_customize_switch": _flag("bitmain-fan-ctrl"),
    "_ant_fan_customize_value": _text("bitmain-fan-pwm"),
    "_ant_freq": _text("bitmain-freq"),
    "_ant_freq1": _text("bitmain-freq1", "0"),
    "_ant_freq2": _text("bitmain-freq2", "0"),
    "_ant_freq3": _text("bitmain-freq3", "0"),
    "_ant_voltage": _text("bitmain-voltage"),
    "_ant_voltage1": _text("bitmain-voltage1", "0"),
    "_ant_voltage2": _text("bitmain-voltage2", "0"),
    "_ant_voltage3": _text("bitmain-voltage3", "0"),
    "_ant_fan_rpm_off": _text("bitmain-fan-rpm-off", "0"),
    "_ant_chip_freq": _text("bitmain-chip-freq"),
    "_ant_autodownscale": _flag("bitmain-autodownscale"),
    "_ant_autodownscale_watch": _flag("bitmain-autodownscale-watch"),
    "_ant_autodownscale_watchtimer": _flag("bitmain-autodownscale-watchtimer"),
    "_ant_autodownscale_timer": _text("bitmain-autodownscale-timer"),
    "_ant_autodownscale_after": _text("bitmain-autodownscale-after"),
    "_ant_autodownscale_step": _text("bitmain-autodownscale-step"),
    "_ant_autodownscale_min": _text("bitmain-autodownscale-min"),
    "_ant_autodownscale_prec": _text("bitmain-autodownscale-prec"),
    "_ant_autodownscale_profile": _text("bitmain-autodownscale-profile"),
    "_ant_minhr": _text("bitmain-minhr"),
    "_ant_asicboost": _flag("asicboost"),
    "_ant_tempoff": _text("bitmain-tempoff", "0"),
    "_ant_altdf": _present("altdfno"),
    # 0 = write the live config and restart bmminer (1 and 2 only save a preset).
    "_ant_presave": _constant("0"),
    "_ant_name": _constant(""),
    "_ant_warn": _text("bitmain-autodownscale-hw"),
    "_ant_maxx": _text("bitmain-maxx"),
    "_ant_trigger_reboot": _text("bitmain-trigger-reboot"),
    "_ant_target_temp": _text("bitmain-target-temp", "0"),
    "_ant_silentstart": _flag("bitmain-silentstart"),
    "_ant_altdfno": _text("altdfno", "0"),
    "_ant_autodownscale_reboot": _flag("bitmain-autodownscale-reboot"),
    "_ant_hotel_fee": _flag("hotel-fee"),
    "_ant_lpm_mode": _flag("lpm-mode"),
    "_ant_dchain5": _flag("dchain5"),
    "_ant_dchain6": _flag("dchain6"),
    "_ant_dchain7": _flag("dchain7"),
}


def form_from_config(conf: JsonDict, **changes: str) -> list[tuple[str, str]]:
    """All 50 form fields in order, from the current config, with `changes` applied by name."""
    unknown = set(changes) - set(FORM_FIELDS)
    if unknown:
        raise ValueError(f"not form fields: {sorted(unknown)}")
    return [(name, changes.get(name, _FROM_CONFIG[name](conf))) for name in FORM_FIELDS]


# Characters the script turns back from `%XX`; everything else must go through unescaped.
_DECODED = "#$%&,+:;<=>?@[]^{|}/"
_RAW = frozenset(string.ascii_letters + string.digits + "-_.~!'()")
# The script decodes `%25` before later escapes, so a literal `%` followed by hex digits in a
# value would be decoded twice.
_DOUBLE_DECODE = re.compile(r"%[0-9A-Fa-f]{2}")


def encode_form(fields: Sequence[tuple[str, str]]) -> str:
    """Encode the fields the way the CGI decodes them. Raises for values it cannot carry."""
    return "&".join(f"{name}={_encode_value(name, value)}" for name, value in fields)


def _encode_value(name: str, value: str) -> str:
    if _DOUBLE_DECODE.search(value):
        raise MinerUnsupportedError(f"{name}: the firmware form would corrupt {value!r}")
    out = []
    for char in value:
        if char in _RAW:
            out.append(char)
        elif char == " ":
            out.append("+")
        elif char in _DECODED:
            out.append(f"%{ord(char):02X}")
        else:
            raise MinerUnsupportedError(
                f"{name}: the firmware form cannot carry the character {char!r}"
            )
    return "".join(out)


def _as_text(value: Any, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
