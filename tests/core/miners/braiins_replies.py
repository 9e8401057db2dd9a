"""Braiins OS REST replies written from the shapes of the public API's OpenAPI document (1.7):
field names, nesting and units as documented, values plausible for an S19j Pro."""

from __future__ import annotations

from typing import Any

LOGIN: dict[str, Any] = {"token": "eUInGZBQ4yGyKiDe", "timeout_s": 3600}

DETAILS: dict[str, Any] = {
    "uid": "PuiPCrGshtlJZzzM",
    "miner_identity": {
        "brand": 1,
        "model": 0,
        "name": "Antminer S19J Pro",
        "miner_model": "Antminer S19J Pro",
    },
    "platform": 2,
    "bos_mode": 2,
    "bos_version": {
        "current": "2025-07-15-0-6e3f09a1-25.07-plus",
        "major": "2025-01-10-0-9a0b1c2d-25.01-plus",
        "bos_plus": True,
    },
    "hostname": "s19-rack2-07",
    "mac_address": "6c:79:b8:75:25:cc",
    "system_uptime": 193692,
    "system_uptime_s": 193692,
    "bosminer_uptime_s": 193610,
    "status": 2,
    "detailed_status": {
        "status": {"running": {"reason": {"normal": {}}}},
        "status_since": {"seconds": 1741260910, "nanos": 0},
        "status_until": None,
    },
    "kernel_version": "Linux 5.10.0",
    "control_board_soc_family": 1,
    "serial_number": "JYZZF4BBCJBJF0123",
    "sticker_hashrate": {"gigahash_per_second": 104000.0},
}

# The same message as gRPC's JSON mapping writes it: enum names, 64-bit numbers as strings, and
# (before API 1.7) no detailed status.
DETAILS_GRPC_JSON: dict[str, Any] = {
    "uid": "PuiPCrGshtlJZzzM",
    "miner_identity": {
        "brand": "MINER_BRAND_ANTMINER",
        "model": "MINER_MODEL_ANTMINER_S19J_PRO",
        "name": "Antminer S19J Pro",
    },
    "platform": "PLATFORM_AM3_BBB",
    "bos_mode": "BOS_MODE_SD",
    "bos_version": {
        "current": "2023-05-29-0-1daef48b-23.03.2-plus",
        "major": "2022-09-13-0-11012d53-22.08-plus",
        "bos_plus": True,
    },
    "hostname": "moe",
    "mac_address": "6c:79:b8:75:25:cc",
    "system_uptime": "193692",
    "status": "MINER_STATUS_PAUSED",
}


def _rate(ghs: float) -> dict[str, Any]:
    return {
        "last_5s": {"gigahash_per_second": ghs},
        "last_15s": {"gigahash_per_second": ghs},
        "last_1m": {"gigahash_per_second": ghs},
        "since_restart": {"gigahash_per_second": ghs},
    }


STATS: dict[str, Any] = {
    "miner_stats": {
        "found_blocks": 0,
        "best_share": 12345678,
        "best_share_str": "12345678",
        "real_hashrate": _rate(98650.5),
        "nominal_hashrate": {"gigahash_per_second": 100000.0},
        "error_hashrate": {"megahash_per_second": 120.0},
    },
    "pool_stats": {
        "accepted_shares": 1000,
        "rejected_shares": 2,
        "stale_shares": 0,
        "last_difficulty": 65536,
        "best_share": 12345678,
        "best_share_str": "12345678",
        "generated_work": 5000,
    },
    "power_stats": {
        "approximated_consumption": {"watt": 3046},
        "efficiency": {"joule_per_terahash": 30.9},
    },
}


def _board(board_id: str, chip_c: float, board_c: float, ghs: float) -> dict[str, Any]:
    return {
        "id": board_id,
        "enabled": True,
        "board_name": "BHB42601",
        "chip_type": "BM1362",
        "chips_count": 126,
        "current_frequency": {"hertz": 525_000_000.0},
        "current_voltage": {"volt": 13.6},
        "board_temp": {"degree_c": board_c},
        "highest_chip_temp": {"location": 2, "temperature": {"degree_c": chip_c}},
        "stats": {"real_hashrate": _rate(ghs), "found_blocks": 0, "best_share_str": "0"},
    }


HASHBOARDS: dict[str, Any] = {
    "hashboards": [
        _board("1", 68.5, 57.0, 32900.0),
        _board("2", 71.0, 58.5, 32850.0),
        _board("3", 69.5, 57.5, 32900.5),
    ]
}

COOLING: dict[str, Any] = {
    "fans": [
        {"position": 0, "rpm": 3708, "target_speed_ratio": 0.38},
        {"position": 1, "rpm": 3708, "target_speed_ratio": 0.38},
        {"position": 2, "rpm": 3708, "target_speed_ratio": 0.38},
        {"position": 3, "rpm": 3678, "target_speed_ratio": 0.38},
    ],
    "highest_temperature": {"location": 2, "temperature": {"degree_c": 71.5}},
}

CONSTRAINTS: dict[str, Any] = {
    "tuner_constraints": {
        "default_mode": 1,
        "enabled": {"default": True},
        "power_target": {
            "default": {"watt": 3250},
            "min": {"watt": 1100},
            "max": {"watt": 3700},
        },
        "hashrate_target": {
            "default": {"terahash_per_second": 104.0},
            "min": {"terahash_per_second": 50.0},
            "max": {"terahash_per_second": 120.0},
        },
    },
    "hashboards_constraints": {
        "hashboard_ids": ["1", "2", "3"],
        "quick_ramping_time_s": {"default": 10, "min": 0, "max": 600},
    },
}

TUNER_STATE: dict[str, Any] = {
    "overall_tuner_state": 2,
    "mode_state": {
        "powertargetmodestate": {
            "current_target": {"watt": 3000},
            "profile": {
                "created": {"seconds": 1744000000, "nanos": 0},
                "estimated_power_consumption": {"watt": 3000},
                "measured_hashrate": {"gigahash_per_second": 98000.0},
                "target": {"watt": 3000},
            },
        }
    },
}
