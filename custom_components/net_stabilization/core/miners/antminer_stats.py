"""Turn an Antminer S9's bmminer `summary` and `stats` replies into a `MinerReading`.

Layout (stock bmminer and Vnish alike): `STATS[0]` names the software, `STATS[1]` holds the
numbers. Per-chain keys exist for indices 1-16 and the S9's three boards are chains 6, 7 and 8;
`tempN` is the board (PCB) temperature, `temp2_N` the chip temperature, `chain_rateN` the board's
hashrate in GH/s (a string, `""` when unused), `chain_consumptionN` the firmware's power estimate
in watts (Vnish only).
"""

from __future__ import annotations

from typing import Any

from ..power_curve import S9_CURVE, PowerCurve
from .base import ChainReading, MinerProtocolError, MinerReading, MiningState
from .cgminer import JsonDict, number

S9_CHAINS = (6, 7, 8)
_MAX_CHAIN_INDEX = 16
_MAX_FAN_INDEX = 8

# Wall power per watt of the firmware's chain_consumption (1461 W measured, 1506 W reported).
FIRMWARE_TO_WALL = 1461.0 / 1506.0

# Below this share of the hashrate expected at the running frequency, bmminer is still ramping.
MINING_HASHRATE_SHARE = 0.75


def estimate_wall_power_w(chain_power_w: float, curve: PowerCurve = S9_CURVE) -> float:
    """Wall power from the sum of Vnish's per-board `chain_consumption` estimates.

    The firmware's figure sits slightly above the wall: in the field an S9 at 650 MHz reported
    3 x 502 W while the wall meter read 1461 W. Scaling by that ratio makes a healthy miner read
    its curve power; a dead board or a hot, hungrier chip shows up as a difference.
    """
    return chain_power_w * FIRMWARE_TO_WALL


def software_type(stats: JsonDict) -> str | None:
    """`STATS[0].Type`, e.g. "Antminer S9 (vnish 3.9.0)", if present."""
    entries = stats.get("STATS")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        kind = entries[0].get("Type")
        return kind if isinstance(kind, str) else None
    return None


def parse_s9_reading(
    summary: JsonDict | None, stats: JsonDict, curve: PowerCurve = S9_CURVE
) -> MinerReading:
    """Build a reading of a miner whose bmminer answers. Raises `MinerProtocolError` on junk."""
    body = _stats_body(stats)
    summary_body = _first_entry(summary, "SUMMARY") if summary is not None else None

    chains = _chains(body)
    live = [c for c in chains if c.chips > 0]
    frequency = _frequency(body, live)

    hashrate_ghs = None
    if summary_body is not None:
        hashrate_ghs = number(summary_body.get("GHS 5s"))
    if hashrate_ghs is None:
        hashrate_ghs = number(body.get("GHS 5s"))
    hashrate_ths = hashrate_ghs / 1000.0 if hashrate_ghs is not None else None
    if hashrate_ths is None and any(c.hashrate_ths is not None for c in live):
        hashrate_ths = sum(c.hashrate_ths or 0.0 for c in live)

    # With no per-chain data at all, assume all boards work; with data, count the live ones.
    has_chain_data = any(_has_chain_keys(body, i) for i in S9_CHAINS)
    board_share = len(live) / len(S9_CHAINS) if has_chain_data else 1.0

    state = MiningState.MINING
    expected_ths = curve.hashrate_ths(frequency or curve.nominal_mhz) * board_share
    if hashrate_ths is None or expected_ths <= 0:
        state = MiningState.STARTING if not hashrate_ths else MiningState.MINING
    elif hashrate_ths < MINING_HASHRATE_SHARE * expected_ths:
        state = MiningState.STARTING

    chain_temps = [c.chip_temp_c for c in live if c.chip_temp_c is not None]
    board_temps = [c.board_temp_c for c in live if c.board_temp_c is not None]
    chip_temp = max(chain_temps) if chain_temps else _positive(body.get("temp_max"))
    board_temp = max(board_temps) if board_temps else None

    uptime = None
    if summary_body is not None:
        uptime = number(summary_body.get("Elapsed"))
    if uptime is None:
        uptime = number(body.get("Elapsed"))

    return MinerReading(
        online=True,
        state=state,
        hashrate_ths=hashrate_ths,
        frequency_mhz=frequency,
        setting=frequency,
        chip_temp_c=chip_temp,
        board_temp_c=board_temp,
        fan_rpm=_fans(body),
        power_w=_power(chains, frequency, board_share, curve),
        uptime_s=int(uptime) if uptime is not None and uptime >= 0 else None,
        chains=tuple(chains),
    )


def _stats_body(stats: JsonDict) -> JsonDict:
    entries = stats.get("STATS")
    if not isinstance(entries, list) or not entries:
        raise MinerProtocolError("stats reply has no STATS list")
    dicts = [e for e in entries if isinstance(e, dict)]
    # The numbers live in the entry with the chain keys (normally STATS[1]).
    for entry in dicts:
        if any(key.startswith(("chain_acn", "GHS 5s", "temp_max")) for key in entry):
            return entry
    if len(dicts) > 1:
        return dicts[1]
    raise MinerProtocolError("stats reply has no miner statistics")


def _first_entry(reply: JsonDict, key: str) -> JsonDict | None:
    entries = reply.get(key)
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        first: JsonDict = entries[0]
        return first
    return None


def _has_chain_keys(body: JsonDict, index: int) -> bool:
    return f"chain_acn{index}" in body or f"chain_rate{index}" in body


def _chain_indices(body: JsonDict) -> list[int]:
    live = [
        i for i in range(1, _MAX_CHAIN_INDEX + 1) if (number(body.get(f"chain_acn{i}")) or 0) > 0
    ]
    if all(i in S9_CHAINS for i in live):
        # Always report the three S9 boards, so a dead or missing one shows up as such.
        return list(S9_CHAINS)
    return live


def _chains(body: JsonDict) -> list[ChainReading]:
    chains = []
    for i in _chain_indices(body):
        chips = number(body.get(f"chain_acn{i}"))
        rate_ghs = number(body.get(f"chain_rate{i}"))
        live = chips is not None and chips > 0
        chains.append(
            ChainReading(
                index=i,
                chips=int(chips) if chips is not None and chips > 0 else 0,
                hashrate_ths=rate_ghs / 1000.0 if rate_ghs is not None else None,
                frequency_mhz=_positive(body.get(f"freq_avg{i}")) if live else None,
                board_temp_c=_positive(body.get(f"temp{i}")) if live else None,
                chip_temp_c=_positive(body.get(f"temp2_{i}")) if live else None,
                power_w=number(body.get(f"chain_consumption{i}")),
            )
        )
    return chains


def _frequency(body: JsonDict, live: list[ChainReading]) -> float | None:
    # Prefer what the chips actually run at (Vnish can tune per chip) over the configured value.
    for key in ("total_freqavg", "frequency"):
        value = _positive(body.get(key))
        if value is not None:
            return value
    per_chain = [c.frequency_mhz for c in live if c.frequency_mhz is not None]
    return sum(per_chain) / len(per_chain) if per_chain else None


def _fans(body: JsonDict) -> tuple[int, ...]:
    fans = []
    for i in range(1, _MAX_FAN_INDEX + 1):
        rpm = number(body.get(f"fan{i}"))
        if rpm is not None and rpm > 0:
            fans.append(int(rpm))
    return tuple(fans)


def _power(
    chains: list[ChainReading], frequency: float | None, board_share: float, curve: PowerCurve
) -> float | None:
    reported = [c.power_w for c in chains if c.power_w is not None]
    if reported and sum(reported) > 0:
        return round(estimate_wall_power_w(sum(reported), curve), 1)
    if frequency is None:
        return None
    return round(curve.power_w(frequency) * board_share, 1)


def _positive(value: Any) -> float | None:
    result = number(value)
    return result if result is not None and result > 0 else None
