"""HTTP: the EMS contract (status, activate, deactivate) and the fleet JSON API.

Views are registered once at integration setup, because Home Assistant cannot unregister a view;
each request looks up the loaded fleet and answers 503 while there is none. Status is served
from the fleet's cached snapshot and never waits on a miner; commands answer as soon as their
orders are handed to the background.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .audit import user_caller
from .const import CONF_EMS_NETWORKS, CONF_EMS_USER, DOMAIN
from .core.fleet import CommandRecord, CommandResult, CommandSource, FleetController
from .ems_access import Caller, check_caller, json_content
from .request_body import BodyError, read_object
from .runtime import FleetRuntime
from .services import loaded_runtime
from .wire import command_json, fleet_status_json, miner_json

SOURCE_EMS = CommandSource.EMS
SOURCE_API = CommandSource.API
NOT_LOADED = "Net Stabilization is not loaded"
_MAC_SEPARATORS = re.compile(r"[:\-.]")


@callback
def async_register_views(hass: HomeAssistant) -> None:
    """Register every view (once per Home Assistant run)."""
    for view in (
        EmsStatusView,
        EmsActivateView,
        EmsDeactivateView,
        FleetStatusView,
        FleetMinersView,
        FleetMinerView,
        FleetOverrideView,
        FleetPowerModeView,
        FleetHistoryView,
        FleetScanView,
        MinerActionView,
        FleetPerformanceView,
    ):
        hass.http.register_view(view())


def _runtime(request: web.Request) -> FleetRuntime | None:
    return loaded_runtime(request.app[KEY_HASS])


def _command_response(result: CommandResult) -> web.Response:
    return web.json_response(result.as_json(), status=result.http_status)


def _refusal(status: HTTPStatus, message: str) -> web.Response:
    return web.json_response({"accepted": False, "message": message}, status=status)


def _refused(exception: type[web.HTTPException], message: str) -> web.HTTPException:
    """A refusal raised (not returned), so Home Assistant's login-attempt accounting and IP
    bans see failed authentication."""
    return exception(
        text=json.dumps({"accepted": False, "message": message}), content_type="application/json"
    )


class _EmsView(HomeAssistantView):
    """The three EMS paths: Home Assistant token, or a client in the EMS networks
    (`ems_access` says who may do what)."""

    requires_auth = False  # checked here, so the EMS networks option can waive the token

    def _check(self, request: web.Request, *, control: bool) -> tuple[FleetRuntime, Caller]:
        """The loaded fleet and the judged caller; raises the refusal otherwise."""
        runtime = _runtime(request)
        options = runtime.options if runtime else {}
        caller = check_caller(
            request, options.get(CONF_EMS_NETWORKS, []), options.get(CONF_EMS_USER)
        )
        if not caller.allowed:
            if not caller.token_less or caller.refusal == "unauthorized":
                raise _refused(web.HTTPUnauthorized, "unauthorized")
            raise _refused(web.HTTPForbidden, caller.refusal)
        if control and not caller.control:
            raise _refused(web.HTTPForbidden, caller.refusal or "not allowed to control the fleet")
        if runtime is None:
            raise _refused(web.HTTPServiceUnavailable, NOT_LOADED)
        if runtime.openadr is not None:  # an EMS that calls is alive (the silence fail-safe)
            runtime.openadr.ems_heard()
        return runtime, caller


class EmsStatusView(_EmsView):
    """GET /api/status: exactly the contract's four keys, from the cached snapshot."""

    url = "/api/net_stabilization/ems/status"
    extra_urls = ["/api/status"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:status"

    async def get(self, request: web.Request) -> web.Response:
        """Serve the status."""
        runtime, _caller = self._check(request, control=False)
        return web.json_response(runtime.controller.snapshot.ems_status())


class EmsActivateView(_EmsView):
    """POST /api/activate {"activationPowerInKw": P}."""

    url = "/api/net_stabilization/ems/activate"
    extra_urls = ["/api/activate"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:activate"

    async def post(self, request: web.Request) -> web.Response:
        """Validate, plan, record, dispatch in the background, answer."""
        runtime, caller = self._check(request, control=True)
        if caller.token_less and not json_content(request):
            return _refusal(HTTPStatus.BAD_REQUEST, "the body must be sent as application/json")
        try:
            data = await read_object(request)
        except BodyError as err:
            return _refusal(HTTPStatus.BAD_REQUEST, str(err))
        if "activationPowerInKw" not in data:
            return _refusal(HTTPStatus.BAD_REQUEST, "activationPowerInKw is missing")
        power = data["activationPowerInKw"]
        result = await runtime.coordinator.async_command(
            lambda fleet: fleet.activate(power, source=SOURCE_EMS),
            raise_on_refusal=False,
            caller=caller.who,
        )
        return _command_response(result)


class EmsDeactivateView(_EmsView):
    """POST /api/deactivate: idempotent; any body (or none) is fine."""

    url = "/api/net_stabilization/ems/deactivate"
    extra_urls = ["/api/deactivate"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:deactivate"

    async def post(self, request: web.Request) -> web.Response:
        """Put every miner the fleet dispatched to sleep."""
        runtime, caller = self._check(request, control=True)
        # Shedding load must never fail on a malformed body: the body carries nothing we need.
        result = await runtime.coordinator.async_command(
            lambda fleet: fleet.deactivate(source=SOURCE_EMS),
            raise_on_refusal=False,
            caller=caller.who,
        )
        return _command_response(result)


class _FleetView(HomeAssistantView):
    """The fleet JSON API: Home Assistant authentication; control needs an admin."""

    requires_auth = True

    @staticmethod
    def _fleet(request: web.Request) -> FleetRuntime:
        """The loaded fleet; without one the request is answered 503."""
        runtime = _runtime(request)
        if runtime is None:
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"message": NOT_LOADED}), content_type="application/json"
            )
        return runtime

    @staticmethod
    def _require_admin(request: web.Request) -> str:
        """The admin sending a control request (as recorded); others get 403."""
        user = request.get(KEY_HASS_USER)
        if user is None or not user.is_admin:
            raise _refused(web.HTTPForbidden, "controlling the fleet needs an administrator")
        return user_caller(user)

    async def _command(
        self, request: web.Request
    ) -> tuple[FleetRuntime, dict[str, Any], str] | web.Response:
        """A control request: admin only, a loaded fleet, and a JSON object as body."""
        who = self._require_admin(request)
        fleet = self._fleet(request)
        try:
            data = await read_object(request)
        except BodyError as err:
            return _refusal(HTTPStatus.BAD_REQUEST, str(err))
        return fleet, data, who


class FleetStatusView(_FleetView):
    """GET /api/net_stabilization/status."""

    url = "/api/net_stabilization/status"
    name = "api:net_stabilization:status"

    async def get(self, request: web.Request) -> web.Response:
        """The detailed fleet status."""
        fleet = self._fleet(request)
        last_ems = await _last_ems_command(fleet)
        problems = [] if fleet.store.problem is None else [f"database: {fleet.store.problem.value}"]
        return self.json(fleet_status_json(fleet.controller.snapshot, last_ems, problems))


class FleetPerformanceView(_FleetView):
    """GET /api/net_stabilization/performance: the VEN, and what each dispatch delivered."""

    url = "/api/net_stabilization/performance"
    name = "api:net_stabilization:performance"

    async def get(self, request: web.Request) -> web.Response:
        """The running and last dispatch, the VEN's events, and the stored figures."""
        fleet = self._fleet(request)
        state = fleet.openadr.state_json() if fleet.openadr is not None else {}
        return self.json({**state, "history": await fleet.store.recent_performance(50)})


class FleetMinersView(_FleetView):
    """GET /api/net_stabilization/miners."""

    url = "/api/net_stabilization/miners"
    name = "api:net_stabilization:miners"

    async def get(self, request: web.Request) -> web.Response:
        """Every miner."""
        fleet = self._fleet(request)
        return self.json([miner_json(m) for m in fleet.controller.snapshot.miners])


class FleetMinerView(_FleetView):
    """GET /api/net_stabilization/miners/{miner_id} (MAC, with or without separators)."""

    url = "/api/net_stabilization/miners/{miner_id}"
    name = "api:net_stabilization:miner"

    async def get(self, request: web.Request, miner_id: str) -> web.Response:
        """One miner."""
        fleet = self._fleet(request)
        wanted = _MAC_SEPARATORS.sub("", miner_id).upper()
        for miner in fleet.controller.snapshot.miners:
            if _MAC_SEPARATORS.sub("", miner.mac).upper() == wanted:
                return self.json(miner_json(miner))
        return self.json_message(f"no miner {miner_id}", HTTPStatus.NOT_FOUND)


class MinerActionView(_FleetView):
    """POST /api/net_stabilization/miners/{miner_id}/{action}, action one of
    `reboot` ({}), `dispatch` ({"included": bool}) or `override` ({"override": "on" | "off" |
    null, "mhz"?: number, "powerTargetW"?: number}); the same as the per-miner actions."""

    url = "/api/net_stabilization/miners/{miner_id}/{action}"
    name = "api:net_stabilization:miner:action"

    async def post(self, request: web.Request, miner_id: str, action: str) -> web.Response:
        """Run one per-miner command."""
        command = await self._command(request)
        if isinstance(command, web.Response):
            return command
        fleet, data, who = command
        wanted = _MAC_SEPARATORS.sub("", miner_id).upper()
        mac = next(
            (m.mac for m in fleet.controller.snapshot.miners if m.mac.replace(":", "") == wanted),
            None,
        )
        if mac is None:
            return _refusal(HTTPStatus.NOT_FOUND, f"no miner {miner_id[:40]}")
        run: Callable[[FleetController], Awaitable[CommandResult]]
        if action == "reboot":
            run = lambda f: f.reboot_miner(mac, source=SOURCE_API)  # noqa: E731
        elif action == "dispatch":
            if not isinstance(data.get("included"), bool):
                return _refusal(HTTPStatus.BAD_REQUEST, "included must be true or false")
            included: bool = data["included"]
            if included:
                await fleet.coordinator.async_command(
                    lambda f: f.set_miner_override(mac, None, source=SOURCE_API),
                    raise_on_refusal=False,
                    caller=who,
                )
            run = lambda f: f.set_excluded(mac, not included, source=SOURCE_API)  # noqa: E731
        elif action == "override":
            override, mhz, power_w = data.get("override"), data.get("mhz"), data.get("powerTargetW")
            run = lambda f: f.set_miner_override(  # noqa: E731
                mac, override, source=SOURCE_API, mhz=mhz, power_w=power_w
            )
        else:
            return _refusal(HTTPStatus.NOT_FOUND, f"no action {action[:40]}")
        result = await fleet.coordinator.async_command(run, raise_on_refusal=False, caller=who)
        return _command_response(result)


class FleetOverrideView(_FleetView):
    """POST /api/net_stabilization/override {"enabled": bool, "target_power_kw"?: number}."""

    url = "/api/net_stabilization/override"
    name = "api:net_stabilization:override"

    async def post(self, request: web.Request) -> web.Response:
        """Switch the manual override."""
        command = await self._command(request)
        if isinstance(command, web.Response):
            return command
        fleet, data, who = command
        if "enabled" not in data:
            return _refusal(HTTPStatus.BAD_REQUEST, "enabled is missing")
        enabled, target = data["enabled"], data.get("target_power_kw")
        coordinator = fleet.coordinator
        requested = target if enabled is True else None
        result = await coordinator.async_command(
            lambda f: f.set_override(
                enabled, coordinator.override.target_for(enabled is True, requested), SOURCE_API
            ),
            raise_on_refusal=False,
            caller=who,
        )
        if result.accepted and isinstance(target, int | float) and not isinstance(target, bool):
            coordinator.override.taken(float(target))
        return _command_response(result)


class FleetPowerModeView(_FleetView):
    """GET/POST /api/net_stabilization/power-mode {"mode": "on_off" | "frequency"}."""

    url = "/api/net_stabilization/power-mode"
    name = "api:net_stabilization:power-mode"

    async def get(self, request: web.Request) -> web.Response:
        """The mode in force."""
        fleet = self._fleet(request)
        return self.json({"mode": fleet.controller.snapshot.mode.value})

    async def post(self, request: web.Request) -> web.Response:
        """Change the mode."""
        command = await self._command(request)
        if isinstance(command, web.Response):
            return command
        fleet, data, who = command
        mode = data.get("mode")
        result = await fleet.coordinator.async_command(
            lambda f: f.set_mode(mode, source=SOURCE_API), raise_on_refusal=False, caller=who
        )
        return _command_response(result)


class FleetHistoryView(_FleetView):
    """GET /api/net_stabilization/history?limit=N: commands, newest first."""

    url = "/api/net_stabilization/history"
    name = "api:net_stabilization:history"

    async def get(self, request: web.Request) -> web.Response:
        """The command history from the fleet database."""
        fleet = self._fleet(request)
        raw = request.query.get("limit", "50")
        try:
            limit = int(raw)
        except ValueError:
            return self.json_message("limit must be a whole number", HTTPStatus.BAD_REQUEST)
        if not 1 <= limit <= 10_000:
            return self.json_message("limit must be from 1 to 10000", HTTPStatus.BAD_REQUEST)
        commands = await fleet.store.recent_commands(limit)
        return self.json([command_json(c) for c in commands])


class FleetScanView(_FleetView):
    """POST /api/net_stabilization/scan: rescan the networks now."""

    url = "/api/net_stabilization/scan"
    name = "api:net_stabilization:scan"

    async def post(self, request: web.Request) -> web.Response:
        """Scan and report what was found."""
        self._require_admin(request)
        fleet = self._fleet(request)
        try:
            await fleet.async_rescan()
        except Exception as err:
            return self.json_message(f"scan failed: {err}", HTTPStatus.INTERNAL_SERVER_ERROR)
        result = fleet.scanning.last_scan
        assert result is not None
        return self.json(
            {
                "miners": len(result.miners),
                "new_total": fleet.controller.snapshot.miners_total,
                "auth_failed": [f.endpoint.host for f in result.auth_failed],
                "unsupported": [
                    {"host": f.endpoint.host, "detail": f.detail} for f in result.unsupported
                ],
                "addresses_scanned": result.addresses_scanned,
                "duration_s": round(result.duration_s, 2),
            }
        )


async def _last_ems_command(fleet: FleetRuntime) -> CommandRecord | None:
    last = fleet.controller.snapshot.last_command
    if last is not None and last.source == SOURCE_EMS:
        return last
    for command in await fleet.store.recent_commands(50):
        if command.source == SOURCE_EMS:
            return command
    return None


__all__ = ["DOMAIN", "async_register_views"]
