"""The JSON forms of the fleet, its miners and its commands: one place for the fleet API, the
command event and diagnostics."""

from __future__ import annotations

from typing import Any

from .core.fleet import CommandRecord, FleetSnapshot, MinerSnapshot, MinerState


def command_json(command: CommandRecord) -> dict[str, Any]:
    """One command of the history (`repeats`: identical refusals counted in this row;
    `stored_late_s`: answered before the database could store it, stored that much later)."""
    data: dict[str, Any] = {
        "timestamp": command.timestamp.isoformat(),
        "source": command.source,
        "command": command.command,
        "parameters": dict(command.parameters),
        "accepted": command.accepted,
        "reason": command.reason,
        "message": command.message,
        "plan": command.plan_summary,
    }
    if command.repeats > 1:
        data["repeats"] = command.repeats
    late = command.extra.get("stored_late_s")
    if late is not None:
        data["stored_late_s"] = late
    return data


def command_target_kw(command: CommandRecord) -> float | None:
    """The power a command asked for (0 for a deactivation), if it asked for one."""
    for key in ("activationPowerInKw", "target_power_kw"):
        value = command.parameters.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0 if command.command == "deactivate" else None


def command_event(command: CommandRecord) -> dict[str, Any]:
    """The `net_stabilization_command` event's data."""
    return {
        "source": command.source,
        "command": command.command,
        "parameters": dict(command.parameters),
        "target_kw": command_target_kw(command),
        "accepted": command.accepted,
        "reason": command.reason,
        "message": command.message,
    }


def miner_json(miner: MinerSnapshot) -> dict[str, Any]:
    """One miner for the fleet API."""
    by_frequency = miner.setting_unit == "MHz"
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
        "targetFrequencyMhz": miner.target_setting if by_frequency else None,
        "targetPowerW": None if by_frequency else miner.target_setting,
        "settingUnit": miner.setting_unit,
        "driver": miner.driver,
        "powerSource": miner.power_source,
        "chipTempC": miner.chip_temp_c,
        "dispatchable": miner.dispatchable,
        # False until it has answered a read as its firmware would: not in the rated power.
        "trusted": miner.trusted,
        "dispatched": miner.dispatched,
        "excluded": miner.excluded,
        "override": miner.override.value if miner.override else None,
        "hotReserve": miner.hot,
        "overheated": miner.overheated,
        "wakeFailures": miner.wake_failures,
        "lastError": miner.last_error,
        # The firmware says it is still initialising, ramping or tuning (None: it says nothing).
        "firmwareSettling": miner.settling,
    }


def fleet_status_json(
    snapshot: FleetSnapshot, last_ems: CommandRecord | None, problems: list[str]
) -> dict[str, Any]:
    """The detailed fleet status document; `problems` are the integration's own (database)."""
    counts: dict[str, int] = dict.fromkeys((s.value for s in MinerState), 0)
    for miner in snapshot.miners:
        counts[miner.state.value] += 1
    errors = [*snapshot.faults, *problems]
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
            "untrusted": sum(1 for m in snapshot.miners if not m.trusted),
            "byState": counts,
        },
        "hotReserve": {"miners": snapshot.hot_reserve_miners, "powerW": snapshot.hot_reserve_w},
        "targetSource": snapshot.target_source,
        "siteLimitInKw": snapshot.limit_kw,
        "safetyTrip": snapshot.tripped,
        "strategy": {
            "name": snapshot.strategy,
            "status": snapshot.strategy_status,
            "targetPowerInKw": snapshot.strategy_target_kw,
            "reason": snapshot.strategy_reason,
        },
        "lastUpdate": snapshot.updated_at.isoformat(),
        "lastEmsCommand": command_json(last_ems) if last_ems else None,
        "errors": errors[:100],
    }


def fleet_summary_json(snapshot: FleetSnapshot) -> dict[str, Any]:
    """The fleet without its miners, for diagnostics."""
    return {
        "state": snapshot.state.value,
        "mode": snapshot.mode.value,
        "available": snapshot.available,
        "running_status": int(snapshot.running_status),
        "rated_power_kw": snapshot.rated_power_kw,
        "active_power_kw": snapshot.active_power_kw,
        "target_kw": snapshot.target_kw,
        "dispatch_enabled": snapshot.dispatch_enabled,
        "override_enabled": snapshot.override_enabled,
        "override_target_kw": snapshot.override_target_kw,
        "target_source": snapshot.target_source,
        "site_limit_kw": snapshot.limit_kw,
        "safety_trip": snapshot.tripped,
        "strategy": snapshot.strategy,
        "strategy_status": snapshot.strategy_status,
        "strategy_target_kw": snapshot.strategy_target_kw,
        "strategy_reason": snapshot.strategy_reason,
        "plan_summary": snapshot.plan_summary,
        "hashrate_ths": snapshot.hashrate_ths,
        "power_source": snapshot.power_source,
        "updated_at": snapshot.updated_at.isoformat(),
        "faults": list(snapshot.faults),
        "last_command": command_json(snapshot.last_command) if snapshot.last_command else None,
    }
