"""bmminer.conf handling as Vnish 3.9.0 does it: positional form parsing and config text.

Built from the firmware's own `www/pages/cgi-bin/set_miner_conf_custom.cgi` (an extracted
Vnish 3.9.0 S9 web root, `itmua/antminers9`): the script turns `&` into spaces, splits the body
on whitespace, undoes a fixed list of `%XX` escapes, and gives the N-th item to the N-th arm of
a `case` statement, which removes only that arm's own `_ant_<name>=` from it. Field names are
otherwise ignored: a missing or reordered field shifts every later value and leaves
`name=value` strings in the config. This module reproduces that on purpose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .physics import CHAINS, DEFAULT_FREQ_MHZ, clamp_freq, default_voltage

# The script's case arms, in order: arm N sets the shell variable named here from the N-th
# item, after removing `_<variable>=` from it (`${ant_var/_ant_freq=/}` in arm 13).
_CASE_ARMS_TEXT = """
ant_pool1url ant_pool1user ant_pool1pw ant_pool2url ant_pool2user ant_pool2pw
ant_pool3url ant_pool3user ant_pool3pw ant_nobeeper ant_notempoverctrl
ant_fan_customize_switch ant_fan_customize_value ant_freq ant_freq1 ant_freq2 ant_freq3
ant_voltage ant_voltage1 ant_voltage2 ant_voltage3 ant_fan_rpm_off ant_chip_freq
ant_autodownscale ant_autodownscale_watch ant_autodownscale_watchtimer
ant_autodownscale_timer ant_autodownscale_after ant_autodownscale_step ant_autodownscale_min
ant_autodownscale_prec ant_autodownscale_profile ant_minhr ant_asicboost ant_tempoff
ant_altdf ant_presave ant_name ant_warn ant_maxx ant_trigger_reboot ant_target_temp
ant_silentstart ant_altdfno ant_autodownscale_reboot ant_hotel_fee ant_lpm_mode
ant_dchain5 ant_dchain6 ant_dchain7
"""
_CASE_ARMS = tuple(_CASE_ARMS_TEXT.split())
# The form field of each slot, as the web UI names it.
CUSTOM_CONF_FIELDS: tuple[str, ...] = tuple(f"_{variable}" for variable in _CASE_ARMS)

# Only these escapes are decoded, in this order (so "%2526" ends up as "&", and "%22",
# "%5C" or lowercase hex stay encoded), like the firmware's shell substitutions.
_DECODE_STEPS: tuple[tuple[str, str], ...] = (
    ("+", " "),
    ("%23", "#"),
    ("%24", "$"),
    ("%25", "%"),
    ("%26", "&"),
    ("%2C", ","),
    ("%2B", "+"),
    ("%3A", ":"),
    ("%3B", ";"),
    ("%3C", "<"),
    ("%3D", "="),
    ("%3E", ">"),
    ("%3F", "?"),
    ("%40", "@"),
    ("%5B", "["),
    ("%5D", "]"),
    ("%5E", "^"),
    ("%7B", "{"),
    ("%7C", "|"),
    ("%7D", "}"),
    ("%2F", "/"),
)


def default_custom_fields(hostname: str = "s9") -> dict[str, str]:
    """A complete, correctly ordered set of the 50 fields for a factory-default miner."""
    values = dict.fromkeys(CUSTOM_CONF_FIELDS, "false")
    values.update(
        {
            "_ant_pool1url": "stratum+tcp://stratum.pool.invalid:3333",
            "_ant_pool1user": f"sim.{hostname}",
            "_ant_pool1pw": "x",
            "_ant_pool2url": "stratum+tcp://backup.pool.invalid:3333",
            "_ant_pool2user": f"sim.{hostname}",
            "_ant_pool2pw": "x",
            "_ant_pool3url": "",
            "_ant_pool3user": "",
            "_ant_pool3pw": "",
            "_ant_fan_customize_value": "100",
            "_ant_freq": str(DEFAULT_FREQ_MHZ),
            "_ant_freq1": "0",
            "_ant_freq2": "0",
            "_ant_freq3": "0",
            "_ant_voltage": str(default_voltage(DEFAULT_FREQ_MHZ)),
            "_ant_voltage1": "0",
            "_ant_voltage2": "0",
            "_ant_voltage3": "0",
            "_ant_fan_rpm_off": "0",
            "_ant_autodownscale_timer": "24",
            "_ant_autodownscale_after": "60",
            "_ant_autodownscale_step": "25",
            "_ant_autodownscale_min": "400",
            "_ant_autodownscale_prec": "75",
            "_ant_autodownscale_profile": "0",
            "_ant_minhr": "0",
            "_ant_asicboost": "true",
            "_ant_tempoff": "0",
            "_ant_altdf": "true",
            "_ant_presave": "0",
            "_ant_name": "",
            "_ant_warn": "0",
            "_ant_maxx": "0",
            "_ant_trigger_reboot": "0",
            "_ant_target_temp": "0",
            "_ant_altdfno": "0",
        }
    )
    return values


def encode_custom_form(values: dict[str, str]) -> str:
    """URL-encode fields in the order given (a client helper for tests)."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in values.items())


def _decode(item: str) -> str:
    for escaped, plain in _DECODE_STEPS:
        item = item.replace(escaped, plain)
    return item


def parse_custom_form(body: str) -> list[str]:
    """Return the 50 slot values exactly as the firmware would assign them."""
    # `&` becomes a space and the shell splits on whitespace, so empty items vanish too.
    items = body.replace("&", " ").split()
    slots = [""] * len(CUSTOM_CONF_FIELDS)
    for i, raw in enumerate(items[: len(slots)]):
        item = _decode(raw)
        # Only the name expected at this position is removed (first occurrence anywhere).
        slots[i] = item.replace(f"{CUSTOM_CONF_FIELDS[i]}=", "", 1)
    return slots


def render_config(slots: list[str]) -> str:
    """Write bmminer.conf text from the 50 slots, line by line like the firmware script."""
    v = dict(zip(CUSTOM_CONF_FIELDS, slots, strict=True))
    lines = ["{", '"pools" : [']
    for n in (1, 2, 3):
        lines += [
            "{",
            f'"url" : "{v[f"_ant_pool{n}url"]}",',
            f'"user" : "{v[f"_ant_pool{n}user"]}",',
            f'"pass" : "{v[f"_ant_pool{n}pw"]}"',
            "}," if n < 3 else "}",
        ]
    lines += [
        "]",
        ",",
        '"api-listen" : true,',
        '"api-network" : true,',
        '"api-groups" : "A:stats:pools:devs:summary:version",',
        '"api-allow" : "W:0/0",',
    ]
    if v["_ant_nobeeper"] == "true":
        lines.append('"bitmain-nobeeper" : true,')
    if v["_ant_notempoverctrl"] == "true":
        lines.append('"bitmain-notempoverctrl" : true,')
    if v["_ant_fan_customize_switch"] == "true":
        lines.append('"bitmain-fan-ctrl" : true,')
        lines.append(f'"bitmain-fan-pwm" : "{v["_ant_fan_customize_value"]}",')
    lines.append('"bitmain-use-vil" : true,')
    lines.append(f'"bitmain-freq" : "{v["_ant_freq"]}",')
    lines.append(f'"bitmain-minhr" : "{v["_ant_minhr"]}",')
    if v["_ant_tempoff"] != "0":
        lines.append(f'"bitmain-tempoff" : "{v["_ant_tempoff"]}",')
    # Boolean options are written unquoted and only when "true", as the firmware does.
    for key, name in (
        ("asicboost", "_ant_asicboost"),
        ("hotel-fee", "_ant_hotel_fee"),
        ("dchain5", "_ant_dchain5"),
        ("dchain6", "_ant_dchain6"),
        ("dchain7", "_ant_dchain7"),
        ("lpm-mode", "_ant_lpm_mode"),
    ):
        if v[name] == "true":
            lines.append(f'"{key}" : true,')
    if v["_ant_altdf"] == "true":
        lines.append(f'"altdfno" : "{v["_ant_altdfno"]}",')
    for key, name in (
        ("bitmain-silentstart", "_ant_silentstart"),
        ("bitmain-autodownscale", "_ant_autodownscale"),
        ("bitmain-autodownscale-reboot", "_ant_autodownscale_reboot"),
        ("bitmain-autodownscale-watch", "_ant_autodownscale_watch"),
        ("bitmain-autodownscale-watchtimer", "_ant_autodownscale_watchtimer"),
    ):
        if v[name] == "true":
            lines.append(f'"{key}" : true,')
    for key, name in (
        ("bitmain-autodownscale-hw", "_ant_warn"),
        ("bitmain-maxx", "_ant_maxx"),
        ("bitmain-autodownscale-timer", "_ant_autodownscale_timer"),
        ("bitmain-autodownscale-after", "_ant_autodownscale_after"),
        ("bitmain-autodownscale-step", "_ant_autodownscale_step"),
        ("bitmain-autodownscale-min", "_ant_autodownscale_min"),
        ("bitmain-autodownscale-prec", "_ant_autodownscale_prec"),
        ("bitmain-autodownscale-profile", "_ant_autodownscale_profile"),
        ("bitmain-freq1", "_ant_freq1"),
        ("bitmain-freq2", "_ant_freq2"),
        ("bitmain-freq3", "_ant_freq3"),
        ("bitmain-voltage", "_ant_voltage"),
        ("bitmain-voltage1", "_ant_voltage1"),
        ("bitmain-voltage2", "_ant_voltage2"),
        ("bitmain-voltage3", "_ant_voltage3"),
        ("bitmain-chip-freq", "_ant_chip_freq"),
        ("bitmain-fan-rpm-off", "_ant_fan_rpm_off"),
        ("bitmain-trigger-reboot", "_ant_trigger_reboot"),
    ):
        lines.append(f'"{key}" : "{v[name]}",')
    if v["_ant_target_temp"] != "0":
        lines.append(f'"bitmain-target-temp" : "{v["_ant_target_temp"]}",')
    lines += ['"multi-version" : "1"', "}"]
    return "\n".join(lines) + "\n"


_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def _atoi(value: Any) -> int:
    """C atoi(): leading integer or 0; corrupted `name=value` strings become 0."""
    match = _LEADING_INT.match(str(value))
    return int(match.group(1)) if match else 0


class ConfigError(ValueError):
    """bmminer cannot parse its config and exits at start."""


@dataclass(frozen=True, slots=True)
class BmminerSettings:
    """What bmminer actually runs with after reading bmminer.conf."""

    chain_freqs: tuple[float, float, float]
    chain_volts: tuple[int, int, int]
    pools: tuple[tuple[str, str], ...]
    freq_setting: int

    @classmethod
    def from_config(cls, text: str) -> BmminerSettings:
        """Interpret config text; raises ConfigError if bmminer would refuse to start."""
        try:
            conf = json.loads(text)
        except ValueError as err:
            raise ConfigError(f"bmminer.conf is not valid JSON: {err}") from err
        if not isinstance(conf, dict):
            raise ConfigError("bmminer.conf is not an object")
        # Assumption: a zero or garbage global frequency falls back to the firmware default.
        base = _atoi(conf.get("bitmain-freq", "")) or DEFAULT_FREQ_MHZ
        freqs: list[float] = []
        volts: list[int] = []
        for n in range(1, len(CHAINS) + 1):
            per_chain = _atoi(conf.get(f"bitmain-freq{n}", "0"))
            freq = clamp_freq(float(per_chain or base))
            freqs.append(freq)
            volt = _atoi(conf.get(f"bitmain-voltage{n}", "0")) or _atoi(
                conf.get("bitmain-voltage", "0")
            )
            volts.append(volt or default_voltage(freq))
        pools = tuple(
            (str(p.get("url", "")), str(p.get("user", "")))
            for p in conf.get("pools", [])
            if isinstance(p, dict) and p.get("url")
        )
        return cls(
            chain_freqs=(freqs[0], freqs[1], freqs[2]),
            chain_volts=(volts[0], volts[1], volts[2]),
            pools=pools,
            freq_setting=base,
        )
