"""Miner drivers: one module per firmware behind the `MinerDriver` interface."""

from .base import (
    Capabilities,
    ChainReading,
    MinerAuthError,
    MinerDriver,
    MinerError,
    MinerIdentity,
    MinerProtocolError,
    MinerReading,
    MinerTimeoutError,
    MinerUnreachableError,
    MinerUnsupportedError,
    MiningState,
)

__all__ = [
    "Capabilities",
    "ChainReading",
    "MinerAuthError",
    "MinerDriver",
    "MinerError",
    "MinerIdentity",
    "MinerProtocolError",
    "MinerReading",
    "MinerTimeoutError",
    "MinerUnreachableError",
    "MinerUnsupportedError",
    "MiningState",
]
