"""Driver for Antminer S19/S21-class miners on LuxOS (Luxor's LUXminer firmware).

Everything goes through the cgminer-style API on TCP 4028, one request per connection. Reads
need no session; every change does (`luxos_session`). The setting is the power of a profile:
LuxOS offers preset profiles (25 per miner, 25 MHz apart) with a power and hashrate estimate
each, and this driver offers exactly those wattages as levels.

Timings, from the vendor and assumed where it says nothing:
* `curtail sleep` turns hash boards and PSU output off at once; the vendor claims about 25 W
  within 5 s. Standby is taken as 30 W for margin.
* `curtail wakeup` ramps the boards as after a reboot; the vendor claims full power within
  10 s (with the fastest steps). Taken as 15 s to full power for margin.
* A profile change ramps the boards as a wakeup does (the documentation likens the two), in
  frequency and voltage steps (`profileset` answers with the step sizes, `frequencyset` ramps
  "slowly" to its target). Whether the boards hash on the way is not documented: the planner
  assumes 30 s, hashing throughout, and the deadlines allow a change as long a pause as a
  wake, so one that initialises the boards again for minutes is waited for.
* No reply the record documents says that the boards ramp or tune, so readings carry no
  word of the firmware on that (`MinerReading.settling` stays None).
* The profiles' `Watts` are taken as wall power, `POWER[0].Watts` likewise.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import aiohttp

from ..power_curve import PowerCurve
from .base import (
    Capabilities,
    MinerIdentity,
    MinerProtocolError,
    MinerReading,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
    OperatingPoints,
    SettingUnit,
)
from .cgminer import CgminerClient, CgminerCommandError, JsonDict
from .driver_base import DriverBase
from .endpoint import DEFAULT_API_PORT, Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareKind, normalize_mac
from .luxos_reading import LuxosPoll, parse_reading
from .luxos_replies import (
    LuxosProfile,
    atm_enabled,
    current_profile,
    is_luxos_version,
    parse_config,
    parse_profiles,
    parse_version,
)
from .luxos_session import LuxosSession, LuxosSessionBusyError

__all__ = [
    "LuxosDriver",
    "LuxosSessionBusyError",
    "is_luxos_version",
    "operating_points",
]

LUXOS = "LuxOS"
MAX_REPLY_BYTES = 256 * 1024  # a `profiles` reply with 25 profiles is about 5 kB
STANDBY_W = 30.0  # curtailed: vendor ~25 W, with margin
WAKE_S = 15.0  # curtail wakeup to full power: vendor under 10 s, with margin
CHANGE_S = 30.0  # a profile change while hashing (assumption)
# A curtail wakeup without ramp parameters brings the boards up as a reboot or a profile change
# does, and a system init can take up to five minutes (LuxOS API documentation, curtail and
# events): until measured, a wake or a change may show no progress for that long.
PAUSE_S = 360.0
CEILING_S = 900.0
DEFAULT_PROFILE = "default"  # LuxOS's name for the factory (EEPROM) profile
# Until the profiles are read, an S19-class nameplate stands in (sleep and wake work anyway).
PLACEHOLDER_W = 3250.0
PLACEHOLDER_THS = 100.0
_SETTING_TOLERANCE_W = 0.01
_POLL = ("summary", "temps", "fans", "power", "config")
# Ways to poll, tried in order until the firmware accepts one: (one connection, with events).
_PLANS = ((True, True), (True, False), (False, True), (False, False))


def operating_points(profiles: Sequence[LuxosProfile]) -> OperatingPoints:
    """The operating points of a miner with these profiles (one per wattage, as parsed).

    Each profile is a point (W, wall W, TH/s); a profile without a hashrate estimate gets one
    interpolated from the others. The nominal setting is the `default` profile's power.
    """
    if not profiles:
        return _PLACEHOLDER_POINTS
    profiles = sorted(profiles, key=lambda p: p.watts)
    known = tuple((p.watts, p.watts, p.hashrate_ths) for p in profiles if p.hashrate_ths)
    estimate = PowerCurve(points=known, nominal_mhz=known[0][0], standby_w=0.0) if known else None
    points = tuple(
        (
            p.watts,
            p.watts,
            p.hashrate_ths or (estimate.hashrate_ths(p.watts) if estimate else 0.0),
        )
        for p in profiles
    )
    nominal = next((p.watts for p in profiles if p.name.lower() == DEFAULT_PROFILE), None)
    curve = PowerCurve(
        points=points,
        nominal_mhz=nominal if nominal is not None else profiles[-1].watts,
        standby_w=STANDBY_W,
    )
    return _points(curve, tuple(p.watts for p in profiles))


def _points(curve: PowerCurve, levels: tuple[float, ...]) -> OperatingPoints:
    return OperatingPoints(
        curve=curve,
        unit=SettingUnit.WATT,
        levels=levels,
        wake_s=WAKE_S,
        wake_reboots=False,
        change_s=CHANGE_S,
        change_stops_hashing=False,
        start_pause_s=PAUSE_S,
        start_ceiling_s=CEILING_S,
        change_pause_s=PAUSE_S,
        change_ceiling_s=CEILING_S,
    )


_PLACEHOLDER_POINTS = _points(
    PowerCurve(
        points=((PLACEHOLDER_W, PLACEHOLDER_W, PLACEHOLDER_THS),),
        nominal_mhz=PLACEHOLDER_W,
        standby_w=STANDBY_W,
    ),
    (PLACEHOLDER_W,),
)


class LuxosDriver(DriverBase):
    """One miner on LuxOS. Never raises anything but `MinerError` subclasses."""

    KIND = FirmwareKind.LUXOS

    def __init__(
        self,
        host: str,
        session: aiohttp.ClientSession,
        *,
        api_port: int = DEFAULT_API_PORT,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        identity: MinerIdentity | None = None,
    ) -> None:
        # The HTTP session and credentials are unused: the API has neither. They keep the
        # constructor the same as the other drivers'.
        del session, credentials
        self.timeouts = timeouts or Timeouts()
        self.endpoint = MinerEndpoint(host, api_port)
        self._identity = identity
        self._api = CgminerClient(
            host,
            api_port,
            connect_timeout_s=self.timeouts.connect_s,
            read_timeout_s=self.timeouts.api_read_s,
            max_reply_bytes=MAX_REPLY_BYTES,
        )
        self._session = LuxosSession(self._api)
        self._profiles: tuple[LuxosProfile, ...] | None = None  # None: not read yet
        self._capabilities = Capabilities.from_points(_PLACEHOLDER_POINTS, controllable=True)
        self._plan = 0  # index into _PLANS of the poll the firmware accepts

    @property
    def capabilities(self) -> Capabilities:
        """Sleep and wake always; profile levels once `identify()` or a read loaded them."""
        return self._capabilities

    @property
    def profiles(self) -> tuple[LuxosProfile, ...]:
        """The profiles offered as levels, by rising power (empty until read)."""
        return self._profiles or ()

    @property
    def poll_form(self) -> tuple[bool, bool]:
        """How polls go: (over one connection, with `events`), as the firmware allowed."""
        return _PLANS[self._plan]

    @property
    def session(self) -> LuxosSession:
        """The API session the driver's changes run in."""
        return self._session

    async def identify(self) -> MinerIdentity:
        """Read MAC, model, firmware and hostname, and the profiles."""
        names = ("version", "config", "profiles")
        try:
            sections = await self._api.multi_command(*names)
        except CgminerCommandError:
            version_reply = await self._api.command("version")
            if not is_luxos_version(version_reply):  # a non-LuxOS firmware refused `profiles`
                raise MinerUnsupportedError(f"{self.host}: not LuxOS") from None
            sections = {
                "version": version_reply,
                "config": await self._api.command("config"),
                "profiles": await self._api.command("profiles"),
            }
        if not is_luxos_version(sections["version"]):
            raise MinerUnsupportedError(f"{self.host}: not LuxOS")
        version = parse_version(sections["version"])
        config = parse_config(sections["config"])
        mac = normalize_mac(config.mac)
        if mac is None:
            raise MinerProtocolError(f"{self.host}: config has no usable MAC address")
        self._set_profiles(parse_profiles(sections["profiles"]))
        self._identity = MinerIdentity(
            mac=mac,
            host=self.host,
            model=version.model or "unknown",
            firmware=f"{LUXOS} {version.version}",
            firmware_version=version.version,
            hostname=config.hostname,
        )
        return self._identity

    async def read(self) -> MinerReading:
        """Poll once (one connection where the firmware allows); OFFLINE if nothing answers."""
        try:
            await self._load_profiles()
            poll = await self._poll()
        except MinerUnreachableError:
            return MinerReading(online=False, state=MiningState.OFFLINE)
        return parse_reading(poll, self.profiles, STANDBY_W)

    async def sleep(self) -> None:
        """Curtail: hash boards and PSU output off at once; it holds through a reboot."""
        async with self._session.change():
            await self._session.command("curtail", "sleep")

    async def wake(self) -> None:
        """Leave curtailment: the boards ramp up to the active profile (no reboot)."""
        async with self._session.change():
            await self._session.command("curtail", "wakeup")

    async def stop_mining(self) -> None:
        """The same curtailment: LuxOS takes it at any stage and keeps it across reboots."""
        await self.sleep()

    async def restart_mining(self) -> None:
        """Hashing again after a stop: on this firmware the same as `wake`."""
        await self.wake()

    async def apply_setting(self, setting: float) -> None:
        """Switch to the profile of exactly `setting` watts, then read the change back.

        ATM (the auto-tuning manager) refuses profile changes, so it is turned off first and
        left off: switched back on, it would move the profile away from the one planned. The
        profile in force is confirmed from `config`'s `Profile`, the active profile (pyasic
        reads it there too); a `profileget` without a name is not documented to say anything.
        """
        await self._load_profiles()
        profile = self._profile_of(setting)
        if profile is None:
            offered = ", ".join(f"{p.watts:g}" for p in self.profiles) or "none known"
            raise MinerUnsupportedError(
                f"{self.host}: no LuxOS profile of {setting:g} W (offered: {offered})"
            )
        async with self._session.change():
            if atm_enabled(await self._api.command("atm")):
                await self._session.command("atmset", "enabled=false")
            answer = current_profile(await self._session.command("profileset", profile.name))
        if answer not in (None, profile.name):
            raise MinerProtocolError(f"{self.host}: asked for {profile.name}, set {answer}")
        confirmed = parse_config(await self._api.command("config")).profile
        if confirmed != profile.name:
            raise MinerProtocolError(
                f"{self.host}: asked for profile {profile.name} but it runs {confirmed}"
            )

    async def reboot(self) -> None:
        """Reboot the whole miner; a curtailed miner stays curtailed."""
        await self._session.ensure()  # a logon that times out has delivered nothing
        with contextlib.suppress(MinerTimeoutError):  # taken and acted on before it answered
            await self._session.command("rebootdevice")
        self._session.forget()  # the reboot ends the session: nothing left to log off

    async def logoff(self) -> None:
        """End our API session now instead of letting it expire (e.g. when unloading)."""
        await self._session.logoff()

    async def _load_profiles(self) -> None:
        if self._profiles is None:
            try:
                reply = await self._api.command("profiles")
            except CgminerCommandError:
                self._set_profiles(())  # a firmware without profiles: sleep and wake only
                return
            self._set_profiles(parse_profiles(reply))

    def _set_profiles(self, profiles: tuple[LuxosProfile, ...]) -> None:
        self._profiles = profiles
        self._capabilities = Capabilities.from_points(operating_points(profiles), controllable=True)

    def _profile_of(self, setting: float) -> LuxosProfile | None:
        for profile in self.profiles:
            if math.isclose(profile.watts, setting, rel_tol=0.0, abs_tol=_SETTING_TOLERANCE_W):
                return profile
        return None

    async def _poll(self) -> LuxosPoll:
        while True:
            joined, with_events = _PLANS[self._plan]
            names = (*_POLL, "events") if with_events else _POLL
            try:
                sections = await self._commands(names, joined=joined)
            except CgminerCommandError:
                if self._plan == len(_PLANS) - 1:
                    raise
                self._plan += 1  # the firmware refused this form: never try it again
                continue
            return LuxosPoll(
                summary=sections["summary"],
                temps=sections["temps"],
                fans=sections["fans"],
                power=sections["power"],
                config=sections["config"],
                events=sections.get("events"),
            )

    async def _commands(self, names: tuple[str, ...], *, joined: bool) -> dict[str, JsonDict]:
        if joined:
            return await self._api.multi_command(*names)
        return {name: await self._api.command(name) for name in names}
