"""Miner drivers: one module per firmware behind the `MinerDriver` interface."""

from .antminer_s9 import AntminerS9Driver
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
    OperatingPoints,
    PowerSource,
    SettingUnit,
)
from .endpoint import Credentials, MinerEndpoint, Timeouts
from .firmware import FirmwareKind
from .identify import Identification, ProbeOutcome, identify_miner

__all__ = [
    "AntminerS9Driver",
    "Capabilities",
    "ChainReading",
    "Credentials",
    "FirmwareKind",
    "Identification",
    "MinerAuthError",
    "MinerDriver",
    "MinerEndpoint",
    "MinerError",
    "MinerIdentity",
    "MinerProtocolError",
    "MinerReading",
    "MinerTimeoutError",
    "MinerUnreachableError",
    "MinerUnsupportedError",
    "MiningState",
    "OperatingPoints",
    "PowerSource",
    "ProbeOutcome",
    "SettingUnit",
    "Timeouts",
    "identify_miner",
]
