"""HTTP: the EMS contract (status, activate, deactivate) and the fleet JSON API.

Views are registered once at integration setup, because Home Assistant cannot unregister a view;
each request looks up the loaded fleet and answers 503 while there is none. Status is served
from the fleet's cached snapshot and never waits on a miner; commands answer as soon as their
orders are handed to the background.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.http import KEY_AUTHENTICATED, KEY_HASS, HomeAssistantView

from .const import CONF_EMS_NETWORKS, DOMAIN
from .core.fleet import CommandRecord, CommandResult, CommandSource
from .runtime import FleetRuntime
from .services import loaded_runtime
from .wire import command_json, fleet_status_json, miner_json

SOURCE_EMS = CommandSource.EMS
SOURCE_API = CommandSource.API
# Commands are a few bytes; anything much larger is not an EMS talking to us.
MAX_BODY_BYTES = 16 * 1024
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
    ):
        hass.http.register_view(view())


def _runtime(request: web.Request) -> FleetRuntime | None:
    return loaded_runtime(request.app[KEY_HASS])


def _client_allowed(request: web.Request, networks: Iterable[str]) -> bool:
    """Token-less EMS access: only from the configured networks, judged by the TCP peer.

    `request.remote` is the peer unless Home Assistant itself is configured to trust a proxy;
    X-Forwarded-For is never read here.
    """
    if request.remote is None:
        return False
    try:
        client = ipaddress.ip_address(request.remote)
    except ValueError:
        return False
    for text in networks:
        try:
            if client in ipaddress.ip_network(text, strict=False):
                return True
        except ValueError:
            continue
    return False


def _command_response(result: CommandResult) -> web.Response:
    return web.json_response(result.as_json(), status=result.http_status)


async def _read_json_object(request: web.Request) -> dict[str, Any] | str:
    """The body as a JSON object, or a message saying what is wrong with it."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return f"body larger than {MAX_BODY_BYTES} bytes"
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return f"body larger than {MAX_BODY_BYTES} bytes"
    try:
        data = json.loads(body)
    except UnicodeDecodeError, ValueError:
        return "body is not valid JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object"
    return data


class _EmsView(HomeAssistantView):
    """The three EMS paths: Home Assistant token, or a client in the EMS networks."""

    requires_auth = False  # checked here, so the EMS networks option can waive the token

    def _check(self, request: web.Request) -> tuple[FleetRuntime | None, web.Response | None]:
        runtime = _runtime(request)
        networks = runtime.options.get(CONF_EMS_NETWORKS, []) if runtime else []
        if not request.get(KEY_AUTHENTICATED) and not _client_allowed(request, networks):
            return None, web.json_response(
                {"accepted": False, "message": "unauthorized"}, status=HTTPStatus.UNAUTHORIZED
            )
        if runtime is None:
            return None, web.json_response(
                {"accepted": False, "message": NOT_LOADED},
                status=HTTPStatus.SERVICE_UNAVAILABLE,
            )
        return runtime, None


class EmsStatusView(_EmsView):
    """GET /api/status: exactly the contract's four keys, from the cached snapshot."""

    url = "/api/net_stabilization/ems/status"
    extra_urls = ["/api/status"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:status"

    async def get(self, request: web.Request) -> web.Response:
        """Serve the status."""
        runtime, refusal = self._check(request)
        if refusal is not None:
            return refusal
        assert runtime is not None
        return web.json_response(runtime.controller.snapshot.ems_status())


class EmsActivateView(_EmsView):
    """POST /api/activate {"activationPowerInKw": P}."""

    url = "/api/net_stabilization/ems/activate"
    extra_urls = ["/api/activate"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:activate"

    async def post(self, request: web.Request) -> web.Response:
        """Validate, plan, record, dispatch in the background, answer."""
        runtime, refusal = self._check(request)
        if refusal is not None:
            return refusal
        assert runtime is not None
        data = await _read_json_object(request)
        if isinstance(data, str):
            return web.json_response({"accepted": False, "message": data}, status=400)
        if "activationPowerInKw" not in data:
            return web.json_response(
                {"accepted": False, "message": "activationPowerInKw is missing"}, status=400
            )
        power = data["activationPowerInKw"]
        result = await runtime.coordinator.async_command(
            lambda fleet: fleet.activate(power, source=SOURCE_EMS), raise_on_refusal=False
        )
        return _command_response(result)


class EmsDeactivateView(_EmsView):
    """POST /api/deactivate: idempotent; any body (or none) is fine."""

    url = "/api/net_stabilization/ems/deactivate"
    extra_urls = ["/api/deactivate"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:deactivate"

    async def post(self, request: web.Request) -> web.Response:
        """Put every miner the fleet dispatched to sleep."""
        runtime, refusal = self._check(request)
        if refusal is not None:
            return refusal
        assert runtime is not None
        # Shedding load must never fail on a malformed body: the body carries nothing we need.
        result = await runtime.coordinator.async_command(
            lambda fleet: fleet.deactivate(source=SOURCE_EMS), raise_on_refusal=False
        )
        return _command_response(result)


class _FleetView(HomeAssistantView):
    """The fleet JSON API: Home Assistant authentication; control needs an admin."""

    requires_auth = True

    def _fleet(self, request: web.Request) -> FleetRuntime | web.Response:
        runtime = _runtime(request)
        if runtime is None:
            return self.json_message(NOT_LOADED, HTTPStatus.SERVICE_UNAVAILABLE)
        return runtime

    @staticmethod
    def _require_admin(request: web.Request) -> None:
        user = request.get("hass_user")
        if user is None or not user.is_admin:
            raise Unauthorized

    async def _command(
        self, request: web.Request
    ) -> tuple[FleetRuntime, dict[str, Any]] | web.Response:
        """A control request: admin only, a loaded fleet, and a JSON object as body."""
        self._require_admin(request)
        fleet = self._fleet(request)
        if isinstance(fleet, web.Response):
            return fleet
        data = await _read_json_object(request)
        if isinstance(data, str):
            return web.json_response({"accepted": False, "message": data}, status=400)
        return fleet, data


class FleetStatusView(_FleetView):
    """GET /api/net_stabilization/status."""

    url = "/api/net_stabilization/status"
    name = "api:net_stabilization:status"

    async def get(self, request: web.Request) -> web.Response:
        """The detailed fleet status."""
        fleet = self._fleet(request)
        if isinstance(fleet, web.Response):
            return fleet
        last_ems = await _last_ems_command(fleet)
        problems = [] if fleet.store.problem is None else [f"database: {fleet.store.problem.value}"]
        return self.json(fleet_status_json(fleet.controller.snapshot, last_ems, problems))


class FleetMinersView(_FleetView):
    """GET /api/net_stabilization/miners."""

    url = "/api/net_stabilization/miners"
    name = "api:net_stabilization:miners"

    async def get(self, request: web.Request) -> web.Response:
        """Every miner."""
        fleet = self._fleet(request)
        if isinstance(fleet, web.Response):
            return fleet
        return self.json([miner_json(m) for m in fleet.controller.snapshot.miners])


class FleetMinerView(_FleetView):
    """GET /api/net_stabilization/miners/{miner_id} (MAC, with or without separators)."""

    url = "/api/net_stabilization/miners/{miner_id}"
    name = "api:net_stabilization:miner"

    async def get(self, request: web.Request, miner_id: str) -> web.Response:
        """One miner."""
        fleet = self._fleet(request)
        if isinstance(fleet, web.Response):
            return fleet
        wanted = _MAC_SEPARATORS.sub("", miner_id).upper()
        for miner in fleet.controller.snapshot.miners:
            if _MAC_SEPARATORS.sub("", miner.mac).upper() == wanted:
                return self.json(miner_json(miner))
        return self.json_message(f"no miner {miner_id}", HTTPStatus.NOT_FOUND)


class FleetOverrideView(_FleetView):
    """POST /api/net_stabilization/override {"enabled": bool, "target_power_kw"?: number}."""

    url = "/api/net_stabilization/override"
    name = "api:net_stabilization:override"

    async def post(self, request: web.Request) -> web.Response:
        """Switch the manual override."""
        command = await self._command(request)
        if isinstance(command, web.Response):
            return command
        fleet, data = command
        if "enabled" not in data:
            return web.json_response(
                {"accepted": False, "message": "enabled is missing"}, status=400
            )
        enabled, target = data["enabled"], data.get("target_power_kw")
        coordinator = fleet.coordinator
        requested = target if enabled is True else None
        result = await coordinator.async_command(
            lambda f: f.set_override(
                enabled, coordinator.override.target_for(enabled is True, requested), SOURCE_API
            ),
            raise_on_refusal=False,
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
        if isinstance(fleet, web.Response):
            return fleet
        return self.json({"mode": fleet.controller.snapshot.mode.value})

    async def post(self, request: web.Request) -> web.Response:
        """Change the mode."""
        command = await self._command(request)
        if isinstance(command, web.Response):
            return command
        fleet, data = command
        mode = data.get("mode")
        result = await fleet.coordinator.async_command(
            lambda f: f.set_mode(mode, source=SOURCE_API), raise_on_refusal=False
        )
        return _command_response(result)


class FleetHistoryView(_FleetView):
    """GET /api/net_stabilization/history?limit=N: commands, newest first."""

    url = "/api/net_stabilization/history"
    name = "api:net_stabilization:history"

    async def get(self, request: web.Request) -> web.Response:
        """The command history from the fleet database."""
        fleet = self._fleet(request)
        if isinstance(fleet, web.Response):
            return fleet
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
        if isinstance(fleet, web.Response):
            return fleet
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
