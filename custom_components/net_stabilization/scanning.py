"""Finding the fleet's miners: the scan at start, on demand and periodically; new miners join,
moved ones are followed by MAC, and the fleet database keeps the record of each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant

from . import repairs
from .const import LOGGER
from .core.discovery import FoundMiner, Scanner, ScanResult, diff_miners
from .core.fleet import FleetController
from .core.miners.endpoint import MinerEndpoint
from .core.store import FleetStore, MinerRecord


class FleetScanning:
    """Scans the configured networks and brings what it finds into the fleet."""

    def __init__(
        self,
        hass: HomeAssistant,
        scanner: Scanner,
        controller: FleetController,
        store: FleetStore,
        reauth: Callable[[], None],
    ) -> None:
        """Bring miners into `controller`, records into `store`; `reauth` asks the user for
        the new password once every miner refuses the old one."""
        self._hass = hass
        self.scanner = scanner
        self._controller = controller
        self._store = store
        self._reauth = reauth
        self._lock = asyncio.Lock()
        self.last_scan: ScanResult | None = None

    async def async_scan(self) -> tuple[ScanResult, bool]:
        """Scan now; returns the result and whether miners joined or moved."""
        async with self._lock:
            result = await self.scanner.scan()
        self.last_scan = result
        known = {
            mac: endpoint
            for mac in self._controller.macs
            if (endpoint := self.endpoint_of(mac)) is not None
        }
        changes = diff_miners(known, result)
        for found in changes.new:
            self._controller.add_miner(found.driver)
        for move in changes.moved:
            LOGGER.info("Miner %s moved from %s to %s", move.mac, move.old, move.new.endpoint)
            self._controller.add_miner(move.new.driver)
        if changes.new or changes.moved:
            await self._store.upsert_miners(
                _record(m) for m in (*changes.new, *(mv.new for mv in changes.moved))
            )
        if changes.new:
            LOGGER.info("Scan found %d new miners", len(changes.new))
        repairs.update_auth(self._hass, result)
        if result.auth_failed and not result.miners and self._controller.macs:
            self._reauth()  # every miner refuses us now: the password changed
        return result, bool(changes.new or changes.moved)

    def endpoint_of(self, mac: str) -> MinerEndpoint | None:
        """Where a known miner is."""
        return getattr(self._controller.driver(mac), "endpoint", None)

    def ports_of(self, mac: str) -> tuple[int | None, int | None]:
        """A known miner's API and web ports."""
        endpoint = self.endpoint_of(mac)
        return (endpoint.api_port, endpoint.web_port) if endpoint else (None, None)


def _record(found: FoundMiner) -> MinerRecord:
    identity = found.identity
    return MinerRecord(
        mac=identity.mac,
        host=found.endpoint.host,
        api_port=found.endpoint.api_port,
        web_port=found.endpoint.web_port,
        model=identity.model,
        firmware=identity.firmware,
        hostname=identity.hostname,
    )
