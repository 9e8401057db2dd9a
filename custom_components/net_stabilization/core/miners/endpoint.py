"""Where a miner lives and how long we wait for it: ports, credentials, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_PORT = 4028
DEFAULT_WEB_PORT = 80
DEFAULT_USERNAME = "root"
DEFAULT_PASSWORD = "root"  # Vnish and stock S9 ship with root/root


@dataclass(frozen=True, slots=True)
class MinerEndpoint:
    """The address of one miner: its host and the two ports it serves."""

    host: str
    api_port: int = DEFAULT_API_PORT
    web_port: int = DEFAULT_WEB_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.api_port}/{self.web_port}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Login for the miner's web interface (HTTP digest)."""

    username: str = DEFAULT_USERNAME
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    # Sent as `x-api-key` with the writes that some Vnish REST builds guard with a key.
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-call time limits in seconds. The defaults suit polling a LAN fleet."""

    connect_s: float = 3.0
    api_read_s: float = 10.0
    web_s: float = 10.0
    # set_miner_conf_custom.cgi rewrites the config and restarts bmminer before it answers.
    config_write_s: float = 30.0
    # reboot_cgminer.cgi may never answer; after this long we count the request as delivered.
    fire_and_forget_s: float = 3.0


SCAN_TIMEOUTS = Timeouts(connect_s=1.0, api_read_s=3.0, web_s=3.0)
"""Short limits for network scans, where most addresses have nothing behind them."""
