"""A `MinerReading` from the cgminer-API replies of any miner (pure parsing, no I/O).

The layouts it reads, by where the numbers live:
- `summary` `SUMMARY[0]`: the hashrate under a unit-named key (`GHS 5s` on bmminer, `MHS 1m` on
  Braiins OS and btminer), `Elapsed` (seconds the mining software runs); btminer adds `Power`,
  `Power Limit`, `Temperature` (boards), `Chip Temp Max`, `Fan Speed In/Out`, `freq_avg`, `MAC`.
- `stats`: the entry with the chain keys (normally `STATS[1]`): `chain_acnN`, `chain_rateN` in
  `rate_unit` (GH when absent), `tempN`/`temp2_N` or `temp_pcbN`/`temp_chipN` ("45-42-45-42"),
  `fan1`..`fan8` (0 for absent fans), `chain_consumptionN` (Vnish), `chain_powerN`/`total_power`
  (MSKminer), `chain_power` ("3250 W", Hiveon).
- `devs` `DEVS[i]`: one board each (`MHS 1m`, `Temperature`, `Chip Temp Max`, `Chip Frequency`,
  `Effective Chips` on btminer; `ID` 6-8 or 1-3 on Braiins OS).
- Braiins OS: `temps` (`Board`, `Chip` by `ID`), `devdetails` (`Chips`, `Frequency` in Hz),
  `tunerstatus` (`ApproximateMinerPowerConsumption`, `PowerLimit`, per-chain watts), `fans`
  (`FANS[i].RPM`, also LuxOS); LuxOS `power` (`POWER[0].Watts`).
Every value is checked: sentinels and absurd numbers read as "not reported".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .antminer_stats import estimate_wall_power_w
from .base import ChainReading, MinerProtocolError, MinerReading, MiningState, PowerSource
from .cgminer import JsonDict, number
from .cgminer_hashrate import key_factor, raw_ths, resolve, unit_factor
from .cgminer_models import UNKNOWN, Rating, describe_device, model_key, rating_for
from .firmware import normalize_mac

__all__ = [
    "STARTUP_WINDOW_S",
    "CgminerReplies",
    "describe_device",
    "find_hostname",
    "find_mac",
    "parse_cgminer_reading",
]

# Sentinels firmwares write for a missing sensor; anything outside the range is one too.
_TEMP_SENTINELS = frozenset({0.0, -1.0, 255.0, -273.0})
_MIN_TEMP_C, _MAX_TEMP_C = -40.0, 150.0
_MAX_FAN_RPM = 30_000
_MIN_MHZ, _MAX_MHZ = 10.0, 3000.0
_MAX_POWER_W = 20_000.0  # a hydro S21 draws about 6 kW; nothing single draws 20
_MAX_ELAPSED_S = 10 * 365 * 86400
_MAX_BOARDS = 16
_MAX_FANS = 16
_MAX_STATS_ENTRIES = 8
_HZ_PER_MHZ = 1e6

# Windows in order of preference: a minute is recent and not yet noisy.
_WINDOWS = ("1m", "5s", "5m", "15m", "av")
_UNIT_PREFIXES = ("THS", "GHS", "MHS", "KHS")
_STATS_BODY_KEYS = ("chain_acn", "chain_rate", "GHS ", "total_rate", "temp_max", "rate_unit")

# A fresh mining process reporting nothing or very little is still starting; past this it is
# idle (asleep, paused, failed). Whatsminer and Braiins OS take minutes to reach full speed.
STARTUP_WINDOW_S = 900.0
# Below this share of the nominal hashrate, a miner in its startup window is still ramping.
STARTING_SHARE = 0.25
# A reported power this close to the rated one shows the boards run, whatever the elapsed time.
_RUNNING_POWER_SHARE = 0.5
# The nameplate estimate follows the hashrate, but not beyond this share of the rated power.
_MAX_NAMEPLATE_SHARE = 1.25


@dataclass(frozen=True, slots=True)
class CgminerReplies:
    """The replies of one poll; `None` for a command not sent or refused."""

    summary: JsonDict | None = None
    stats: JsonDict | None = None
    devs: JsonDict | None = None
    version: JsonDict | None = None
    devdetails: JsonDict | None = None
    fans: JsonDict | None = None
    temps: JsonDict | None = None
    power: JsonDict | None = None
    tunerstatus: JsonDict | None = None

    @classmethod
    def from_sections(cls, sections: Mapping[str, JsonDict]) -> CgminerReplies:
        """The replies from a `{command: reply}` map (unknown commands are ignored)."""
        return cls(
            summary=sections.get("summary"),
            stats=sections.get("stats"),
            devs=sections.get("devs"),
            version=sections.get("version"),
            devdetails=sections.get("devdetails"),
            fans=sections.get("fans"),
            temps=sections.get("temps"),
            power=sections.get("power"),
            tunerstatus=sections.get("tunerstatus"),
        )


@dataclass(slots=True)
class _Board:
    index: int
    chips: int = 0
    raw_ths: float | None = None  # at the label's face value
    frequency_mhz: float | None = None
    board_temp_c: float | None = None
    chip_temp_c: float | None = None
    power_w: float | None = None


@dataclass(slots=True)
class _Boards:
    by_index: dict[int, _Board] = field(default_factory=dict)

    def get(self, index: int) -> _Board | None:
        board = self.by_index.get(index)
        if board is None and len(self.by_index) < _MAX_BOARDS:
            board = self.by_index[index] = _Board(index)
        return board

    def ordered(self) -> list[_Board]:
        return [self.by_index[i] for i in sorted(self.by_index)]


def parse_cgminer_reading(
    replies: CgminerReplies, *, model: str | None = None, rating: Rating | None = None
) -> MinerReading:
    """The reading of a miner whose API answered. Raises `MinerProtocolError` on junk.

    `model` is the device's name for itself (from `describe_device` when not given) and picks
    the nameplate `rating` when that is not given either.
    """
    summary = _first(replies.summary, "SUMMARY")
    stats = _stats_body(replies.stats)
    devs = _entries(replies.devs, "DEVS")
    if summary is None and stats is None and not devs:
        raise MinerProtocolError("the replies hold no summary, stats or devs")
    summary = summary or {}
    if model is None:
        model = describe_device(replies.version, replies.devdetails, replies.stats)[0]
    if model == UNKNOWN:
        model = None
    if rating is None:
        rating = rating_for(model)

    rate_factor = unit_factor(stats.get("rate_unit")) if stats is not None else unit_factor(None)
    boards = _boards(stats, rate_factor, devs, replies)
    elapsed = _elapsed(summary.get("Elapsed"))
    if elapsed is None and stats is not None:
        elapsed = _elapsed(stats.get("Elapsed"))
    reported_w = _reported_power(summary, stats, replies, boards, model)

    reference = rating.nominal_ths if rating is not None else _ideal_ths(summary, stats, devs)
    allow_up = elapsed is None or elapsed >= STARTUP_WINDOW_S
    if rating is not None and reported_w is not None:
        allow_up = allow_up or reported_w >= _RUNNING_POWER_SHARE * rating.rated_w
    hashrate, chain_scale = _hashrate(
        summary, stats, rate_factor, boards, reference, allow_up=allow_up
    )
    state = _state(hashrate, reference, elapsed)

    if reported_w is not None:
        power_w: float | None = reported_w
        source = PowerSource.REPORTED
    else:
        power_w = _nameplate_w(rating, hashrate, state)
        source = PowerSource.NAMEPLATE

    return MinerReading(
        online=True,
        state=state,
        hashrate_ths=hashrate,
        frequency_mhz=_frequency(summary, stats, boards),
        chip_temp_c=_hottest(
            [b.chip_temp_c for b in boards],
            summary.get("Chip Temp Max"),
            stats.get("temp_max") if stats is not None else None,
        ),
        board_temp_c=_hottest([b.board_temp_c for b in boards], summary.get("Temperature")),
        fan_rpm=_fans(replies.fans, stats, summary),
        power_w=power_w,
        uptime_s=int(elapsed) if elapsed is not None else None,
        chains=tuple(_chain(b, chain_scale) for b in boards),
        setting=_setting(summary, replies.tunerstatus),
        power_source=source,
        model=model,
    )


def find_mac(*replies: JsonDict | None) -> str | None:
    """The MAC a firmware reports over the API: btminer `summary` `MAC` or `get_miner_info`
    `Msg.mac`, LuxOS `config` `MACAddr`; None when none of the replies carries one."""
    for reply in replies:
        for entry in _identity_entries(reply):
            for key in ("MAC", "MACAddr", "mac", "macaddr"):
                mac = normalize_mac(entry.get(key))
                if mac is not None:
                    return mac
    return None


def find_hostname(*replies: JsonDict | None) -> str | None:
    """The host name a firmware reports (LuxOS `config`, btminer `get_miner_info`)."""
    for reply in replies:
        for entry in _identity_entries(reply):
            for key in ("Hostname", "hostname"):
                value = entry.get(key)
                if isinstance(value, str) and value.strip():
                    return " ".join(value[:128].split())[:64] or None
    return None


# --------------------------------------------------------------------- reply shapes


def _first(reply: JsonDict | None, key: str) -> JsonDict | None:
    entries = _entries(reply, key)
    return entries[0] if entries else None


def _entries(reply: JsonDict | None, key: str, limit: int = _MAX_BOARDS) -> list[JsonDict]:
    if not isinstance(reply, dict):
        return []
    entries = reply.get(key)
    if not isinstance(entries, list):
        return []
    return [e for e in entries[:limit] if isinstance(e, dict)]


def _stats_body(reply: JsonDict | None) -> JsonDict | None:
    """The `stats` entry with the numbers (normally `STATS[1]`; `STATS[0]` names the software)."""
    entries = _entries(reply, "STATS", _MAX_STATS_ENTRIES)
    for entry in entries:
        if any(isinstance(k, str) and k.startswith(_STATS_BODY_KEYS) for k in entry):
            return entry
    return None


def _identity_entries(reply: JsonDict | None) -> Iterator[JsonDict]:
    if not isinstance(reply, dict):
        return
    message = reply.get("Msg")  # btminer's own commands: a flat STATUS and a `Msg` object
    if isinstance(message, dict) and reply.get("STATUS") == "S":
        yield message
    for key in ("SUMMARY", "CONFIG"):
        first = _first(reply, key)
        if first is not None:
            yield first


# --------------------------------------------------------------------- boards


def _boards(
    stats: JsonDict | None, rate_factor: float, devs: list[JsonDict], replies: CgminerReplies
) -> list[_Board]:
    boards = _Boards()
    if stats is not None:
        _stats_boards(boards, stats, rate_factor)
    if not boards.by_index:
        _devs_boards(boards, devs)
        _braiins_boards(boards, replies)
    return boards.ordered()


def _stats_boards(boards: _Boards, stats: JsonDict, rate_factor: float) -> None:
    for i in range(1, _MAX_BOARDS + 1):
        chips = number(stats.get(f"chain_acn{i}"))
        rate = raw_ths(stats.get(f"chain_rate{i}"), rate_factor)
        if (chips is None or chips <= 0) and not rate:
            continue
        board = boards.get(i)
        if board is None:
            return
        board.chips = _count(chips)
        board.raw_ths = rate
        board.frequency_mhz = _mhz(stats.get(f"freq_avg{i}")) or _mhz(stats.get(f"freq{i}"))
        board.board_temp_c = _temp(stats.get(f"temp{i}")) or _series_max(stats.get(f"temp_pcb{i}"))
        board.chip_temp_c = _temp(stats.get(f"temp2_{i}")) or _series_max(
            stats.get(f"temp_chip{i}")
        )
        board.power_w = _watts(stats.get(f"chain_consumption{i}")) or _watts(
            stats.get(f"chain_power{i}")
        )


def _devs_boards(boards: _Boards, devs: list[JsonDict]) -> None:
    for position, dev in enumerate(devs):
        board = boards.get(_index(dev, ("ASC", "ID", "Slot"), position))
        if board is None:
            return
        board.raw_ths = _labelled_rate(dev)
        board.chips = _count(number(dev.get("Effective Chips")))
        board.frequency_mhz = _mhz(dev.get("Chip Frequency"))
        board.board_temp_c = _temp(dev.get("Temperature"))
        board.chip_temp_c = _temp(dev.get("Chip Temp Max")) or _temp(dev.get("Chip Temp Avg"))


def _braiins_boards(boards: _Boards, replies: CgminerReplies) -> None:
    for position, entry in enumerate(_entries(replies.temps, "TEMPS")):
        board = boards.get(_index(entry, ("ID", "TEMP"), position))
        if board is not None:
            board.board_temp_c = _temp(entry.get("Board")) or board.board_temp_c
            board.chip_temp_c = _temp(entry.get("Chip")) or board.chip_temp_c
    for position, entry in enumerate(_entries(replies.devdetails, "DEVDETAILS")):
        if "Chips" not in entry and "Frequency" not in entry:
            continue  # btminer's devdetails names the model only
        board = boards.get(_index(entry, ("ID", "DEVDETAILS"), position))
        if board is not None:
            board.chips = _count(number(entry.get("Chips"))) or board.chips
            board.frequency_mhz = _frequency_value(entry.get("Frequency")) or board.frequency_mhz
    tuner = _first(replies.tunerstatus, "TUNERSTATUS")
    chains = tuner.get("TunerChainStatus") if tuner is not None else None
    if isinstance(chains, list):
        for entry in chains[:_MAX_BOARDS]:
            if not isinstance(entry, dict):
                continue
            index = number(entry.get("HashchainIndex"))
            board = boards.by_index.get(int(index)) if index is not None and index >= 0 else None
            if board is not None:
                board.power_w = _watts(entry.get("ApproximatePowerConsumptionWatt"))


def _index(entry: JsonDict, keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        value = number(entry.get(key))
        if value is not None and 0 <= value <= 1000 and value == int(value):
            return int(value)
    return default


def _chain(board: _Board, scale: float | None) -> ChainReading:
    rate = board.raw_ths * scale if board.raw_ths is not None and scale is not None else None
    return ChainReading(
        index=board.index,
        chips=board.chips,
        hashrate_ths=rate,
        frequency_mhz=board.frequency_mhz,
        board_temp_c=board.board_temp_c,
        chip_temp_c=board.chip_temp_c,
        power_w=board.power_w,
    )


# --------------------------------------------------------------------- hashrate and state


def _labelled_rate(entry: JsonDict) -> float | None:
    """The hashrate under the first unit-named key present (`MHS 1m`, `GHS 5s`, ...)."""
    for window in _WINDOWS:
        for prefix in _UNIT_PREFIXES:
            key = f"{prefix} {window}"
            if key in entry:
                factor = key_factor(key)
                value = raw_ths(entry[key], factor) if factor is not None else None
                if value is not None:
                    return value
    # btminer's real-time figure: named in H/s but reported in MH/s, like its other keys.
    return raw_ths(entry.get("HS RT"), 1e-6)


def _hashrate(
    summary: JsonDict,
    stats: JsonDict | None,
    rate_factor: float,
    boards: list[_Board],
    reference: float | None,
    *,
    allow_up: bool,
) -> tuple[float | None, float | None]:
    """(total TH/s, factor from the boards' face values to TH/s)."""
    total_raw = _labelled_rate(summary)
    if total_raw is None and stats is not None:
        total_raw = _labelled_rate(stats)
        if total_raw is None:
            total_raw = raw_ths(stats.get("total_rate"), rate_factor)
    rates = [b.raw_ths for b in boards if b.raw_ths is not None]
    chain_raw = sum(rates) if rates else None

    chain_total = resolve(chain_raw, reference, allow_up=allow_up)
    if reference is None and chain_total:
        # Without a nominal, the boards and the total check each other.
        total = resolve(total_raw, chain_total, allow_up=allow_up)
    else:
        total = resolve(total_raw, reference, allow_up=allow_up)

    scale: float | None = None
    if chain_raw is not None and chain_total is not None:
        scale = chain_total / chain_raw if chain_raw > 0 else 1.0
    return (total if total is not None else chain_total), scale


def _ideal_ths(summary: JsonDict, stats: JsonDict | None, devs: list[JsonDict]) -> float | None:
    """What the firmware says the miner should hash, when its model is not in the table."""
    candidates: list[float | None] = [raw_ths(summary.get("Factory GHS"), 1e-3)]
    if stats is not None:
        candidates.append(
            raw_ths(stats.get("total_rateideal"), unit_factor(stats.get("rate_unit")))
        )
    nominal = [raw_ths(d.get("Nominal MHS"), 1e-6) for d in devs]
    if nominal and all(n is not None for n in nominal):
        candidates.append(sum(n or 0.0 for n in nominal))
    for value in candidates:
        ideal = resolve(value, None, allow_up=False)
        if ideal:
            return ideal
    return None


def _state(hashrate: float | None, reference: float | None, elapsed: float | None) -> MiningState:
    in_startup = elapsed is None or elapsed < STARTUP_WINDOW_S
    if hashrate is not None and hashrate > 0:
        if reference is not None and hashrate < STARTING_SHARE * reference and in_startup:
            return MiningState.STARTING
        return MiningState.MINING
    if elapsed is not None and elapsed < STARTUP_WINDOW_S:
        return MiningState.STARTING
    return MiningState.SLEEPING


# --------------------------------------------------------------------- power


def _reported_power(
    summary: JsonDict,
    stats: JsonDict | None,
    replies: CgminerReplies,
    boards: list[_Board],
    model: str | None,
) -> float | None:
    tuner = _first(replies.tunerstatus, "TUNERSTATUS") or {}
    power = _first(replies.power, "POWER") or {}
    candidates: list[Any] = [
        summary.get("Power"),  # btminer (-1 when unknown)
        tuner.get("ApproximateMinerPowerConsumption"),  # Braiins OS
        power.get("Watts"),  # LuxOS
    ]
    if stats is not None:
        candidates.append(stats.get("total_power"))  # MSKminer
        chain_power = stats.get("chain_power")  # Hiveon: "3250 W"
        if isinstance(chain_power, str):
            candidates.append(chain_power[:32].split(" ", 1)[0])
    for value in candidates:
        watts = _watts(value)
        if watts is not None:
            return watts
    per_board = [b.power_w for b in boards if b.power_w is not None]
    if not per_board or sum(per_board) <= 0:
        return None
    total = sum(per_board)
    if model_key(model).startswith("S9"):
        # Vnish's S9 estimate sits above the wall; the S9 field data corrects it.
        total = estimate_wall_power_w(total)
    return round(total, 1) if total <= _MAX_POWER_W else None


def _nameplate_w(rating: Rating | None, hashrate: float | None, state: MiningState) -> float | None:
    if rating is None:
        return None
    if state is MiningState.SLEEPING or not hashrate:
        return rating.standby_w
    share = min(hashrate / rating.nominal_ths, _MAX_NAMEPLATE_SHARE)
    return round(rating.standby_w + (rating.rated_w - rating.standby_w) * share, 1)


def _setting(summary: JsonDict, tunerstatus: JsonDict | None) -> float | None:
    """The power limit the miner runs at, where the firmware reports one."""
    tuner = _first(tunerstatus, "TUNERSTATUS") or {}
    return _watts(summary.get("Power Limit")) or _watts(tuner.get("PowerLimit"))


# --------------------------------------------------------------------- sensors


def _frequency(summary: JsonDict, stats: JsonDict | None, boards: list[_Board]) -> float | None:
    candidates = [summary.get("freq_avg")]
    if stats is not None:
        candidates += [stats.get("total_freqavg"), stats.get("frequency")]
    for value in candidates:
        mhz = _mhz(value)
        if mhz is not None:
            return mhz
    per_board = [b.frequency_mhz for b in boards if b.frequency_mhz is not None]
    return round(sum(per_board) / len(per_board), 1) if per_board else None


def _fans(fans: JsonDict | None, stats: JsonDict | None, summary: JsonDict) -> tuple[int, ...]:
    """Spinning fans only: absent fans read 0 on every firmware."""
    listed = [_rpm(entry.get("RPM")) for entry in _entries(fans, "FANS", _MAX_FANS)]
    found = [rpm for rpm in listed if rpm is not None]
    if not found and stats is not None:
        found = [r for r in (_rpm(stats.get(f"fan{i}")) for i in range(1, 9)) if r is not None]
    if not found:
        found = [
            r
            for r in (_rpm(summary.get("Fan Speed In")), _rpm(summary.get("Fan Speed Out")))
            if r is not None
        ]
    return tuple(found)


def _hottest(values: list[float | None], *fallbacks: Any) -> float | None:
    known = [v for v in values if v is not None]
    if known:
        return max(known)
    for value in fallbacks:
        temp = _temp(value)
        if temp is not None:
            return temp
    return None


def _temp(value: Any) -> float | None:
    temp = number(value)
    if temp is None or temp in _TEMP_SENTINELS or not _MIN_TEMP_C <= temp <= _MAX_TEMP_C:
        return None
    return temp


def _series_max(value: Any) -> float | None:
    """The hottest of "45-42-45-42" or [45, 42, 45, 42] (sensor series per board)."""
    if isinstance(value, str) and len(value) <= 64:
        parts: list[Any] = value.split("-")
    elif isinstance(value, list):
        parts = value[:8]
    else:
        return None
    temps = [t for t in (_temp(p) for p in parts) if t is not None]
    return max(temps) if temps else None


def _rpm(value: Any) -> int | None:
    rpm = number(value)
    return int(rpm) if rpm is not None and 0 < rpm <= _MAX_FAN_RPM else None


def _mhz(value: Any) -> float | None:
    mhz = number(value)
    return mhz if mhz is not None and _MIN_MHZ <= mhz <= _MAX_MHZ else None


def _frequency_value(value: Any) -> float | None:
    """A frequency in MHz, or in Hz as Braiins OS reports it (799682118)."""
    mhz = _mhz(value)
    if mhz is not None:
        return mhz
    hz = number(value)
    if hz is None or hz <= 0:
        return None
    converted = _mhz(hz / _HZ_PER_MHZ)
    return round(converted, 1) if converted is not None else None


def _watts(value: Any) -> float | None:
    watts = number(value)
    return watts if watts is not None and 0 < watts <= _MAX_POWER_W else None


def _elapsed(value: Any) -> float | None:
    seconds = number(value)
    return seconds if seconds is not None and 0 <= seconds <= _MAX_ELAPSED_S else None


def _count(value: float | None) -> int:
    return int(value) if value is not None and 0 < value <= 10_000 else 0
