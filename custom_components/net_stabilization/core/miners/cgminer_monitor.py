"""Read-only driver for any miner that answers the cgminer API on TCP 4028.

Stock Antminers (S9 to S21, bmminer or cgminer), Hiveon, asicseer, MSKminer, Braiins OS, LuxOS,
Vnish and Whatsminer's btminer all answer the API's report commands; this driver reads them and
never sends a command that changes anything. Each poll is one connection where the firmware
joins commands (`summary+stats`), with the extra reports its family has (Braiins OS `temps`,
`fans`, `tunerstatus`; LuxOS `power`; btminer `devs`). A report a firmware refuses is read
without. The identity is the MAC: from the API where the firmware reports it (btminer `summary`
or `get_miner_info`, LuxOS `config`), else from the Antminer web interface's
`get_system_info.cgi`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiohttp

from .base import (
    MinerAuthError,
    MinerError,
    MinerIdentity,
    MinerProtocolError,
    MinerReading,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
    PowerSource,
)
from .cgminer import CgminerClient, CgminerCommandError, JsonDict, check_status, parse_reply
from .cgminer_models import (
    BRAIINS,
    LUXOS,
    UNKNOWN,
    WHATSMINER,
    Rating,
    describe_device,
    rating_for,
    whatsminer_firmware_version,
)
from .cgminer_reading import CgminerReplies, find_hostname, find_mac, parse_cgminer_reading
from .endpoint import DEFAULT_API_PORT, DEFAULT_WEB_PORT, Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareKind, normalize_mac
from .read_only_driver import ReadOnlyDriver
from .vnish_web import VnishWebClient

# What one poll asks, by firmware family; the rest read like bmminer.
_FAMILY_COMMANDS: dict[str, tuple[str, ...]] = {
    WHATSMINER: ("summary", "devs"),
    BRAIINS: ("summary", "devs", "devdetails", "temps", "fans", "tunerstatus"),
    LUXOS: ("summary", "stats", "power", "fans"),
}
_DEFAULT_COMMANDS = ("summary", "stats")
# The first poll of a miner whose firmware is not known yet also asks who it is.
_DISCOVERY_COMMANDS = ("version", "devdetails", "summary", "stats", "devs")
# `config` is a plain report on cgminer; LuxOS puts the MAC in it.
_IDENTIFY_COMMANDS = ("version", "devdetails", "stats", "summary", "config")
# Never dropped from a poll, even after a refusal (a firmware may refuse while it starts).
_ESSENTIAL = frozenset({"summary", "stats", "devs"})
_MAX_MODEL_CHARS = 64
_FAILED = ("E", "F")
_STATUS_LETTERS = frozenset({"S", "I", "W", "E", "F"})


def speaks_cgminer(reply: JsonDict | None) -> bool:
    """Whether a reply (to `version`, say) comes from a cgminer-style API: a STATUS list whose
    first entry carries a status letter, or btminer's flat STATUS letter with a `Code`. Any such
    device can be read by `CgminerMonitorDriver`, whatever its firmware."""
    if not isinstance(reply, dict):
        return False
    status = reply.get("STATUS")
    if isinstance(status, list) and status and isinstance(status[0], dict):
        letter = status[0].get("STATUS")
        return isinstance(letter, str) and letter in _STATUS_LETTERS
    return (
        isinstance(status, str) and status in _STATUS_LETTERS and isinstance(reply.get("Code"), int)
    )


async def joined_command(api: CgminerClient, commands: Sequence[str]) -> dict[str, JsonDict]:
    """Run report commands over one connection (`a+b+c`), keeping the sections that answered.

    A section the firmware refuses (unknown command, access denied) is left out; a reply with no
    section at all means the firmware does not join commands (`CgminerCommandError`).
    """
    joined = "+".join(commands)
    reply = parse_reply(await api.exchange(json.dumps({"command": joined}).encode()))
    sections: dict[str, JsonDict] = {}
    answered = False
    for name in commands:
        section = reply.get(name)
        # api.c wraps every section in a list; accept a bare object too.
        if isinstance(section, list) and section and isinstance(section[0], dict):
            section = section[0]
        if not isinstance(section, dict):
            continue
        answered = True
        try:
            check_status(section, name)
        except CgminerCommandError:
            continue
        if section.get("STATUS") in _FAILED:
            continue  # btminer's flat form of a refusal
        sections[name] = section
    if not answered:
        check_status(reply, joined)
        raise CgminerCommandError(joined, None, "no section of the joined command in the reply")
    return sections


class CgminerMonitorDriver(ReadOnlyDriver):
    """One miner read over the cgminer API. Never raises anything but `MinerError` subclasses."""

    KIND = FirmwareKind.MONITOR

    def __init__(
        self,
        host: str,
        session: aiohttp.ClientSession,
        *,
        api_port: int = DEFAULT_API_PORT,
        web_port: int = DEFAULT_WEB_PORT,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        identity: MinerIdentity | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.endpoint = MinerEndpoint(host, api_port, web_port)
        self._identity = identity
        self._api = CgminerClient(
            host,
            api_port,
            connect_timeout_s=self.timeouts.connect_s,
            read_timeout_s=self.timeouts.api_read_s,
        )
        self._web = VnishWebClient(
            session,
            host,
            web_port,
            credentials,
            connect_timeout_s=self.timeouts.connect_s,
            timeout_s=self.timeouts.web_s,
        )
        # (model, family, version) once a reply told; the poll's commands follow the family.
        self._description: tuple[str, str, str] | None = None
        self._rating = rating_for(identity.model) if identity is not None else None
        # None: not tried yet. A firmware without joined commands costs one failed attempt.
        self.multi_command_supported: bool | None = None
        self._refused: set[str] = set()

    @property
    def description(self) -> tuple[str, str, str] | None:
        """(model, firmware family, version) as the device named them, once a reply told."""
        return self._description

    @property
    def rating(self) -> Rating | None:
        """The model's nameplate, if it is a common model."""
        return self._rating

    async def identify(self) -> MinerIdentity:
        """Model and firmware from the API; the MAC from the API or else the web interface.

        Raises `MinerProtocolError("... no MAC address")` for a device that reports none.
        """
        sections = await self._gather(_IDENTIFY_COMMANDS)
        if not sections:
            raise MinerProtocolError(f"{self.host}: the API answered no report command")
        self._learn(sections)
        model, family, version = self._description or (UNKNOWN, UNKNOWN, "")
        summary, config = sections.get("summary"), sections.get("config")
        if family == WHATSMINER and not version:
            version = whatsminer_firmware_version(summary)
        mac = find_mac(summary, config)
        hostname = find_hostname(config)
        if family == WHATSMINER:
            # btminer's own report: the MAC where `summary` lacks it, and the host name.
            info = await self._optional("get_miner_info")
            mac = mac or find_mac(info)
            hostname = find_hostname(info)
            self._description = (model, family, version)
        if mac is None:
            mac, web_hostname, web_model = await self._from_web()
            hostname = hostname or web_hostname
            if model == UNKNOWN and web_model:
                model = web_model
                self._rating = self._rating or rating_for(web_model)
        if mac is None:
            raise MinerProtocolError(f"{self.host}: no MAC address")
        identity = MinerIdentity(
            mac=mac,
            host=self.host,
            model=model,
            firmware=f"{family} {version}" if version else family,
            firmware_version=version,
            hostname=hostname,
        )
        self._identity = identity
        return identity

    async def read(self) -> MinerReading:
        """Poll once over the fewest connections; the web tells a powered miner whose API is
        down (booting, or its mining software stopped) from one that is gone."""
        try:
            sections = await self._gather(self._poll_commands())
        except MinerUnreachableError:
            return await self._read_without_api()
        if self._description is None:
            self._learn(sections)
        return parse_cgminer_reading(
            CgminerReplies.from_sections(sections), model=self._model(), rating=self._rating
        )

    async def reboot(self) -> None:
        """Restart the mining software, only where the API grants `restart` to us (asked with
        the unprivileged `check`); everywhere else refused."""
        try:
            reply = await self._api.command("check", "restart")
        except CgminerCommandError:
            raise self._refusal("restart") from None
        entries = reply.get("CHECK")
        entry = entries[0] if isinstance(entries, list) and entries else None
        if not (isinstance(entry, dict) and entry.get("Exists") == "Y" == entry.get("Access")):
            raise self._refusal("restart")
        await self._api.command("restart")

    # ----------------------------------------------------------------- internals

    def _poll_commands(self) -> tuple[str, ...]:
        if self._description is None:
            return _DISCOVERY_COMMANDS
        return _FAMILY_COMMANDS.get(self._description[1], _DEFAULT_COMMANDS)

    async def _gather(self, commands: Sequence[str]) -> dict[str, JsonDict]:
        wanted = [c for c in commands if c not in self._refused]
        if len(wanted) > 1 and self.multi_command_supported is not False:
            try:
                sections = await joined_command(self._api, wanted)
            except CgminerCommandError:
                self.multi_command_supported = False
            else:
                self.multi_command_supported = True
                return sections
        sections = {}
        for command in wanted:
            reply = await self._optional(command)
            if reply is not None:
                sections[command] = reply
            elif command not in _ESSENTIAL:
                # One connection per command: do not pay again for a report it refuses.
                self._refused.add(command)
        return sections

    async def _optional(self, command: str) -> JsonDict | None:
        try:
            reply = await self._api.command(command)
        except CgminerCommandError:
            return None
        # btminer's own commands answer with a flat STATUS ("S"/"E") and a `Msg` object.
        if reply.get("STATUS") in _FAILED:
            return None
        return reply

    def _learn(self, sections: dict[str, JsonDict]) -> None:
        version, devdetails, stats = (sections.get(k) for k in ("version", "devdetails", "stats"))
        if version is None and devdetails is None and stats is None:
            return
        self._description = describe_device(version, devdetails, stats)
        rating = rating_for(self._description[0])
        if rating is not None:
            self._rating = rating

    def _model(self) -> str | None:
        if self._description is not None and self._description[0] != UNKNOWN:
            return self._description[0]
        if self._identity is not None and self._identity.model != UNKNOWN:
            return self._identity.model
        return None

    async def _from_web(self) -> tuple[str | None, str | None, str | None]:
        """(MAC, host name, model) from `get_system_info.cgi`; wrong credentials are worth
        telling, any other failure means this device has no such page."""
        try:
            info = await self._web.get_json("get_system_info.cgi")
        except MinerAuthError:
            raise
        except MinerError:
            return None, None, None
        hostname = info.get("hostname")
        minertype = info.get("minertype")
        return (
            normalize_mac(info.get("macaddr")),
            _bounded(hostname),
            _bounded(minertype.split("(", 1)[0]) if isinstance(minertype, str) else None,
        )

    async def _read_without_api(self) -> MinerReading:
        try:
            await self._web.probe(timeout_s=self.timeouts.web_s)
        except MinerUnreachableError:
            return MinerReading(online=False, state=MiningState.OFFLINE, model=self._model())
        except MinerError:
            pass  # something answered on the web port: the miner is powered
        rating = self._rating
        return MinerReading(
            online=True,
            state=MiningState.SLEEPING,
            power_w=rating.standby_w if rating is not None else None,
            power_source=PowerSource.NAMEPLATE,
            model=self._model(),
            attested=False,  # only a web server answered
        )

    def _refusal(self, action: str) -> MinerUnsupportedError:
        model = self._model() or "this miner"
        family = self._description[1] if self._description is not None else "its firmware"
        return MinerUnsupportedError(
            f"{self.host}: {model} on {family} is read only: cannot {action}"
        )


def _bounded(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value[: _MAX_MODEL_CHARS * 2].split())[:_MAX_MODEL_CHARS] or None
