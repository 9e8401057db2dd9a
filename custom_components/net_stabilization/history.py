"""The fleet's history in its database: every command (and its event), periodic snapshots,
retention, and what a restart needs (commanded settings, learnt power)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.core import HomeAssistant

from .const import EVENT_COMMAND, EVENT_SOURCE_CHANGED
from .core.fleet import CommandRecord, FleetController, FleetSettings, FleetSnapshot
from .core.store import FleetSnapshot as StoredFleetSnapshot
from .core.store import FleetStore, MinerRecord
from .core.store import MinerSnapshot as StoredMinerSnapshot
from .wire import command_event

SETTINGS_KEY = "fleet"
# Each miner's learnt draw over the power curve's: saved with the fleet history, taken back at
# start so a fleet in service regulates as well after a restart as before it.
CALIBRATION_KEY = "calibration"

type EndpointOf = Callable[[str], tuple[int | None, int | None]]


class CommandEvents:
    """The controller's command log: the fleet database first (the command and the settings
    that resume it after a restart, both committed before the command is answered), then a
    Home Assistant event."""

    def __init__(self, hass: HomeAssistant, store: FleetStore) -> None:
        """Record to `store`, announce on the bus."""
        self._hass = hass
        self._store = store
        self.after_record: Callable[[CommandRecord], Awaitable[None]] | None = None

    async def record(self, entry: CommandRecord) -> None:
        """Commit the command and what it leaves in force, then tell automations about it."""
        await self._store.record_command(entry)
        if self.after_record is not None:
            await self.after_record(entry)
        if entry.is_note:
            # Not a command: its own event, for automations on a change of who decides.
            params = entry.parameters
            self._hass.bus.async_fire(
                EVENT_SOURCE_CHANGED, {"from": params.get("from"), "to": params.get("to")}
            )
        else:
            self._hass.bus.async_fire(EVENT_COMMAND, command_event(entry))

    async def recent(self, limit: int = 50) -> list[CommandRecord]:
        """Newest first, from the database."""
        return await self._store.recent_commands(limit)


class FleetHistory:
    """Writes snapshots, purges old ones and keeps what a restart needs."""

    def __init__(self, store: FleetStore, controller: FleetController, ports: EndpointOf) -> None:
        """Keep the history of `controller` in `store`; `ports` gives a miner's API and web
        ports (for its record)."""
        self._store = store
        self._controller = controller
        self._ports = ports
        self._saved_calibration: dict[str, float] = {}
        self._saved_settings: dict[str, Any] | None = None

    async def restore(self, max_age_s: float | None) -> str | None:
        """Give the controller back its learnt power and commanded state (after a first poll);
        returns a line for the log when a commanded state was resumed. An EMS target older
        than `max_age_s` of downtime (None: any age) is not resumed."""
        self._controller.restore_last_command(await self._store.last_command())
        stored = await self._store.load_settings()
        self._controller.restore_timings(await self._store.timings())
        calibration = stored.get(CALIBRATION_KEY)
        if isinstance(calibration, dict):
            self._controller.restore_calibration(calibration)
            self._saved_calibration = self._controller.calibration()
        raw = stored.get(SETTINGS_KEY)
        if not isinstance(raw, dict):
            return None
        settings = FleetSettings.from_dict(raw)
        downtime = await self._downtime_s()
        stale = max_age_s is not None and downtime is not None and downtime > max_age_s
        self._controller.restore(settings, resume_target=not stale)
        if stale and downtime is not None:
            await self._controller.drop_restored_target(downtime)
        return settings.describe()

    async def _downtime_s(self) -> float | None:
        """How long the fleet was not running (since its last snapshot)."""
        last = await self._store.last_snapshot_time()
        return None if last is None else max(0.0, time.time() - last)

    async def write_snapshot(self) -> None:
        """One fleet snapshot and one per miner, and the learnt power and the commanded state
        if they changed (the loop moves miners between commands: a restart must know which
        ones the fleet runs)."""
        await self.save_calibration()
        await self._store.record_timings(self._controller.take_timings(), time.time())
        settings = self._controller.settings().to_dict()
        if settings != self._saved_settings and await self._store.save_settings(
            {SETTINGS_KEY: settings}
        ):
            self._saved_settings = settings
        snapshot = self._controller.snapshot
        await self._store.write_snapshot(_stored_fleet(snapshot), _stored_miners(snapshot))

    async def save_calibration(self) -> None:
        """Store the learnt power (only when something new was learnt)."""
        calibration = self._controller.calibration()
        if not calibration or calibration == self._saved_calibration:
            return
        if await self._store.save_settings({CALIBRATION_KEY: calibration}):
            self._saved_calibration = calibration

    async def save_settings(self) -> None:
        """Store what the fleet was told (one small row: this is on a command's path)."""
        settings = self._controller.settings().to_dict()
        if await self._store.save_settings({SETTINGS_KEY: settings}):
            self._saved_settings = settings

    async def save_miner_records(self) -> None:
        """Store each miner's record with the operator's flags (exclusion, override)."""
        records = []
        for m in self._controller.snapshot.miners:
            api_port, web_port = self._ports(m.mac)
            records.append(
                MinerRecord(
                    mac=m.mac,
                    host=m.host,
                    api_port=api_port,
                    web_port=web_port,
                    model=m.model,
                    firmware=m.firmware,
                    hostname=m.hostname,
                    excluded=m.excluded,
                    override=m.override.value if m.override else None,
                    driver=m.driver or None,
                )
            )
        await self._store.upsert_miners(records)

    async def purge(self, retention_s: float) -> int:
        """Delete snapshots older than the retention; returns the rows deleted."""
        return await self._store.purge(older_than=time.time() - retention_s)


def _stored_fleet(snapshot: FleetSnapshot) -> StoredFleetSnapshot:
    return StoredFleetSnapshot(
        state=snapshot.state.value,
        target_kw=snapshot.target_kw,
        active_kw=snapshot.active_power_kw,
        rated_kw=snapshot.rated_power_kw,
        miners_online=snapshot.miners_online,
        miners_mining=snapshot.miners_mining,
        hashrate_ths=snapshot.hashrate_ths,
    )


def _stored_miners(snapshot: FleetSnapshot) -> list[StoredMinerSnapshot]:
    return [
        StoredMinerSnapshot(
            mac=m.mac,
            state=m.state.value,
            power_w=m.power_w,
            hashrate_ths=m.hashrate_ths,
            frequency_mhz=m.frequency_mhz,
            chip_temp_c=m.chip_temp_c,
        )
        for m in snapshot.miners
    ]
