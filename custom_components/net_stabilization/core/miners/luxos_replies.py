"""Read LuxOS (LUXminer) API replies: version, config, profiles, session, ATM and the poll.

Layouts follow the LuxOS API documentation: every reply carries a `STATUS` list and one
section named after the command (`VERSION`, `CONFIG`, `PROFILES`, `SESSION`, `ATM`, `SUMMARY`,
`TEMPS`, `FANS`, `POWER`, `EVENTS`), each a list of objects. Every value is checked before it
is kept: strings are bounded, numbers must be finite and plausible, lists are cut short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import MinerProtocolError
from .cgminer import JsonDict, number

MAX_TEXT_CHARS = 64  # model names, versions, profile names, hostnames
MAX_PROFILES = 64  # LuxOS generates 25 per miner; more are user-made or junk
MAX_ENTRIES = 32  # boards, fans, events
MAX_KEYS = 32  # keys looked at in one entry
MAX_WATTS = 20_000.0  # no single air- or hydro-cooled miner draws more
MAX_THS = 10_000.0
MAX_TEMP_C = 150.0
MAX_RPM = 30_000
LUXMINER_KEY = "luxminer"  # the VERSION key naming the firmware, compared case-insensitively
# `events` codes of a curtailed miner: the boards are off and the PSU output is down.
CURTAILED_EVENTS = frozenset({"SLEEP", "IDLE"})
# LuxOS answers `logon` so while another session holds the miner's only one.
ANOTHER_SESSION_CODE = 402


@dataclass(frozen=True, slots=True)
class LuxosProfile:
    """One power profile as `profiles` lists it."""

    name: str
    watts: float  # the firmware's power estimate for the profile
    hashrate_ths: float | None
    frequency_mhz: float | None = None
    voltage_v: float | None = None


@dataclass(frozen=True, slots=True)
class LuxosVersion:
    """What `version` says: the LUXminer version and the model's display name."""

    version: str
    model: str | None


@dataclass(frozen=True, slots=True)
class LuxosConfig:
    """The parts of `config` the driver uses."""

    mac: object  # raw; normalised by the caller
    hostname: str | None
    profile: str | None  # the active profile's name


def text(value: object, limit: int = MAX_TEXT_CHARS) -> str | None:
    """A stripped, bounded string, or None for anything else or an empty one."""
    if not isinstance(value, str):
        return None
    stripped = value[: limit * 4].strip()[:limit]
    return stripped or None


def entries(reply: JsonDict | None, section: str) -> list[JsonDict]:
    """The objects of one section (`reply[section]`), at most `MAX_ENTRIES` of them."""
    if reply is None:
        return []
    found = reply.get(section)
    if not isinstance(found, list):
        return []
    return [item for item in found[:MAX_ENTRIES] if isinstance(item, dict)]


def first(reply: JsonDict | None, section: str) -> JsonDict | None:
    """The first object of a section, if there is one."""
    found = entries(reply, section)
    return found[0] if found else None


def bounded(value: Any, high: float, low: float = 0.0) -> float | None:
    """A number within [low, high]; junk, non-finite and absurd values are absent."""
    result = number(value)
    if result is None or not low <= result <= high:
        return None
    return result


def is_luxos_version(version_entry: JsonDict) -> bool:
    """Whether a `version` reply (or its `VERSION[0]` entry) comes from LUXminer.

    LUXminer spoofs the stock fields (`Type`, `Miner`, `BMMiner`) for older tools, so the
    only sure sign is its own `LUXminer` key; the STATUS description names it too.
    """
    entry = version_entry
    nested = first(version_entry, "VERSION")
    if nested is not None:
        entry = nested
    for key in list(entry)[:MAX_KEYS]:
        if isinstance(key, str) and key.lower() == LUXMINER_KEY and text(entry[key]):
            return True
    status = first(version_entry, "STATUS")
    description = text(status.get("Description")) if status is not None else None
    return description is not None and description.lower().startswith(LUXMINER_KEY)


def parse_version(reply: JsonDict) -> LuxosVersion:
    """LUXminer version and model from `version`; raises if it is not LUXminer."""
    entry = first(reply, "VERSION")
    if entry is None or not is_luxos_version(reply):
        raise MinerProtocolError("version reply does not come from LUXminer")
    version = None
    for key in list(entry)[:MAX_KEYS]:
        if isinstance(key, str) and key.lower() == LUXMINER_KEY:
            version = text(entry[key])
    if version is None:  # named only in the STATUS description: "LUXminer <version>"
        status = first(reply, "STATUS") or {}
        description = text(status.get("Description")) or ""
        version = text(description[len(LUXMINER_KEY) :]) or "unknown"
    return LuxosVersion(version=version, model=text(entry.get("Type")))


def parse_config(reply: JsonDict) -> LuxosConfig:
    """MAC, hostname and active profile from `config`."""
    entry = first(reply, "CONFIG")
    if entry is None:
        raise MinerProtocolError("config reply has no CONFIG")
    return LuxosConfig(
        mac=entry.get("MACAddr"),
        hostname=text(entry.get("Hostname")),
        profile=profile_name(entry.get("Profile")),
    )


def profile_name(value: object) -> str | None:
    """A profile name safe to send back: bounded, printable, without the parameter comma."""
    name = text(value)
    if name is None or "," in name or not name.isprintable():
        return None
    return name


def parse_profiles(reply: JsonDict) -> tuple[LuxosProfile, ...]:
    """The usable profiles of a `profiles` reply, by rising power, one per wattage.

    Profiles without a plausible power estimate are left out: they cannot be planned with.
    Where two share a wattage the first listed wins, so a watt figure names one profile.
    """
    found = reply.get("PROFILES")
    if not isinstance(found, list):
        raise MinerProtocolError("profiles reply has no PROFILES")
    by_watts: dict[float, LuxosProfile] = {}
    for item in found[:MAX_PROFILES]:
        if not isinstance(item, dict):
            continue
        name = profile_name(item.get("Profile Name"))
        watts = bounded(item.get("Watts"), MAX_WATTS)
        if name is None or watts is None or watts <= 0:
            continue
        by_watts.setdefault(
            watts,
            LuxosProfile(
                name=name,
                watts=watts,
                hashrate_ths=bounded(item.get("Hashrate"), MAX_THS),
                frequency_mhz=bounded(item.get("Frequency"), 10_000.0),
                voltage_v=bounded(item.get("Voltage"), 100.0),
            ),
        )
    return tuple(by_watts[watts] for watts in sorted(by_watts))


def session_id(reply: JsonDict) -> str | None:
    """The `SESSION[0].SessionID` of a `logon` or `session` reply; None when blank or odd."""
    entry = first(reply, "SESSION")
    if entry is None:
        return None
    sid = text(entry.get("SessionID"))
    if sid is None or not all(c.isalnum() or c in "-_" for c in sid):
        return None
    return sid


def status_code(reply: JsonDict) -> int | None:
    """`STATUS[0].Code`, if it is an integer."""
    status = first(reply, "STATUS")
    code = status.get("Code") if status is not None else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def atm_enabled(reply: JsonDict) -> bool:
    """Whether `atm` says the auto-tuning manager runs (raises if it does not say)."""
    entry = first(reply, "ATM")
    enabled = entry.get("Enabled") if entry is not None else None
    if isinstance(enabled, bool):
        return enabled
    if isinstance(enabled, str) and enabled.strip().lower() in ("true", "false"):
        return enabled.strip().lower() == "true"
    raise MinerProtocolError("atm reply does not say whether ATM is enabled")


def current_profile(reply: JsonDict) -> str | None:
    """The profile a `profileget` or `profileset` reply names."""
    entry = first(reply, "PROFILE")
    if entry is None:
        return None
    return profile_name(entry.get("Profile Name")) or profile_name(entry.get("Profile"))


def curtailed(events: JsonDict | None) -> bool | None:
    """Whether `events` lists sleep or idle mode; None when there is no `events` reply."""
    if events is None:
        return None
    for entry in entries(events, "EVENTS"):
        code = text(entry.get("Code"))
        if code is not None and code.upper() in CURTAILED_EVENTS:
            return True
    return False
