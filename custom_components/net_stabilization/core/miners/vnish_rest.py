"""Driver for S19/S21-class miners on Vnish's REST firmware (AnthillOS web UI, Vnish 1.x).

Everything goes through the REST API on the web port (`vnish_rest_client`); the cgminer API on
4028 is left to discovery. Power is set by choosing a tuned preset; the reply to a settings
write is the same whether the firmware took it or not, so the preset is read back.

Whether a preset change restarts mining is not documented, and the driver assumes neither.
It notes the firmware's time in its mining state (`status`) before the write; a later reading
whose time in state is shorter, or which shows the boards initialising, saw mining start over,
and one that has gone on mining `RESTART_SEEN_AFTER_S` past the write saw none
(`last_change_restarted`, judged on the firmware's own clock). Every reading carries the time
in state as `uptime_s`.

Pause or stop: the firmware's refusals name the same mode for both
("failed-to-activate-pause-mode"), so both are taken to switch the hash boards off at the same
standby draw, with the web API up (an assumption; no measurement compares them). `sleep`
pauses, which keeps the mining software running and resumes without a new start; while the
boards are still initialising the firmware cannot pause, and `sleep` then stops instead.
`stop_mining` always stops, which holds in every state. `wake` resumes, and starts when the
miner was stopped rather than paused.
"""

from __future__ import annotations

import logging

import aiohttp

from .base import (
    Capabilities,
    MinerIdentity,
    MinerProtocolError,
    MinerReading,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
)
from .driver_base import DriverBase
from .endpoint import DEFAULT_WEB_PORT, Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareKind
from .http_exchange import ConnectionLostError
from .vnish_rest_client import DEFAULT_PASSWORD, VnishCommandError, VnishRestClient
from .vnish_rest_detect import is_anthill_web_root, is_vnish_rest_type
from .vnish_rest_parse import (
    DEFAULT_HASHRATE_FACTOR,
    identity_from_info,
    mining_seconds,
    parse_summary,
    preset_in_force,
    preset_watts,
)
from .vnish_rest_presets import Preset, operating_points, parse_presets

__all__ = ["VnishRestDriver", "is_anthill_web_root", "is_vnish_rest_type"]

_LOGGER = logging.getLogger(__name__)
# Presets are named by whole watts; a setting this close to one means that preset.
_SETTING_TOLERANCE_W = 0.5
# A restart after a settings write may take the firmware a moment to begin; a reading this
# long after the write that still shows the same stretch of mining saw none.
RESTART_SEEN_AFTER_S = 10.0


class VnishRestDriver(DriverBase):
    """One miner on Vnish's REST firmware. Never raises anything but `MinerError` subclasses."""

    KIND = FirmwareKind.VNISH_REST

    def __init__(
        self,
        host: str,
        session: aiohttp.ClientSession,
        *,
        web_port: int = DEFAULT_WEB_PORT,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        identity: MinerIdentity | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.endpoint = MinerEndpoint(host, web_port=web_port)
        self._identity = identity
        # The login has no user name; without credentials the factory password is tried.
        password = credentials.password if credentials is not None else DEFAULT_PASSWORD
        self._api = VnishRestClient(
            session,
            host,
            web_port,
            password,
            api_key=credentials.api_key if credentials is not None else None,
            connect_timeout_s=self.timeouts.connect_s,
            timeout_s=self.timeouts.web_s,
        )
        self._presets: tuple[Preset, ...] = ()
        self._hashrate_factor = DEFAULT_HASHRATE_FACTOR
        self._capabilities = self._build_capabilities()
        # The firmware's description of its failure state, while it is in one.
        self.last_failure: str | None = None
        # Whether the last confirmed preset change restarted mining; None: not seen yet.
        self.last_change_restarted: bool | None = None
        # Time in the mining state just before a change not judged yet (firmware seconds).
        self._mining_s_at_change: int | None = None

    @property
    def presets(self) -> tuple[Preset, ...]:
        """The presets the firmware listed at the last `identify()` or `apply_setting()`."""
        return self._presets

    @property
    def capabilities(self) -> Capabilities:
        """Pause, resume and the tuned presets (none known before `identify()`)."""
        return self._capabilities

    @property
    def unlocks(self) -> int:
        """Logins performed so far (a token the firmware forgot costs one more)."""
        return self._api.unlocks

    async def identify(self) -> MinerIdentity:
        """MAC, model, firmware and hostname from `info`; the presets from `autotune/presets`."""
        identity, factor = identity_from_info(self.host, await self._api.get("info"))
        self._identity = identity
        self._hashrate_factor = factor
        await self._load_presets()
        return identity

    async def web_root_is_anthill(self) -> bool:
        """Whether the web root (asked without a login) is the AnthillOS UI of this firmware."""
        _status, body = await self._api.probe_root(timeout_s=self.timeouts.web_s)
        return is_anthill_web_root(body)

    async def read(self) -> MinerReading:
        """Poll once: `summary` for the state and numbers, `settings` for the preset.

        `uptime_s` is the time in the current state (the firmware's system uptime is only a
        display string); while mining, that is how long it has been hashing.
        """
        try:
            summary = await self._api.get("summary")
        except MinerUnreachableError:
            # Nothing listens on the web port: the miner is booting or without power.
            return MinerReading(online=False, state=MiningState.OFFLINE)
        settings = await self._api.get("settings")
        result = parse_summary(
            summary,
            hashrate_per_unit=self._hashrate_factor,
            curve=self._capabilities.points.curve,
            setting=preset_watts(preset_in_force(settings)),
        )
        if result.failure != self.last_failure and result.failure is not None:
            _LOGGER.warning("%s reports a failure: %s", self.host, result.failure)
        self.last_failure = result.failure
        self._judge_change(result.reading)
        return result.reading

    async def sleep(self) -> None:
        """Pause mining: the hash boards stop at once; stop instead if they cannot pause yet."""
        try:
            await self._api.post("mining/pause")
        except VnishCommandError as err:
            _LOGGER.debug("%s cannot pause (%s): stopping instead", self.host, err.message)
            await self._api.post("mining/stop")

    async def wake(self) -> None:
        """Resume mining; start it when it was stopped rather than paused."""
        try:
            await self._api.post("mining/resume")
        except VnishCommandError as err:
            _LOGGER.debug("%s cannot resume (%s): starting instead", self.host, err.message)
            await self._api.post("mining/start")

    async def stop_mining(self) -> None:
        """Stop mining, also while the boards are still initialising; `wake` starts it again."""
        await self._api.post("mining/stop")

    async def restart_mining(self) -> None:
        """Hashing again after a stop: on this firmware the same as `wake` (resume or start)."""
        await self.wake()

    async def apply_setting(self, setting: float) -> None:
        """Switch to the tuned preset named by `setting` watts, then read the preset back."""
        await self._load_presets()
        preset = self._preset_for(setting)
        self._mining_s_at_change = None
        self.last_change_restarted = None
        try:
            before = mining_seconds(await self._api.get("status"))
        except MinerUnsupportedError, MinerProtocolError:
            before = None  # a build without `status`, or a reply we cannot read: not judged
        await self._api.post(
            "settings",
            {"miner": {"overclock": {"preset": preset.name}}},
            timeout_s=self.timeouts.config_write_s,
        )
        in_force = preset_in_force(await self._api.get("settings"))
        if in_force != preset.name:
            raise MinerProtocolError(
                f"{self.host}: asked for preset {preset.name} but the firmware runs "
                f"{in_force or 'none'} (the write was ignored)"
            )
        self._mining_s_at_change = before

    def _judge_change(self, reading: MinerReading) -> None:
        """After a change made while mining: did mining start over? Judged once."""
        before = self._mining_s_at_change
        if before is None:
            return
        # Auto-tuning toward the new preset reads as starting, but hashes on: no restart.
        hashing = reading.state is MiningState.MINING or (
            reading.state is MiningState.STARTING and bool(reading.hashrate_ths)
        )
        now = reading.uptime_s if hashing else None
        if not hashing and reading.state is MiningState.STARTING:
            self.last_change_restarted = True  # the boards initialise again
        elif now is not None and now < before:
            self.last_change_restarted = True  # mining started over since
        elif now is not None and now >= before + RESTART_SEEN_AFTER_S:
            self.last_change_restarted = False
        elif hashing:
            return  # too soon to tell
        self._mining_s_at_change = None
        _LOGGER.debug(
            "%s: the preset change restarted mining: %s", self.host, self.last_change_restarted
        )

    async def reboot(self) -> None:
        """Reboot the whole miner; the web API goes away before or after it answers."""
        try:
            await self._api.post("system/reboot", timeout_s=self.timeouts.fire_and_forget_s)
        except MinerTimeoutError, ConnectionLostError:
            return  # the request arrived; the box is going down
        finally:
            self._api.forget_token()  # a rebooted firmware knows no token

    async def _load_presets(self) -> None:
        self._presets = parse_presets(await self._api.get("autotune/presets"))
        self._capabilities = self._build_capabilities()

    def _build_capabilities(self) -> Capabilities:
        model = self._identity.model if self._identity is not None else None
        return Capabilities.from_points(operating_points(self._presets, model), controllable=True)

    def _preset_for(self, setting: float) -> Preset:
        for preset in self._presets:
            if abs(preset.watts - setting) <= _SETTING_TOLERANCE_W:
                if preset.usable:
                    return preset
                why = "needs a modified PSU" if preset.tuned else "is not tuned"
                raise MinerUnsupportedError(f"{self.host}: preset {preset.name} {why}")
        tuned = ", ".join(f"{p.watts:g}" for p in self._presets if p.usable) or "none"
        raise MinerUnsupportedError(f"{self.host}: no preset of {setting:g} W (tuned: {tuned} W)")
