"""The fleet's one coordinator: polls through the core, rescans, keeps history, raises repairs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_PASSWORD,
    CONF_USERNAME,
    EVENT_HOMEASSISTANT_STOP,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .config_flow import build_scanner, default_options
from .const import (
    CONF_API_PORT,
    CONF_METER_ENTITY,
    CONF_POLL_INTERVAL,
    CONF_POWER_MODE,
    CONF_RESCAN_INTERVAL,
    CONF_RETENTION_HOURS,
    CONF_SNAPSHOT_INTERVAL,
    CONF_TARGET_POLICY,
    CONF_TEMP_LIMIT,
    CONF_WEB_PORT,
    DOMAIN,
    EVENT_COMMAND,
    LOGGER,
)
from .core.discovery import FoundMiner, Scanner, ScanResult, diff_miners
from .core.fleet import (
    CommandRecord,
    ControlConfig,
    FleetController,
    FleetSnapshot,
    MinerSnapshot,
    MinerState,
    PlanLimits,
    PowerMode,
    TargetPolicy,
)
from .core.fleet.settings import FleetSettings
from .core.miners.antminer_s9 import AntminerS9Driver
from .core.miners.base import MinerIdentity
from .core.miners.endpoint import Credentials, MinerEndpoint
from .core.miners.firmware import FirmwareKind
from .core.store import FleetSnapshot as StoredFleetSnapshot
from .core.store import FleetStore, MinerRecord, StoreProblem
from .core.store import MinerSnapshot as StoredMinerSnapshot

type NetStabilizationConfigEntry = ConfigEntry[FleetCoordinator]
# A coordinator listener as the base class keeps it: id -> (callback, context).
type _Listener = tuple[int, tuple[Callable[[], None], object | None]]

SETTINGS_KEY = "fleet"
# Each miner's learnt draw over the power curve's: saved with the fleet history, taken back at
# start so a fleet in service regulates as well after a restart as before it.
CALIBRATION_KEY = "calibration"
PURGE_INTERVAL = timedelta(hours=1)
COMMAND_REFRESH_DELAY_S = 1.5
# Telling ~9,000 entities about a new snapshot in one go blocks the event loop for a noticeable
# time (every entity compares its value, the changed ones write their state). Listeners run
# for at most this long per loop iteration; the rest follow in later iterations, so EMS
# requests, miner I/O and the recorder's queue keep moving. Small fleets finish in one slice.
LISTENER_SLICE_S = 0.02
# Reads and miner orders in flight at once. Each step of a miner exchange is a millisecond or two
# of CPU in the event loop, and asyncio runs everything that became ready in one iteration: a
# hundred orders plus fifty reads completing together held the loop for ~250 ms at 1,000
# miners. With these, an iteration stays around 100 ms at worst while a poll of 1,000 miners
# takes about half a second and a full-fleet command is out in under two.
MAX_CONCURRENT_READS = 32
MAX_CONCURRENT_COMMANDS = 64
# A meter reading older than this is stale; the loop then falls back to the miners' own figures.
METER_MAX_AGE_S = 120.0
_KW_PER_UNIT: dict[str, float] = {
    UnitOfPower.WATT: 0.001,
    UnitOfPower.KILO_WATT: 1.0,
    UnitOfPower.MEGA_WATT: 1000.0,
}
ISSUE_FAILED_MINERS = "failed_miners"
ISSUE_AUTH = "auth_failed"
ISSUE_DATABASE = "database_problem"


class CommandEvents:
    """The controller's command log: the fleet database first, then a Home Assistant event."""

    def __init__(self, hass: HomeAssistant, store: FleetStore) -> None:
        """Record to `store`, announce on the bus."""
        self._hass = hass
        self._store = store
        self.after_record: Callable[[CommandRecord], None] | None = None

    async def record(self, entry: CommandRecord) -> None:
        """Commit the command, then tell automations about it."""
        await self._store.record_command(entry)
        self._hass.bus.async_fire(
            EVENT_COMMAND,
            {
                "source": entry.source,
                "command": entry.command,
                "parameters": dict(entry.parameters),
                "target_kw": _target_of(entry),
                "accepted": entry.accepted,
                "reason": entry.reason,
                "message": entry.message,
            },
        )
        if self.after_record is not None:
            self.after_record(entry)

    async def recent(self, limit: int = 50) -> list[CommandRecord]:
        """Newest first, from the database."""
        return await self._store.recent_commands(limit)


class FleetCoordinator(DataUpdateCoordinator[FleetSnapshot]):
    """Polls the whole fleet through the core controller; owns rescans, history and repairs."""

    config_entry: NetStabilizationConfigEntry

    def __init__(self, hass: HomeAssistant, entry: NetStabilizationConfigEntry) -> None:
        """Build the controller, store and scanner from the entry."""
        self.options: dict[str, Any] = {**default_options(), **entry.options}
        self.entry_data: dict[str, Any] = dict(entry.data)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=timedelta(seconds=self.options[CONF_POLL_INTERVAL]),
            # Each poll is a new snapshot; entities compare their own values before writing.
            always_update=False,
        )
        self.session = async_get_clientsession(hass)
        self.credentials = Credentials(entry.data[CONF_USERNAME], entry.data[CONF_PASSWORD])
        self.store = FleetStore(
            Path(hass.config.path(f"{DOMAIN}.{entry.entry_id}.db")),
            on_problem=self._store_problem,
        )
        self.command_log = CommandEvents(hass, self.store)
        self.command_log.after_record = self._after_command
        self.controller = FleetController(
            config=ControlConfig(
                planner=PlanLimits(policy=TargetPolicy(self.options[CONF_TARGET_POLICY])),
                temp_limit_c=float(self.options[CONF_TEMP_LIMIT]),
                max_concurrent_reads=MAX_CONCURRENT_READS,
                max_concurrent_commands=MAX_CONCURRENT_COMMANDS,
            ),
            command_log=self.command_log,
            site_meter=self._read_meter if self.options.get(CONF_METER_ENTITY) else None,
            mode=PowerMode(self.options[CONF_POWER_MODE]),
        )
        self.scanner: Scanner = build_scanner(hass, entry.data)
        self.miners: dict[str, MinerSnapshot] = {}
        self.fleet_device_id: str | None = None  # set once the fleet device is registered
        self._saved_calibration: dict[str, float] = {}
        # What the override switch runs the fleet at (the override target number sets it).
        self.override_setpoint_kw: float | None = None
        self.last_scan: ScanResult | None = None
        self._scan_lock = asyncio.Lock()
        self._settings_task: asyncio.Task[None] | None = None
        self._unsubs: list[Callable[[], None]] = []
        self._closed = False
        self._offline: set[str] = set()
        self._refresh_soon: Callable[[], None] | None = None
        # Time-sliced listener updates: the task running them, and whether new data arrived
        # while it ran (then every listener is called once more).
        self._fan_out: asyncio.Task[None] | None = None
        self._fan_out_again = False

    # Life cycle ---------------------------------------------------------------------------------

    @override
    async def _async_setup(self) -> None:
        """Open the database, bring back known miners and settings, then scan for the rest."""
        await self.store.open()
        known = await self.store.miners()
        for record in known:
            self._add_known(record)
        try:
            await self.async_rescan()
        except Exception as err:
            raise ConfigEntryNotReady(f"scanning the miner networks failed: {err}") from err
        scan = self.last_scan
        if not self.controller.macs:
            await self._shutdown_core()
            if scan is not None and scan.auth_failed:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN, translation_key="auth_failed"
                )
            raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="no_miners")
        # One poll first, so the restored target is planned against what miners really do.
        await self.controller.poll()
        stored = await self.store.load_settings()
        if isinstance(calibration := stored.get(CALIBRATION_KEY), dict):
            taken = self.controller.restore_calibration(calibration)
            self._saved_calibration = self.controller.calibration()
            LOGGER.debug("Took back the learnt power of %d miners", taken)
        if SETTINGS_KEY in stored:
            settings = FleetSettings.from_dict(stored[SETTINGS_KEY])
            self.controller.restore(settings)
            LOGGER.info("Fleet resumed its last commanded state: %s", settings.describe())
        elif self.controller.mode is not PowerMode(self.options[CONF_POWER_MODE]):
            await self.controller.set_mode(self.options[CONF_POWER_MODE], source="setup")
        self._schedule_timers()

    def _schedule_timers(self) -> None:
        entry = self.config_entry
        snapshot_every = timedelta(seconds=self.options[CONF_SNAPSHOT_INTERVAL])
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._async_write_snapshot, snapshot_every, name="fleet snapshot"
            )
        )
        self._unsubs.append(
            async_track_time_interval(self.hass, self._async_purge, PURGE_INTERVAL, name="purge")
        )
        rescan_minutes = int(self.options[CONF_RESCAN_INTERVAL])
        if rescan_minutes > 0:
            self._unsubs.append(
                async_track_time_interval(
                    self.hass,
                    self._async_periodic_rescan,
                    timedelta(minutes=rescan_minutes),
                    name="rescan",
                )
            )
        # Stopping Home Assistant does not unload entries: close the database ourselves.
        entry.async_on_unload(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_on_stop)
        )

    async def _async_on_stop(self, event: Event) -> None:
        await self.async_shutdown()

    @override
    async def async_shutdown(self) -> None:
        """Stop timers, write the last settings and close the database."""
        await super().async_shutdown()
        if self._fan_out is not None and not self._fan_out.done():
            self._fan_out.cancel()
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._refresh_soon is not None:
            self._refresh_soon()
            self._refresh_soon = None
        await self._shutdown_core()

    async def _shutdown_core(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._settings_task is not None:
            await asyncio.gather(self._settings_task, return_exceptions=True)
        await self._async_save_calibration()
        await self.controller.close()
        await self.store.close()

    # Polling ----------------------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> FleetSnapshot:
        try:
            snapshot = await self.controller.poll()
        except Exception as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="poll_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self._index(snapshot)
        self._log_availability(snapshot)
        self._update_failed_miners_issue(snapshot)
        return snapshot

    def _log_availability(self, snapshot: FleetSnapshot) -> None:
        """Log once when a miner stops answering and once when it is back."""
        offline = {m.mac for m in snapshot.miners if m.state is MinerState.OFFLINE}
        for mac in offline - self._offline:
            gone = self.miners[mac]
            LOGGER.info("Miner %s (%s) is unavailable", gone.hostname or mac, gone.host)
        for mac in self._offline - offline:
            if (back := self.miners.get(mac)) is not None:
                LOGGER.info("Miner %s (%s) is back", back.hostname or mac, back.host)
        self._offline = offline

    @callback
    @override
    def async_update_listeners(self) -> None:
        """Call every listener, in slices of at most LISTENER_SLICE_S per loop iteration.

        The first slice runs now (a small fleet is done at once, as with the base class); the
        rest continues in a task. Listeners read the coordinator's data when they are called,
        so an update that arrives meanwhile is seen by those still to come; the task then calls
        everybody once more so that the ones already done see it too.
        """
        if self._fan_out is not None and not self._fan_out.done():
            self._fan_out_again = True
            return
        pending = self._listeners_in_order()
        if self._call_listeners(pending, time.perf_counter() + LISTENER_SLICE_S):
            return
        self._fan_out = self.hass.async_create_task(
            self._async_fan_out(pending), "net_stabilization listener updates", eager_start=False
        )

    async def _async_fan_out(self, pending: list[_Listener]) -> None:
        while True:
            done = False
            while not done:
                await asyncio.sleep(0)  # let the loop run between slices
                done = self._call_listeners(pending, time.perf_counter() + LISTENER_SLICE_S)
            if not self._fan_out_again:
                return
            self._fan_out_again = False
            pending = self._listeners_in_order()

    def _listeners_in_order(self) -> list[_Listener]:
        # Reversed, because slices take them from the end: called in the order they came.
        return list(reversed(self._listeners.items()))

    def _call_listeners(self, pending: list[_Listener], deadline: float) -> bool:
        """Call listeners from the end of `pending` (removing them) until the deadline;
        returns whether none is left."""
        listeners = self._listeners
        while pending:
            key, (update_callback, _context) = pending.pop()
            if key not in listeners:
                continue  # removed meanwhile (entity removed, entry unloading)
            try:
                update_callback()
            except Exception:
                self.logger.exception(
                    "Unexpected error updating listener %s for %s", id(update_callback), self.name
                )
            if time.perf_counter() >= deadline:
                return not pending
        return True

    @callback
    def publish(self) -> None:
        """Push the controller's latest snapshot to entities (after a command)."""
        snapshot = self.controller.snapshot
        self._index(snapshot)
        self.async_set_updated_data(snapshot)

    def _index(self, snapshot: FleetSnapshot) -> None:
        # Entities look miners up by MAC; a dict keeps that O(1) for a thousand miners.
        self.miners = {m.mac: m for m in snapshot.miners}

    def _read_meter(self) -> float | None:
        """The site meter in kW, or None when it has no fresh numeric value."""
        entity_id = self.options.get(CONF_METER_ENTITY)
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        if time.time() - state.last_reported.timestamp() > METER_MAX_AGE_S:
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        unit = str(state.attributes.get("unit_of_measurement", UnitOfPower.WATT))
        return value * _KW_PER_UNIT.get(unit, 0.001)

    # Scanning ---------------------------------------------------------------------------------

    async def async_rescan(self) -> ScanResult:
        """Scan the configured networks; add new miners and follow moved ones."""
        async with self._scan_lock:
            result = await self.scanner.scan()
        self.last_scan = result
        known = {
            mac: snapshot_endpoint
            for mac in self.controller.macs
            if (snapshot_endpoint := self._endpoint_of(mac)) is not None
        }
        changes = diff_miners(known, result)
        for found in changes.new:
            self.controller.add_miner(found.driver)
        for move in changes.moved:
            LOGGER.info("Miner %s moved from %s to %s", move.mac, move.old, move.new.endpoint)
            self.controller.add_miner(move.new.driver)
        if changes.new or changes.moved:
            await self.store.upsert_miners(
                _record(m) for m in (*changes.new, *(mv.new for mv in changes.moved))
            )
        self._update_auth_issue(result)
        if changes.new:
            LOGGER.info("Scan found %d new miners", len(changes.new))
        if (changes.new or changes.moved) and self.data is not None:
            # Read the newcomers at once so their entities start with real values.
            self._index(await self.controller.poll())
            self.async_set_updated_data(self.controller.snapshot)
        return result

    async def _async_periodic_rescan(self, _now: Any = None) -> None:
        try:
            await self.async_rescan()
        except Exception:  # a failed scan must not stop the timer
            LOGGER.exception("Periodic rescan failed")
            return
        self.publish()

    def _endpoint_of(self, mac: str) -> MinerEndpoint | None:
        driver = self.controller.driver(mac)
        return getattr(driver, "endpoint", None)

    def _add_known(self, record: MinerRecord) -> None:
        """A miner from the database: drive it at its last address until a scan says otherwise."""
        if not record.host:
            return
        api_port, web_port = _ports(record, self.config_entry.data)
        identity = MinerIdentity(
            mac=record.mac,
            host=record.host,
            model=record.model or "Antminer S9",
            firmware=record.firmware or "Vnish",
            firmware_version="",
            hostname=record.hostname,
        )
        firmware = (
            FirmwareKind.STOCK_S9
            if (record.firmware or "").lower().startswith(("bitmain", "stock"))
            else FirmwareKind.VNISH_S9
        )
        driver = AntminerS9Driver(
            record.host,
            self.session,
            api_port=api_port,
            web_port=web_port,
            credentials=self.credentials,
            firmware=firmware,
            identity=identity,
        )
        self.controller.add_miner(driver)

    async def async_forget_miner(self, mac: str) -> None:
        """Remove a miner the operator deleted from the UI."""
        self.controller.remove_miner(mac)
        await self.store.remove_miner(mac)
        self.publish()

    # History ----------------------------------------------------------------------------------

    async def _async_write_snapshot(self, _now: Any = None) -> None:
        await self._async_save_calibration()
        snapshot = self.controller.snapshot
        await self.store.write_snapshot(
            StoredFleetSnapshot(
                state=snapshot.state.value,
                target_kw=snapshot.target_kw,
                active_kw=snapshot.active_power_kw,
                rated_kw=snapshot.rated_power_kw,
                miners_online=snapshot.miners_online,
                miners_mining=snapshot.miners_mining,
                hashrate_ths=snapshot.hashrate_ths,
            ),
            [
                StoredMinerSnapshot(
                    mac=m.mac,
                    state=m.state.value,
                    power_w=m.power_w,
                    hashrate_ths=m.hashrate_ths,
                    frequency_mhz=m.frequency_mhz,
                    chip_temp_c=m.chip_temp_c,
                )
                for m in snapshot.miners
            ],
        )

    async def _async_save_calibration(self) -> None:
        calibration = self.controller.calibration()
        if not calibration or calibration == self._saved_calibration:
            return  # nothing learnt, or nothing new since the last write
        if await self.store.save_settings({CALIBRATION_KEY: calibration}):
            self._saved_calibration = calibration

    async def _async_purge(self, _now: Any = None) -> None:
        retention_s = float(self.options[CONF_RETENTION_HOURS]) * 3600
        deleted = await self.store.purge(older_than=time.time() - retention_s)
        if deleted:
            LOGGER.debug("Purged %d snapshot rows", deleted)

    def _after_command(self, entry: CommandRecord) -> None:
        # Persist what the fleet was told, so a restart resumes it (off the command's path).
        if self._closed:
            return
        if entry.accepted and self._refresh_soon is None:
            # Sleep acts at once: read the fleet again shortly so the status an EMS polls
            # shows the effect without waiting for the next regular poll.
            self._refresh_soon = async_call_later(
                self.hass, COMMAND_REFRESH_DELAY_S, self._refresh_after_command
            )
        self._settings_task = self.config_entry.async_create_background_task(
            self.hass, self._async_save_settings(), "save fleet settings"
        )

    async def _refresh_after_command(self, _now: Any) -> None:
        self._refresh_soon = None
        if not self._closed:
            await self.async_refresh()

    async def _async_save_settings(self) -> None:
        settings = self.controller.settings()
        await self.store.save_settings({SETTINGS_KEY: settings.to_dict()})
        await self.store.upsert_miners(
            MinerRecord(
                mac=m.mac,
                host=m.host,
                api_port=endpoint.api_port if endpoint else None,
                web_port=endpoint.web_port if endpoint else None,
                model=m.model,
                firmware=m.firmware,
                hostname=m.hostname,
                excluded=m.excluded,
                override=m.override.value if m.override else None,
            )
            for m in self.controller.snapshot.miners
            for endpoint in (self._endpoint_of(m.mac),)
        )

    # Repairs ----------------------------------------------------------------------------------

    def _update_failed_miners_issue(self, snapshot: FleetSnapshot) -> None:
        failed = [m for m in snapshot.miners if m.state is MinerState.FAILED]
        if failed:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                ISSUE_FAILED_MINERS,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_FAILED_MINERS,
                translation_placeholders={
                    "count": str(len(failed)),
                    "miners": ", ".join(f"{m.hostname or m.mac} ({m.host})" for m in failed[:20]),
                },
            )
        else:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_FAILED_MINERS)

    def _update_auth_issue(self, result: ScanResult) -> None:
        if result.auth_failed:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                ISSUE_AUTH,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_AUTH,
                translation_placeholders={
                    "count": str(len(result.auth_failed)),
                    "hosts": ", ".join(f.endpoint.host for f in result.auth_failed[:20]),
                },
            )
            if not result.miners and self.controller.macs:
                # Every miner refuses us now: the password changed. Ask for the new one.
                self.config_entry.async_start_reauth(self.hass)
        else:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_AUTH)

    def _store_problem(self, problem: StoreProblem | None) -> None:
        if problem is None:
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_DATABASE)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_DATABASE,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_DATABASE,
            translation_placeholders={"problem": problem.value, "path": str(self.store.path)},
        )

    def diagnostics(self) -> dict[str, Any]:
        """Everything worth attaching to a bug report (redacted by the caller)."""
        snapshot = self.controller.snapshot
        return {
            "options": self.options,
            "fleet": {k: v for k, v in asdict(snapshot).items() if k not in ("miners", "by_mac")},
            "miners": [asdict(m) for m in snapshot.miners],
            "settings": self.controller.settings().to_dict(),
            "last_scan": None
            if self.last_scan is None
            else {
                "miners": len(self.last_scan.miners),
                "auth_failed": [str(f.endpoint) for f in self.last_scan.auth_failed],
                "unsupported": [
                    {"endpoint": str(f.endpoint), "detail": f.detail}
                    for f in self.last_scan.unsupported
                ],
                "addresses_scanned": self.last_scan.addresses_scanned,
                "duration_s": self.last_scan.duration_s,
            },
            "database": {
                "path": str(self.store.path),
                "problem": self.store.problem,
                "pending_commands": self.store.pending_commands,
            },
        }


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


def _ports(record: MinerRecord, data: Mapping[str, Any]) -> tuple[int, int]:
    return (
        record.api_port or int(data[CONF_API_PORT]),
        record.web_port or int(data[CONF_WEB_PORT]),
    )


def _target_of(entry: CommandRecord) -> float | None:
    for key in ("activationPowerInKw", "target_power_kw"):
        value = entry.parameters.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0 if entry.command == "deactivate" else None
