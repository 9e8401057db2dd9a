"""A Whatsminer M50 on btminer firmware from late 2024 on: Whatsminer API v3 on TCP 4433 only.

Sources, all public:
- pyasic (`UpstreamData/pyasic`, 0.78.10, 2026-03): `rpc/btminer.py` `BTMinerV3RPCAPI` (4-byte
  little-endian length before the JSON request and before the reply, `{"cmd", "param"}`, `set.*`
  signed with `ts`, `account` "super" and an 8-character token: the start of
  base64(sha256(cmd + password + salt + ts)), the salt from `get.device.info`), `miners/backends/
  btminer.py` `BTMinerV3` (which fields it reads: `msg.network.mac`, `msg.system.fwversion`,
  `msg.summary.power-realtime`, `hash-realtime`, `factory-hash`, `elapsed`, `fan-speed-in/out`,
  `edevs[i].hash-average`, `chip-temp-*`, `effective-chips`) and `miners/factory.py` (v3 from
  firmware dates after 2024-11; `msg.miner.type` names the model);
- `TOwInOK/matroskin` (a Rust client of the vendor's API documentation, apidoc.whatsminer.com):
  a captured `get.device.info` reply of an M50 (`.example-response/get.device.info.json`,
  API 3.0.2, firmware 20250915.16.Rel2, whose sections and keys this reply follows) and the
  reply envelope `{code, when, msg, desc}` with codes 0 ok, -1 bad JSON or password, -2 wrong
  command or parameter, -3 missing parameter;
- `iaon/ya-whatsminer-cli` (API v3.0.1): reads need no token; the same token rule for writes;
- third-party clients that model `get.miner.status` summaries (`freq-avg`, `target-freq`,
  `hash-1min`, `hash-15min`, `power-rate`, `power-5min`, `board-temperature`, `chip-temp-min/
  avg/max`, `power-limit`, `up-freq-finish`, `bootup-time`); one of them spells the
  temperatures `environment-tempurature` and `board-tempurature`.

Where the record is silent the simulator varies per miner (seeded): whether a summary carries
`power-realtime` (real summaries often do not), which spelling of the temperatures it uses,
and whether the connection stays open after a reply. Assumptions (not verified on hardware):
port 4028 and the web interface are shut; `get.miner.status` keeps answering while the
mining service is stopped, with zero hashrate and `elapsed` counted from boot; only
`set.miner.service` start/stop is simulated among the writes (others answer -2); the token's
timestamp is not checked for age.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import struct
from random import Random
from typing import Any

from .cgminer_api import apply_reply_faults
from .faults import Fault
from .modern import BOARDS, ModernMiner, ModernSpec, modern_factory
from .personality import WHATSMINER_V3, Personality
from .runtime import Runtime

_LOGGER = logging.getLogger(__name__)

API_PORT = 4433
# An M50: 114 TH/s at 26 J/TH, about 3,300 W (MicroBT's published figures). Boot, the
# randomised start delay before the boards power up (up to 120 s against inrush) and the
# frequency ramp are assumptions, as is the standby draw with the boards off.
M50 = ModernSpec(
    model="Whatsminer M50",
    firmware="btminer 20250915.16.Rel2",
    nominal_w=3306.0,
    min_w=3306.0,
    max_w=3306.0,
    nominal_ths=114.0,
    standby_w=65.0,
    boot_s=90.0,
    start_s=120.0,
    ramp_s=180.0,
    nominal_mhz=560.0,
)
MINER_TYPE = "M50_VH84"
FIRMWARE_VERSION = "20250915.16.Rel2"
API_VERSION = "3.0.2"
SUPER_PASSWORD = "super"  # pyasic's default for the `super` account
CHIPS_PER_BOARD = 162
MAC_PREFIX = (0x02, 0x4D, 0x50)  # locally administered

CODE_OK = 0
CODE_BAD_JSON = -1
CODE_BAD_COMMAND = -2
CODE_NO_PARAM = -3
HEADER = struct.Struct("<I")
MAX_REQUEST = 16 * 1024
IDLE_TIMEOUT_S = 10.0  # the v2 document's "no data within 10 seconds closes the connection"


# One simulated M50 on API v3 (the fleet's web password does not apply to it).
create = modern_factory(M50, WHATSMINER_V3, MAC_PREFIX, fixed_password=SUPER_PASSWORD)


def token(command: str, password: str, salt: str, ts: int) -> str:
    """The token a `set.*` request must carry."""
    digest = hashlib.sha256(f"{command}{password}{salt}{ts}".encode()).digest()
    return base64.b64encode(digest).decode("ascii")[:8]


class V3Replies:
    """What one miner answers to one decoded request."""

    def __init__(self, miner: ModernMiner) -> None:
        self.miner = miner
        # Drawn from the miner's serial (seeded), so every instance of a miner agrees.
        draw = Random(f"whatsminer_v3:{miner.serial}")
        self.reports_power = draw.random() < 0.5
        self.misspelt = draw.random() < 0.5
        self.keeps_connection = draw.random() < 0.5
        self.salt = hashlib.sha256(miner.serial.encode()).hexdigest()[:8]

    def handle(self, body: bytes) -> dict[str, Any]:
        """The reply object to one request body."""
        try:
            request = json.loads(body.decode("utf-8", "replace"))
        except ValueError:
            return self._reply(CODE_BAD_JSON, "invalid JSON", "")
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            return self._reply(CODE_BAD_JSON, "invalid JSON", "")
        command: str = request["cmd"]
        param = request.get("param")
        if command.startswith("set."):
            return self._write(command, request, param)
        match command:
            case "get.device.info":
                return self._reply(CODE_OK, self._device_info(), command)
            case "get.miner.status":
                return self._status(param)
            case _:
                return self._reply(CODE_BAD_COMMAND, "invalid command", command)

    # ------------------------------------------------------------ reads

    def _status(self, param: object) -> dict[str, Any]:
        command = "get.miner.status"
        if param is None:
            return self._reply(CODE_NO_PARAM, "param is null", command)
        match param:
            case "summary":
                return self._reply(CODE_OK, {"summary": self._summary()}, command)
            case "edevs":
                return self._reply(CODE_OK, {"edevs": self._edevs()}, command)
            case "pools":
                return self._reply(CODE_OK, {"pools": [self._pool()]}, command)
            case _:
                return self._reply(CODE_BAD_COMMAND, "invalid param", command)

    def _device_info(self) -> dict[str, Any]:
        m = self.miner
        return {
            "network": {
                "ip": m.host,
                "proto": "dhcp",
                "netmask": "255.255.255.0",
                "dns": "",
                "mac": m.mac,
                "gateway": "",
                "hostname": m.hostname,
            },
            "miner": {
                "working": "true" if m.hashing else "false",
                "type": MINER_TYPE,
                "hash-board": "H84",
                "cointype": "BTC/BCH/BSV",
                "pool-strategy": "FAILOVER",
                "fast-boot": "disable",
                "board-num": str(BOARDS),
                **{f"pcbsn{i}": f"{m.serial}{i}" for i in range(BOARDS)},
                "miner-sn": m.serial,
                "power-limit-set": "",
                "web-pool": 1,
                "permission": "super=255 user1=0 user2=0 user3=0",
            },
            "system": {
                "api": API_VERSION,
                "platform": "H616",
                "fwversion": FIRMWARE_VERSION,
                "control-board-version": "CB6V10",
                "apiswitch": "1",
                "ledstatus": "auto",
            },
            "power": {
                "type": "P221B",
                "mode": "1",
                "model": "P221B",
                "vin": 231.5,
                "pin": round(m.power_w),
                "fanspeed": 4992 if m.hashing else 0,
                "temp0": 45,
            },
            "salt": self.salt,
            "error-code": [],
        }

    def _summary(self) -> dict[str, Any]:
        m = self.miner
        ths = round(m.hashrate_ths, 3)
        chips = m.board_chip_temps()
        fans = m.fan_rpms()
        temp_key = "tempurature" if self.misspelt else "temperature"
        summary: dict[str, Any] = {
            "elapsed": self._elapsed_s(),
            "bootup-time": m.uptime_s,
            "freq-avg": round(m.frequency_mhz),
            "target-freq": round(m.spec.nominal_mhz),
            "factory-hash": m.spec.nominal_ths,
            "hash-average": ths,
            "hash-1min": ths,
            "hash-15min": ths,
            "hash-realtime": ths,
            "power-rate": round(m.power_w / ths, 2) if ths > 0 else 0.0,
            "power-5min": round(m.power_w),
            f"environment-{temp_key}": 25.0,
            f"board-{temp_key}": [round(t, 2) for t in m.board_temps()],
            "chip-temp-min": round(min(chips) - 8.0, 2),
            "chip-temp-avg": round(sum(chips) / len(chips) - 4.0, 2),
            "chip-temp-max": round(max(chips), 2),
            "power-limit": round(m.target_w),
            "up-freq-finish": 1 if m.hashing and m.next_deadline is None else 0,
            "fan-speed-in": fans[0],
            "fan-speed-out": fans[1],
        }
        if self.reports_power:
            summary["power-realtime"] = round(m.power_w)
        return summary

    def _edevs(self) -> list[dict[str, Any]]:
        m = self.miner
        rates = m.board_hashrates_ths()
        chips = m.board_chip_temps()
        return [
            {
                "id": i,
                "slot": i,
                "hash-average": round(rates[i], 3),
                "factory-hash": round(m.spec.nominal_ths / BOARDS, 3),
                "freq": round(m.frequency_mhz),
                "effective-chips": CHIPS_PER_BOARD if m.hashing else 0,
                "chip-temp-min": round(chips[i] - 8.0, 2),
                "chip-temp-avg": round(chips[i] - 4.0, 2),
                "chip-temp-max": round(chips[i], 2),
            }
            for i in range(BOARDS)
        ]

    def _pool(self) -> dict[str, Any]:
        return {
            "id": 1,
            "url": "stratum+tcp://pool.invalid:3333",
            "status": "alive" if self.miner.hashing else "dead",
            "account": f"fleet.{self.miner.hostname}",
            "stratum-active": self.miner.hashing,
            "reject-rate": 0.0,
            "last-share-time": int(self.miner.clock.wall()),
        }

    def _elapsed_s(self) -> int:
        """Seconds the mining service runs; from boot while it is stopped."""
        m = self.miner
        if m.hashing:
            return m.mining_uptime_s + round(m.spec.start_s)
        return max(0, m.uptime_s - round(m.spec.boot_s))

    # ------------------------------------------------------------ writes

    def _write(self, command: str, request: dict[str, Any], param: object) -> dict[str, Any]:
        ts = request.get("ts")
        if (
            request.get("account") != "super"
            or not isinstance(ts, int)
            or request.get("token") != token(command, self.miner.password, self.salt, ts)
        ):
            return self._reply(CODE_BAD_JSON, "password is wrong", command)
        if command == "set.miner.service" and param in ("start", "stop"):
            if param == "stop":
                self.miner.pause()
            else:
                self.miner.resume()
            return self._reply(CODE_OK, "ok", command)
        return self._reply(CODE_BAD_COMMAND, "not simulated", command)

    def _reply(self, code: int, msg: object, desc: str) -> dict[str, Any]:
        return {"code": code, "when": int(self.miner.clock.wall()), "msg": msg, "desc": desc}


class V3Server:
    """Stream handler for one miner's port 4433: framed requests until the client leaves."""

    def __init__(self, miner: ModernMiner, runtime: Runtime) -> None:
        self.miner = miner
        self.runtime = runtime
        self.replies = V3Replies(miner)
        self.requests = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection."""
        with self.runtime.track():
            try:
                await self._serve(reader, writer)
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as err:
                _LOGGER.debug("%s v3 api: %s", self.miner.hostname, err)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        miner = self.miner
        if Fault.OFFLINE in miner.faults and miner.faults.hang:
            await self.runtime.hang()
            return
        while True:
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                header = await reader.readexactly(HEADER.size)
                (length,) = HEADER.unpack(header)
                if not 0 < length <= MAX_REQUEST:
                    return  # not a v3 client: drop it
                body = await reader.readexactly(length)
            miner.advance_to(miner.clock.now())
            if not miner.wanted_listeners()[0]:
                return
            self.requests += 1
            if Fault.SLOW in miner.faults and not await self.runtime.pause(miner.faults.delay_s):
                return
            reply = json.dumps(self.replies.handle(body), separators=(",", ":")).encode()
            payload = apply_reply_faults(miner, HEADER.pack(len(reply)) + reply)
            writer.write(payload)
            await writer.drain()
            if not self.replies.keeps_connection or payload[4:] != reply:
                return


PERSONALITY = Personality(
    kind=WHATSMINER_V3,
    create=create,
    web_app=None,
    api_handler=V3Server,
    api_port=API_PORT,
)
