"""The cgminer-compatible API (port 4028) of Vnish's REST firmware: read-only reports.

Framing is cgminer's (one request per connection, NUL-terminated reply, `a+b` joins report
commands), taken from `cgminer_api`. `version` and `STATS[0]` carry the firmware's `Type`,
"Antminer S19j Pro (Vnish 1.2.6)", by which discovery tells it from the S9's Vnish 3.9.
Assumptions: the API answers in every state with the web server up (zeros while paused), and
control commands are not served here (the REST API is the way to control this firmware).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .cgminer_api import ApiReply, ApiServer, _json, _text_item
from .runtime import Runtime
from .vnish_rest_miner import (
    CGMINER_VERSION,
    CHIPS_PER_BOARD,
    FIRMWARE_VERSION,
    MINER_TYPE,
    VnishRestMiner,
)

_LOGGER = logging.getLogger(__name__)
COMPILE_TIME = "Thu May 29 19:22:26 UTC 2025"
# command: (section, STATUS code, message)
_REPORTS = {
    "version": ("VERSION", 22, "CGMiner versions"),
    "summary": ("SUMMARY", 11, "Summary"),
    "stats": ("STATS", 70, "CGMiner stats"),
    "pools": ("POOLS", 7, "1 Pool(s)"),
}
CODE_INVALID_COMMAND = 14


class VnishRestReports:
    """The report sections of one miner, as lists of items."""

    def __init__(self, miner: VnishRestMiner) -> None:
        self.miner = miner

    def status(self, code: int, msg: str, kind: str = "S") -> dict[str, Any]:
        """One STATUS entry."""
        return {
            "STATUS": kind,
            "When": int(self.miner.clock.wall()),
            "Code": code,
            "Msg": msg,
            "Description": f"cgminer {CGMINER_VERSION}",
        }

    def items(self, command: str) -> list[dict[str, Any]]:
        """The items of a report command."""
        m = self.miner
        ghs = round(m.hashrate_ths * 1000.0, 2)
        elapsed = m.mining_uptime_s
        software = {
            "CGMiner": CGMINER_VERSION,
            "Miner": FIRMWARE_VERSION,
            "CompileTime": COMPILE_TIME,
            "Type": MINER_TYPE,
        }
        if command == "version":
            return [{**software, "API": "3.7"}]
        if command == "summary":
            return [
                {
                    "Elapsed": elapsed,
                    "GHS 5s": ghs,
                    "GHS av": ghs,
                    "Accepted": int(m.total_th // 1000),
                    "Rejected": 0,
                    "Hardware Errors": 0,
                    "Best Share": 0,
                }
            ]
        if command == "pools":
            return [
                {
                    "POOL": 0,
                    "URL": "stratum+tcp://pool.example:3333",
                    "Status": "Alive",
                    "Priority": 0,
                    "User": "wallet.worker",
                    "Stratum Active": m.hashing,
                }
            ]
        return [software, self._stats()]

    def _stats(self) -> dict[str, Any]:
        m = self.miner
        hashing = m.hashing
        stats: dict[str, Any] = {
            "STATS": 0,
            "ID": "BTM_SOC0",
            "Elapsed": m.mining_uptime_s,
            "GHS 5s": round(m.hashrate_ths * 1000.0, 2),
            "GHS av": round(m.hashrate_ths * 1000.0, 2),
            "miner_count": 3,
            "frequency": m.frequency_mhz,
            "fan_num": 4,
        }
        for i, rpm in enumerate(m.fan_rpms(), 1):
            stats[f"fan{i}"] = rpm
        stats["temp_num"] = 3
        for i, (pcb, chip, rate) in enumerate(
            zip(m.board_temps(), m.board_chip_temps(), m.board_hashrates_ths(), strict=True), 1
        ):
            stats[f"temp{i}"] = round(pcb) if hashing else 0
            stats[f"temp2_{i}"] = round(chip) if hashing else 0
            stats[f"chain_acn{i}"] = CHIPS_PER_BOARD
            stats[f"chain_rate{i}"] = f"{rate * 1000.0:.2f}"
        stats["total_rate"] = round(m.hashrate_ths * 1000.0, 2)
        return stats


def _section(reports: VnishRestReports, command: str) -> dict[str, Any]:
    key, code, msg = _REPORTS[command]
    return {"STATUS": [reports.status(code, msg)], key: reports.items(command), "id": 1}


def reply_for(reports: VnishRestReports, raw: bytes) -> str:
    """The reply text to one request (JSON or cgminer's text mode)."""
    text = raw.decode("utf-8", "replace").strip().rstrip("\x00")
    invalid = reports.status(CODE_INVALID_COMMAND, "Invalid command", "E")
    if not text.startswith("{"):
        command = text.partition("|")[0].strip()
        if command not in _REPORTS:
            return _text_item(invalid)
        section = _section(reports, command)
        key = _REPORTS[command][0]
        prefix = f"{key}," if command in ("version", "summary") else ""
        items = "".join(_text_item(it, prefix) for it in section[key])
        return _text_item(section["STATUS"][0]) + items
    try:
        request = json.loads(text)
    except ValueError, RecursionError:
        return _json({"STATUS": [reports.status(23, "Invalid JSON", "E")], "id": 1})
    command = request.get("command") if isinstance(request, dict) else None
    if not isinstance(command, str):
        return _json({"STATUS": [reports.status(24, "Missing JSON 'command'", "E")], "id": 1})
    if "+" in command:
        joined = {
            part: [_section(reports, part) if part in _REPORTS else {"STATUS": [invalid], "id": 1}]
            for part in dict.fromkeys(p for p in command.split("+") if p)
        }
        return _json({**joined, "id": 1})
    if command not in _REPORTS:
        return _json({"STATUS": [invalid], "id": 1})
    return _json(_section(reports, command))


def vnish_rest_api(miner: VnishRestMiner, runtime: Runtime) -> ApiServer:
    """Port 4028: the cgminer-compatible reads of Vnish's REST firmware."""
    reports = VnishRestReports(miner)
    return ApiServer(miner, runtime, lambda raw: ApiReply(reply_for(reports, raw)))
