"""Find miners on the network: scan CIDRs and host lists, identify what answers, diff by MAC.

A miner's identity is its MAC; its address can change (DHCP), so results are keyed by MAC and
`diff_miners` tells a periodic rescan's new, moved and missing miners apart.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import aiohttp

from .device_text import MAX_MESSAGE_CHARS, device_text
from .miners.base import MinerDriver, MinerIdentity
from .miners.endpoint import (
    DEFAULT_API_PORT,
    DEFAULT_WEB_PORT,
    SCAN_TIMEOUTS,
    Credentials,
    MinerEndpoint,
    Timeouts,
)
from .miners.identify import Identification, ProbeOutcome
from .miners.whatsminer_v3 import WHATSMINER_V3_PORT
from .miners.whatsminer_v3_probe import identify_with_whatsminer_v3

_LOGGER = logging.getLogger(__name__)

MAX_SCAN_ADDRESSES = 65536  # a /16; anything larger is a typo, not a mining site
DEFAULT_CONCURRENCY = 256
_MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class FoundMiner:
    """A supported miner found by a scan."""

    identity: MinerIdentity
    endpoint: MinerEndpoint
    driver: MinerDriver
    description: str = ""  # e.g. "Antminer S9 (Vnish 3.9.0)"


@dataclass(frozen=True, slots=True)
class ScanFinding:
    """An address where something answered that we will not drive, and why."""

    endpoint: MinerEndpoint
    detail: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything one scan found."""

    miners: dict[str, FoundMiner]  # by MAC
    auth_failed: tuple[ScanFinding, ...] = ()  # Antminers that rejected the credentials
    unsupported: tuple[ScanFinding, ...] = ()  # answering devices that are not supported miners
    duplicates: tuple[ScanFinding, ...] = ()  # a MAC seen again at another address
    # Where a login went out in plain text, and which ("braiins", "vnish_rest (factory ...)").
    logins: tuple[ScanFinding, ...] = ()
    # Devices the operator could do something about (a firmware to update), with the advice.
    advisories: tuple[ScanFinding, ...] = ()
    addresses_scanned: int = 0
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class MinerMove:
    """A known miner that now answers at another address."""

    mac: str
    old: MinerEndpoint
    new: FoundMiner


@dataclass(frozen=True, slots=True)
class MinerChanges:
    """How a scan differs from the miners already known."""

    new: tuple[FoundMiner, ...] = ()
    moved: tuple[MinerMove, ...] = ()
    missing: tuple[str, ...] = ()  # MACs known but not found this time
    unchanged: tuple[str, ...] = field(default=())
    # Missing ones whose address now answers as another miner (an address handed on): what
    # is read there is not theirs any more.
    displaced: tuple[str, ...] = field(default=())


def diff_miners(
    known: Mapping[str, MinerEndpoint], found: ScanResult | Mapping[str, FoundMiner]
) -> MinerChanges:
    """Compare known miners (MAC -> endpoint) with a scan's findings."""
    miners = found.miners if isinstance(found, ScanResult) else found
    new = tuple(m for mac, m in miners.items() if mac not in known)
    moved = tuple(
        MinerMove(mac, known[mac], m)
        for mac, m in miners.items()
        if mac in known and known[mac] != m.endpoint
    )
    unchanged = tuple(mac for mac, m in miners.items() if known.get(mac) == m.endpoint)
    missing = tuple(mac for mac in known if mac not in miners)
    at = {m.endpoint: mac for mac, m in miners.items()}
    displaced = tuple(mac for mac in missing if at.get(known[mac], mac) != mac)
    return MinerChanges(
        new=new, moved=moved, missing=missing, unchanged=unchanged, displaced=displaced
    )


def scan_targets(
    networks: Iterable[str] = (),
    hosts: Iterable[str | MinerEndpoint] = (),
    *,
    api_port: int = DEFAULT_API_PORT,
    web_port: int = DEFAULT_WEB_PORT,
    max_addresses: int = MAX_SCAN_ADDRESSES,
) -> list[MinerEndpoint]:
    """Expand CIDRs and host entries into endpoints (deduplicated, in order).

    Host entries: `host`, `host:api_port` or `host:api_port:web_port` (IPv6 in brackets:
    `[::1]:4028:80`). Raises ValueError for malformed entries and for more than
    `max_addresses` addresses in total.
    """
    _check_port(api_port)
    _check_port(web_port)
    targets: dict[MinerEndpoint, None] = {}
    for text in networks:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError as err:
            raise ValueError(f"not a network: {text!r} ({err})") from None
        if network.num_addresses > max_addresses:
            raise ValueError(
                f"network {network} has {network.num_addresses} addresses; "
                f"scan at most {max_addresses} (a /16) at a time"
            )
        for address in _addresses(network):
            targets[MinerEndpoint(str(address), api_port, web_port)] = None
            if len(targets) > max_addresses:
                raise ValueError(f"more than {max_addresses} addresses to scan")
    for entry in hosts:
        endpoint = (
            entry if isinstance(entry, MinerEndpoint) else parse_host(entry, api_port, web_port)
        )
        targets[endpoint] = None
    if len(targets) > max_addresses:
        raise ValueError(f"more than {max_addresses} addresses to scan")
    return list(targets)


# An IPv4 address or a DNS name: letters, digits, hyphens and dots only (no "/", "?", "#", "@",
# which would turn the entry into part of a URL).
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")


def parse_host(
    text: str, api_port: int = DEFAULT_API_PORT, web_port: int = DEFAULT_WEB_PORT
) -> MinerEndpoint:
    """Parse `host`, `host:api_port` or `host:api_port:web_port` (IPv6 as `[addr]:...`)."""
    entry = text.strip()
    if not entry:
        raise ValueError("empty host entry")
    if entry.startswith("["):
        host, sep, rest = entry[1:].partition("]")
        if not sep:
            raise ValueError(f"unclosed bracket in {text!r}")
        ports = rest.removeprefix(":").split(":") if rest else []
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected text after the address in {text!r}")
    elif _is_ipv6(entry):  # a bare IPv6 address carries no ports
        host, ports = entry, []
    else:
        host, *ports = entry.split(":")
    if not host or len(host) > 253 or (not _HOST_NAME.fullmatch(host) and not _is_ipv6(host)):
        raise ValueError(f"not a host: {text!r}")
    if len(ports) > 2:
        raise ValueError(f"too many ports in {text!r}")
    numbers = [_parse_port(p, text) for p in ports]
    return MinerEndpoint(
        host,
        numbers[0] if numbers else api_port,
        numbers[1] if len(numbers) > 1 else web_port,
    )


class Scanner:
    """Scans a fixed set of networks and hosts; call `scan()` as often as needed."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        networks: Iterable[str] = (),
        hosts: Iterable[str | MinerEndpoint] = (),
        api_port: int = DEFAULT_API_PORT,
        web_port: int = DEFAULT_WEB_PORT,
        credentials: Credentials | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        probe_timeouts: Timeouts = SCAN_TIMEOUTS,
        driver_timeouts: Timeouts | None = None,
        max_addresses: int = MAX_SCAN_ADDRESSES,
        allow_factory_password: bool = False,
        whatsminer_v3_port: int = WHATSMINER_V3_PORT,
    ) -> None:
        """`allow_factory_password`: where a miner refuses `credentials`, its firmware's factory
        password may be tried (Vnish's REST firmware); off unless the operator allows it."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # Expanded up front so a bad network is reported when configured, not mid-scan.
        self.targets = scan_targets(
            networks, hosts, api_port=api_port, web_port=web_port, max_addresses=max_addresses
        )
        self._session = session
        self._credentials = credentials
        self._concurrency = concurrency
        self._probe_timeouts = probe_timeouts
        self._driver_timeouts = driver_timeouts
        self.allow_factory_password = allow_factory_password
        self._v3_port = whatsminer_v3_port  # Whatsminer API v3, beside the other probes

    async def scan(self) -> ScanResult:
        """Probe every target (at most `concurrency` at a time) and sort out what answered."""
        started = time.monotonic()
        results: list[Identification | None] = [None] * len(self.targets)
        work: Iterator[tuple[int, MinerEndpoint]] = iter(enumerate(self.targets))

        async def worker() -> None:
            # Workers share one iterator: no task per address, bounded concurrency.
            for index, endpoint in work:
                results[index] = await self._probe(endpoint)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self._concurrency, len(self.targets))):
                group.create_task(worker())
        return _collect(results, len(self.targets), time.monotonic() - started)

    async def _probe(self, endpoint: MinerEndpoint) -> Identification:
        try:
            return await identify_with_whatsminer_v3(
                endpoint,
                self._session,
                v3_port=self._v3_port,
                credentials=self._credentials,
                probe_timeouts=self._probe_timeouts,
                driver_timeouts=self._driver_timeouts,
                allow_factory_password=self.allow_factory_password,
            )
        except Exception as err:  # a bug must cost one address, not the whole scan
            _LOGGER.exception("probing %s failed", endpoint)
            return Identification(endpoint, ProbeOutcome.UNSUPPORTED, detail=f"probe failed: {err}")


def _collect(results: list[Identification | None], scanned: int, duration_s: float) -> ScanResult:
    miners: dict[str, FoundMiner] = {}
    auth_failed: list[ScanFinding] = []
    unsupported: list[ScanFinding] = []
    duplicates: list[ScanFinding] = []
    logins: list[ScanFinding] = []
    advisories: list[ScanFinding] = []
    for result in results:
        if result is None or result.outcome is ProbeOutcome.NOTHING:
            continue
        # A detail quotes what the device said: made safe text before anyone shows it.
        detail = device_text(result.detail, MAX_MESSAGE_CHARS)
        if result.logins:
            logins.append(ScanFinding(result.endpoint, ", ".join(result.logins)))
        if result.advice:
            advisories.append(ScanFinding(result.endpoint, result.advice))
        if result.outcome is ProbeOutcome.AUTH_FAILED:
            auth_failed.append(ScanFinding(result.endpoint, detail))
        elif result.outcome is ProbeOutcome.UNSUPPORTED:
            unsupported.append(ScanFinding(result.endpoint, detail))
        elif result.identity is not None and result.driver is not None:
            mac = result.identity.mac
            if mac in miners:
                first = miners[mac].endpoint
                duplicates.append(ScanFinding(result.endpoint, f"{mac} already found at {first}"))
                continue
            miners[mac] = FoundMiner(result.identity, result.endpoint, result.driver, detail)
    return ScanResult(
        miners=miners,
        auth_failed=tuple(auth_failed),
        unsupported=tuple(unsupported),
        duplicates=tuple(duplicates),
        logins=tuple(logins),
        advisories=tuple(advisories),
        addresses_scanned=scanned,
        duration_s=duration_s,
    )


def _addresses(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    # Skip network and broadcast addresses, except in /31, /32 (and IPv6 equivalents).
    if network.num_addresses <= 2:
        return iter(network)
    return network.hosts()


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _parse_port(text: str, entry: str) -> int:
    if not text.isdigit():
        raise ValueError(f"not a port: {text!r} in {entry!r}")
    port = int(text)
    _check_port(port)
    return port


def _check_port(port: int) -> None:
    if not 1 <= port <= _MAX_PORT:
        raise ValueError(f"port {port} out of range")
