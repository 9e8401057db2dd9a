"""What Braiins OS+ says about one `ModernMiner`: REST reply bodies (the public API's OpenAPI
shapes, enums as integers) and the cgminer-compatible replies of port 4028.

Simplifications (assumptions): the firmware's approximated consumption is the true wall power
rounded to a watt; the real hashrate of every window is the instantaneous one; bosminer comes up
at the end of the boot and keeps running while paused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .modern import BOARDS, ModernMiner

BOS_RELEASE = "25.07"
BOS_VERSION = f"2025-07-15-0-6e3f09a1-{BOS_RELEASE}-plus"
BOSER_VERSION = "boser-buildroot 0.1.0-6e3f09a1"
API_VERSION = {"major": 1, "minor": 7, "patch": 0}
TOKEN_TIMEOUT_S = 3600
CHIPS_PER_BOARD = 126  # an S19j Pro board (BM1362)
KERNEL_VERSION = "Linux 5.10.0 armv7l"
# MinerStatus of the details (deprecated, still served).
STATUS_NORMAL, STATUS_PAUSED, STATUS_SUSPENDED = 2, 3, 4
TUNER_STABLE, TUNER_TUNING = 2, 3  # `TunerState` values
_BRAND_ANTMINER = 1
_SENSOR_CHIP = 2
_MINING_VOLT = (12.2, 14.0)  # board voltage at the lowest and highest target (assumption)


def _uid(miner: ModernMiner) -> str:
    return hashlib.sha256(f"{miner.serial}:uid".encode()).hexdigest()[:16]


def bosminer_uptime_s(miner: ModernMiner) -> int:
    """Seconds since bosminer started: the end of the last boot."""
    return max(0, miner.uptime_s - round(miner.spec.boot_s))


def status_code(miner: ModernMiner) -> int:
    """The deprecated `status` number."""
    state = miner.machine_state
    if state == "paused":
        return STATUS_PAUSED if miner.paused_by_user else STATUS_SUSPENDED
    return STATUS_NORMAL


def detailed_status(miner: ModernMiner) -> dict[str, Any]:
    """`detailed_status`: which lifecycle phase, and why."""
    state = miner.machine_state
    if state == "paused" and miner.paused_by_user:
        status: dict[str, Any] = {"stopped": {"reason": {"user_pause": {}}}}
    elif state == "paused":
        message = miner.last_error or "hashboards stopped"
        status = {"stopped": {"reason": {"hardware_error": {"message": message}}}}
    elif state == "starting":
        status = {"starting": {"reason": {"none": {}}}}
    else:
        status = {"running": {"reason": {"normal": {}}}}
    return {"status": status, "status_since": None, "status_until": None}


def details(miner: ModernMiner) -> dict[str, Any]:
    """`GET /api/v1/miner/details`."""
    uptime = miner.uptime_s
    return {
        "uid": _uid(miner),
        "miner_identity": {
            "brand": _BRAND_ANTMINER,
            "model": 0,
            "name": miner.spec.model,
            "miner_model": miner.spec.model,
        },
        "platform": 2,
        "bos_mode": 2,
        "bos_version": {"current": BOS_VERSION, "major": BOS_RELEASE, "bos_plus": True},
        "hostname": miner.hostname,
        "mac_address": miner.mac.lower(),
        "system_uptime": uptime,
        "system_uptime_s": uptime,
        "bosminer_uptime_s": bosminer_uptime_s(miner),
        "status": status_code(miner),
        "detailed_status": detailed_status(miner),
        "kernel_version": KERNEL_VERSION,
        "control_board_soc_family": 1,
        "serial_number": miner.serial,
        "sticker_hashrate": {"gigahash_per_second": miner.spec.nominal_ths * 1000.0},
    }


def _ghs(ths: float) -> dict[str, float]:
    return {"gigahash_per_second": round(ths * 1000.0, 3)}


def _real_hashrate(ths: float) -> dict[str, Any]:
    windows = ("last_5s", "last_15s", "last_30s", "last_1m", "last_5m", "last_15m", "last_30m")
    return {window: _ghs(ths) for window in windows}


def _solver_stats(ths: float, nominal_ths: float) -> dict[str, Any]:
    return {
        "real_hashrate": _real_hashrate(ths),
        "nominal_hashrate": _ghs(nominal_ths),
        "error_hashrate": {"megahash_per_second": 0.0},
        "found_blocks": 0,
        "best_share": 0,
        "best_share_str": "0",
    }


def stats(miner: ModernMiner) -> dict[str, Any]:
    """`GET /api/v1/miner/stats`."""
    ths = miner.hashrate_ths
    watts = round(miner.power_w)
    power: dict[str, Any] = {"approximated_consumption": {"watt": watts}, "efficiency": None}
    if ths > 0:
        power["efficiency"] = {"joule_per_terahash": round(watts / ths, 2)}
    shares = int(miner.total_th * 0.004)  # a made-up share rate, for plausible counters
    return {
        "miner_stats": _solver_stats(ths, ths),
        "pool_stats": {
            "accepted_shares": shares,
            "rejected_shares": shares // 500,
            "stale_shares": 0,
            "last_difficulty": 65536,
            "best_share": 0,
            "best_share_str": "0",
            "generated_work": shares * 4,
        },
        "power_stats": power,
    }


def _board_volt(miner: ModernMiner) -> float:
    spec = miner.spec
    share = (miner.target_w - spec.min_w) / max(1.0, spec.max_w - spec.min_w)
    low, high = _MINING_VOLT
    return round(low + (high - low) * min(1.0, max(0.0, share)), 2)


def hashboards(miner: ModernMiner) -> dict[str, Any]:
    """`GET /api/v1/miner/hw/hashboards`."""
    hashing = miner.hashing
    chip_temps = miner.board_chip_temps()
    board_temps = miner.board_temps()
    rates = miner.board_hashrates_ths()
    frequency = miner.frequency_mhz
    boards = []
    for i in range(BOARDS):
        boards.append(
            {
                "id": str(i + 1),
                "enabled": True,
                "board_name": "BHB42601",
                "model": "S19j Pro",
                "chip_type": "BM1362",
                "chips_count": CHIPS_PER_BOARD,
                "serial_number": f"{miner.serial}-{i + 1}",
                "current_frequency": {"hertz": frequency * 1e6} if hashing else None,
                "current_voltage": {"volt": _board_volt(miner)} if hashing else None,
                "board_temp": {"degree_c": round(board_temps[i], 1)},
                "highest_chip_temp": {
                    "location": _SENSOR_CHIP,
                    "id": i,
                    "temperature": {"degree_c": round(chip_temps[i], 1)},
                },
                "lowest_inlet_temp": None,
                "highest_outlet_temp": None,
                "stats": _solver_stats(rates[i], rates[i]),
            }
        )
    return {"hashboards": boards}


def cooling(miner: ModernMiner) -> dict[str, Any]:
    """`GET /api/v1/cooling/state`."""
    rpms = miner.fan_rpms()
    return {
        "fans": [
            {"position": i, "rpm": rpm, "target_speed_ratio": round(min(1.0, rpm / 6600), 2)}
            for i, rpm in enumerate(rpms)
        ],
        "highest_temperature": {
            "location": _SENSOR_CHIP,
            "temperature": {"degree_c": round(miner.chip_temp_c, 1)},
        },
    }


def constraints(miner: ModernMiner) -> dict[str, Any]:
    """`GET /api/v1/configuration/constraints` (the parts a power-target client reads)."""
    spec = miner.spec
    return {
        "tuner_constraints": {
            "default_mode": 1,
            "enabled": {"default": True},
            "power_target": {
                "min": {"watt": round(spec.min_w)},
                "default": {"watt": round(spec.nominal_w)},
                "max": {"watt": round(spec.max_w)},
            },
            "hashrate_target": None,
        },
        "hashboards_constraints": {
            "hashboard_ids": [str(i + 1) for i in range(BOARDS)],
            "quick_ramping_time_s": {"default": round(spec.ramp_s), "min": 0, "max": 600},
        },
        "dps_constraints": None,
        "cooling_constraints": None,
    }


def tuner_word(miner: ModernMiner) -> int:
    """`overall_tuner_state` (`TunerState` of `braiins/bos-plus-api`): STABLE, or TUNING while
    the boards come up or the power still moves to the target, held steps included.

    The record shows a new target reached in steps held for minutes, the web interface saying
    "Stabilizing temperature" meanwhile (hass-miner issue 586); it does not show whether the
    REST API's tuner state says TUNING then. So that varies per miner (`words_ramp`): some
    say TUNING on the way, the others STABLE throughout.
    """
    return TUNER_TUNING if miner.words_ramp and miner.ramping else TUNER_STABLE


def tuner_state(miner: ModernMiner) -> dict[str, Any]:
    """`GET /api/v1/performance/tuner-state`."""
    target = {"watt": round(miner.target_w)}
    return {
        "overall_tuner_state": tuner_word(miner),
        "mode_state": {"powertargetmodestate": {"current_target": target, "profile": None}},
    }


# ------------------------------------------------------------------ port 4028


def api_status(miner: ModernMiner, code: int, msg: str, kind: str = "S") -> dict[str, Any]:
    """One STATUS entry as BOSer writes it."""
    return {
        "STATUS": kind,
        "When": int(miner.clock.wall()),
        "Code": code,
        "Msg": msg,
        "Description": f"BOSer {BOSER_VERSION}",
    }


def api_version(miner: ModernMiner) -> dict[str, Any]:
    """`version`: the `BOSer` key is how scanners recognise the firmware."""
    return {
        "STATUS": [api_status(miner, 22, "BOSer versions")],
        "VERSION": [{"BOSer": BOSER_VERSION, "API": "3.7"}],
        "id": 1,
    }


def api_summary(miner: ModernMiner) -> dict[str, Any]:
    """`summary`: hashrate in MH/s, as cgminer writes it."""
    mhs = round(miner.hashrate_ths * 1e6, 2)
    elapsed = bosminer_uptime_s(miner)
    accepted = int(miner.total_th * 0.004)
    entry = {
        "Elapsed": elapsed,
        "MHS av": mhs,
        "MHS 5s": mhs,
        "MHS 1m": mhs,
        "MHS 5m": mhs,
        "MHS 15m": mhs,
        "Accepted": accepted,
        "Rejected": accepted // 500,
        "Hardware Errors": 0,
        "Utility": round(accepted / max(1, elapsed) * 60, 2),
        "Stale": 0,
        "Best Share": 0,
        "Device Hardware%": 0.0,
        "Device Rejected%": 0.0,
        "Pool Rejected%": 0.0,
        "Pool Stale%": 0.0,
        "Last getwork": int(miner.clock.wall()) if miner.hashing else 0,
    }
    return {"STATUS": [api_status(miner, 11, "Summary")], "SUMMARY": [entry], "id": 1}


def api_devdetails(miner: ModernMiner) -> dict[str, Any]:
    """`devdetails`: one entry per hash board, with the model."""
    items = [
        {
            "DEVDETAILS": i,
            "Name": "Hashboard",
            "ID": i,
            "Driver": "bosminer",
            "Kernel": "",
            "Model": miner.spec.model,
            "Chips": CHIPS_PER_BOARD,
        }
        for i in range(BOARDS)
    ]
    return {"STATUS": [api_status(miner, 69, "Device Details")], "DEVDETAILS": items, "id": 1}


def api_fans(miner: ModernMiner) -> dict[str, Any]:
    """`fans`."""
    fans = [
        {"FAN": i, "ID": i, "RPM": rpm, "Speed": round(min(100, rpm / 66))}
        for i, rpm in enumerate(miner.fan_rpms())
    ]
    return {"STATUS": [api_status(miner, 202, f"{len(fans)} Fan(s)")], "FANS": fans, "id": 1}


API_REPORTS = {
    "version": api_version,
    "summary": api_summary,
    "devdetails": api_devdetails,
    "fans": api_fans,
}
