"""Driver for Braiins OS+ on S19/S21-class miners, over its public REST API on the web port.

Reading: miner details (status, uptimes), stats (hashrate, the firmware's approximated power),
the tuner state (the power target in force, whether the tuner still tunes), cooling (fans) and
hash boards, one request each over the session's kept-alive connection. Control: pause and
resume (the miner stays up, only the hash boards stop), the power target, reboot. No gRPC: the
REST API serves the same services.

Recognising the firmware: its cgminer-compatible API on port 4028 answers `version` with a
`BOSer`, `BOSminer` or `BOSminer+` key (`is_braiins_version`). To confirm over REST, log in:
`BraiinsDriver.identify()` succeeds only where `/api/v1/auth/login` and `/api/v1/miner/details`
answer, and its `firmware` says "Braiins OS+" when the details report `bos_plus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from itertools import islice

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
from .braiins_parse import (
    BosDetails,
    PowerLimits,
    identity_from_details,
    parse_constraints,
    parse_cooling,
    parse_details,
    parse_hashboards,
    parse_power_target,
    parse_stats,
    parse_tuner_state,
    parse_watt,
)
from .braiins_reading import build_reading, operating_points
from .braiins_rest import BraiinsRestClient, MiningSoftwareDownError, RestStatusError
from .driver_base import DriverBase
from .endpoint import DEFAULT_WEB_PORT, Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareKind
from .http_exchange import ConnectionLostError

DETAILS = "/api/v1/miner/details"
STATS = "/api/v1/miner/stats"
HASHBOARDS = "/api/v1/miner/hw/hashboards"
COOLING = "/api/v1/cooling/state"
CONSTRAINTS = "/api/v1/configuration/constraints"
TUNER_STATE = "/api/v1/performance/tuner-state"
POWER_TARGET = "/api/v1/performance/power-target"
PAUSE = "/api/v1/actions/pause"
RESUME = "/api/v1/actions/resume"
REBOOT = "/api/v1/actions/reboot"

# Keys of the cgminer-compatible `version` entry that only Braiins OS writes.
BRAIINS_VERSION_KEYS = frozenset({"BOSER", "BOSMINER", "BOSMINER+"})
_VERSION_KEYS_LOOKED_AT = 32
_REFUSED = frozenset({400, 422})  # a target the firmware will not take


def is_braiins_version(version_entry: object) -> bool:
    """Whether a cgminer `version` reply's `VERSION[0]` comes from Braiins OS (BOSer, BOSminer,
    BOSminer+), e.g. `{"BOSer": "boser-buildroot 0.1.0-0ce150e9", "API": "3.7"}`."""
    if not isinstance(version_entry, dict):
        return False
    return any(
        isinstance(key, str) and key.upper() in BRAIINS_VERSION_KEYS
        for key in islice(version_entry, _VERSION_KEYS_LOOKED_AT)
    )


class BraiinsDriver(DriverBase):
    """One miner on Braiins OS+. Never raises anything but `MinerError` subclasses."""

    KIND = FirmwareKind.BRAIINS

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
        self._details: BosDetails | None = None
        self._limits: PowerLimits | None = None
        self._limits_known = False
        self._points = operating_points(None, None)
        self._capabilities = self._points_capabilities()
        self._rest = BraiinsRestClient(
            session,
            host,
            web_port,
            credentials,
            connect_timeout_s=self.timeouts.connect_s,
            timeout_s=self.timeouts.web_s,
        )
        # Endpoints this firmware does not have (404): asked once, then skipped.
        self.missing_endpoints: set[str] = set()

    @property
    def capabilities(self) -> Capabilities:
        """Pause, resume and a continuous power target; until `identify()` has read the miner's
        constraints, those of a typical S19j Pro."""
        return self._capabilities

    @property
    def rest(self) -> BraiinsRestClient:
        """The REST client (its `logins` count is useful in diagnostics)."""
        return self._rest

    async def identify(self) -> MinerIdentity:
        """MAC, model, firmware and hostname from the details; the power target range from the
        constraints, from which the operating points follow."""
        details = parse_details(await self._rest.get(DETAILS))
        identity = identity_from_details(self.host, details)
        self._details = details
        await self._read_limits()
        self._identity = identity
        return identity

    async def read(self) -> MinerReading:
        """Poll once. Nothing answering (refused, no route) is an offline reading."""
        try:
            reply = await self._rest.get(DETAILS)
        except ConnectionLostError:
            raise
        except MinerUnreachableError:
            return MinerReading(online=False, state=MiningState.OFFLINE)
        details = parse_details(reply)
        # The rest at once: one round trip of waiting, not four (the boards carry the chip
        # temperatures safety needs, so they are read every poll).
        replies = await asyncio.gather(
            self._optional(STATS),
            self._optional(TUNER_STATE),
            self._optional(COOLING),
            self._optional(HASHBOARDS),
            return_exceptions=True,  # each ends within its own limits; the first error counts
        )
        for reply_or_error in replies:
            if isinstance(reply_or_error, BaseException):
                raise reply_or_error
        stats, tuner, cooling, boards = replies
        return build_reading(
            details,
            stats=parse_stats(stats) if stats is not None else None,
            target_w=parse_power_target(tuner),
            tuner=parse_tuner_state(tuner),
            cooling=parse_cooling(cooling) if cooling is not None else None,
            chains=parse_hashboards(boards),
            curve=self._points.curve,
        )

    async def sleep(self) -> None:
        """Pause mining: the hash boards stop at once, the control board stays up."""
        await self._rest.put(PAUSE)

    async def wake(self) -> None:
        """Resume mining: boards power up and ramp to the target (about `points.wake_s`)."""
        await self._rest.put(RESUME)

    async def stop_mining(self) -> None:
        """The same pause: the firmware hears it while it starts, and keeps it until resumed."""
        await self._rest.put(PAUSE)

    async def restart_mining(self) -> None:
        """Hashing again after a stop: on this firmware the same as `wake`."""
        await self.wake()

    async def apply_setting(self, setting: float) -> None:
        """Set the power target in W; applied while hashing. Raises `MinerUnsupportedError`
        for a target outside the miner's constraints (nothing is sent then)."""
        limits = self._limits if self._limits_known else await self._read_limits()
        if limits is None:
            raise MinerUnsupportedError(f"{self.host}: the tuner offers no power target")
        if not math.isfinite(setting):
            raise MinerUnsupportedError(f"{self.host}: power target {setting} W")
        watt = round(setting)
        if not limits.min_w <= watt <= limits.max_w:
            raise MinerUnsupportedError(
                f"{self.host}: {watt} W is outside {limits.min_w:g}-{limits.max_w:g} W"
            )
        try:
            reply = await self._rest.put(POWER_TARGET, {"watt": watt})
        except RestStatusError as err:
            if err.status in _REFUSED:
                raise MinerUnsupportedError(f"{self.host}: {watt} W refused ({err})") from None
            raise
        applied = parse_watt(reply)
        if applied != watt:
            raise MinerProtocolError(f"{self.host}: asked for {watt} W, the miner says {applied}")

    async def reboot(self) -> None:
        """Reboot the whole miner. Once the request is out, a timeout or a dropped connection
        means it is being acted on; the next call logs in anew."""
        with contextlib.suppress(MinerTimeoutError, ConnectionLostError):
            await self._rest.put(REBOOT, timeout_s=self.timeouts.fire_and_forget_s)
        self._rest.forget_token()

    async def _read_limits(self) -> PowerLimits | None:
        reply = await self._optional(CONSTRAINTS)
        self._limits = parse_constraints(reply)
        self._limits_known = True
        self._points = operating_points(self._limits, self._details)
        self._capabilities = self._points_capabilities()
        return self._limits

    async def _optional(self, path: str) -> object:
        """A reply the reading can do without: None where the firmware lacks the endpoint or
        its mining software is down. Other failures are the miner's and are raised."""
        if path in self.missing_endpoints:
            return None
        try:
            return await self._rest.get(path)
        except MinerUnsupportedError:
            self.missing_endpoints.add(path)
        except MiningSoftwareDownError:
            pass
        return None

    def _points_capabilities(self) -> Capabilities:
        return Capabilities.from_points(self._points, controllable=True)
