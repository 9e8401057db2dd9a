"""OpenADR and the performance of dispatches in Home Assistant.

The core's VEN takes its turn at every fleet poll; VTN notifications come in through a Home
Assistant webhook (the VTN's echo check answered on GET, the bearer token checked on POST). Every
dispatch, whoever sent it (EMS or OpenADR), is measured (`core.mv`) and its figures kept in the
fleet database. Two fail-safes say what they did in the history and as a repair issue: a silent
EMS holding a target (`core.fleet.failsafe`), and an event that ended while the VTN could not
be reached (the VEN's `vtn_lost`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util import dt as dt_util

from .const import CONF_POLL_INTERVAL, DOMAIN, LOGGER
from .coordinator import FleetCoordinator
from .core.fleet import CommandSource, FleetController
from .core.fleet.command_log import ParameterValue
from .core.fleet.failsafe import Fallback, SilenceWatch
from .core.mv import DispatchTracker, Performance
from .core.openadr import Connection, ControllerPort, GridPrice, Ven, VenConfig
from .core.openadr.client import read_capped
from .core.store import FleetStore
from .language import async_option_label
from .local_strategy import StrategyInputs
from .openadr_options import (
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_EMS_SILENCE_ACTION,
    CONF_EMS_SILENCE_MIN,
    CONF_OPENADR,
    CONF_PROGRAMS,
    CONF_SIMPLE_SHARES,
    CONF_TOKEN_URL,
    CONF_VEN_NAME,
    CONF_VEN_POLL_S,
    CONF_VTN_LOST,
    CONF_VTN_URL,
    CONF_WEBHOOK,
    openadr_defaults,
    simple_shares,
)
from .options import split_list

ISSUE_AUTH = "openadr_auth_failed"
ISSUE_VTN_LOST = "openadr_vtn_lost"
ISSUE_EMS_SILENT = "ems_silent"
WEBHOOK_SETTING = "openadr_webhook"
MAX_NOTIFICATION = 1024 * 1024
UNSUBSCRIBE_S = 5.0  # an unload waits at most this long for the VTN to drop the subscriptions


class OpenAdrLink:
    """The VEN's turns, its webhook, the dispatch figures and the fail-safes."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        controller: FleetController,
        coordinator: FleetCoordinator,
        store: FleetStore,
        options: dict[str, Any],
    ) -> None:
        """Built with the fleet; started by `async_start` once the fleet runs."""
        self._hass = hass
        self._entry = entry
        self._controller = controller
        self._coordinator = coordinator
        self._store = store
        self.options = {**openadr_defaults(), **options}
        self.tracker = DispatchTracker(self._keep)
        minutes = float(self.options.get(CONF_EMS_SILENCE_MIN) or 0)
        try:
            action = Fallback(self.options.get(CONF_EMS_SILENCE_ACTION, Fallback.STANDBY))
        except ValueError:
            action = Fallback.STANDBY
        self.silence = SilenceWatch(minutes * 60.0, action)
        self.price = GridPrice()
        self.ven: Ven | None = None
        self.webhook_id: str | None = None
        self._busy = False
        self._fallback_seen: str | None = None
        if self.options.get(CONF_OPENADR) and self.options.get(CONF_VTN_URL):
            seat = controller.strategy_seat
            reader = seat.read_inputs if seat is not None else None
            if isinstance(reader, StrategyInputs):  # a PRICE event stands in for the entity
                reader.grid_price = lambda: self.price.per_kwh
            self.ven = Ven(
                VenConfig(
                    vtn_url=str(self.options[CONF_VTN_URL]),
                    ven_name=str(self.options.get(CONF_VEN_NAME) or "net-stabilization"),
                    programs=tuple(split_list(str(self.options.get(CONF_PROGRAMS, "")))),
                    client_id=str(self.options.get(CONF_CLIENT_ID, "")),
                    client_secret=str(self.options.get(CONF_CLIENT_SECRET, "")),
                    token_url=str(self.options.get(CONF_TOKEN_URL, "")),
                    poll_interval_s=float(self.options[CONF_VEN_POLL_S]),
                    vtn_lost=str(self.options.get(CONF_VTN_LOST, "strategy")),
                    simple_shares=simple_shares(str(self.options.get(CONF_SIMPLE_SHARES, "")))
                    or (0.5, 0.25, 0.0),
                ),
                async_get_clientsession(hass),
                ControllerPort(controller),
                _WallClock(),
                price=self.price,
                on_performance=self._keep,
            )

    # --- life ------------------------------------------------------------------------------------

    async def async_start(self) -> Callable[[], None]:
        """Register the webhook (when asked and Home Assistant has a URL) and take turns with
        the fleet's polls; returns what stops it all."""
        if self.ven is not None and self.options.get(CONF_WEBHOOK):
            await self._register_webhook()
        if self.ven is not None:
            # Unloaded (OpenADR switched off, the options changed, the entry removed): the VTN
            # stops calling a webhook that is gone. Stopping Home Assistant does not unload:
            # the next start puts the subscriptions right.
            self._entry.async_on_unload(self._unsubscribe)
        every = timedelta(seconds=float(self.options.get(CONF_POLL_INTERVAL, 5)))
        unsub = async_track_time_interval(self._hass, self._tick, every, name="openadr")

        def stop() -> None:
            unsub()
            if self.webhook_id is not None:
                webhook.async_unregister(self._hass, self.webhook_id)
                self.webhook_id = None

        return stop

    async def _unsubscribe(self) -> None:
        if self.ven is not None:
            await self.ven.unsubscribe(timeout_s=UNSUBSCRIBE_S)

    async def _register_webhook(self) -> None:
        assert self.ven is not None
        stored = (await self._store.load_settings()).get(WEBHOOK_SETTING)
        if not isinstance(stored, dict) or not all(
            isinstance(stored.get(k), str) for k in ("id", "token")
        ):
            stored = {"id": secrets.token_hex(16), "token": secrets.token_urlsafe(24)}
            await self._store.save_settings({WEBHOOK_SETTING: stored})
        try:
            url = webhook.async_generate_url(self._hass, stored["id"])
        except NoURLAvailableError:
            LOGGER.info("No URL for Home Assistant is configured: OpenADR events by polling only")
            return
        webhook.async_register(
            self._hass,
            DOMAIN,
            "OpenADR VTN notifications",
            stored["id"],
            self._handle_webhook,
            allowed_methods=["GET", "POST"],
        )
        self.webhook_id = stored["id"]
        self.ven.config = replace(self.ven.config, callback_url=url, callback_token=stored["token"])

    async def _handle_webhook(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        ven = self.ven
        if ven is None:
            return web.Response(status=404)
        if request.method == "GET":  # the VTN's check that the callback is ours
            echo = request.query.get("echo", "")[:256]
            return web.Response(text=echo)
        raw = await read_capped(request.content, MAX_NOTIFICATION)
        if raw is None:
            return web.Response(status=413)
        try:
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=400)
        status = await ven.notified(body, request.headers.get("Authorization"))
        if status == 200:
            hass.async_create_task(self._tick(), "openadr notification")
        return web.Response(status=status)

    # --- turns -----------------------------------------------------------------------------------

    def ems_heard(self) -> None:
        """The EMS called (status or a command)."""
        self.silence.heard(time.time())
        ir.async_delete_issue(self._hass, DOMAIN, ISSUE_EMS_SILENT)

    async def _tick(self, _now: Any = None) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            snapshot = self._controller.snapshot
            now = time.time()
            self.tracker.observe(
                now, snapshot.target_source, snapshot.target_kw, snapshot.active_power_kw
            )
            await self._watch_silence(now)
            if self.ven is not None:
                before = self._shown()
                await self.ven.step()
                await self._watch_ven()
                if self._shown() != before:  # else the next poll shows the figures
                    self._coordinator.publish()
        except Exception:
            LOGGER.exception("OpenADR turn failed")
        finally:
            self._busy = False

    def _shown(self) -> tuple[object, ...]:
        ven = self.ven
        if ven is None:
            return ()
        current = ven.current_event()
        return (ven.dispatch, ven.connection, None if current is None else current.event.id)

    async def _watch_silence(self, now: float) -> None:
        ems_kw = self._controller.settings().ems_target_kw
        if not self.silence.due(now, ems_holds_target=ems_kw is not None):
            return
        minutes = self.silence.after_s / 60.0
        action = self.silence.fallback
        message = f"the EMS holding {ems_kw:g} kW has not called for {minutes:g} min: {action}"
        LOGGER.warning("Fail-safe: %s", message)
        params: dict[str, ParameterValue] = {
            "minutes": round(minutes, 1),
            "fallback": action.value,
        }
        await self._controller.note("ems_silent", params, message, CommandSource.SYSTEM)
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            ISSUE_EMS_SILENT,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_EMS_SILENT,
            translation_placeholders={
                "minutes": f"{minutes:g}",
                "fallback": await async_option_label(self._hass, CONF_EMS_SILENCE_ACTION, action),
            },
        )
        if action is not Fallback.HOLD:
            await self._coordinator.async_command(
                lambda fleet: fleet.deactivate(source=CommandSource.SYSTEM),
                raise_on_refusal=False,
            )

    async def _watch_ven(self) -> None:
        ven = self.ven
        assert ven is not None
        if ven.connection is Connection.AUTH_FAILED:
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                ISSUE_AUTH,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_AUTH,
                translation_placeholders={"url": ven.config.vtn_url},
            )
        elif ven.connection is Connection.CONNECTED:
            ir.async_delete_issue(self._hass, DOMAIN, ISSUE_AUTH)
        shown = ven.fallback.events if ven.fallback is not None else None
        if shown == self._fallback_seen:
            return
        self._fallback_seen = shown
        if shown is None:
            ir.async_delete_issue(self._hass, DOMAIN, ISSUE_VTN_LOST)
            return
        message = f"an OpenADR event ended while the VTN was unreachable: {shown}"
        await self._controller.note(
            "openadr_fallback", {"fallback": shown}, message, CommandSource.OPENADR
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            ISSUE_VTN_LOST,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_VTN_LOST,
            translation_placeholders={
                "fallback": await async_option_label(self._hass, CONF_VTN_LOST, ven.config.vtn_lost)
            },
        )

    def _keep(self, performance: Performance) -> None:
        self._entry.async_create_background_task(
            self._hass,
            self._store.record_performance(performance.as_json()),
            "store dispatch performance",
        )

    # --- for people ------------------------------------------------------------------------------

    def event_performance(self) -> Performance | None:
        """The current (else the last) OpenADR event's figures."""
        if self.ven is None:
            return None
        current = self.ven.current_event()
        if current is not None and current.performance is not None:
            return current.performance
        return self.ven.performances[-1] if self.ven.performances else None

    def dispatch_performance(self) -> Performance | None:
        """The running (else the last) dispatch's figures, EMS or OpenADR."""
        return self.tracker.current or self.tracker.last

    def state_json(self) -> dict[str, Any]:
        """The VEN and the figures, for the fleet API and diagnostics."""
        ven = self.ven
        current = ven.current_event() if ven is not None else None
        return {
            "openadr": None
            if ven is None
            else {
                "connection": ven.connection.value,
                "problem": ven.problem,
                "venId": ven.ven_id,
                "programs": [p.name for p in ven.programs.values()],
                "webhook": self.webhook_id is not None,
                "lastContact": ven.last_contact,
                "currentEvent": None
                if current is None
                else {"id": current.event.id, "name": current.event.name},
                "dispatch": {
                    "targetKw": _kw(ven.dispatch.target_w),
                    "capKw": _kw(ven.dispatch.cap_w),
                    "events": ven.dispatch.events,
                },
                "fallback": None if ven.fallback is None else ven.fallback.events,
                "reportsSent": ven.reports_sent,
                "reportsLate": ven.reports_late,
                "reportsWaiting": len(ven.outbox.waiting),
                "events": [
                    {
                        "id": v.event.id,
                        "name": v.event.name,
                        "priority": v.event.priority,
                        "reportsSent": v.counts.sent,
                        "reportsLate": v.counts.late,
                        "performance": None if v.performance is None else v.performance.as_json(),
                    }
                    for v in ven.events.values()
                ],
            },
            "dispatch": _figures(self.tracker.current),
            "lastDispatch": _figures(self.tracker.last),
            "emsSilence": {
                "afterMin": self.silence.after_s / 60.0,
                "fallback": self.silence.fallback.value,
                "fellBack": self.silence.fell_back,
            },
        }


class _WallClock:
    """Home Assistant's clock for the VEN."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return dt_util.utcnow()


def _kw(watts: float | None) -> float | None:
    return None if watts is None else round(watts / 1000.0, 3)


def _figures(performance: Performance | None) -> dict[str, object] | None:
    return None if performance is None else performance.as_json()
