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
from .coordinator import FleetCoordinator
from .core.fleet import CommandRecord, CommandResult, FleetSnapshot, MinerSnapshot, MinerState
from .services import loaded_coordinator

SOURCE_EMS = "ems"
SOURCE_API = "api"
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


def _coordinator(request: web.Request) -> FleetCoordinator | None:
    return loaded_coordinator(request.app[KEY_HASS])


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

    def _check(self, request: web.Request) -> tuple[FleetCoordinator | None, web.Response | None]:
        coordinator = _coordinator(request)
        networks = coordinator.options.get(CONF_EMS_NETWORKS, []) if coordinator else []
        if not request.get(KEY_AUTHENTICATED) and not _client_allowed(request, networks):
            return None, web.json_response(
                {"accepted": False, "message": "unauthorized"}, status=HTTPStatus.UNAUTHORIZED
            )
        if coordinator is None:
            return None, web.json_response(
                {"accepted": False, "message": NOT_LOADED},
                status=HTTPStatus.SERVICE_UNAVAILABLE,
            )
        return coordinator, None


class EmsStatusView(_EmsView):
    """GET /api/status: exactly the contract's four keys, from the cached snapshot."""

    url = "/api/net_stabilization/ems/status"
    extra_urls = ["/api/status"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:status"

    async def get(self, request: web.Request) -> web.Response:
        """Serve the status."""
        coordinator, refusal = self._check(request)
        if refusal is not None:
            return refusal
        assert coordinator is not None
        return web.json_response(coordinator.controller.snapshot.ems_status())


class EmsActivateView(_EmsView):
    """POST /api/activate {"activationPowerInKw": P}."""

    url = "/api/net_stabilization/ems/activate"
    extra_urls = ["/api/activate"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:activate"

    async def post(self, request: web.Request) -> web.Response:
        """Validate, plan, record, dispatch in the background, answer."""
        coordinator, refusal = self._check(request)
        if refusal is not None:
            return refusal
        assert coordinator is not None
        data = await _read_json_object(request)
        if isinstance(data, str):
            return web.json_response({"accepted": False, "message": data}, status=400)
        if "activationPowerInKw" not in data:
            return web.json_response(
                {"accepted": False, "message": "activationPowerInKw is missing"}, status=400
            )
        result = await coordinator.controller.activate(
            data["activationPowerInKw"], source=SOURCE_EMS
        )
        coordinator.publish()
        return _command_response(result)


class EmsDeactivateView(_EmsView):
    """POST /api/deactivate: idempotent; any body (or none) is fine."""

    url = "/api/net_stabilization/ems/deactivate"
    extra_urls = ["/api/deactivate"]  # noqa: RUF012 - the view API wants a list
    name = "api:net_stabilization:ems:deactivate"

    async def post(self, request: web.Request) -> web.Response:
        """Put every miner the fleet dispatched to sleep."""
        coordinator, refusal = self._check(request)
        if refusal is not None:
            return refusal
        assert coordinator is not None
        # Shedding load must never fail on a malformed body: the body carries nothing we need.
        result = await coordinator.controller.deactivate(source=SOURCE_EMS)
        coordinator.publish()
        return _command_response(result)


class _FleetView(HomeAssistantView):
    """The fleet JSON API: Home Assistant authentication; control needs an admin."""

    requires_auth = True

    def _fleet(self, request: web.Request) -> FleetCoordinator | web.Response:
        coordinator = _coordinator(request)
        if coordinator is None:
            return self.json_message(NOT_LOADED, HTTPStatus.SERVICE_UNAVAILABLE)
        return coordinator

    @staticmethod
    def _require_admin(request: web.Request) -> None:
        user = request.get("hass_user")
        if user is None or not user.is_admin:
            raise Unauthorized

    async def _command(
        self, request: web.Request
    ) -> tuple[FleetCoordinator, dict[str, Any]] | web.Response:
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
        return self.json(fleet_status(fleet.controller.snapshot, last_ems, fleet))


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
        target = data.get("target_power_kw")
        if data["enabled"] is True and target is None:
            target = fleet.override_setpoint_kw
        result = await fleet.controller.set_override(data["enabled"], target, source=SOURCE_API)
        if result.accepted and isinstance(target, int | float) and not isinstance(target, bool):
            fleet.override_setpoint_kw = float(target)
        fleet.publish()
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
        return self.json({"mode": fleet.controller.mode.value})

    async def post(self, request: web.Request) -> web.Response:
        """Change the mode."""
        command = await self._command(request)
        if isinstance(command, web.Response):
            return command
        fleet, data = command
        result = await fleet.controller.set_mode(data.get("mode"), source=SOURCE_API)
        fleet.publish()
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
            result = await fleet.async_rescan()
        except Exception as err:
            return self.json_message(f"scan failed: {err}", HTTPStatus.INTERNAL_SERVER_ERROR)
        fleet.publish()
        return self.json(
            {
                "miners": len(result.miners),
                "new_total": len(fleet.controller.macs),
                "auth_failed": [f.endpoint.host for f in result.auth_failed],
                "unsupported": [
                    {"host": f.endpoint.host, "detail": f.detail} for f in result.unsupported
                ],
                "addresses_scanned": result.addresses_scanned,
                "duration_s": round(result.duration_s, 2),
            }
        )


async def _last_ems_command(fleet: FleetCoordinator) -> CommandRecord | None:
    last = fleet.controller.snapshot.last_command
    if last is not None and last.source == SOURCE_EMS:
        return last
    for command in await fleet.store.recent_commands(50):
        if command.source == SOURCE_EMS:
            return command
    return None


def fleet_status(
    snapshot: FleetSnapshot, last_ems: CommandRecord | None, fleet: FleetCoordinator
) -> dict[str, Any]:
    """The detailed status document."""
    counts: dict[str, int] = dict.fromkeys((s.value for s in MinerState), 0)
    for miner in snapshot.miners:
        counts[miner.state.value] += 1
    errors = list(snapshot.faults)
    if fleet.store.problem is not None:
        errors.append(f"database: {fleet.store.problem.value}")
    errors.extend(f"{m.hostname or m.mac}: {m.last_error}" for m in snapshot.miners if m.last_error)
    return {
        "state": snapshot.state.value,
        "isAvailableForDispatch": snapshot.available,
        "runningStatus": int(snapshot.running_status),
        "ratedPowerInKw": snapshot.rated_power_kw,
        "activePowerInKw": snapshot.active_power_kw,
        "targetPowerInKw": snapshot.target_kw,
        "powerSource": snapshot.power_source,
        "mode": snapshot.mode.value,
        "dispatchEnabled": snapshot.dispatch_enabled,
        "override": {
            "enabled": snapshot.override_enabled,
            "targetPowerInKw": snapshot.override_target_kw,
        },
        "plan": snapshot.plan_summary,
        "hashrateThs": snapshot.hashrate_ths,
        "miners": {
            "total": snapshot.miners_total,
            "online": snapshot.miners_online,
            "mining": snapshot.miners_mining,
            "dispatchable": snapshot.miners_dispatchable,
            "byState": counts,
        },
        "lastUpdate": snapshot.updated_at.isoformat(),
        "lastEmsCommand": command_json(last_ems) if last_ems else None,
        "errors": errors[:100],
    }


def miner_json(miner: MinerSnapshot) -> dict[str, Any]:
    """One miner for the fleet API."""
    return {
        "id": miner.mac,
        "mac": miner.mac,
        "host": miner.host,
        "name": miner.hostname,
        "model": miner.model,
        "firmware": miner.firmware,
        "online": miner.state is not MinerState.OFFLINE,
        "state": miner.state.value,
        "mining": miner.state is MinerState.MINING,
        "powerW": None if miner.stale else round(miner.consumption_w, 1),
        "reportedPowerW": miner.power_w,
        "hashrateThs": miner.hashrate_ths,
        "frequencyMhz": miner.frequency_mhz,
        "targetFrequencyMhz": miner.target_mhz,
        "chipTempC": miner.chip_temp_c,
        "dispatchable": miner.dispatchable,
        "dispatched": miner.dispatched,
        "excluded": miner.excluded,
        "override": miner.override.value if miner.override else None,
        "overheated": miner.overheated,
        "wakeFailures": miner.wake_failures,
        "lastError": miner.last_error,
    }


def command_json(command: CommandRecord) -> dict[str, Any]:
    """One command of the history."""
    return {
        "timestamp": command.timestamp.isoformat(),
        "source": command.source,
        "command": command.command,
        "parameters": dict(command.parameters),
        "accepted": command.accepted,
        "reason": command.reason,
        "message": command.message,
        "plan": command.plan_summary,
    }


__all__ = ["DOMAIN", "async_register_views"]
