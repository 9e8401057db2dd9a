"""Finding the fleet's miners: the scan at start, on demand and periodically; new miners join,
moved ones are followed by MAC, and the fleet database keeps the record of each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant

from . import repairs
from .const import LOGGER
from .core.discovery import FoundMiner, MinerChanges, Scanner, ScanResult, diff_miners
from .core.fleet import CommandSource, FleetController
from .core.miners.base import MinerDriver
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
        *,
        reauth: Callable[[], None],
        max_miners: int,
    ) -> None:
        """Bring miners into `controller` (at most `max_miners`), records into `store`;
        `reauth` asks the user for the new password once every miner refuses the old one."""
        self._hass = hass
        self.scanner = scanner
        self._controller = controller
        self._store = store
        self._reauth = reauth
        self._lock = asyncio.Lock()
        self._max_miners = max_miners
        self.last_scan: ScanResult | None = None
        self.left_out = 0  # miners found beyond the fleet size limit
        self._logged_in: set[str] = set()  # hosts a plain-text login went to, since start

    async def async_scan(self) -> tuple[ScanResult, bool]:
        """Scan now; returns the result and whether miners joined or moved."""
        async with self._lock:
            result = await self.scanner.scan()
        self.last_scan = result
        known = self._known()
        changes = diff_miners(known, result)
        joining, left_out = await self._apply(known, changes)
        moved = {move.mac for move in changes.moved}
        for seen in result.miners.values():
            mac = seen.identity.mac
            current = self._controller.driver(mac)
            if mac in known and mac not in moved and _refreshes(current, seen.driver):
                self._controller.add_miner(seen.driver)
        self.left_out = len(left_out)
        repairs.update_fleet_size(self._hass, len(left_out), self._max_miners)
        repairs.update_auth(self._hass, result)
        repairs.update_firmware_updates(self._hass, result)
        await self._note_logins(result)
        if result.auth_failed and not result.miners and self._controller.macs:
            self._reauth()  # every miner refuses us now: the password changed
        return result, bool(joining or changes.moved)

    async def async_look_at(self, scanner: Scanner, mac: str) -> bool:
        """Probe the addresses of `scanner` for the miner `mac` only (one that announced a new
        address): a known one found there moves to it, an unknown one joins like a scan's.
        Returns whether the fleet changed."""
        async with self._lock:
            result = await scanner.scan()
        known = self._known()
        found = {m: f for m, f in result.miners.items() if m == mac}
        changes = diff_miners(known, found)
        joining, _left_out = await self._apply(known, changes)
        return bool(joining or changes.moved)

    def _known(self) -> dict[str, MinerEndpoint]:
        return {
            mac: endpoint
            for mac in self._controller.macs
            if (endpoint := self.endpoint_of(mac)) is not None
        }

    async def _apply(
        self, known: dict[str, MinerEndpoint], changes: MinerChanges
    ) -> tuple[tuple[FoundMiner, ...], tuple[FoundMiner, ...]]:
        """Bring new miners in (as many as the fleet takes), follow moved ones and drop those
        whose address another miner answers at now; returns who joined and who was left out."""
        room = max(0, self._max_miners - len(known))
        joining, left_out = changes.new[:room], changes.new[room:]
        for found in joining:
            self._controller.add_miner(found.driver)
        for move in changes.moved:
            LOGGER.info("Miner %s moved from %s to %s", move.mac, move.old, move.new.endpoint)
            self._controller.add_miner(move.new.driver)
        for mac in changes.displaced:
            endpoint = known[mac]
            LOGGER.warning(
                "Miner %s is no longer at %s: another miner answers there; it leaves the fleet "
                "until a scan finds it again",
                mac,
                endpoint,
            )
            self._controller.remove_miner(mac)
            await self._controller.note(
                "miner_displaced",
                {"mac": mac, "host": endpoint.host},
                f"{mac} is no longer at {endpoint.host}: another miner answers there",
                source=CommandSource.SCAN,
            )
        if joining or changes.moved:
            await self._store.upsert_miners(
                _record(m) for m in (*joining, *(mv.new for mv in changes.moved))
            )
        if joining:
            LOGGER.info("Scan found %d new miners", len(joining))
            await self._controller.note(
                "miners_joined",
                {"count": len(joining)},
                _joined(joining),
                source=CommandSource.SCAN,
            )
        if left_out:
            LOGGER.warning(
                "%d more miners answer than the fleet takes (%d): left out",
                len(left_out),
                self._max_miners,
            )
        return joining, left_out

    async def _note_logins(self, result: ScanResult) -> None:
        """Record in the history which hosts received a login in plain text (each host once
        since start, and again when the kind of login changes)."""
        new = [f for f in result.logins if f"{f.endpoint.host} {f.detail}" not in self._logged_in]
        if not new:
            return
        self._logged_in.update(f"{f.endpoint.host} {f.detail}" for f in new)
        named = ", ".join(f"{f.endpoint.host} ({f.detail})" for f in new[:20])
        more = f" and {len(new) - 20} more" if len(new) > 20 else ""
        await self._controller.note(
            "logins_sent",
            {"count": len(new), "hosts": ", ".join(f"{f.endpoint.host} ({f.detail})" for f in new)},
            f"The fleet's login went to {len(new)} hosts: {named}{more}",
            source=CommandSource.SCAN,
        )

    def endpoint_of(self, mac: str) -> MinerEndpoint | None:
        """Where a known miner is."""
        return getattr(self._controller.driver(mac), "endpoint", None)

    def ports_of(self, mac: str) -> tuple[int | None, int | None]:
        """A known miner's API and web ports."""
        endpoint = self.endpoint_of(mac)
        return (endpoint.api_port, endpoint.web_port) if endpoint else (None, None)


def _joined(miners: tuple[FoundMiner, ...]) -> str:
    """The history's line for miners that joined."""
    named = ", ".join(
        f"{m.identity.hostname or m.identity.mac} ({m.endpoint.host}, {m.description})"
        for m in miners[:10]
    )
    more = f" and {len(miners) - 10} more" if len(miners) > 10 else ""
    return f"{len(miners)} miners joined the fleet: {named}{more}"


def _refreshes(current: MinerDriver | None, found: MinerDriver) -> bool:
    """Whether a scan's driver replaces the one a known miner has: its firmware changed, or
    what it can do (power range, presets, profiles: only an identification tells, so a driver
    rebuilt from the database does not know them yet)."""
    if current is None or current.kind != found.kind:
        return True
    return current.capabilities != found.capabilities


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
        driver=found.driver.kind,
    )
