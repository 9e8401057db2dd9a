"""Driver for the Antminer S9 on Vnish 3.9.x (controllable) or Bitmain's stock firmware (read-only).

Reading goes through the cgminer API (one connection per poll where the firmware allows);
control goes through Vnish's CGI scripts with HTTP digest auth.
"""

from __future__ import annotations

import contextlib

import aiohttp

from ..power_curve import S9_CURVE, PowerCurve
from .antminer_stats import parse_s9_reading
from .base import (
    Capabilities,
    MinerError,
    MinerIdentity,
    MinerProtocolError,
    MinerReading,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
)
from .cgminer import CgminerClient, CgminerCommandError, JsonDict, number
from .endpoint import DEFAULT_API_PORT, DEFAULT_WEB_PORT, Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareInfo, FirmwareKind, classify_type, normalize_mac
from .http_exchange import ConnectionLostError
from .vnish_config import FREQUENCY_CONFIG_KEY, FREQUENCY_FIELD, encode_form, form_from_config
from .vnish_web import VnishWebClient


class AntminerS9Driver:
    """One Antminer S9. Never raises anything but `MinerError` subclasses."""

    def __init__(
        self,
        host: str,
        session: aiohttp.ClientSession,
        *,
        api_port: int = DEFAULT_API_PORT,
        web_port: int = DEFAULT_WEB_PORT,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        firmware: FirmwareKind = FirmwareKind.VNISH_S9,
        identity: MinerIdentity | None = None,
        curve: PowerCurve = S9_CURVE,
    ) -> None:
        if firmware is FirmwareKind.UNSUPPORTED:
            raise ValueError("AntminerS9Driver drives Vnish or stock S9 firmware only")
        self.timeouts = timeouts or Timeouts()
        self.endpoint = MinerEndpoint(host, api_port, web_port)
        self._firmware = firmware
        self._identity = identity
        self._curve = curve
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
        # None: not tried yet. Remembered so a firmware without `summary+stats` costs one
        # failed attempt, not one per poll.
        self.multi_command_supported: bool | None = None

    def __repr__(self) -> str:
        return f"AntminerS9Driver({self.endpoint}, {self._firmware})"

    @property
    def host(self) -> str:
        """Address the driver talks to."""
        return self.endpoint.host

    @property
    def kind(self) -> str:
        """Vnish (controllable) or stock (read-only) S9."""
        return self._firmware.value

    @property
    def firmware(self) -> FirmwareKind:
        """Vnish (controllable) or stock (read-only)."""
        return self._firmware

    @property
    def identity(self) -> MinerIdentity | None:
        """Identity learnt by `identify()` (or given at construction)."""
        return self._identity

    @property
    def capabilities(self) -> Capabilities:
        """What this miner can do; stock firmware can only be read and rebooted."""
        controllable = self._firmware is FirmwareKind.VNISH_S9
        return Capabilities(
            can_sleep=controllable,
            can_set_frequency=controllable,
            min_mhz=self._curve.min_mhz,
            max_mhz=self._curve.max_mhz,
            nominal_mhz=self._curve.nominal_mhz,
            nominal_w=self._curve.nominal_w,
            max_w=self._curve.max_w,
            standby_w=self._curve.standby_w,
        )

    async def identify(self) -> MinerIdentity:
        """Read MAC, model, firmware and hostname from `get_system_info.cgi`."""
        info = await self._web.get_json("get_system_info.cgi")
        identity, firmware = identity_from_system_info(self.host, info)
        if firmware.kind is FirmwareKind.UNSUPPORTED:
            raise MinerUnsupportedError(f"{self.host}: {firmware.model} ({firmware.firmware})")
        self._firmware = firmware.kind
        self._identity = identity
        return identity

    async def read(self) -> MinerReading:
        """Poll once: `summary+stats` over one connection, or the web when the API is down."""
        try:
            summary, stats = await self._read_api()
        except MinerUnreachableError:
            return await self._read_without_api()
        return parse_s9_reading(summary, stats, self._curve)

    async def sleep(self) -> None:
        """Vnish sleep mode: bmminer stops hashing at once, the web interface stays up."""
        self._require_control("sleep")
        reply = await self._web.post_form("do_sleep_mode.cgi", "mode=1")
        _expect_reply(reply, "ok", "do_sleep_mode.cgi")

    async def wake(self) -> None:
        """Leave sleep mode. On Vnish 3.9 this is a full reboot: mining resumes after 1-3 min."""
        self._require_control("wake")
        await self._fire_and_forget("POST", "do_sleep_mode.cgi", "mode=0")

    async def stop_mining(self) -> None:
        """Kill bmminer and set the stop trigger, so it is not respawned: works while bmminer
        is still initialising its chains after a boot, when `do_sleep_mode` goes unheard
        (it pipes the sleep command into an API that is not listening yet)."""
        self._require_control("stop mining")
        reply = await self._web.get_text("stop_bmminer.cgi")
        _expect_reply(reply, "ok", "stop_bmminer.cgi")

    async def restart_mining(self) -> None:
        """Restart bmminer only (lighter than `wake` when just the mining software stopped)."""
        self._require_control("restart mining")
        await self._fire_and_forget("GET", "reboot_cgminer.cgi")

    async def set_frequency(self, mhz: float) -> None:
        """Set the chip frequency through the full config form, then verify it was stored.

        bmminer restarts, so the miner ramps up again (STARTING) for a minute or two.
        """
        self._require_control("set the frequency")
        target = round(mhz)
        if not self._curve.min_mhz <= target <= self._curve.max_mhz:
            raise MinerUnsupportedError(
                f"{target} MHz is outside {self._curve.min_mhz:g}-{self._curve.max_mhz:g} MHz"
            )
        conf = await self._web.get_json("get_miner_conf.cgi")
        body = encode_form(form_from_config(conf, **{FREQUENCY_FIELD: str(target)}))
        reply = await self._web.post_form(
            "set_miner_conf_custom.cgi", body, timeout_s=self.timeouts.config_write_s
        )
        _expect_reply(reply, "ok", "set_miner_conf_custom.cgi")
        stored = number((await self._web.get_json("get_miner_conf.cgi")).get(FREQUENCY_CONFIG_KEY))
        if stored != target:
            raise MinerProtocolError(
                f"{self.host}: asked for {target} MHz but the config says {stored} MHz"
            )

    async def apply_setting(self, setting: float) -> None:
        """The S9's setting is its chip frequency."""
        await self.set_frequency(setting)

    async def reboot(self) -> None:
        """Reboot the whole miner (works on stock firmware too)."""
        await self._fire_and_forget("GET", "reboot.cgi")

    async def _read_api(self) -> tuple[JsonDict | None, JsonDict]:
        if self.multi_command_supported is not False:
            try:
                sections = await self._api.multi_command("summary", "stats")
            except CgminerCommandError:
                self.multi_command_supported = False
            else:
                self.multi_command_supported = True
                return sections["summary"], sections["stats"]
        summary = await self._api.command("summary")
        stats = await self._api.command("stats")
        return summary, stats

    async def _read_without_api(self) -> MinerReading:
        # Vnish closes port 4028 while asleep but keeps the web server running.
        try:
            await self._web.probe(timeout_s=self.timeouts.web_s)
        except MinerUnreachableError:
            return MinerReading(online=False, state=MiningState.OFFLINE)
        except MinerError:
            pass  # something answered on the web port: the miner is powered
        if not self._web.login_verified:
            # Any web server answers a probe: once, let the interface show it is an Antminer's
            # (it asks for the miners' login in their realm and takes it).
            with contextlib.suppress(MinerError):
                await self._web.get_json("get_system_info.cgi")
        return MinerReading(
            online=True,
            state=MiningState.SLEEPING,
            power_w=self._curve.standby_w,
            attested=self._web.login_verified,
        )

    async def _fire_and_forget(self, method: str, script: str, body: str | None = None) -> None:
        # These scripts restart or reboot the box and often never answer; once the request
        # reached the web server, a timeout or dropped connection means it is being acted on.
        timeout = self.timeouts.fire_and_forget_s
        try:
            if method == "POST":
                await self._web.post_form(script, body or "", timeout_s=timeout)
            else:
                await self._web.get_text(script, timeout_s=timeout)
        except MinerTimeoutError:
            return
        except ConnectionLostError:
            return

    def _require_control(self, action: str) -> None:
        if self._firmware is not FirmwareKind.VNISH_S9:
            raise MinerUnsupportedError(f"{self.host}: stock S9 firmware cannot {action}")


def identity_from_system_info(host: str, info: JsonDict) -> tuple[MinerIdentity, FirmwareInfo]:
    """Identity and firmware from a `get_system_info.cgi` reply (raises if it has no MAC)."""
    minertype = info.get("minertype")
    if not isinstance(minertype, str) or not minertype.strip():
        raise MinerProtocolError(f"{host}: get_system_info.cgi has no minertype")
    software = info.get("bmminer_version")
    firmware = classify_type(minertype, software[:64] if isinstance(software, str) else "")
    mac = normalize_mac(info.get("macaddr"))
    if mac is None:
        raise MinerProtocolError(f"{host}: get_system_info.cgi has no usable MAC address")
    hostname = info.get("hostname")
    hostname = hostname[:64] if isinstance(hostname, str) else None
    firmware_name = firmware.firmware
    if firmware.kind is FirmwareKind.VNISH_S9:
        firmware_name = f"{firmware.firmware} {firmware.version}"
    identity = MinerIdentity(
        mac=mac,
        host=host,
        model=firmware.model,
        firmware=firmware_name,
        firmware_version=firmware.version,
        hostname=hostname.strip() or None if isinstance(hostname, str) else None,
    )
    return identity, firmware


def _expect_reply(reply: str, expected: str, script: str) -> None:
    if expected not in reply.lower():
        raise MinerProtocolError(f"{script} answered {reply[:60]!r}, expected {expected!r}")
