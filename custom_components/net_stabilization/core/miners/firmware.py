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
    UNSUPPORTED = "unsupported"


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
    for key in entry:
        if key.upper().startswith("BOS"):
            # Braiins OS (BOSminer, BOSminer+, BOSer) speaks a different control protocol.
            return FirmwareInfo(
                FirmwareKind.UNSUPPORTED,
                str(entry.get("Type", "unknown"))[:MAX_TYPE_CHARS],
                "Braiins OS",
                "",
            )
    type_string = entry.get("Type")
    if not isinstance(type_string, str):
        software = ", ".join(
            f"{str(k)[:40]} {str(v)[:40]}"
            for k, v in list(entry.items())[:8]
            if k not in ("API", "STATUS")
        )
        return FirmwareInfo(FirmwareKind.UNSUPPORTED, "unknown", software or "unknown", "")
    software = entry.get("BMMiner") or entry.get("CGMiner") or entry.get("Cgminer") or ""
    return classify_type(type_string, str(software))


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
