"""Whatsminer API v3 (btminer firmware from late 2024 on, TCP 4433): framing and pure parsing.

A request is a JSON object `{"cmd": "get.device.info"}` (with `"param"` where a command takes
one) sent after its length as 4 bytes little-endian; the reply is framed the same way and reads
`{"code": 0, "when": <unix s>, "msg": {...}, "desc": "<cmd>"}`. `code` 0 is success; -1 a bad
JSON or password, -2 a wrong command or parameter, -3 a missing parameter. `get.*` commands
need no login; only `set.*` carry a salted token, which this integration never sends.

What is read (names as the firmware writes them):
- `get.device.info` `msg`: `network.mac`, `network.hostname`, `miner.type` ("M50_VH84"),
  `system.fwversion` ("20250915.16.Rel2"), `system.api` ("3.0.2");
- `get.miner.status` with `param` "summary", `msg.summary`: `hash-realtime`/`hash-average`
  (TH/s), `factory-hash` (TH/s), `elapsed` (s), `power-realtime` (W, often missing),
  `power-limit` (W), `freq-avg` (MHz), `chip-temp-max`, `board-temperature` (a list; some
  builds spell it `board-tempurature`), `fan-speed-in`/`fan-speed-out`, `up-freq-finish`.
Every value is checked: what is absent, of the wrong type or out of range reads as "not
reported".
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from .base import MinerIdentity, MinerProtocolError, MinerReading, MiningState, PowerSource
from .cgminer_models import Rating
from .cgminer_reading import STARTING_SHARE, STARTUP_WINDOW_S
from .firmware import normalize_mac

type JsonDict = dict[str, Any]

HEADER = struct.Struct("<I")
# A device-info reply is about 1.7 kB, a summary about 1 kB; a reply near this is not a miner's.
MAX_REPLY_BYTES = 64 * 1024
MAX_REQUEST_BYTES = 4096
BRAND = "Whatsminer"
FIRMWARE = "Whatsminer API v3"
NOT_READABLE = "Whatsminer API v3, not readable"

_MAX_TEXT = 64
_MAX_THS = 10_000.0
_MAX_POWER_W = 20_000.0
_MIN_TEMP_C, _MAX_TEMP_C = -40.0, 150.0
_TEMP_SENTINELS = frozenset({0.0, -1.0, 255.0, -273.0})
_MAX_FAN_RPM = 30_000
_MIN_MHZ, _MAX_MHZ = 10.0, 3000.0
_MAX_ELAPSED_S = 10 * 365 * 86400
_MAX_BOARDS = 16
# A power this close to the nameplate shows the boards run, whatever the hashrate says.
_MAX_NAMEPLATE_SHARE = 1.25


class WhatsminerV3UnreadableError(MinerProtocolError):
    """A device answered in the v3 framing but not with what a read needs."""


class WhatsminerV3CommandError(WhatsminerV3UnreadableError):
    """The API understood the frame and refused the command (`code` other than 0)."""

    def __init__(self, command: str, code: int, message: str) -> None:
        super().__init__(f"{command}: {message or 'refused'} (code {code})")
        self.command = command
        self.code = code


def encode_request(command: str, param: str | None = None) -> bytes:
    """One framed request: length (4 bytes, little-endian), then compact JSON."""
    request: JsonDict = {"cmd": command}
    if param is not None:
        request["param"] = param
    body = json.dumps(request, separators=(",", ":")).encode("ascii")
    if len(body) > MAX_REQUEST_BYTES:
        raise ValueError(f"request of {len(body)} bytes is too long")
    return HEADER.pack(len(body)) + body


def reply_length(header: bytes) -> int:
    """The announced length of a reply; refuses an empty or oversized one before it is read."""
    (length,) = HEADER.unpack(header)
    if length == 0:
        raise MinerProtocolError("empty reply")
    if length > MAX_REPLY_BYTES:
        raise MinerProtocolError(f"reply of {length} bytes announced; not a Whatsminer API v3")
    return int(length)


def parse_reply(body: bytes, command: str) -> JsonDict:
    """The `msg` object of a successful reply. Raises `WhatsminerV3CommandError` for a refusal
    and `MinerProtocolError` for anything that is not a v3 reply."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace"))
    except RecursionError:
        raise MinerProtocolError("reply nests too deeply") from None
    except ValueError as err:
        raise MinerProtocolError(f"reply is not JSON ({err})") from None
    if not is_v3_reply(data):
        raise MinerProtocolError("reply is not a Whatsminer API v3 answer")
    code = data["code"]
    msg = data.get("msg")
    if code != 0:
        text = msg if isinstance(msg, str) else data.get("desc")
        raise WhatsminerV3CommandError(command, code, _text(text) or "")
    if not isinstance(msg, dict):
        raise WhatsminerV3UnreadableError(f"{command}: reply without a message object")
    return msg


def is_v3_reply(data: object) -> bool:
    """Whether a decoded reply has the v3 envelope (an integer `code` beside `msg`)."""
    if not isinstance(data, dict):
        return False
    code = data.get("code")
    return isinstance(code, int) and not isinstance(code, bool) and "msg" in data


def identity_from_device_info(host: str, info: JsonDict) -> MinerIdentity:
    """Who the miner is, from `get.device.info`. Raises `MinerProtocolError` without a MAC."""
    network, miner, system = (_section(info, k) for k in ("network", "miner", "system"))
    mac = normalize_mac(network.get("mac"))
    if mac is None:
        raise WhatsminerV3UnreadableError(f"{host}: no MAC address in get.device.info")
    kind = _text(miner.get("type"))
    version = _text(system.get("fwversion")) or ""
    return MinerIdentity(
        mac=mac,
        host=host,
        model=f"{BRAND} {kind}" if kind else BRAND,
        firmware=f"{FIRMWARE} {version}".strip(),
        firmware_version=version,
        hostname=_text(network.get("hostname")),
    )


def reading_from_status(
    status: JsonDict | None, *, rating: Rating | None, model: str | None
) -> MinerReading:
    """A reading from `get.miner.status` (summary). `None`, or a message without a summary,
    is a miner whose API answers while its mining software does not: online, not hashing."""
    summary = _section(status, "summary") if status is not None else {}
    if not summary:
        return MinerReading(
            online=True,
            state=MiningState.SLEEPING,
            power_w=rating.standby_w if rating is not None else None,
            power_source=PowerSource.NAMEPLATE,
            model=model,
        )
    hashrate = _first_number(summary, ("hash-realtime", "hash-1min", "hash-average"), _MAX_THS)
    reference = _bounded_number(summary.get("factory-hash"), 0.0, _MAX_THS) or (
        rating.nominal_ths if rating is not None else None
    )
    elapsed = _bounded_number(summary.get("elapsed"), 0.0, _MAX_ELAPSED_S)
    state = _state(hashrate, reference, elapsed, summary.get("up-freq-finish"))
    power = _bounded_number(summary.get("power-realtime"), 1.0, _MAX_POWER_W)
    source = PowerSource.REPORTED
    if power is None:
        power, source = _nameplate_w(rating, hashrate, state), PowerSource.NAMEPLATE
    boards = summary.get("board-temperature", summary.get("board-tempurature"))
    board_temps = boards[:_MAX_BOARDS] if isinstance(boards, list) else []
    fans = tuple(
        rpm for key in ("fan-speed-in", "fan-speed-out") if (rpm := _rpm(summary.get(key)))
    )
    elapsed_s = round(elapsed) if elapsed is not None else None
    return MinerReading(
        online=True,
        state=state,
        hashrate_ths=hashrate,
        frequency_mhz=_bounded_number(summary.get("freq-avg"), _MIN_MHZ, _MAX_MHZ),
        chip_temp_c=_temp(summary.get("chip-temp-max")),
        board_temp_c=_hottest([_temp(t) for t in board_temps]),
        fan_rpm=fans,
        power_w=power,
        uptime_s=elapsed_s,
        setting=_bounded_number(summary.get("power-limit"), 1.0, _MAX_POWER_W),
        power_source=source,
        model=model,
    )


# ------------------------------------------------------------------------- helpers


def _state(
    hashrate: float | None, reference: float | None, elapsed: float | None, ramped: object
) -> MiningState:
    if hashrate is not None and hashrate > 0:
        if ramped == 1 or reference is None or hashrate >= STARTING_SHARE * reference:
            return MiningState.MINING
        return MiningState.STARTING
    if elapsed is not None and elapsed < STARTUP_WINDOW_S:
        return MiningState.STARTING
    return MiningState.SLEEPING


def _nameplate_w(rating: Rating | None, hashrate: float | None, state: MiningState) -> float | None:
    if rating is None:
        return None
    if state is MiningState.MINING and hashrate is not None and rating.nominal_ths > 0:
        share = min(hashrate / rating.nominal_ths, _MAX_NAMEPLATE_SHARE)
        return max(rating.standby_w, rating.rated_w * share)
    return rating.standby_w


def _section(data: JsonDict | None, key: str) -> JsonDict:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if len(value) > _MAX_TEXT:
            return None
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def _bounded_number(value: Any, low: float, high: float) -> float | None:
    result = _number(value)
    return result if result is not None and low <= result <= high else None


def _first_number(summary: JsonDict, keys: tuple[str, ...], high: float) -> float | None:
    for key in keys:
        result = _bounded_number(summary.get(key), 0.0, high)
        if result is not None:
            return result
    return None


def _temp(value: Any) -> float | None:
    result = _bounded_number(value, _MIN_TEMP_C, _MAX_TEMP_C)
    return None if result is None or result in _TEMP_SENTINELS else result


def _hottest(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _rpm(value: Any) -> int | None:
    result = _bounded_number(value, 1.0, _MAX_FAN_RPM)
    return round(result) if result is not None else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value[: _MAX_TEXT * 2].split())[:_MAX_TEXT] or None
