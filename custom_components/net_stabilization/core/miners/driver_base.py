"""What every driver knows of itself: where it talks, which miner it drives, which kind it is."""

from __future__ import annotations

from typing import ClassVar

from .base import MinerIdentity
from .endpoint import MinerEndpoint
from .firmware import FirmwareKind


class DriverBase:
    """The bookkeeping the `MinerDriver` protocol asks of every driver."""

    KIND: ClassVar[FirmwareKind]
    endpoint: MinerEndpoint
    _identity: MinerIdentity | None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint})"

    @property
    def host(self) -> str:
        """Address the driver talks to."""
        return self.endpoint.host

    @property
    def kind(self) -> str:
        """The driver kind, stored with the miner."""
        return self.KIND.value

    @property
    def identity(self) -> MinerIdentity | None:
        """Identity learnt by `identify()` (or given at construction)."""
        return self._identity
