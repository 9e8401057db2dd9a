"""The loaded fleet: its parts on `entry.runtime_data`, how they start and how they stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval

from . import repairs
from .builder import build_scanner, control_config, known_driver
from .const import (
    CONF_FACTORY_PASSWORD,
    CONF_GRID_IMPORT_ENTITY,
    CONF_GRID_LIMIT_KW,
    CONF_LIMIT_ENTITY,
    CONF_MAX_MINERS,
    CONF_METER_ENTITY,
    CONF_POLL_INTERVAL,
    CONF_POWER_MODE,
    CONF_RESCAN_INTERVAL,
    CONF_RESTORE_MAX_AGE,
    CONF_RETENTION_HOURS,
    CONF_SNAPSHOT_INTERVAL,
    CONF_TRIP_ENTITY,
    DOMAIN,
    LOGGER,
)
from .coordinator import FleetCoordinator
from .core.fleet import CommandRecord, CommandSource, FleetController, PowerMode
from .core.store import FleetStore
from .history import CommandEvents, FleetHistory
from .local_strategy import build_seat, watch_inputs
from .openadr import OpenAdrLink
from .options import effective_options
from .scanning import FleetScanning
from .site_limits import SiteLimitsWatcher
from .site_meter import SiteMeter

PURGE_INTERVAL = timedelta(hours=1)


@dataclass
class FleetRuntime:
    """Everything a loaded fleet consists of."""

    controller: FleetController
    store: FleetStore
    scanning: FleetScanning
    history: FleetHistory
    coordinator: FleetCoordinator
    options: dict[str, Any]
    entry_data: dict[str, Any]
    timers: list[Callable[[], None]] = field(default_factory=list)  # to cancel on unload
    settings_task: asyncio.Task[None] | None = None  # the last settings write
    openadr: OpenAdrLink | None = None  # the VEN, dispatch figures and fail-safes
    closed: bool = False

    async def async_rescan(self) -> None:
        """Scan now; new miners are read at once so their entities start with real values."""
        _result, changed = await self.scanning.async_scan()
        if changed and self.coordinator.data is not None:
            await self.coordinator.async_poll_now()
        else:
            self.coordinator.publish()

    async def async_periodic_rescan(self, _now: Any = None) -> None:
        """The rescan timer: a failed scan is logged and must not stop the timer."""
        try:
            await self.async_rescan()
        except Exception:
            LOGGER.exception("Periodic rescan failed")

    async def async_write_snapshot(self, _now: Any = None) -> None:
        """The history timer."""
        await self.history.write_snapshot()

    async def async_purge(self, _now: Any = None) -> None:
        """The retention timer."""
        deleted = await self.history.purge(float(self.options[CONF_RETENTION_HOURS]) * 3600)
        if deleted:
            LOGGER.debug("Purged %d snapshot rows", deleted)

    async def async_forget_miner(self, mac: str) -> None:
        """Remove a miner the operator deleted from the UI."""
        self.controller.remove_miner(mac)
        await self.store.remove_miner(mac)
        self.coordinator.publish()

    async def async_shutdown(self) -> None:
        """Stop timers and orders, write the last settings and close the database."""
        if self.closed:
            return
        self.closed = True
        for unsub in self.timers:
            unsub()
        self.timers.clear()
        await self.coordinator.async_shutdown()
        if self.settings_task is not None:
            await asyncio.gather(self.settings_task, return_exceptions=True)
        # The last snapshot marks when the fleet stopped running (a restart measures its
        # downtime from it).
        await self.history.write_snapshot()
        await self.controller.close()
        await self.store.close()


type NetStabilizationConfigEntry = ConfigEntry[FleetRuntime]


def database_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Where a fleet keeps its database (in Home Assistant's configuration folder)."""
    return Path(hass.config.path(f"{DOMAIN}.{entry_id}.db"))


def build_runtime(hass: HomeAssistant, entry: NetStabilizationConfigEntry) -> FleetRuntime:
    """The fleet's parts, wired together but not started."""
    options = effective_options(entry.options)
    session = async_get_clientsession(hass)
    path = database_path(hass, entry.entry_id)
    store = FleetStore(path, on_problem=repairs.database_watch(hass, entry, str(path)))
    events = CommandEvents(hass, store)
    meter = options.get(CONF_METER_ENTITY)
    controller = FleetController(
        config=control_config(options),
        command_log=events,
        site_meter=SiteMeter(hass, meter) if meter else None,
        mode=PowerMode(options[CONF_POWER_MODE]),
        strategy=build_seat(hass, options),
    )
    scanning = FleetScanning(
        hass,
        build_scanner(session, entry.data, factory_password=bool(options[CONF_FACTORY_PASSWORD])),
        controller,
        store,
        reauth=lambda: entry.async_start_reauth(hass),
        max_miners=int(options[CONF_MAX_MINERS]),
    )
    runtime = FleetRuntime(
        controller=controller,
        store=store,
        scanning=scanning,
        history=FleetHistory(store, controller, scanning.ports_of),
        coordinator=FleetCoordinator(hass, entry, controller, options[CONF_POLL_INTERVAL]),
        options=options,
        entry_data=dict(entry.data),
    )

    async def after_record(record: CommandRecord) -> None:
        await _after_command(hass, entry, runtime, record)

    events.after_record = after_record
    runtime.openadr = OpenAdrLink(
        hass,
        entry,
        controller=controller,
        coordinator=runtime.coordinator,
        store=store,
        options=options,
    )
    return runtime


async def async_start(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry, runtime: FleetRuntime
) -> None:
    """Open the database, bring back known miners, scan for the rest, poll once, resume the
    commanded state and start the timers."""
    session = async_get_clientsession(hass)
    await runtime.store.open()
    for record in await runtime.store.miners():
        driver = known_driver(record, session, entry.data)
        if driver is not None:
            runtime.controller.add_miner(driver)
    try:
        result, _changed = await runtime.scanning.async_scan()
    except Exception as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="scan_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    if not runtime.controller.macs:
        if result.auth_failed:
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed")
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="no_miners")
    # One poll first, so the restored target is planned against what miners really do.
    await runtime.controller.poll()
    # The site's limits before anything is resumed: a trip holds from the first moment.
    limits = SiteLimitsWatcher(
        hass,
        runtime.controller,
        runtime.coordinator,
        trip_entity=runtime.options.get(CONF_TRIP_ENTITY),
        limit_entity=runtime.options.get(CONF_LIMIT_ENTITY),
        grid_entity=runtime.options.get(CONF_GRID_IMPORT_ENTITY),
        grid_limit_kw=float(runtime.options.get(CONF_GRID_LIMIT_KW) or 0) or None,
    )
    await limits.async_apply()
    runtime.timers.append(limits.start())
    max_age_min = float(runtime.options[CONF_RESTORE_MAX_AGE])
    resumed = await runtime.history.restore(max_age_min * 60 if max_age_min > 0 else None)
    if resumed is not None:
        LOGGER.info("Fleet resumed its last commanded state: %s", resumed)
    elif runtime.controller.mode is not PowerMode(runtime.options[CONF_POWER_MODE]):
        await runtime.controller.set_mode(
            runtime.options[CONF_POWER_MODE], source=CommandSource.SETUP
        )
    # The local strategy last: it decides from what was resumed (or was switched off).
    runtime.controller.start_strategy()
    runtime.timers.append(watch_inputs(hass, runtime.controller, runtime.coordinator))
    if runtime.openadr is not None:  # grid events decide from what was resumed
        runtime.timers.append(await runtime.openadr.async_start())
    _schedule_timers(hass, entry, runtime)


def _schedule_timers(
    hass: HomeAssistant, entry: NetStabilizationConfigEntry, runtime: FleetRuntime
) -> None:
    options = runtime.options
    every = timedelta(seconds=options[CONF_SNAPSHOT_INTERVAL])
    unsubs = runtime.timers
    unsubs.append(
        async_track_time_interval(hass, runtime.async_write_snapshot, every, name="fleet snapshot")
    )
    unsubs.append(
        async_track_time_interval(hass, runtime.async_purge, PURGE_INTERVAL, name="purge")
    )
    minutes = int(options[CONF_RESCAN_INTERVAL])
    if minutes > 0:
        unsubs.append(
            async_track_time_interval(
                hass, runtime.async_periodic_rescan, timedelta(minutes=minutes), name="rescan"
            )
        )

    # Stopping Home Assistant does not unload entries: close the database ourselves.
    @callback
    def on_stop(_event: Event) -> None:
        unsubs.remove(stop_unsub)  # fired once: it is gone from the bus already
        entry.async_create_task(hass, runtime.async_shutdown(), "close fleet")

    stop_unsub = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, on_stop)
    unsubs.append(stop_unsub)


# Commands that change the operator's per-miner flags, which the miners' records keep too.
_PER_MINER_COMMANDS = frozenset({"set_excluded", "set_miner_override"})


async def _after_command(
    hass: HomeAssistant,
    entry: NetStabilizationConfigEntry,
    runtime: FleetRuntime,
    record: CommandRecord,
) -> None:
    # What the fleet was told, so a restart resumes it: committed before the answer (a
    # database problem is logged and raised as a repair issue by the store, never raised).
    if runtime.closed or record.is_note:
        return  # a note of the fleet's own changes nothing a restart resumes
    await runtime.history.save_settings()
    if record.command in _PER_MINER_COMMANDS:
        runtime.settings_task = entry.async_create_background_task(
            hass, runtime.history.save_miner_records(), "save miner records"
        )
