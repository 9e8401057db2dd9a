"""Pure parsers for Braiins OS REST replies (shapes of the public API's OpenAPI document).

Every reply is hostile until proven otherwise: a value of the wrong type, a non-finite or absurd
number reads as absent, strings are bounded before they are looked at, and nothing here raises
anything but `MinerProtocolError`. The REST API writes enums as integers; the same messages over
gRPC's JSON mapping use names (`MINER_STATUS_PAUSED`) and numbers as strings, which are taken too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ..device_text import device_name
from .base import ChainReading, MinerIdentity, MinerProtocolError
from .cgminer import number
from .firmware import normalize_mac

MAX_TEXT_CHARS = 64
MAX_BOARDS = 16
MAX_FANS = 16
MAX_TARGET_W = 20_000.0  # no air, hydro or immersion machine of this class draws more
MAX_HASHRATE_THS = 10_000.0
MAX_RPM = 30_000
_TEMP_RANGE_C = (-40.0, 200.0)
# Lifecycle phases of `detailed_status.status` (API 1.7 and later).
PHASES = ("stopped", "stopping", "starting", "running")


class MinerStatus(IntEnum):
    """`GetMinerDetails.status` (deprecated since 1.7 in favour of `detailed_status`)."""

    UNSPECIFIED = 0
    NOT_STARTED = 1
    NORMAL = 2
    PAUSED = 3
    SUSPENDED = 4
    RESTRICTED = 5


class TunerState(IntEnum):
    """`GetTunerStateResponse.overall_tuner_state` (`performance.proto` of
    `braiins/bos-plus-api`): whether the tuner is still tuning toward its target."""

    UNSPECIFIED = 0
    DISABLED = 1
    STABLE = 2
    TUNING = 3
    ERROR = 4


@dataclass(frozen=True, slots=True)
class PowerLimits:
    """The power targets the tuner accepts, in W (`tuner_constraints.power_target`)."""

    min_w: float
    default_w: float
    max_w: float


@dataclass(frozen=True, slots=True)
class BosDetails:
    """What `GET /api/v1/miner/details` says, bounded and typed."""

    mac: str | None
    model: str | None
    hostname: str | None
    version: str  # "25.07", or "" when not reported
    bos_plus: bool
    status: MinerStatus | None
    phase: str | None  # one of PHASES, when the firmware reports a detailed status
    system_uptime_s: int | None
    bosminer_uptime_s: int | None
    sticker_ths: float | None  # the manufacturer's hashrate for this unit


@dataclass(frozen=True, slots=True)
class BosStats:
    """What `GET /api/v1/miner/stats` says about hashing and power."""

    hashrate_ths: float | None
    power_w: float | None


@dataclass(frozen=True, slots=True)
class BosCooling:
    """What `GET /api/v1/cooling/state` says."""

    fan_rpm: tuple[int, ...]
    hottest_c: float | None


# ------------------------------------------------------------------ primitives


def field(data: object, *path: str) -> object:
    """The value at `path` through nested objects, None where the path breaks."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def quantity(data: object, *path: str) -> float | None:
    """A finite number at `path` (numbers, numeric strings), else None."""
    return number(field(data, *path))


def bounded(value: object, high: float, low: float = 0.0) -> float | None:
    """A finite number within [low, high], else None."""
    result = number(value)
    return result if result is not None and low <= result <= high else None


def text(value: object, limit: int = MAX_TEXT_CHARS) -> str | None:
    """A string with runs of whitespace folded, cut to `limit` characters, as safe text
    (`device_text`); None when empty."""
    return device_name(value, limit)


def _temperature(value: object) -> float | None:
    low, high = _TEMP_RANGE_C
    return bounded(value, high, low)


def _ghs_to_ths(value: object) -> float | None:
    ghs = bounded(value, MAX_HASHRATE_THS * 1000.0)
    return ghs / 1000.0 if ghs is not None else None


def _seconds(value: object) -> int | None:
    seconds = bounded(value, 100 * 365 * 86400.0)
    return int(seconds) if seconds is not None else None


def _require_object(reply: object, what: str) -> dict[str, Any]:
    if not isinstance(reply, dict):
        raise MinerProtocolError(f"{what} is a JSON {type(reply).__name__}, not an object")
    return reply


# ------------------------------------------------------------------ details


def enum_member[E: IntEnum](value: object, kind: type[E], prefix: str) -> E | None:
    """The member of `kind` a value names: its number (REST), its name with or without
    `prefix` (gRPC JSON) or its number as a string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        name = text(value)
        if name is None:
            return None
        if not (name.isascii() and name.isdigit()):
            return kind.__members__.get(name.upper().removeprefix(prefix))
        value = int(name)  # at most MAX_TEXT_CHARS digits
    if isinstance(value, int):
        try:
            return kind(value)
        except ValueError:
            return None
    return None


def parse_status(value: object) -> MinerStatus | None:
    """The miner status from its number (REST) or its enum name (gRPC JSON)."""
    return enum_member(value, MinerStatus, "MINER_STATUS_")


def parse_phase(detailed: object) -> str | None:
    """The lifecycle phase of a `detailed_status` (`{"status": {"running": {...}}, ...}`)."""
    status = field(detailed, "status")
    if not isinstance(status, dict):
        return None
    for phase in PHASES:
        if phase in status:
            return phase
    return None


def parse_bos_version(current: object) -> str:
    """The release from `bos_version.current`, e.g. "23.03.2" from
    "2023-05-29-0-1daef48b-23.03.2-plus"; the bounded string itself when no part is a release."""
    value = text(current, 128)
    if value is None:
        return ""
    for part in reversed(value.split("-")):
        digits = part.replace(".", "")
        if "." in part and digits.isdigit() and digits.isascii() and len(part) <= 16:
            return part
    return value[:32]


def parse_details(reply: object) -> BosDetails:
    """`GET /api/v1/miner/details`; raises `MinerProtocolError` if it is not an object."""
    data = _require_object(reply, "miner details")
    identity = data.get("miner_identity")
    model = text(field(identity, "name")) or text(field(identity, "miner_model"))
    version = data.get("bos_version")
    sticker = _ghs_to_ths(quantity(data, "sticker_hashrate", "gigahash_per_second"))
    uptime = _seconds(data.get("system_uptime_s"))
    if uptime is None:
        uptime = _seconds(data.get("system_uptime"))
    return BosDetails(
        mac=normalize_mac(data.get("mac_address")),
        model=model,
        hostname=text(data.get("hostname")),
        version=parse_bos_version(field(version, "current")),
        bos_plus=field(version, "bos_plus") is True,
        status=parse_status(data.get("status")),
        phase=parse_phase(data.get("detailed_status")),
        system_uptime_s=uptime,
        bosminer_uptime_s=_seconds(data.get("bosminer_uptime_s")),
        sticker_ths=sticker if sticker else None,
    )


def identity_from_details(host: str, details: BosDetails) -> MinerIdentity:
    """The miner's identity; raises `MinerProtocolError` without a usable MAC."""
    if details.mac is None:
        raise MinerProtocolError(f"{host}: miner details have no usable MAC address")
    firmware = "Braiins OS+" if details.bos_plus else "Braiins OS"
    return MinerIdentity(
        mac=details.mac,
        host=host,
        model=details.model or "unknown",
        firmware=f"{firmware} {details.version}".strip(),
        firmware_version=details.version,
        hostname=details.hostname,
    )


# ------------------------------------------------------------------ configuration


def parse_constraints(reply: object) -> PowerLimits | None:
    """The power target range from `GET /api/v1/configuration/constraints`; None when the
    firmware offers no power target (or reports a range that makes no sense)."""
    limits = field(reply, "tuner_constraints", "power_target")
    low = bounded(field(limits, "min", "watt"), MAX_TARGET_W)
    high = bounded(field(limits, "max", "watt"), MAX_TARGET_W)
    if low is None or high is None or not 0 < low < high:
        return None
    default = bounded(field(limits, "default", "watt"), high, low)
    return PowerLimits(min_w=low, default_w=high if default is None else default, max_w=high)


def parse_power_target(reply: object) -> float | None:
    """The power target in force from `GET /api/v1/performance/tuner-state`."""
    return bounded(
        field(reply, "mode_state", "powertargetmodestate", "current_target", "watt"),
        MAX_TARGET_W,
    )


def parse_tuner_state(reply: object) -> TunerState | None:
    """The tuner's overall state from `GET /api/v1/performance/tuner-state`; None when the
    reply does not name one this driver knows."""
    return enum_member(field(reply, "overall_tuner_state"), TunerState, "TUNER_STATE_")


def parse_watt(reply: object) -> float | None:
    """The `{"watt": N}` answer of a power target change."""
    return bounded(field(reply, "watt"), MAX_TARGET_W)


# ------------------------------------------------------------------ telemetry


def _real_hashrate_ths(stats: object) -> float | None:
    """The most recent real hashrate a `WorkSolverStats` reports."""
    real = field(stats, "real_hashrate")
    for window in ("last_5s", "last_15s", "last_30s", "last_1m"):
        ths = _ghs_to_ths(field(real, window, "gigahash_per_second"))
        if ths is not None:
            return ths
    return None


def parse_stats(reply: object) -> BosStats:
    """`GET /api/v1/miner/stats`."""
    return BosStats(
        hashrate_ths=_real_hashrate_ths(field(reply, "miner_stats")),
        power_w=bounded(
            field(reply, "power_stats", "approximated_consumption", "watt"), 10 * MAX_TARGET_W
        ),
    )


def parse_cooling(reply: object) -> BosCooling:
    """`GET /api/v1/cooling/state`."""
    fans = field(reply, "fans")
    rpms: list[int] = []
    if isinstance(fans, list):
        for fan in fans[:MAX_FANS]:
            rpm = bounded(field(fan, "rpm"), MAX_RPM)
            if rpm is not None:
                rpms.append(int(rpm))
    hottest = _temperature(field(reply, "highest_temperature", "temperature", "degree_c"))
    return BosCooling(fan_rpm=tuple(rpms), hottest_c=hottest)


def parse_hashboards(reply: object) -> tuple[ChainReading, ...]:
    """`GET /api/v1/miner/hw/hashboards`: the enabled boards."""
    boards = field(reply, "hashboards")
    if not isinstance(boards, list):
        return ()
    chains: list[ChainReading] = []
    for position, board in enumerate(boards[:MAX_BOARDS], start=1):
        if not isinstance(board, dict) or board.get("enabled") is False:
            continue
        board_id = bounded(board.get("id"), 64)
        hertz = bounded(field(board, "current_frequency", "hertz"), 10e9)
        chips = bounded(board.get("chips_count"), 100_000)
        chains.append(
            ChainReading(
                index=int(board_id) if board_id is not None else position,
                chips=int(chips) if chips is not None else 0,
                hashrate_ths=_real_hashrate_ths(board.get("stats")),
                frequency_mhz=hertz / 1e6 if hertz else None,
                board_temp_c=_temperature(field(board, "board_temp", "degree_c")),
                chip_temp_c=_temperature(
                    field(board, "highest_chip_temp", "temperature", "degree_c")
                ),
                power_w=None,
            )
        )
    return tuple(chains)
