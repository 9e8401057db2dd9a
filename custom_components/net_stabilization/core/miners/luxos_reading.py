"""Turn one LuxOS poll (`summary`, `temps`, `fans`, `power`, `config`, `events`) into a reading.

`SUMMARY[0]["GHS 5s"]` is the hashrate in GH/s; `POWER[0].Watts` the firmware's estimate of the
miner's draw (taken as wall power); `TEMPS` has one entry per board whose sensor keys depend on
the model (`TopLeft`... on S19/S21, `Board`/`Chip` elsewhere), so every numeric key but the
board id and the water loop (hydro models) is read, and keys naming a chip count as chip
temperatures. LuxOS reports hashboard
temperatures, so most models give no chip reading at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import MinerReading, MiningState, PowerSource
from .cgminer import JsonDict
from .luxos_replies import (
    MAX_KEYS,
    MAX_RPM,
    MAX_TEMP_C,
    MAX_THS,
    MAX_WATTS,
    LuxosProfile,
    bounded,
    curtailed,
    entries,
    first,
    profile_name,
)

# Below this share of the active profile's hashrate the boards are still ramping up.
MINING_HASHRATE_SHARE = 0.75
# Without `events` (older LUXminer), a miner that does not hash and draws less than this has
# its PSU output off, i.e. is curtailed; initialising boards draw far more.
CURTAILED_MAX_W = 100.0
_TEMP_ID_KEYS = frozenset({"ID", "TEMP"})


@dataclass(frozen=True, slots=True)
class LuxosPoll:
    """The replies of one poll; `events` is None where the firmware lacks the command."""

    summary: JsonDict
    temps: JsonDict
    fans: JsonDict
    power: JsonDict
    config: JsonDict
    events: JsonDict | None


def parse_reading(
    poll: LuxosPoll, profiles: tuple[LuxosProfile, ...], standby_w: float
) -> MinerReading:
    """The reading of a miner whose API answered."""
    summary = first(poll.summary, "SUMMARY") or {}
    ghs = bounded(summary.get("GHS 5s"), MAX_THS * 1000.0)
    hashrate = ghs / 1000.0 if ghs is not None else None
    elapsed = bounded(summary.get("Elapsed"), 10.0 * 365 * 86400)

    config = first(poll.config, "CONFIG") or {}
    active_name = profile_name(config.get("Profile"))
    active = next((p for p in profiles if p.name == active_name), None)

    power_entry = first(poll.power, "POWER") or {}
    reported_w = bounded(power_entry.get("Watts"), MAX_WATTS)
    state = _state(poll.events, hashrate, reported_w, active)

    power_w: float | None = reported_w if reported_w else None
    source = PowerSource.REPORTED
    if power_w is None and state is MiningState.SLEEPING:
        power_w, source = standby_w, PowerSource.NAMEPLATE
    elif power_w is None and state is MiningState.MINING and active is not None:
        power_w, source = active.watts, PowerSource.NAMEPLATE

    board_temps, chip_temps = _temperatures(poll.temps)
    hashing = state in (MiningState.MINING, MiningState.STARTING) and bool(hashrate)
    return MinerReading(
        online=True,
        state=state,
        hashrate_ths=hashrate,
        frequency_mhz=active.frequency_mhz if active is not None and hashing else None,
        chip_temp_c=max(chip_temps) if chip_temps else None,
        board_temp_c=max(board_temps) if board_temps else None,
        fan_rpm=_fans(poll.fans),
        power_w=power_w,
        uptime_s=int(elapsed) if elapsed is not None else None,
        setting=active.watts if active is not None else None,
        power_source=source,
    )


def _state(
    events: JsonDict | None,
    hashrate: float | None,
    reported_w: float | None,
    active: LuxosProfile | None,
) -> MiningState:
    asleep = curtailed(events)
    if asleep:
        return MiningState.SLEEPING
    if not hashrate:
        if asleep is None and reported_w is not None and reported_w < CURTAILED_MAX_W:
            return MiningState.SLEEPING
        return MiningState.STARTING
    expected = active.hashrate_ths if active is not None else None
    if expected and hashrate < MINING_HASHRATE_SHARE * expected:
        return MiningState.STARTING
    return MiningState.MINING


def _temperatures(temps: JsonDict) -> tuple[list[float], list[float]]:
    boards: list[float] = []
    chips: list[float] = []
    for entry in entries(temps, "TEMPS"):
        for key in list(entry)[:MAX_KEYS]:
            if not isinstance(key, str) or key in _TEMP_ID_KEYS or "water" in key.lower():
                continue
            value = bounded(entry[key], MAX_TEMP_C)
            if not value:  # a missing sensor reads 0
                continue
            (chips if "chip" in key.lower() else boards).append(value)
    return boards, chips


def _fans(fans: JsonDict) -> tuple[int, ...]:
    found = []
    for entry in entries(fans, "FANS"):
        rpm = bounded(entry.get("RPM"), MAX_RPM)
        if rpm:
            found.append(int(rpm))
    return tuple(found)
