"""The fleet's one coordinator: polls through the core, tells entities in time slices, and runs
every fleet command (entities, actions and HTTP alike) through one method."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from . import repairs
from .actions import raise_for_result
from .const import DOMAIN, LOGGER
from .core.fleet import CommandResult, CommandSource, FleetController, FleetSnapshot, MinerState
from .core.fleet.command_log import command_caller
from .core.fleet.model import MinerSnapshot

type FleetCommand = Callable[[FleetController], Awaitable[CommandResult]]
# A coordinator listener as the base class keeps it: id -> (callback, context).
type _Listener = tuple[int, tuple[Callable[[], None], object | None]]

# Sleep acts at once: after an accepted command the fleet is read again this soon, so the
# status an EMS polls shows the effect without waiting for the next regular poll.
COMMAND_REFRESH_DELAY_S = 1.5
# Telling ~9,000 entities about a new snapshot in one go blocks the event loop for a noticeable
# time (every entity compares its value, the changed ones write their state). Listeners run
# for at most this long per loop iteration; the rest follow in later iterations, so EMS
# requests, miner I/O and the recorder's queue keep moving. Small fleets finish in one slice.
LISTENER_SLICE_S = 0.02
# A command with more orders than this waiting tells the entities only once its orders are on
# their way (at most ORDERS_FIRST_WAIT_S later): thousands of state writes and the garbage
# collection they trigger would otherwise hold the orders up. Smaller ones show at once.
ORDERS_FIRST_ABOVE = 100
ORDERS_FIRST_WAIT_S = 3.0


class FleetCoordinator(DataUpdateCoordinator[FleetSnapshot]):
    """Polls the whole fleet through the core controller."""

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        controller: FleetController,
        poll_interval_s: float,
    ) -> None:
        """Poll `controller` every `poll_interval_s`."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=timedelta(seconds=poll_interval_s),
            # Each poll is a new snapshot; entities compare their own values before writing.
            always_update=False,
        )
        self._controller = controller
        self.override = OverrideSetpoint()
        self.fleet_device_id: str | None = None  # set once the fleet device is registered
        self._offline: set[str] = set()
        self._refresh_soon: CALLBACK_TYPE | None = None
        self._closed = False
        # Time-sliced listener updates: the task running them, and whether new data arrived
        # while it ran (then every listener is called once more).
        self._fan_out: asyncio.Task[None] | None = None
        self._fan_out_again = False

    @property
    def snapshot(self) -> FleetSnapshot:
        """The latest published snapshot (after a poll or a command)."""
        return self.data if self.data is not None else self._controller.snapshot

    @property
    def miners(self) -> Mapping[str, MinerSnapshot]:
        """The miners of the latest published snapshot, by MAC."""
        return self.snapshot.by_mac

    # Polling ----------------------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> FleetSnapshot:
        try:
            snapshot = await self._controller.poll()
        except Exception as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="poll_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self._log_availability(snapshot)
        repairs.update_failed_miners(self.hass, snapshot)
        repairs.update_untrusted(self.hass, snapshot)
        return snapshot

    def _log_availability(self, snapshot: FleetSnapshot) -> None:
        """Log once when a miner stops answering and once when it is back."""
        offline = {m.mac for m in snapshot.miners if m.state is MinerState.OFFLINE}
        for mac in offline - self._offline:
            gone = snapshot.by_mac[mac]
            LOGGER.info("Miner %s (%s) is unavailable", gone.hostname or mac, gone.host)
        for mac in self._offline - offline:
            if (back := snapshot.by_mac.get(mac)) is not None:
                LOGGER.info("Miner %s (%s) is back", back.hostname or mac, back.host)
        self._offline = offline

    async def async_poll_now(self) -> None:
        """Poll at once (new miners joined) and tell the entities."""
        self.async_set_updated_data(await self._controller.poll())

    # Commands ---------------------------------------------------------------------------------

    async def async_command(
        self, command: FleetCommand, *, raise_on_refusal: bool = True, caller: str | None = None
    ) -> CommandResult:
        """Run one fleet command and show its effect; a refusal raises a translated error
        (or, with `raise_on_refusal` False, is returned as it is, for the EMS answers). The
        command is recorded with `caller` (a user, a peer address) when given."""
        if caller is None:
            result = await command(self._controller)  # the caller set around us, if any
        else:
            with command_caller(caller):
                result = await command(self._controller)
        if result.accepted and not self._closed and self._refresh_soon is None:
            self._refresh_soon = async_call_later(
                self.hass, COMMAND_REFRESH_DELAY_S, self._refresh_after_command
            )
        if self._controller.orders_waiting > ORDERS_FIRST_ABOVE:
            self.config_entry.async_create_background_task(
                self.hass, self._publish_after_orders(), "net_stabilization orders first"
            )
        else:
            self.publish()
        if raise_on_refusal:
            raise_for_result(result, self.hass.config.language, self.miners)
        return result

    async def async_set_override(
        self,
        enabled: bool,
        target_kw: float | None,
        source: CommandSource,
        caller: str | None = None,
    ) -> CommandResult:
        """The manual override, on at `target_kw` (the override setpoint if None) or off."""
        target = self.override.target_for(enabled, target_kw)
        result = await self.async_command(
            lambda fleet: fleet.set_override(enabled, target, source=source), caller=caller
        )
        self.override.taken(target_kw)
        return result

    async def async_set_override_target(
        self, target_kw: float, source: CommandSource, caller: str | None = None
    ) -> None:
        """What the override runs the fleet at: applied at once while it is on."""
        if self.snapshot.override_enabled:
            await self.async_set_override(True, target_kw, source, caller)
            return
        self.override.taken(target_kw)
        self.publish()

    async def _publish_after_orders(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ORDERS_FIRST_WAIT_S):
                await self._controller.wait_orders_sent()
        if not self._closed:
            self.publish()

    async def _refresh_after_command(self, _now: Any) -> None:
        self._refresh_soon = None
        if not self._closed:
            await self.async_refresh()

    # Telling the entities ---------------------------------------------------------------------

    @callback
    def publish(self) -> None:
        """Push the controller's latest snapshot to entities (after a command)."""
        self.async_set_updated_data(self._controller.snapshot)

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

    @override
    async def async_shutdown(self) -> None:
        """Stop polling, the refresh after a command and the listener slices."""
        self._closed = True
        await super().async_shutdown()
        if self._fan_out is not None and not self._fan_out.done():
            self._fan_out.cancel()
        if self._refresh_soon is not None:
            self._refresh_soon()
            self._refresh_soon = None


class OverrideSetpoint:
    """What the manual override runs the fleet at: the last target the operator chose (with
    the override, its number entity or the fleet API), restored from the number at start."""

    def __init__(self) -> None:
        """No target chosen yet: the override holds what is in force."""
        self.kw: float | None = None

    def target_for(self, enabled: bool, requested_kw: float | None) -> float | None:
        """The target to switch the override on with (None off, or without a setpoint)."""
        if not enabled:
            return None
        return requested_kw if requested_kw is not None else self.kw

    def taken(self, requested_kw: float | None) -> None:
        """The operator chose this target (None: no new choice)."""
        if requested_kw is not None:
            self.kw = requested_kw

    def restore(self, kw: float | None) -> None:
        """The number's last value after a restart, unless a target was chosen meanwhile."""
        if self.kw is None and kw is not None:
            self.kw = kw
