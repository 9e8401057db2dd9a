"""The driver interface the fleet uses to talk to one miner, whatever its firmware."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class MinerError(Exception):
    """Base class for everything a driver raises."""


class MinerUnreachableError(MinerError):
    """Nothing answered: connection refused, host down, no route."""


class MinerTimeoutError(MinerError):
    """The miner accepted the connection but did not answer in time."""


class MinerAuthError(MinerError):
    """The miner rejected our credentials."""


class MinerProtocolError(MinerError):
    """The miner answered with something we cannot make sense of."""


class MinerUnsupportedError(MinerError):
    """The miner or its firmware cannot do what was asked (for example, sleep on stock S9)."""


class MiningState(StrEnum):
    """What the miner itself reports, before the fleet adds its own view (waking, failed...)."""

    MINING = "mining"  # bmminer runs and hashes
    STARTING = "starting"  # bmminer runs but has not reached its hashrate yet
    SLEEPING = "sleeping"  # web interface answers, mining software stopped or asleep
    OFFLINE = "offline"  # nothing answers


@dataclass(frozen=True, slots=True)
class MinerIdentity:
    """Who a miner is. The MAC is the identity; the host may change."""

    mac: str  # upper-case, colon separated
    host: str
    model: str  # e.g. "Antminer S9"
    firmware: str  # e.g. "Vnish 3.9.0" or "Bitmain stock"
    firmware_version: str  # e.g. "3.9.0"
    hostname: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the fleet may ask of a miner and what it costs."""

    can_sleep: bool
    can_set_frequency: bool
    min_mhz: float
    max_mhz: float
    nominal_mhz: float
    nominal_w: float
    max_w: float
    standby_w: float


@dataclass(frozen=True, slots=True)
class ChainReading:
    """One hash board."""

    index: int
    chips: int
    hashrate_ths: float | None
    frequency_mhz: float | None
    board_temp_c: float | None
    chip_temp_c: float | None
    power_w: float | None  # the firmware's own estimate, when it has one


@dataclass(frozen=True, slots=True)
class MinerReading:
    """One poll of one miner. `None` means "not reported", never a made-up zero."""

    online: bool
    state: MiningState
    hashrate_ths: float | None = None
    frequency_mhz: float | None = None
    chip_temp_c: float | None = None  # hottest chip
    board_temp_c: float | None = None  # hottest board
    fan_rpm: tuple[int, ...] = ()
    power_w: float | None = None  # estimated wall power, standby draw when asleep
    uptime_s: int | None = None
    chains: tuple[ChainReading, ...] = field(default=())


class MinerDriver(Protocol):
    """One miner. Implementations hold no fleet logic and never raise anything but `MinerError`."""

    @property
    def host(self) -> str:
        """Address the driver talks to."""
        ...

    @property
    def identity(self) -> MinerIdentity | None:
        """Identity learnt by `identify()`, if it ran."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What this miner can do."""
        ...

    async def identify(self) -> MinerIdentity:
        """Read MAC, model, firmware and hostname."""
        ...

    async def read(self) -> MinerReading:
        """Poll the miner once (cheapest possible round trip)."""
        ...

    async def sleep(self) -> None:
        """Stop hashing and draw standby power; takes effect at once."""
        ...

    async def wake(self) -> None:
        """Start hashing again (on S9 this is a reboot of a minute or more)."""
        ...

    async def stop_mining(self) -> None:
        """Stop the mining software and keep it from starting again, also while it is still
        starting up (when it cannot hear `sleep` yet); `wake` brings it back."""
        ...

    async def set_frequency(self, mhz: float) -> None:
        """Set the chip frequency; restarts the mining software."""
        ...

    async def reboot(self) -> None:
        """Reboot the whole miner."""
        ...
