"""LuxOS personality: LUXminer's JSON API on port 4028 in front of an S19j Pro (`luxos_miner`).

One request per connection, answered with JSON, a NUL byte and the close. Keys are sorted as
LUXminer prints them; every reply has a `STATUS` list (`Description` "LUXminer <version>") and
a section named after the command. `a+b` runs several parameterless report commands at once,
each section wrapped in a list. Commands that change the miner take the session id first.
A request that is not a JSON object is read in the text form, `command|parameter`, and
answered in cgminer's text form, as the documentation says LUXminer does.

Sources: the LuxOS API documentation (docs.luxor.tech: the command format, `logon` with code
316 and `SESSION[0].SessionID`, one session at a time expiring after a minute idle, `curtail`,
`profileset` answering `PROFILE[0].Profile` with the step sizes, `events` codes such as SLEEP,
the Target/Hot/Dangerous board temperatures with defaults 55/65/70 °C for S19 models, fan
`min_fans` 1 and speed -1 for automatic); `LuxorLabs/luxos-tooling` (which commands need a
session, `logon` refused with code 402 while another session is active, captured `groups`,
`atm` and `version` replies); pyasic 0.79 (`backends/luxminer.py`, `config/*`: `pools` entries
carry their `GROUP`, `groups` has `GROUP`/`Name`/`Quota`, `tempctrl` has `Mode`/`Target`/
`Hot`/`Dangerous`, `fans` adds `FANCTRL[0].MinFans`, `stats` has per-board `chain_rateN`,
`chain_acnN` and dash-joined `temp_pcbN`/`temp_chipN`, and the web page names "Luxor Firmware").

Where the record is silent the behaviour is an assumption, and varies per miner (seeded) where
a client could come to depend on one choice: the code and wording with which a stale session
id is refused (some name the session, some do not), and whether `profileget` without a
profile name describes the active profile or is refused. The web port serves the front page
only (`luxos_web`). Also assumed: the status codes of
`logoff`, `kill`, `profileget`, `profiles`, `power`, `events`, `tempctrl` and `pools`,
`profileset` being refused while ATM is on and taken while curtailed (applied at the wakeup),
`tempctrl`'s `Mode` word "Auto", and `temp_chipN` in `stats` repeating the board sensors
(LuxOS reports hashboard temperatures only).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from .cgminer_api import ApiReply, ApiServer, _text_item
from .clock import Clock
from .luxos_miner import (
    CHIPS_PER_BOARD,
    LUXMINER_VERSION,
    LUXOS,
    MAC_PREFIX,
    MODEL,
    POOL_URLS,
    PROFILE_BY_NAME,
    PROFILES,
    SPEC,
    LuxosMiner,
    Profile,
)
from .luxos_web import web_app
from .modern import BOARDS
from .personality import Personality
from .runtime import Runtime

_LOGGER = logging.getLogger(__name__)

MAX_REQUEST = 65536
READ_TIMEOUT_S = 5.0
CONTINUATION_TIMEOUT_S = 0.2
DESCRIPTION = f"LUXminer {LUXMINER_VERSION}"
COMPILE_TIME = "Wed Sep 17 02:20:34 UTC 2025"

CODE_INVALID_COMMAND = 14
CODE_INVALID_JSON = 23
CODE_MISSING_COMMAND = 24
CODE_ANOTHER_SESSION = 402  # as the vendor's own tooling expects
CODE_INVALID_SESSION = 401  # assumption
CODE_ACCESS_DENIED = 45  # cgminer's code for a command the caller may not run
CODE_INVALID_PARAMETER = 403  # assumption
CODE_ATM_ENABLED = 404  # assumption
CODE_UNKNOWN_PROFILE = 405  # assumption


class Refusal(Exception):
    """A report command that cannot answer (e.g. `profileget` of an unknown profile)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


class LuxosProcessor:
    """Turns one request into the reply LUXminer would send."""

    def __init__(self, miner: LuxosMiner) -> None:
        self.miner = miner
        self._reports: dict[str, Callable[[str | None], tuple[str, int, str, list[Any]]]] = {
            "version": self._version,
            "summary": self._summary,
            "stats": self._stats,
            "devs": self._devs,
            "temps": self._temps,
            "fans": self._fans,
            "power": self._power,
            "config": self._config,
            "profiles": self._profiles,
            "profileget": self._profileget,
            "atm": self._atm,
            "events": self._events,
            "session": self._session,
            "pools": self._pools,
            "groups": self._groups,
            "tempctrl": self._tempctrl,
        }
        self._actions: dict[str, Callable[[list[str]], ApiReply]] = {
            "logoff": self._logoff,
            "curtail": self._curtail,
            "profileset": self._profileset,
            "atmset": self._atmset,
            "rebootdevice": self._rebootdevice,
        }

    # ------------------------------------------------------------ encoding

    def status(self, code: int, msg: str, kind: str = "S") -> dict[str, Any]:
        """The STATUS entry every reply starts with."""
        clock: Clock = self.miner.clock
        return {
            "Code": code,
            "Description": DESCRIPTION,
            "Msg": msg,
            "STATUS": kind,
            "When": int(clock.wall()),
        }

    def _reply(self, code: int, msg: str, section: str | None = None, items: Any = None) -> str:
        body: dict[str, Any] = {"STATUS": [self.status(code, msg)], "id": 1}
        if section is not None:
            body[section] = items
        if section == "FANS":  # the fan settings ride along (pyasic reads `MinFans` there)
            body["FANCTRL"] = [{"MinFans": 1, "Speed": -1}]
        return _json(body)

    def _error(self, code: int, msg: str) -> ApiReply:
        return ApiReply(_json({"STATUS": [self.status(code, msg, "E")], "id": 1}))

    # ------------------------------------------------------------ dispatch

    def handle(self, raw: bytes) -> ApiReply:
        """Process one request (a trailing NUL already stripped)."""
        text = raw.decode("utf-8", "replace").strip().rstrip("\x00")
        if not text.startswith("{"):
            return self._text_mode(text)
        try:
            request = json.loads(text)
        except ValueError:
            return self._error(CODE_INVALID_JSON, "Invalid JSON")
        if not isinstance(request, dict) or not isinstance(request.get("command"), str):
            return self._error(CODE_MISSING_COMMAND, "Missing JSON 'command'")
        param = request.get("parameter")
        command = request["command"].strip()
        if "+" in command:
            return ApiReply(self._multi(command))
        return self._dispatch(command, None if param is None else str(param))

    def _text_mode(self, text: str) -> ApiReply:
        """`command|parameter`, answered in cgminer's text form: the STATUS item, then one
        item per entry of the section, `|`-terminated (the exact text layout is assumed)."""
        command, _, param = text.partition("|")
        reply = self._dispatch(command.strip(), param or None)
        body = json.loads(reply.body)
        sections = [k for k in body if k not in ("STATUS", "id")]
        out = _text_item(body["STATUS"][0])
        for section in sections:
            items = body[section] if isinstance(body[section], list) else []
            out += "".join(_text_item(item, f"{section},") for item in items)
        return ApiReply(out, reply.after)

    def _dispatch(self, command: str, param: str | None) -> ApiReply:
        report = self._reports.get(command)
        if report is not None:
            try:
                section, code, msg, items = report(param)
            except Refusal as refusal:
                return self._error(refusal.code, refusal.msg)
            return ApiReply(self._reply(code, msg, section, items))
        if command == "logon":
            return self._logon()
        if command == "kill":
            self.miner.end_session()
            return ApiReply(self._reply(318, "Session killed"))
        action = self._actions.get(command)
        if action is None:
            return self._error(CODE_INVALID_COMMAND, "Invalid command")
        args = [a.strip() for a in (param or "").split(",")]
        if not self.miner.use_session(args[0]):
            if self.miner.names_stale_session:
                return self._error(CODE_INVALID_SESSION, "Invalid session id")
            return self._error(CODE_ACCESS_DENIED, f"Access denied to '{command}' command")
        return action(args[1:])

    def _multi(self, command: str) -> str:
        parts: list[str] = []
        seen: list[str] = []
        for name in command.split("+"):
            if name and name not in seen:
                seen.append(name)
        for name in seen:
            report = self._reports.get(name)
            try:
                if report is None:
                    raise Refusal(CODE_INVALID_COMMAND, "Invalid command")
                section, code, msg, items = report(None)
                section_body = self._reply(code, msg, section, items)
            except Refusal as refusal:
                section_body = _json(
                    {"STATUS": [self.status(refusal.code, refusal.msg, "E")], "id": 1}
                )
            parts.append(f"{_json(name)}:[{section_body}]")
        return "{" + ",".join(parts) + ',"id":1}'

    # ------------------------------------------------------------ reports

    def _version(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        entry = {
            "API": "3.7",
            "CompileTime": COMPILE_TIME,
            "LUXminer": LUXMINER_VERSION,
            "Miner": LUXMINER_VERSION.split("-")[0],
            "Type": MODEL,
        }
        return "VERSION", 22, "LUXminer versions", [entry]

    def _summary(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        m = self.miner
        ghs = m.hashrate_ths * 1000.0 * (1.0 + m.rng.uniform(-0.005, 0.005))
        entry = {
            "Elapsed": m.uptime_s,
            "GHS 5s": round(ghs, 2),
            "GHS av": round(m.hashrate_ths * 1000.0, 2),
            "MHS 5s": round(ghs * 1000.0, 2),
            "Accepted": int(m.total_th / 10.0),
            "Rejected": 0,
            "Hardware Errors": 0,
        }
        return "SUMMARY", 11, "Summary", [entry]

    def _stats(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        m = self.miner
        head = {"STATS": 0, "ID": "LUXminer0", "Elapsed": m.uptime_s, "Type": MODEL}
        body: dict[str, Any] = {
            "STATS": 1,
            "ID": "LUXminer1",
            "Elapsed": m.uptime_s,
            "GHS 5s": round(m.hashrate_ths * 1000.0, 2),
            "total_rateideal": round(m.profile_hashrate_ths(m.profile) * 1000.0, 2),
            "rate_unit": "GH",
        }
        for n, (ths, sensors) in enumerate(
            zip(m.board_hashrates_ths(), self._board_sensors(), strict=True), start=1
        ):
            readings = "-".join(str(t) for t in sensors)
            body[f"chain_rate{n}"] = f"{ths * 1000.0:.2f}"
            body[f"chain_acn{n}"] = CHIPS_PER_BOARD if m.hashing else 0
            body[f"temp_pcb{n}"] = readings
            body[f"temp_chip{n}"] = readings  # board sensors: LuxOS measures no chips
        return "STATS", 70, "CGMiner stats", [head, body]

    def _board_sensors(self) -> list[tuple[int, int, int, int]]:
        """Four sensors per board (top left, top right, bottom left, bottom right); the
        exhaust side runs hotter than the intake side."""
        return [
            (round(pcb + 2.0), round(pcb - 6.0), round(pcb + 1.0), round(pcb - 5.0))
            for pcb in self.miner.board_temps()
        ]

    def _devs(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        m = self.miner
        profile = m.profile
        nominal_mhs = m.profile_hashrate_ths(profile) * 1e6 / BOARDS
        boards = []
        for i, (ths, temp) in enumerate(zip(m.board_hashrates_ths(), m.board_temps(), strict=True)):
            boards.append(
                {
                    "ASC": i,
                    "ID": i,
                    "Enabled": "Y",
                    "Status": "Alive",
                    "MHS 5s": round(ths * 1e6, 2),
                    "Nominal MHS": round(nominal_mhs, 2),
                    "Profile": profile.name,
                    "IsRamping": m.ramping,
                    "IsUserShutdown": m.curtailed,
                    "Temperature": round(temp, 1),
                }
            )
        return "DEVS", 9, f"{BOARDS} ASC(s)", boards

    def _temps(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        items = [
            {
                "BottomLeft": bottom_left,
                "BottomRight": bottom_right,
                "ID": i,
                "TEMP": i,
                "TopLeft": top_left,
                "TopRight": top_right,
            }
            for i, (top_left, top_right, bottom_left, bottom_right) in enumerate(
                self._board_sensors()
            )
        ]
        return "TEMPS", 201, f"{len(items)} Temp(s)", items

    def _fans(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        fans = [
            {"FAN": i, "ID": i, "RPM": rpm, "Speed": min(100, round(rpm / 60))}
            for i, rpm in enumerate(self.miner.fan_rpms())
        ]
        return "FANS", 202, f"{len(fans)} Fan(s)", fans

    def _pools(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        m = self.miner
        hashing = m.hashing
        accepted = int(m.total_th / 10.0)
        pools = [
            {
                "Accepted": accepted if index == 0 else 0,
                "Difficulty Accepted": float(accepted * 65536) if index == 0 else 0.0,
                "GROUP": 0,
                "Get Failures": 0,
                "POOL": index,
                "Priority": index,
                "Quota": 1,
                "Rejected": 0,
                "Remote Failures": 0,
                "Stale": 0,
                "Status": "Alive",
                "Stratum Active": hashing and index == 0,
                "Stratum URL": url.removeprefix("stratum+tcp://") if index == 0 else "",
                "URL": url,
                "User": f"sim.{m.hostname}",
            }
            for index, url in enumerate(POOL_URLS)
        ]
        return "POOLS", 7, f"{len(pools)} Pool(s)", pools

    def _groups(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        return "GROUPS", 324, "List groups", [{"GROUP": 0, "Name": "default", "Quota": 1.0}]

    def _tempctrl(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        entry = {"Dangerous": 70.0, "Hot": 65.0, "Mode": "Auto", "Target": 55.0}
        return "TEMPCTRL", 341, "Temp Control", [entry]

    def _power(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        return "POWER", 30, "Power", [{"PSU": True, "Watts": round(self.miner.power_w)}]

    def _config(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        m = self.miner
        entry = {
            "ControlBoardType": "amlogic",
            "Hostname": m.hostname,
            "MACAddr": m.mac.lower(),
            "Profile": m.profile.name,
            "RedLed": "off",
            "SerialNumber": m.serial,
        }
        return "CONFIG", 33, "CGMiner config", [entry]

    def _profile_entry(self, profile: Profile) -> dict[str, Any]:
        return {
            "Frequency": profile.frequency_mhz,
            "Hashrate": self.miner.profile_hashrate_ths(profile),
            "IsTuned": False,
            "Profile Name": profile.name,
            "Voltage": profile.voltage_v,
            "Watts": profile.watts,
        }

    def _profiles(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        items = [self._profile_entry(p) for p in PROFILES]
        return "PROFILES", 323, "Profiles", items

    def _profileget(self, param: str | None) -> tuple[str, int, str, list[Any]]:
        name = (param or "").strip()
        if not name and not self.miner.profileget_without_name:
            raise Refusal(CODE_INVALID_PARAMETER, "Missing parameter: profile name")
        profile = PROFILE_BY_NAME.get(name) if name else self.miner.profile
        if profile is None:
            raise Refusal(CODE_UNKNOWN_PROFILE, f"Profile {name} not found")
        return "PROFILE", 322, "Profile information", [self._profile_entry(profile)]

    def _atm(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        entry = {
            "Enabled": self.miner.atm_enabled,
            "MaxProfile": "default",
            "MinProfile": "",
            "PostRampMinutes": 15,
            "StartupMinutes": 15,
            "TempWindow": 5.0,
        }
        return "ATM", 339, "ATM configuration values", [entry]

    def _events(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        items = []
        if self.miner.curtailed:
            items.append(
                {"Code": "SLEEP", "Description": "Miner is in Sleep mode.", "Target": "miner"}
            )
        return "EVENTS", 350, "Events", items

    def _session(self, _param: str | None) -> tuple[str, int, str, list[Any]]:
        return "SESSION", 319, "Session information", [{"SessionID": self.miner.session_id}]

    # ------------------------------------------------------------ session and actions

    def _logon(self) -> ApiReply:
        sid = self.miner.logon()
        if sid is None:
            return self._error(CODE_ANOTHER_SESSION, "Another session is active")
        return ApiReply(self._reply(316, "Session created", "SESSION", [{"SessionID": sid}]))

    def _logoff(self, _args: list[str]) -> ApiReply:
        self.miner.end_session()
        return ApiReply(self._reply(317, "Session closed"))

    def _curtail(self, args: list[str]) -> ApiReply:
        action = args[0] if args else ""
        if action == "sleep":
            self.miner.pause()
            label = "sleep mode"
        elif action == "wakeup":
            self.miner.resume()
            label = "wake up"
        else:
            return self._error(CODE_INVALID_PARAMETER, f"Invalid curtail action '{action}'")
        return ApiReply(
            self._reply(335, "Curtailment command sent", "CURTAIL", [{"Action": label}])
        )

    def _profileset(self, args: list[str]) -> ApiReply:
        name = args[0] if args else ""
        profile = PROFILE_BY_NAME.get(name)
        if profile is None:
            return self._error(CODE_UNKNOWN_PROFILE, f"Profile {name} not found")
        if self.miner.atm_enabled:
            return self._error(CODE_ATM_ENABLED, "Cannot change profile while ATM is enabled")
        self.miner.set_target(profile.watts)
        entry = {"Board": 0, "FrequencyStep": 5, "Profile": profile.name, "VoltageStep": 0.05}
        return ApiReply(self._reply(321, "Profile Set", "PROFILE", [entry]))

    def _atmset(self, args: list[str]) -> ApiReply:
        for pair in args:
            key, _, value = pair.partition("=")
            if key.strip() != "enabled":
                continue  # the other ATM knobs are accepted and not modelled
            if value.strip() not in ("true", "false"):
                return self._error(CODE_INVALID_PARAMETER, f"Invalid value for {key}")
            self.miner.atm_enabled = value.strip() == "true"
        _section, _code, _msg, items = self._atm(None)
        return ApiReply(self._reply(340, "ATM configuration updated", "ATM", items))

    def _rebootdevice(self, _args: list[str]) -> ApiReply:
        # Answer first: the reboot takes the port down.
        return ApiReply(self._reply(336, "Rebooting device"), self.miner.reboot)


def create(
    index: int,
    host: str,
    api_port: int,
    web_port: int,
    clock: Clock,
    *,
    seed: int,
    password: str,
    jitter: float,
    initial_state: str,
) -> LuxosMiner:
    """One simulated S19j Pro on LuxOS."""
    return LuxosMiner(
        index,
        host,
        api_port,
        web_port,
        clock,
        spec=SPEC,
        kind=LUXOS,
        mac_prefix=MAC_PREFIX,
        seed=seed,
        password=password,
        jitter=jitter,
        initial_state=initial_state,
    )


def api_handler(miner: LuxosMiner, runtime: Runtime) -> ApiServer:
    """The port 4028 handler of one miner."""
    return ApiServer(miner, runtime, LuxosProcessor(miner).handle)


PERSONALITY = Personality(kind=LUXOS, create=create, web_app=web_app, api_handler=api_handler)
