"""cgminer-API replies of the firmware families the read-only driver reads, written from their
documented formats (key names, value types and layouts as the firmwares print them); numbers
are plausible values, not captures. Each function builds fresh dicts, so tests may change them.
"""

from __future__ import annotations

from typing import Any

type Reply = dict[str, Any]


def status(code: int, msg: str, description: str) -> list[dict[str, Any]]:
    return [
        {"STATUS": "S", "When": 1700000000, "Code": code, "Msg": msg, "Description": description}
    ]


def reply(
    key: str, items: list[dict[str, Any]], code: int = 11, msg: str = "", desc: str = ""
) -> Reply:
    return {"STATUS": status(code, msg or key.title(), desc), key: items, "id": 1}


# ------------------------------------------------------------------ Whatsminer (btminer)


def whatsminer_summary(**changes: Any) -> Reply:
    entry = {
        "Elapsed": 20507,
        "MHS av": 87983730.62,
        "MHS 5s": 90423869.64,
        "MHS 1m": 88361423.06,
        "MHS 5m": 88041366.02,
        "MHS 15m": 87969424.09,
        "HS RT": 88041366.02,
        "Accepted": 804,
        "Rejected": 0,
        "Total MH": 225043191209.0,
        "Temperature": 80.0,
        "freq_avg": 646,
        "Fan Speed In": 4530,
        "Fan Speed Out": 4590,
        "Power": 3393,
        "Power Rate": 38.4,
        "Uptime": 20607,
        "Target Freq": 574,
        "Env Temp": 32.0,
        "Power Mode": "Normal",
        "Factory GHS": 88773,
        "Power Limit": 3600,
        "Chip Temp Min": 75.17,
        "Chip Temp Max": 91.25,
        "Chip Temp Avg": 84.6,
        "MAC": "C4:11:04:01:2A:3B",
        "Firmware Version": "'20210322.22.REL'",
    }
    entry.update(changes)
    return reply("SUMMARY", [entry], 11, "Summary", "btminer")


def whatsminer_devs(mhs: float = 29_400_000.0) -> Reply:
    boards = [
        {
            "ASC": i,
            "Slot": i,
            "Enabled": "Y",
            "Status": "Alive",
            "Temperature": 78.0 + i,
            "Chip Frequency": 587 + i,
            "MHS av": mhs,
            "MHS 5s": mhs * 0.9,
            "MHS 1m": mhs,
            "Effective Chips": 156,
            "PCB SN": f"HEM1EP9C40092{i}",
            "Chip Temp Min": 80.5,
            "Chip Temp Max": 90.0 + i,
            "Chip Temp Avg": 88.0,
        }
        for i in range(3)
    ]
    return reply("DEVS", boards, 9, "3 ASC(s)", "btminer")


def whatsminer_devdetails(model: str = "M30S_V20") -> Reply:
    details = [
        {"DEVDETAILS": i, "Name": "SM", "ID": i, "Driver": "bitmicro", "Kernel": "", "Model": model}
        for i in range(3)
    ]
    return reply("DEVDETAILS", details, 69, "Device Details", "btminer")


def whatsminer_miner_info() -> Reply:
    return {
        "STATUS": "S",
        "When": 1700000000,
        "Code": 131,
        "Msg": {"hostname": "WhatsMiner", "mac": "c4-11-04-01-2a-3b", "ledstat": "auto"},
        "Description": "",
    }


# ------------------------------------------------------------------ Braiins OS (BOSminer)


def braiins_replies(description: str = "BOSminer+ 0.2.0-ea64aec8e") -> dict[str, Reply]:
    ids = (6, 7, 8)
    return {
        "version": reply(
            "VERSION",
            [{"BOSminer+": "0.2.0-ea64aec8e", "API": "3.7"}],
            22,
            "BOSminer+ versions",
            description,
        ),
        "summary": reply(
            "SUMMARY",
            [
                {
                    "Elapsed": 7200,
                    "MHS 1m": 13_850_000.0,
                    "MHS 5s": 13_790_000.0,
                    "MHS av": 13_700_000.0,
                }
            ],
            11,
            "Summary",
            description,
        ),
        "devs": reply(
            "DEVS",
            [
                {
                    "ID": i,
                    "Name": f"Hash Chain {i}",
                    "MHS 1m": 4_616_000.0,
                    "Nominal MHS": 4_500_000.0,
                }
                for i in ids
            ],
            9,
            "3 ASC(s)",
            description,
        ),
        "devdetails": reply(
            "DEVDETAILS",
            [
                {
                    "DEVDETAILS": n,
                    "ID": i,
                    "Chips": 63,
                    "Frequency": 650_000_000 + n,
                    "Model": "Bitmain Antminer S9",
                }
                for n, i in enumerate(ids)
            ],
            69,
            "Device Details",
            description,
        ),
        "temps": reply(
            "TEMPS",
            [{"TEMP": n, "ID": i, "Board": 60.0 + n, "Chip": 75.5 + n} for n, i in enumerate(ids)],
            201,
            "3 Temp(s)",
            description,
        ),
        "fans": reply(
            "FANS",
            [
                {"FAN": n, "ID": n, "RPM": rpm, "Speed": 70}
                for n, rpm in enumerate((5340, 4620, 0, 0))
            ],
            202,
            "4 Fan(s)",
            description,
        ),
        "tunerstatus": reply(
            "TUNERSTATUS",
            [
                {
                    "ApproximateChainPowerConsumption": 1344,
                    "ApproximateMinerPowerConsumption": 1419,
                    "PowerLimit": 1420,
                    "TunerChainStatus": [
                        {
                            "HashchainIndex": i,
                            "ApproximatePowerConsumptionWatt": 448,
                            "Status": "Stable",
                        }
                        for i in ids
                    ],
                }
            ],
            203,
            "Tuner Status",
            description,
        ),
    }


# ------------------------------------------------------------------ bmminer-layout stats


def antminer_stats(
    type_string: str,
    software: dict[str, str],
    chains: dict[int, dict[str, Any]],
    **extra: Any,
) -> Reply:
    """`stats` in bmminer's layout: STATS[0] names the software, STATS[1] holds the numbers."""
    head = {**software, "Type": type_string}
    body: dict[str, Any] = {"STATS": 0, "ID": "BC50", "Elapsed": 86400}
    for i in range(1, 17):
        chain = chains.get(i, {})
        body[f"chain_acn{i}"] = chain.get("chips", 0)
        body[f"chain_rate{i}"] = chain.get("rate", "")
        body[f"temp{i}"] = chain.get("pcb", 0)
        body[f"temp2_{i}"] = chain.get("chip", 0)
        for key, value in chain.items():
            if key not in ("chips", "rate", "pcb", "chip"):
                body[f"{key}{i}"] = value
    for i in range(1, 9):
        body[f"fan{i}"] = 0
    body.update(extra)
    return reply("STATS", [head, body], 70, "BMMiner stats", "bmminer 1.0.0")


def stock_s19j_pro() -> dict[str, Reply]:
    software = {"BMMiner": "1.0.0", "Miner": "uart_trans.1.3", "CompileTime": "Mon Jun 7 2021"}
    chains = {
        i: {
            "chips": 126,
            "rate": 33_400.0 + i,
            "temp_pcb": "45-42-47-44",
            "temp_chip": "61-59-63-60",
            "freq": 540,
        }
        for i in (1, 2, 3)
    }
    for chain in chains.values():
        chain["pcb"] = 0  # S19 keeps tempN at zero and reports the series
        chain["chip"] = 0
    stats = antminer_stats(
        "Antminer S19j Pro",
        software,
        chains,
        fan1=5400,
        fan2=5460,
        fan3=5340,
        fan4=5520,
        rate_unit="GH",
        total_rateideal=100_000.0,
        total_rate=100_212.0,
        **{"GHS 5s": "100212.31", "GHS av": 100_101.2},
    )
    return {
        "version": reply(
            "VERSION",
            [{**software, "API": "3.1", "Type": "Antminer S19j Pro"}],
            22,
            "BMMiner versions",
            "bmminer 1.0.0",
        ),
        "summary": reply(
            "SUMMARY",
            [{"Elapsed": 86400, "GHS 5s": "100212.31", "GHS av": 100_101.2}],
            11,
            "Summary",
            "bmminer 1.0.0",
        ),
        "stats": stats,
    }


def luxos_replies() -> dict[str, Reply]:
    software = {"LUXminer": "2024.6.18.181313-3afaf1f", "Miner": "2024.6.18.181313"}
    chains = {
        i: {"chips": 110, "rate": 46_600.0, "temp_chip": "70-68-72-69", "temp_pcb": "55-50-56-52"}
        for i in (1, 2, 3)
    }
    return {
        "version": reply(
            "VERSION",
            [
                {
                    **software,
                    "API": "3.7",
                    "CompileTime": "Tue Jun 18 2024",
                    "Type": "Antminer S19 XP",
                }
            ],
            22,
            "LUXminer versions",
            "LUXminer 2024.6.18",
        ),
        "summary": reply("SUMMARY", [{"Elapsed": 3600, "GHS 5s": 139_900.5, "GHS av": 139_000.0}]),
        "stats": antminer_stats("Antminer S19 XP", software, chains, rate_unit="GH"),
        "power": reply("POWER", [{"Watts": 2998, "PSU": True}], 0, "Power"),
        "fans": reply(
            "FANS",
            [
                {"FAN": n, "ID": n, "RPM": r, "Speed": 60}
                for n, r in enumerate((4800, 4860, 4770, 4830))
            ],
        ),
        "config": reply(
            "CONFIG", [{"MACAddr": "02:aa:bb:cc:dd:ee", "Hostname": "lux-7", "Model": "S19XP"}]
        ),
    }


def vnish_s19_replies() -> dict[str, Reply]:
    software = {"CGMiner": "4.11.1", "Miner": "1.2.6"}
    chains = {
        i: {
            "chips": 76,
            "rate": "31700.10",
            "pcb": 58,
            "chip": 71,
            "chain_consumption": 1030,
            "freq_avg": 585.0,
        }
        for i in (1, 2, 3)
    }
    return {
        "version": reply(
            "VERSION",
            [{**software, "API": "3.7", "Type": "Antminer S19 (vnish 1.2.6)"}],
            22,
            "CGMiner versions",
        ),
        "summary": reply("SUMMARY", [{"Elapsed": 5000, "GHS 5s": "95100.3", "GHS av": 95000.0}]),
        "stats": antminer_stats(
            "Antminer S19 (vnish 1.2.6)", software, chains, fan1=5100, fan2=5200
        ),
    }


def hiveon_replies() -> dict[str, Reply]:
    software = {"BMMiner": "2.0.0", "Miner": "2.0.0"}
    chains = {i: {"chips": 60, "rate": "18700.00", "pcb": 52, "chip": 68} for i in (1, 2, 3)}
    return {
        "version": reply(
            "VERSION",
            [{**software, "API": "3.1", "Type": "Antminer S17 Pro Hiveon"}],
            22,
            "BMMiner versions",
        ),
        "summary": reply("SUMMARY", [{"Elapsed": 9000, "GHS 5s": "56100.5"}]),
        "stats": antminer_stats(
            "Antminer S17 Pro Hiveon",
            software,
            chains,
            chain_power="2080.00 W",
            fan1=4200,
            fan2=4260,
        ),
    }


def mskminer_replies() -> dict[str, Reply]:
    software = {
        "BMMiner": "4.11.1 rwglr",
        "Miner": "0.0.1.3",
        "CompileTime": "10 Dec 2024 14:34:31 GMT",
    }
    chains = {
        i: {"chips": 88, "rate": 33_300.0, "pcb": 45, "chip": 59, "chain_power": 1118, "freq": 734}
        for i in (1, 2, 3)
    }
    return {
        "version": reply(
            "VERSION",
            [{**software, "API": "3.1", "Type": "S19-88 v.2.6.0.39 "}],
            22,
            "BMMiner versions",
        ),
        "summary": reply("SUMMARY", [{"Elapsed": 1926, "GHS 5s": 99_989.59, "GHS av": 99_761.4}]),
        "stats": antminer_stats(
            "S19-88 v.2.6.0.39 ",
            software,
            chains,
            total_power=3358,
            total_rateideal=99_674.88,
            fan1=5010,
            fan2=5160,
        ),
    }


def asicseer_replies() -> dict[str, Reply]:
    software = {"BMMiner": "2.0.0", "Miner": "asicseer 1.2.3"}
    chains = {i: {"chips": 63, "rate": "4500.00", "pcb": 60, "chip": 75} for i in (6, 7, 8)}
    return {
        "version": reply(
            "VERSION", [{**software, "API": "3.1", "Type": "Antminer S9"}], 22, "BMMiner versions"
        ),
        "summary": reply("SUMMARY", [{"Elapsed": 102, "GHS 5s": "13402.14"}]),
        "stats": antminer_stats("Antminer S9", software, chains, fan5=5400, fan6=5880),
    }
