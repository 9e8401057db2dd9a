"""What a device on the cgminer API is: its model, firmware family and version, and the rating of
common models (the nameplate a read-only miner's power is estimated from).

Sources the recogniser reads, each bounded before it is looked at:
- `version` `VERSION[0]`: `Type` ("Antminer S19j Pro", "Antminer S9 (vnish 3.9.0)") and the
  mining software's key: `BMMiner`/`CGMiner` (stock; "4.11.1 rwglr" on MSKminer), `LUXminer`
  (LuxOS), `BOSminer`/`BOSminer+`/`BOSer` (Braiins OS);
- `devdetails` `DEVDETAILS[0]`: `Model` ("Bitmain Antminer S9" on Braiins OS, "M30S+_VE40" with
  `Driver` "bitmicro" on Whatsminer);
- `stats` `STATS[0]`: the same `Type` as `version` (Vnish names itself there);
- each reply's `STATUS[0].Description` ("btminer", "BOSminer+ 0.2.0-ea64aec8e").
Everything is plain string scanning on bounded, whitespace-folded text: linear in the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .firmware import BITMAIN_STOCK, VNISH

BRAIINS = "Braiins OS"
LUXOS = "LuxOS"
WHATSMINER = "Whatsminer stock"
HIVEON = "Hiveon"
ASICSEER = "asicseer"
MSKMINER = "MSKminer"
UNKNOWN = "unknown"

MAX_MODEL_CHARS = 64
_MAX_TEXT_CHARS = 100  # a real type or version string is about 30 characters
_MAX_KEYS = 16  # a VERSION entry has five or six keys
_SOFTWARE_KEYS = ("BMMiner", "CGMiner", "Cgminer", "BFGMiner", "Miner")


def describe_device(
    version: dict[str, Any] | None,
    devdetails: dict[str, Any] | None,
    stats: dict[str, Any] | None,
) -> tuple[str, str, str]:
    """(model, firmware family, firmware version) of a cgminer-API device, as far as it tells.

    The model is the device's own name for itself (whitespace folded, at most 64 characters);
    the family is one of this module's names (`BITMAIN_STOCK`, `VNISH`, `BRAIINS`, ...); the
    version is "" when the replies do not carry one.
    """
    ver = _first_entry(version, "VERSION")
    det = _first_entry(devdetails, "DEVDETAILS")
    head = _first_entry(stats, "STATS")
    software = _software(ver)
    descriptions = [_description(reply) for reply in (version, devdetails, stats)]
    type_string = _text(ver.get("Type")) or _text(head.get("Type"))
    det_model = _text(det.get("Model"))

    found = _braiins(software, descriptions, det_model, type_string)
    if found is None:
        found = _luxos(software, type_string)
    if found is None:
        found = _whatsminer(descriptions, det, det_model)
    if found is None:
        found = _by_type(type_string, software)
    if found is None:
        found = _unknown(software, det_model, type_string)
    model, family, firmware_version = found
    return _bounded(model) or UNKNOWN, family, _bounded(firmware_version)


def whatsminer_firmware_version(summary: dict[str, Any] | None) -> str:
    """btminer's build ("20210322.22.REL") from its `summary` (`Firmware Version`), or ""."""
    entry = _first_entry(summary, "SUMMARY")
    return _bounded(_text(entry.get("Firmware Version")).strip("'\" "))


def _braiins(
    software: dict[str, str], descriptions: list[str], det_model: str, type_string: str
) -> tuple[str, str, str] | None:
    version = next((v for k, v in software.items() if k.upper().startswith("BOS")), None)
    if version is None:
        version = next((d for d in descriptions if d.upper().startswith("BOS")), None)
    if version is None:
        return None
    model = _strip_prefix(det_model, "Bitmain ") or _cut_parenthesis(type_string)
    return model, BRAIINS, _last_token(version)


def _luxos(software: dict[str, str], type_string: str) -> tuple[str, str, str] | None:
    version = next((v for k, v in software.items() if k.upper() == "LUXMINER"), None)
    if version is None:
        return None
    return _cut_parenthesis(type_string), LUXOS, version


def _whatsminer(
    descriptions: list[str], det: dict[str, Any], det_model: str
) -> tuple[str, str, str] | None:
    driver = _text(det.get("Driver")).lower()
    if driver != "bitmicro" and not any("btminer" in d.lower() for d in descriptions):
        return None
    if not det_model:
        return "Whatsminer", WHATSMINER, ""
    if det_model.lower().startswith("whatsminer"):
        return det_model, WHATSMINER, ""
    # devdetails names the type only ("M30S_V20"): the brand makes it readable.
    return f"Whatsminer {det_model}", WHATSMINER, ""


def _by_type(type_string: str, software: dict[str, str]) -> tuple[str, str, str] | None:
    """Antminer-type strings: stock and the firmwares that keep Bitmain's API layout."""
    stock_version = _stock_version(software)
    for word, family in (("vnish", VNISH), ("hiveon", HIVEON), ("asicseer", ASICSEER)):
        version = _word_version(type_string, word)
        if version is not None:
            model = _cut_parenthesis(_remove_word(type_string, word))
            return model, family, version or stock_version
        for key, value in software.items():
            version = value if key.lower() == word else _word_version(value, word)
            if version is not None:
                return _cut_parenthesis(type_string), family, version
    if "rwglr" in stock_version.lower():
        # MSKminer: "Type":"S19-88 v.2.6.0.39" next to "BMMiner":"4.11.1 rwglr".
        model, _sep, version = type_string.partition(" v.")
        return model.strip(), MSKMINER, _first_token(version)
    if type_string.lower().startswith("antminer"):
        return _cut_parenthesis(type_string), BITMAIN_STOCK, stock_version
    return None


def _unknown(software: dict[str, str], det_model: str, type_string: str) -> tuple[str, str, str]:
    model = _cut_parenthesis(type_string) or det_model or UNKNOWN
    for key in _SOFTWARE_KEYS:
        if key in software:
            return model, UNKNOWN, software[key]
    return model, UNKNOWN, ""


def _stock_version(software: dict[str, str]) -> str:
    for key in _SOFTWARE_KEYS[:4]:
        if software.get(key):
            return software[key]
    return ""


# --------------------------------------------------------------------- bounded text helpers


def _first_entry(reply: dict[str, Any] | None, key: str) -> dict[str, Any]:
    if not isinstance(reply, dict):
        return {}
    entries = reply.get(key)
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        first: dict[str, Any] = entries[0]
        return first
    return {}


def _description(reply: dict[str, Any] | None) -> str:
    return _text(_first_entry(reply, "STATUS").get("Description"))


def _software(ver: dict[str, Any]) -> dict[str, str]:
    """The VERSION entry's string values by key (bounded: a few keys, short values)."""
    found: dict[str, str] = {}
    for index, (key, value) in enumerate(ver.items()):
        if index >= _MAX_KEYS:
            break
        if isinstance(key, str) and len(key) <= _MAX_TEXT_CHARS and key not in ("API", "Type"):
            text = _text(value)
            if text:
                found[key] = text
    return found


def _text(value: object) -> str:
    """A device's string, cut to its bound before its whitespace is folded."""
    if not isinstance(value, str):
        return ""
    return " ".join(value[: _MAX_TEXT_CHARS * 2].split())[:_MAX_TEXT_CHARS]


def _bounded(text: str) -> str:
    return " ".join(text.split())[:MAX_MODEL_CHARS].strip()


def _cut_parenthesis(text: str) -> str:
    """ "Antminer S9 (vnish 3.9.0)" -> "Antminer S9"."""
    return text.split("(", 1)[0].strip()


def _strip_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :].strip() if text.lower().startswith(prefix.lower()) else text


def _first_token(text: str) -> str:
    parts = text.replace("(", " ").replace(")", " ").split()
    return parts[0] if parts else ""


def _last_token(text: str) -> str:
    parts = text.split()
    return parts[-1] if parts else ""


def _word_version(text: str, word: str) -> str | None:
    """What follows `word` in `text` ("vnish 3.9.0)" -> "3.9.0"), "" if nothing, None if the
    word is absent."""
    at = text.lower().find(word)
    if at < 0:
        return None
    return _first_token(text[at + len(word) :])


def _remove_word(text: str, word: str) -> str:
    """ "Antminer S19 Hiveon" -> "Antminer S19" (the word and the token after it when that is
    a version, as in "(vnish 3.9.0)")."""
    at = text.lower().find(word)
    head, tail = text[:at], text[at + len(word) :]
    token = _first_token(tail)
    if token[:1].isdigit():
        tail = tail.split(token, 1)[1]
    return " ".join(f"{head} {tail}".replace("()", " ").split())


# --------------------------------------------------------------------- nameplate ratings


@dataclass(frozen=True, slots=True)
class Rating:
    """A model's nameplate: hashrate and wall power in its stock mode, and its standby draw."""

    model: str
    nominal_ths: float
    rated_w: float
    standby_w: float


# Rated wall power and hashrate in the stock (normal) mode, as the manufacturers publish them
# for each model (Bitmain and MicroBT product specifications at 25 °C ambient, rounded; single
# units vary by about ±10 %, and sub-variants of one model by as much). The S9, S17, S19,
# S19j Pro, S19 XP, S21 and M30S figures are the project's stated nameplates; the others are
# the published figures of the same kind. Hydro, immersion and other variants are not listed:
# they differ too much to share an entry.
_RATINGS: dict[str, tuple[float, float]] = {
    # Antminer (key: the model without brand and spaces, upper case)
    "S9": (13.5, 1400.0),
    "S9I": (14.0, 1400.0),
    "S9J": (14.5, 1400.0),
    "S9K": (13.5, 1310.0),
    "S17": (56.0, 2500.0),
    "S17PRO": (53.0, 2094.0),
    "S17+": (73.0, 2920.0),
    "T17": (40.0, 2200.0),
    "S19": (95.0, 3250.0),
    "S19PRO": (110.0, 3250.0),
    "S19J": (90.0, 3100.0),
    "S19JPRO": (100.0, 3050.0),
    "S19XP": (140.0, 3010.0),
    "S19KPRO": (120.0, 2760.0),
    "S21": (200.0, 3500.0),
    "S21PRO": (234.0, 3510.0),
    "T21": (190.0, 3610.0),
    # Whatsminer (key: the type without its board variant, "M30S_V20" -> "M30S")
    "M30S": (88.0, 3300.0),
    "M30S+": (100.0, 3400.0),
    "M30S++": (112.0, 3472.0),
}
# Hash boards off, control board and fans idle. The S9's 50 W is field data (a sleeping S9
# reads about 51 W at the wall); for the others a share of the rated power is assumed.
_S9_STANDBY_W = 50.0
_STANDBY_SHARE = 0.02
_BRANDS = ("BITMAIN ", "ANTMINER ", "WHATSMINER ", "MICROBT ")
_TAGS = ("HIVEON", "AML", "NOPIC")


def rating_for(model: str | None) -> Rating | None:
    """The nameplate of a model named as a device names it, if it is a common one."""
    key = model_key(model)
    entry = _RATINGS.get(key)
    if entry is None:
        return None
    ths, watts = entry
    standby = _S9_STANDBY_W if key.startswith("S9") else float(round(watts * _STANDBY_SHARE))
    return Rating(model=key, nominal_ths=ths, rated_w=watts, standby_w=standby)


def model_key(model: str | None) -> str:
    """ "Antminer S19j Pro (vnish 1.2.6)" -> "S19JPRO", "Whatsminer M30S+_VE40" -> "M30S+"."""
    if not isinstance(model, str):
        return ""
    text = _cut_parenthesis(" ".join(model[:_MAX_TEXT_CHARS].upper().split()))
    for brand in _BRANDS:
        if text.startswith(brand):
            text = text[len(brand) :]
    words = [w for w in text.split() if w not in _TAGS]
    compact = "".join(words).replace("_", "")
    return _without_board_variant(compact)


def _without_board_variant(compact: str) -> str:
    """Whatsminer types carry their board variant last: "M30SV20", "M30S+VE40" -> base type."""
    if not compact.startswith("M"):
        return compact
    at = compact.rfind("V")
    if at <= 1:
        return compact
    tail = compact[at + 1 :]
    if tail[:1].isalpha():
        tail = tail[1:]
    return compact[:at] if tail.isdigit() else compact
