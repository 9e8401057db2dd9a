"""Read the documented replies of Vnish's REST firmware: `info`, `summary` and `settings`.

`GET /api/v1/info`: `{"miner": "Antminer S19j Pro", "fw_name": "Vnish", "fw_version": "1.2.6",
"hr_measure": "GH/s", "system": {"network_status": {"mac": ..., "hostname": ...}}}`.
`GET /api/v1/summary`: `{"miner": {"miner_status": {"miner_state": "mining", "miner_state_time":
s, "description": ...}, "miner_type": "Antminer S19j Pro (Vnish 1.2.6)", "hr_realtime": <in
hr_measure>, "instant_hashrate": <TH/s>, "power_consumption": W, "chip_temp": {"min", "max"},
"pcb_temp": {...}, "cooling": {"fans": [{"rpm": ...}]}, "chains": [{"id", "hashrate_rt",
"frequency", "chip_temp", "pcb_temp", "chip_statuses": {"green", "orange", "red"}}]}}`.
`GET /api/v1/settings`: the preset in force under `miner.overclock.preset` ("3200", "disabled").
Everything is bounded and checked; absurd or non-finite numbers read as absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..device_text import device_name
from ..power_curve import PowerCurve
from .base import (
    ChainReading,
    MinerIdentity,
    MinerProtocolError,
    MinerReading,
    MiningState,
    PowerSource,
)
from .cgminer import number
from .firmware import MAX_TYPE_CHARS, normalize_mac

MAX_NAME_CHARS = 64
_MAX_DESCRIPTION_CHARS = 120
_MAX_CHAINS = 16
_MAX_FANS = 16
_MAX_CHIPS = 1000
_MAX_THS = 10_000.0
_MAX_W = 20_000.0
_MAX_TEMP_C = 150.0
_MAX_RPM = 30_000
_MAX_MHZ = 2_000.0
_MAX_STATE_S = 10 * 365 * 86_400
# An efficiency figure (J/TH) in `power_usage` on some builds is never this high; watts are.
_MIN_POWER_USAGE_W = 100.0
# hr_* fields are in the unit `info.hr_measure` names (GH/s on SHA-256 models), in TH/s.
HASHRATE_UNITS = {"GH/S": 1e-3, "TH/S": 1.0, "PH/S": 1e3, "MH/S": 1e-6}
DEFAULT_HASHRATE_FACTOR = 1e-3

_STATES = {
    "mining": MiningState.MINING,
    "running": MiningState.MINING,
    "initializing": MiningState.STARTING,
    "initialising": MiningState.STARTING,
    "starting": MiningState.STARTING,
    "restarting": MiningState.STARTING,
    "auto-tuning": MiningState.STARTING,  # hashing, but not yet at the preset's power
    "paused": MiningState.SLEEPING,
    "stopped": MiningState.SLEEPING,
    "stopping": MiningState.SLEEPING,
    "shutting-down": MiningState.SLEEPING,
    # Not mining and not coming back by itself: the web answers, the boards are off.
    "failure": MiningState.SLEEPING,
}
FAILURE_STATE = "failure"
# The firmware's own word on whether it is on its way (`MinerReading.settling`): the boards
# initialising or the mining software starting, or auto-tuning toward the preset, is; mining,
# or resting stopped, paused or failed, is not. Stopping says nothing about a ramp.
_SETTLING = {
    "initializing": True,
    "initialising": True,
    "starting": True,
    "restarting": True,
    "auto-tuning": True,
    "mining": False,
    "running": False,
    "paused": False,
    "stopped": False,
    "failure": False,
}


@dataclass(frozen=True, slots=True)
class SummaryReading:
    """A reading plus what the firmware says about a failure, if it is in one."""

    reading: MinerReading
    state_name: str | None  # the firmware's own word, bounded
    failure: str | None  # its description of a failure state


def hashrate_factor(hr_measure: Any) -> float:
    """TH/s per unit of the `hr_*` fields, from `info.hr_measure` (GH/s when unknown)."""
    if isinstance(hr_measure, str) and len(hr_measure) <= 16:
        return HASHRATE_UNITS.get(hr_measure.strip().upper(), DEFAULT_HASHRATE_FACTOR)
    return DEFAULT_HASHRATE_FACTOR


def identity_from_info(host: str, info: Any) -> tuple[MinerIdentity, float]:
    """The identity from an `info` reply and the factor of its hashrate unit."""
    if not isinstance(info, dict):
        raise MinerProtocolError(f"{host}: info is not a JSON object")
    network = _dict(_dict(info.get("system")).get("network_status"))
    mac = normalize_mac(network.get("mac"))
    if mac is None:
        raise MinerProtocolError(f"{host}: info has no usable MAC address")
    version = _text(info.get("fw_version"), 32) or "unknown"
    model = _text(info.get("miner"), MAX_NAME_CHARS)
    if model is None:
        short = _text(info.get("model"), MAX_NAME_CHARS)
        model = f"Antminer {short.upper()}" if short else "unknown"
    identity = MinerIdentity(
        mac=mac,
        host=host,
        model=model,
        firmware=f"Vnish {version}",
        firmware_version=version,
        hostname=_text(network.get("hostname"), MAX_NAME_CHARS),
    )
    return identity, hashrate_factor(info.get("hr_measure"))


def mining_seconds(status: Any) -> int | None:
    """From a `status` reply: how long it has been mining; None unless it is mining."""
    status = _dict(status)
    state = _text(status.get("miner_state"), 32)
    if state is None or _STATES.get(state.lower()) is not MiningState.MINING:
        return None
    return _seconds(status.get("miner_state_time"))


def preset_in_force(settings: Any) -> str | None:
    """`miner.overclock.preset` of a `settings` reply ("3200", "disabled"), bounded."""
    overclock = _dict(_dict(_dict(settings).get("miner")).get("overclock"))
    return _text(overclock.get("preset"), 32)


def preset_watts(name: str | None) -> float | None:
    """The power a preset is named by; None for "disabled" and junk."""
    watts = number(name) if name is not None else None
    return watts if watts is not None and 0 < watts <= _MAX_W else None


def model_from_type(miner_type: Any) -> str | None:
    """ "Antminer S19j Pro" from "Antminer S19j Pro (Vnish 1.2.6)"."""
    text = _text(miner_type, MAX_TYPE_CHARS)
    if text is None:
        return None
    return _text(text.partition("(")[0], MAX_NAME_CHARS)


def parse_summary(
    summary: Any,
    *,
    hashrate_per_unit: float = DEFAULT_HASHRATE_FACTOR,
    curve: PowerCurve,
    setting: float | None = None,
) -> SummaryReading:
    """A `MinerReading` from a `summary` reply; `setting` is the preset's watts, if known."""
    miner = _dict(summary).get("miner")
    if not isinstance(miner, dict):
        raise MinerProtocolError("summary has no miner section")
    status = _dict(miner.get("miner_status"))
    state_name = _text(status.get("miner_state"), 32)
    hashrate = _hashrate(miner, hashrate_per_unit)
    state = _STATES.get(state_name.lower()) if state_name else None
    if state is None:  # a state this driver does not know: judge by the hashrate
        state = MiningState.MINING if hashrate else MiningState.SLEEPING
    chains = _chains(miner.get("chains"), hashrate_per_unit)
    power_w, source = _power(miner, state, curve, setting)
    live_mhz = [c.frequency_mhz for c in chains if c.frequency_mhz]
    reading = MinerReading(
        online=True,
        state=state,
        hashrate_ths=hashrate,
        frequency_mhz=sum(live_mhz) / len(live_mhz) if live_mhz else None,
        chip_temp_c=_hottest(miner.get("chip_temp"), [c.chip_temp_c for c in chains]),
        board_temp_c=_hottest(miner.get("pcb_temp"), [c.board_temp_c for c in chains]),
        fan_rpm=_fans(_dict(miner.get("cooling")).get("fans")),
        power_w=power_w,
        uptime_s=_seconds(status.get("miner_state_time")),
        chains=chains,
        setting=setting,
        power_source=source,
        model=model_from_type(miner.get("miner_type")),
        settling=_SETTLING.get(state_name.lower()) if state_name else None,
    )
    failure = None
    if state_name is not None and state_name.lower() == FAILURE_STATE:
        failure = _text(status.get("description"), _MAX_DESCRIPTION_CHARS) or "no description"
    return SummaryReading(reading=reading, state_name=state_name, failure=failure)


def _hashrate(miner: dict[str, Any], per_unit: float) -> float | None:
    realtime = _bounded(miner.get("hr_realtime"), 0.0, _MAX_THS / per_unit)
    if realtime is not None:
        return realtime * per_unit
    # `instant_hashrate` is in TH/s whatever hr_measure says.
    return _bounded(miner.get("instant_hashrate"), 0.0, _MAX_THS)


def _power(
    miner: dict[str, Any], state: MiningState, curve: PowerCurve, setting: float | None
) -> tuple[float | None, PowerSource]:
    reported = _bounded(miner.get("power_consumption"), 0.0, _MAX_W)
    if reported is None:
        reported = _bounded(miner.get("power_usage"), _MIN_POWER_USAGE_W, _MAX_W)
    if state is MiningState.SLEEPING:
        # The firmware counts the hash boards only, so it says 0 W with them off.
        if reported is not None and reported > curve.standby_w:
            return reported, PowerSource.REPORTED
        return curve.standby_w, PowerSource.NAMEPLATE
    if reported:
        return reported, PowerSource.REPORTED
    if state is MiningState.MINING and setting is not None:
        return curve.power_w(setting), PowerSource.NAMEPLATE
    return None, PowerSource.REPORTED


def _chains(value: Any, per_unit: float) -> tuple[ChainReading, ...]:
    if not isinstance(value, list):
        return ()
    chains: list[ChainReading] = []
    for position, chain in enumerate(value[:_MAX_CHAINS]):
        if not isinstance(chain, dict):
            continue
        index = _bounded(chain.get("id"), 0, _MAX_CHAINS * 4)
        rate = _bounded(chain.get("hashrate_rt"), 0.0, _MAX_THS / per_unit)
        mhz = _bounded(chain.get("frequency"), 0.0, _MAX_MHZ)
        if mhz is None:
            mhz = _bounded(chain.get("freq"), 0.0, _MAX_MHZ)
        chains.append(
            ChainReading(
                index=int(index) if index is not None else position,
                chips=_chip_count(chain),
                hashrate_ths=rate * per_unit if rate is not None else None,
                frequency_mhz=mhz or None,
                board_temp_c=_temp(_dict(chain.get("pcb_temp")).get("max")),
                chip_temp_c=_temp(_dict(chain.get("chip_temp")).get("max")),
                power_w=_bounded(chain.get("power_consumption"), 0.0, _MAX_W),
            )
        )
    return tuple(chains)


def _chip_count(chain: dict[str, Any]) -> int:
    statuses = chain.get("chip_statuses")
    if isinstance(statuses, dict):
        counts = [_bounded(statuses.get(k), 0, _MAX_CHIPS) for k in ("green", "orange", "red")]
        total = sum(int(c) for c in counts if c is not None)
        return min(total, _MAX_CHIPS)
    chips = chain.get("chips")
    return min(len(chips), _MAX_CHIPS) if isinstance(chips, list) else 0


def _fans(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    rpms = (_bounded(_dict(fan).get("rpm"), 0, _MAX_RPM) for fan in value[:_MAX_FANS])
    return tuple(int(rpm) for rpm in rpms if rpm is not None)


def _hottest(summary_range: Any, per_chain: list[float | None]) -> float | None:
    values = [t for t in (_temp(_dict(summary_range).get("max")), *per_chain) if t is not None]
    return max(values) if values else None


def _temp(value: Any) -> float | None:
    # 0 °C is what the firmware prints with the boards off: not a measurement.
    temp = _bounded(value, 0.0, _MAX_TEMP_C)
    return temp if temp else None


def _seconds(value: Any) -> int | None:
    seconds = _bounded(value, 0, _MAX_STATE_S)
    return int(seconds) if seconds is not None else None


def _bounded(value: Any, low: float, high: float) -> float | None:
    result = number(value)
    return result if result is not None and low <= result <= high else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int) -> str | None:
    return device_name(value, limit)  # the device's words: made safe text here
