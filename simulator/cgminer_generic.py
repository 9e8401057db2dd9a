"""A Whatsminer M30S on stock btminer firmware, as a read-only miner: port 4028 only.

btminer answers cgminer's report commands in plain JSON and keeps writes behind an encrypted,
password-derived channel this simulator does not offer, so every write is refused. What the
replies look like:
- `summary` `SUMMARY[0]`: `MHS av`/`MHS 5s`/`MHS 1m`/`MHS 5m`/`MHS 15m`/`HS RT` (all MH/s),
  `Elapsed`, `Temperature` (boards), `freq_avg`, `Fan Speed In`/`Fan Speed Out`, `Power`,
  `Power Limit`, `Chip Temp Min/Max/Avg`, `Env Temp`, `Factory GHS`, `Uptime`, `MAC`,
  `Firmware Version`: the field set of a captured M30S+ reply plus the `MAC` and `Firmware
  Version` pyasic reads;
- `devs` `DEVS[i]` per board (`ASC`, `Slot`, `Temperature`, `Chip Frequency`, `MHS *`,
  `Effective Chips`, `PCB SN`, `Chip Temp Min/Max/Avg`, `Upfreq Complete`);
- `devdetails` (`Driver` "bitmicro", `Model` "M30S_V20"), `version`, `pools`, `check`; and
  btminer's own `get_version`, `get_miner_info`, `status` with a flat STATUS and a `Msg` object;
- writes: btminer's own (`power_off`, `reboot`, `adjust_power_limit`, ...) answer code 45
  "permission denied" in btminer's flat form, cgminer's privileged ones (`restart`, `quit`,
  `addpool`, ...) "Access denied" code 45 in cgminer's form; an encrypted request (`enc`)
  answers 135 "check token error"; anything else is "Invalid command" (14).

Real summaries often carry neither `MAC` nor `Power` (the MAC is then only in
`get_miner_info`): each simulated miner leaves each of them out or not (seeded, drawn from its
serial).

Assumptions (not verified on hardware): `version` carries "btminer" in its STATUS description
and a `CGMiner` key, as pyasic's detection implies; report commands join with `+` as in
cgminer; the API keeps answering while the boards are off (`power_off`), reporting zero
hashrate and the standby draw; `Elapsed` counts from the last start of mining (boot or
`power_on`); timings below.
"""

from __future__ import annotations

import json
import logging
from random import Random
from typing import Any

from .cgminer_api import ApiReply, ApiServer
from .modern import BOARDS, ModernMiner, ModernSpec, modern_factory
from .personality import CGMINER, Personality
from .runtime import Runtime

_LOGGER = logging.getLogger(__name__)

# An M30S: 88 TH/s at 38 J/TH (MicroBT's published figures). Boot of the H6 control board,
# the randomised start delay btminer applies before powering the boards (up to 120 s, against
# inrush) and its frequency ramp are assumptions; so is the standby draw with the boards off.
M30S = ModernSpec(
    model="Whatsminer M30S",
    firmware="btminer 20210322.22.REL",
    nominal_w=3344.0,
    min_w=3344.0,
    max_w=3344.0,
    nominal_ths=88.0,
    standby_w=60.0,
    boot_s=90.0,
    start_s=120.0,
    ramp_s=180.0,
    nominal_mhz=590.0,
)
DEVICE_MODEL = "M30S_V20"  # devdetails' name: type, underscore, board variant
FIRMWARE_BUILD = "20210322.22.REL"
CHIPS_PER_BOARD = 156
MAC_PREFIX = (0x02, 0x4D, 0x30)  # locally administered

CODE_INVALID_COMMAND = 14
CODE_INVALID_JSON = 23
CODE_ACCESS_DENIED = 45
CODE_OK = 131
CODE_TOKEN_ERROR = 135

# btminer's writes (WhatsMiner API v2): accepted only encrypted, with a token.
BTMINER_WRITES = frozenset(
    {
        "update_pools",
        "restart_btminer",
        "power_off",
        "power_on",
        "manage_led",
        "set_led",
        "set_low_power",
        "set_normal_power",
        "set_high_power",
        "update_firmware",
        "reboot",
        "factory_reset",
        "update_pwd",
        "set_zone",
        "set_target_freq",
        "enable_btminer_fast_boot",
        "disable_btminer_fast_boot",
        "enable_web_pools",
        "disable_web_pools",
        "set_hostname",
        "set_power_pct",
        "pre_power_on",
        "set_temp_offset",
        "adjust_power_limit",
        "adjust_upfreq_speed",
        "set_poweroff_cool",
        "set_fan_zero_speed",
        "net_config",
    }
)
# cgminer's privileged commands.
CGMINER_PRIVILEGED = frozenset(
    {
        "quit",
        "restart",
        "save",
        "addpool",
        "removepool",
        "switchpool",
        "enablepool",
        "disablepool",
        "poolpriority",
        "poolquota",
        "ascset",
        "ascenable",
        "ascdisable",
        "pgaset",
        "setconfig",
        "zero",
        "debug",
        "hotplug",
    }
)
_REPORTS = (
    "summary",
    "devs",
    "edevs",
    "pools",
    "version",
    "devdetails",
    "check",
    "get_version",
    "get_miner_info",
    "status",
)


# One simulated M30S.
create = modern_factory(M30S, CGMINER, MAC_PREFIX)


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


class BtminerReplies:
    """The exact text btminer sends for one request."""

    def __init__(self, miner: ModernMiner) -> None:
        self.miner = miner
        # Drawn from the serial (seeded), so every instance for a miner agrees.
        draw = Random(f"btminer:{miner.serial}")
        self.reports_mac = draw.random() < 0.5
        self.reports_power = draw.random() < 0.5

    def handle(self, raw: bytes) -> str:
        """The reply to one request (already read whole)."""
        text = raw.decode("utf-8", "replace").strip().rstrip("\x00")
        try:
            request = json.loads(text)
        except ValueError:
            return self._flat("E", CODE_INVALID_JSON, "invalid JSON message")
        if not isinstance(request, dict):
            return self._flat("E", CODE_INVALID_JSON, "invalid JSON message")
        if "enc" in request:
            return self._flat("E", CODE_TOKEN_ERROR, "check token error")
        command = request.get("command", request.get("cmd"))
        if not isinstance(command, str):
            return self._flat("E", CODE_INVALID_COMMAND, "invalid API command or data")
        command = command.strip()
        parameter = request.get("parameter")
        if "+" in command:
            return self._joined(command)
        return self._single(command, None if parameter is None else str(parameter))

    # ------------------------------------------------------------ dispatch

    def _single(self, command: str, parameter: str | None) -> str:
        if command in _REPORTS:
            return self._report(command, parameter)
        if command in BTMINER_WRITES:
            return self._flat("E", CODE_ACCESS_DENIED, "permission denied")
        if command in CGMINER_PRIVILEGED:
            return self._status_only(CODE_ACCESS_DENIED, f"Access denied to '{command}' command")
        return self._status_only(CODE_INVALID_COMMAND, "Invalid command")

    def _joined(self, command: str) -> str:
        seen: list[str] = []
        for part in command.split("+"):
            if part and part not in seen:
                seen.append(part)
        sections = [f"{_json(name)}:[{self._single(name, None)}]" for name in seen]
        return "{" + ",".join(sections) + ',"id":1}'

    def _report(self, command: str, parameter: str | None) -> str:
        match command:
            case "summary":
                return self._listed(11, "Summary", "SUMMARY", [self._summary()])
            case "devs" | "edevs":
                boards = self._boards()
                return self._listed(9, f"{len(boards)} ASC(s)", "DEVS", boards)
            case "pools":
                return self._listed(7, "1 Pool(s)", "POOLS", [self._pool()])
            case "version":
                version = {"CGMiner": "4.9.2", "API": "3.7"}
                return self._listed(22, "CGMiner versions", "VERSION", [version])
            case "devdetails":
                details = [
                    {
                        "DEVDETAILS": i,
                        "Name": "SM",
                        "ID": i,
                        "Driver": "bitmicro",
                        "Kernel": "",
                        "Model": DEVICE_MODEL,
                    }
                    for i in range(BOARDS)
                ]
                return self._listed(69, "Device Details", "DEVDETAILS", details)
            case "check":
                return self._check(parameter or "")
            case "get_version":
                return self._flat("S", CODE_OK, self._version_message())
            case "get_miner_info":
                return self._flat("S", CODE_OK, self._miner_info())
            case _:  # "status"
                off = "false" if self.miner.machine_state in ("mining", "starting") else "true"
                status = {"btmineroff": off, "Firmware Version": f"'{FIRMWARE_BUILD}'"}
                return self._flat("S", CODE_OK, status)

    # ------------------------------------------------------------ report bodies

    def _summary(self) -> dict[str, Any]:
        m = self.miner
        ths = m.hashrate_ths
        mhs = round(ths * 1e6, 2)
        mining_s = m.mining_uptime_s
        average = round(m.total_th / mining_s * 1e6, 2) if mining_s > 0 else 0.0
        chip_temps = m.board_chip_temps()
        fans = m.fan_rpms()
        summary: dict[str, Any] = {
            "Elapsed": self._elapsed_s(),
            "MHS av": average,
            "MHS 5s": mhs,
            "MHS 1m": mhs,
            "MHS 5m": mhs,
            "MHS 15m": mhs,
            "HS RT": mhs,
            "Accepted": int(m.total_th / 20.0),
            "Rejected": 0,
            "Total MH": round(m.total_th * 1e6, 4),
            "Temperature": round(max(m.board_temps()), 2),
            "freq_avg": round(m.frequency_mhz),
            "Fan Speed In": fans[0],
            "Fan Speed Out": fans[1],
            "Power": round(m.power_w),
            "Power Rate": round(m.power_w / ths, 2) if ths > 0 else 0.0,
            "Pool Rejected%": 0.0,
            "Pool Stale%": 0.0,
            "Uptime": m.uptime_s,
            "Hash Stable": m.hashing and m.next_deadline is None,
            "Target Freq": round(m.spec.nominal_mhz),
            "Target MHS": round(m.spec.nominal_ths * 1e6),
            "Env Temp": 25.0,
            "Power Mode": "Normal",
            "Factory GHS": round(m.spec.nominal_ths * 1000),
            "Power Limit": round(m.target_w),
            "Chip Temp Min": round(min(chip_temps), 2),
            "Chip Temp Max": round(max(chip_temps), 2),
            "Chip Temp Avg": round(sum(chip_temps) / len(chip_temps), 2),
            "Btminer Fast Boot": "disable",
            "Firmware Version": f"'{FIRMWARE_BUILD}'",
        }
        if self.reports_mac:
            summary["MAC"] = m.mac
        if not self.reports_power:
            del summary["Power"], summary["Power Rate"]
        return summary

    def _boards(self) -> list[dict[str, Any]]:
        m = self.miner
        rates = m.board_hashrates_ths()
        pcb = m.board_temps()
        chips = m.board_chip_temps()
        upfreq_done = 1 if m.hashing and m.next_deadline is None else 0
        boards = []
        for i in range(BOARDS):
            mhs = round(rates[i] * 1e6, 2)
            boards.append(
                {
                    "ASC": i,
                    "Slot": i,
                    "Enabled": "Y",
                    "Status": "Alive",
                    "Temperature": round(pcb[i], 2),
                    "Chip Frequency": round(m.frequency_mhz),
                    "MHS av": mhs,
                    "MHS 5s": mhs,
                    "MHS 1m": mhs,
                    "MHS 5m": mhs,
                    "MHS 15m": mhs,
                    "HS RT": mhs,
                    "Accepted": int(m.total_th / 60.0),
                    "Rejected": 0,
                    "Upfreq Complete": upfreq_done,
                    "Effective Chips": CHIPS_PER_BOARD if m.hashing else 0,
                    "PCB SN": f"{m.serial}{i}",
                    "Chip Temp Min": round(chips[i] - 8.0, 2),
                    "Chip Temp Max": round(chips[i], 2),
                    "Chip Temp Avg": round(chips[i] - 4.0, 2),
                }
            )
        return boards

    def _pool(self) -> dict[str, Any]:
        return {
            "POOL": 0,
            "URL": "stratum+tcp://pool.invalid:3333",
            "Status": "Alive" if self.miner.hashing else "Dead",
            "Priority": 0,
            "Accepted": int(self.miner.total_th / 20.0),
            "Rejected": 0,
            "User": f"fleet.{self.miner.hostname}",
            "Stratum Active": self.miner.hashing,
        }

    def _version_message(self) -> dict[str, Any]:
        return {
            "api_ver": "whatsminer v1.4.0",
            "fw_ver": FIRMWARE_BUILD,
            "platform": "H6OS",
            "chip": "K88Z347",
        }

    def _miner_info(self) -> dict[str, Any]:
        m = self.miner
        return {
            "ip": m.host,
            "proto": "dhcp",
            "netmask": "255.255.255.0",
            "gateway": "",
            "dns": "",
            "hostname": m.hostname,
            "mac": m.mac,
            "ledstat": "auto",
            "minersn": m.serial,
        }

    def _check(self, command: str) -> str:
        exists = command in _REPORTS or command in BTMINER_WRITES or command in CGMINER_PRIVILEGED
        access = command in _REPORTS
        entry = {"Exists": "Y" if exists else "N", "Access": "Y" if access else "N"}
        return self._listed(72, "Check command", "CHECK", [entry])

    def _elapsed_s(self) -> int:
        """Seconds since mining (re)started: boot or `power_on` starts btminer's count."""
        m = self.miner
        state = m.machine_state
        if state == "mining":
            return m.mining_uptime_s + round(m.spec.start_s)
        if state == "starting" and m.next_deadline is not None:
            left = m.next_deadline - m.clock.now()
            return max(0, round(m.spec.start_s - left))
        return max(0, m.uptime_s - round(m.spec.boot_s))

    # ------------------------------------------------------------ framing

    def _when(self) -> int:
        return int(self.miner.clock.wall())

    def _status(self, kind: str, code: int, message: str) -> dict[str, Any]:
        return {
            "STATUS": kind,
            "When": self._when(),
            "Code": code,
            "Msg": message,
            "Description": "btminer",
        }

    def _listed(self, code: int, message: str, key: str, items: list[dict[str, Any]]) -> str:
        status = self._status("S", code, message)
        return f'{{"STATUS":[{_json(status)}],"{key}":{_json(items)},"id":1}}'

    def _status_only(self, code: int, message: str) -> str:
        return f'{{"STATUS":[{_json(self._status("E", code, message))}],"id":1}}'

    def _flat(self, kind: str, code: int, message: str | dict[str, Any]) -> str:
        reply = {
            "STATUS": kind,
            "When": self._when(),
            "Code": code,
            "Msg": message,
            "Description": "",
        }
        return _json(reply)


def _api_handler(miner: ModernMiner, runtime: Runtime) -> ApiServer:
    """Port 4028: btminer's read API."""
    replies = BtminerReplies(miner)
    return ApiServer(miner, runtime, lambda raw: ApiReply(replies.handle(raw)))


PERSONALITY = Personality(kind=CGMINER, create=create, web_app=None, api_handler=_api_handler)
