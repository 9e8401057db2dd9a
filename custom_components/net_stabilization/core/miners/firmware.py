"""Recognise a miner's model and firmware from what it says about itself.

Sources: the API `version` reply (`VERSION[0]`, e.g. `{"BMMiner":"2.0.0","Type":"Antminer S9"}`
on stock or `"Type":"Antminer S9 (vnish 3.9.0)"` on Vnish) and the web's `get_system_info.cgi`
(`minertype` is the same string as `Type`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .cgminer import JsonDict


class FirmwareKind(StrEnum):
    """Which driver, if any, can run a device."""

    VNISH_S9 = "vnish_s9"  # controllable: sleep, wake, frequency
    STOCK_S9 = "stock_s9"  # read-only: no sleep or frequency endpoint on Bitmain's firmware
    BRAIINS = "braiins"  # Braiins OS+: pause, resume, power target
    LUXOS = "luxos"  # LuxOS: curtail, power profiles
    VNISH_REST = "vnish_rest"  # Vnish's REST firmware (S19 and later): pause, resume, presets
    MONITOR = "monitor"  # any other cgminer API: read-only
    WHATSMINER_V3 = "whatsminer_v3"  # Whatsminer API v3 on TCP 4433: read-only
    UNSUPPORTED = "unsupported"


CONTROL_KINDS = frozenset({FirmwareKind.BRAIINS, FirmwareKind.LUXOS, FirmwareKind.VNISH_REST})
"""Kinds whose driver is only confirmed by its own identification (their API first)."""


VNISH = "Vnish"
BITMAIN_STOCK = "Bitmain stock"

# What a device says about itself is bounded before it is looked at: a real type string is
# about 30 characters, and nothing longer is worth a regular expression's time.
MAX_TYPE_CHARS = 100
# "Antminer S9", "Antminer S9i", "Antminer S9j", optionally "(vnish 3.9.0)". Not S9k/S9 SE/Hydro,
# which use other boards and would not match the S9 power curve. Matched on a string whose runs
# of whitespace were folded to single spaces, so no two quantifiers compete for the same
# characters (the match is linear in the input).
_S9_TYPE = re.compile(r"^Antminer (S9[ij]?)(?: ?\(([^()]*)\))?$", re.IGNORECASE)
_VNISH = re.compile(r"^vnish ([\w.\-]+)$", re.IGNORECASE)
_VERSION_TEXT = re.compile(r"[\w.\-]{1,32}")
# Vnish's REST firmware is at 1.x; 3.x and up is the S9-era family with CGI scripts.
_FIRST_CGI_MAJOR = 3
# Boards of the Vnish 3.x CGI era (compact, upper case): never the REST firmware.
_CGI_ERA_MODELS = frozenset({"S9", "S9I", "S9J", "S9K", "S9SE", "T9", "T9+", "L3+", "L3++"})
_MAC = re.compile(r"^[0-9A-F]{2}([:-]?)[0-9A-F]{2}(\1[0-9A-F]{2}){4}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FirmwareInfo:
    """The outcome of recognising one miner type string or version reply."""

    kind: FirmwareKind
    model: str  # "Antminer S9", or whatever the device called itself
    firmware: str  # "Vnish", "Bitmain stock", or a description
    version: str  # firmware version ("3.9.0"), or the mining software's for stock

    @property
    def supported(self) -> bool:
        """A driver exists for this device."""
        return self.kind is not FirmwareKind.UNSUPPORTED


def classify_type(type_string: str, software_version: str = "") -> FirmwareInfo:
    """Classify a `Type`/`minertype` string such as "Antminer S9 (vnish 3.9.0)"."""
    if len(type_string) > MAX_TYPE_CHARS * 4:  # padded or garbage: not a miner's type
        shown = " ".join(type_string[:MAX_TYPE_CHARS].split())
        return FirmwareInfo(FirmwareKind.UNSUPPORTED, shown, "unknown", "")
    text = " ".join(type_string.split())
    software_version = " ".join(software_version[:MAX_TYPE_CHARS].split())
    if len(text) > MAX_TYPE_CHARS:
        return FirmwareInfo(FirmwareKind.UNSUPPORTED, text[:MAX_TYPE_CHARS], "unknown", "")
    match = _S9_TYPE.match(text)
    if match is None:
        return FirmwareInfo(FirmwareKind.UNSUPPORTED, text, "unknown", "")
    model = f"Antminer {match.group(1)[:2].upper()}{match.group(1)[2:].lower()}"
    suffix = (match.group(2) or "").strip()
    if not suffix:
        return FirmwareInfo(FirmwareKind.STOCK_S9, model, BITMAIN_STOCK, software_version)
    vnish = _VNISH.match(suffix)
    if vnish is not None:
        return FirmwareInfo(FirmwareKind.VNISH_S9, model, VNISH, vnish.group(1))
    return FirmwareInfo(FirmwareKind.UNSUPPORTED, model, suffix, "")


def classify_version_reply(reply: JsonDict) -> FirmwareInfo:
    """Classify an API `version` reply."""
    entries = reply.get("VERSION")
    entry = entries[0] if isinstance(entries, list) and entries else None
    if not isinstance(entry, dict):
        return FirmwareInfo(FirmwareKind.UNSUPPORTED, "unknown", "no VERSION in reply", "")
    for key in list(entry)[:32]:
        name = str(key).upper()
        if name.startswith("BOS"):
            # Braiins OS (BOSminer, BOSminer+, BOSer): its REST API confirms BOS+.
            version = " ".join(str(entry.get(key, ""))[:MAX_TYPE_CHARS].split())
            return FirmwareInfo(FirmwareKind.BRAIINS, _type_of(entry), "Braiins OS", version)
        if name.startswith("LUXMINER"):
            version = " ".join(str(entry.get(key, ""))[:MAX_TYPE_CHARS].split())
            return FirmwareInfo(FirmwareKind.LUXOS, _type_of(entry), "LuxOS", version)
    type_string = entry.get("Type")
    if not isinstance(type_string, str):
        software = ", ".join(
            f"{str(k)[:40]} {str(v)[:40]}"
            for k, v in list(entry.items())[:8]
            if k not in ("API", "STATUS")
        )
        # Speaks the cgminer API without naming a type (btminer, cgminer forks): readable.
        return FirmwareInfo(FirmwareKind.MONITOR, "unknown", software or "unknown", "")
    software = entry.get("BMMiner") or entry.get("CGMiner") or entry.get("Cgminer") or ""
    info = classify_type(type_string, str(software))
    if info.kind is not FirmwareKind.UNSUPPORTED:
        return info
    rest = split_vnish_rest_type(type_string)
    if rest is not None:
        return FirmwareInfo(FirmwareKind.VNISH_REST, rest[0], VNISH, rest[1])
    # Any other miner on the cgminer API: read-only monitoring.
    return FirmwareInfo(FirmwareKind.MONITOR, info.model, info.firmware, info.version)


def split_vnish_rest_type(type_string: str) -> tuple[str, str] | None:
    """(model, version) of a `Type` of Vnish's REST firmware, such as "Antminer S19j Pro (Vnish
    1.2.6)" or a NOPIC board's "Antminer S19(88) (Vnish 1.2.6)"; None for anything else, the
    S9-era Vnish 3.x among them. Plain string splitting on bounded text: linear."""
    if len(type_string) > MAX_TYPE_CHARS * 4:
        return None
    text = " ".join(type_string.split())
    if len(text) > MAX_TYPE_CHARS or not text.endswith(")"):
        return None
    head, sep, suffix = text[:-1].rpartition("(")
    model = head.rstrip()
    board = model
    if board.endswith(")"):  # a NOPIC board names its chip count: "S19(88)"
        board, sep_count, count = board[:-1].rpartition("(")
        if not sep_count or not count.isdigit() or len(count) > 3:
            return None
    if not sep or "(" in board or ")" in board:
        return None
    words = board.split()
    if len(words) < 2 or words[0].lower() != "antminer":
        return None
    if "".join(words[1:]).upper() in _CGI_ERA_MODELS:
        return None
    firmware = suffix.split()
    if len(firmware) != 2 or firmware[0].lower() != "vnish":
        return None
    version = firmware[1]
    major = version.partition(".")[0]
    if not _VERSION_TEXT.fullmatch(version) or not major.isdigit() or len(major) > 3:
        return None
    return (model, version) if int(major) < _FIRST_CGI_MAJOR else None


def _type_of(entry: JsonDict) -> str:
    value = entry.get("Type")
    if not isinstance(value, str):
        return "unknown"
    return " ".join(value[: MAX_TYPE_CHARS * 4].split())[:MAX_TYPE_CHARS] or "unknown"


def normalize_mac(value: object) -> str | None:
    """`AA:BB:CC:DD:EE:FF` from the usual spellings, or None if it is not a MAC."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if not _MAC.match(text):
        return None
    digits = re.sub(r"[:-]", "", text).upper()
    if digits in ("000000000000", "FFFFFFFFFFFF"):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
