"""cgminer report payloads (summary, stats, pools, devs, version) for one miner.

Field names and types follow bmminer on Vnish S9 captures: `GHS 5s` is a string, `GHS av`
a number, chains are 6-8, fans 5-6, and every per-chain key exists for indices 1-16.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import physics
from .identity import (
    API_VERSION,
    BUILD_VERSION,
    CGMINER_VERSION,
    COMPILE_TIME,
    MINER_TYPE,
    MINER_VERSION,
)
from .miner import SimulatedMiner
from .physics import CHAINS, CHIPS_PER_CHAIN

DESCRIPTION = f"cgminer {CGMINER_VERSION}"
DEVFEE_PRIORITY = 993
DEVFEE_SHARE = 0.018  # assumption: Vnish's fee pool gets a small share of the work
_CHAIN_SLOTS = range(1, 17)
_FAN_SLOTS = range(1, 9)
_S9_FANS = (5, 6)
_SLOT_TO_INDEX = {chain: i for i, chain in enumerate(CHAINS)}


def _r2(x: float) -> float:
    return round(x, 2)


def chip_status_string(chips: int) -> str:
    """`chain_acs` text: groups of eight `o` (good chip) with leading spaces."""
    if chips <= 0:
        return ""
    marks = "o" * chips
    return "".join(" " + marks[i : i + 8] for i in range(0, chips, 8))


class MinerReport:
    """A consistent snapshot of one miner, taken once per request."""

    def __init__(self, miner: SimulatedMiner) -> None:
        self.m = miner
        self.elapsed = miner.elapsed_s
        self.hashrate_ghs = miner.hashrate_ths * 1000.0
        self.power_w = miner.power_w
        self.live = miner.live_chains()
        self.chip = miner.chain_chip_temps()
        self.accepted = miner.accepted_shares
        self.rejected = self.accepted // 400
        self.hw = self.accepted // 150
        self.freqs = miner.settings.chain_freqs
        self.volts = miner.chain_voltages()
        self.ghs_av = miner.average_ghs
        # The 5 s average wobbles around the true rate, as on real hardware.
        self.ghs_5s = self.hashrate_ghs * (1.0 + miner.rng.uniform(-0.01, 0.01))
        n_live = sum(self.live) or 1
        weights = [1.0 + off / 300.0 for off in miner.variation.chain_temp_offsets]
        self.chain_rate = [
            self.ghs_5s / n_live * w if ok else 0.0
            for w, ok in zip(weights, self.live, strict=True)
        ]
        estimate = self.power_w * physics.FIRMWARE_ESTIMATE_RATIO / n_live
        self.chain_consumption = [round(estimate) if ok else 0 for ok in self.live]
        hashing = self.hashrate_ghs > 0
        fan = physics.fan_rpm(max(self.chip), hashing, miner.variation.fan_offset)
        self.fans = {5: fan, 6: fan + (480 if hashing else 0)}

    def status(self, code: int, msg: str, kind: str = "S") -> dict[str, Any]:
        """The STATUS object every reply starts with."""
        return {
            "STATUS": kind,
            "When": int(self.m.clock.wall()),
            "Code": code,
            "Msg": msg,
            "Description": DESCRIPTION,
        }

    def version(self) -> list[dict[str, Any]]:
        """VERSION items."""
        return [
            {
                "CGMiner": CGMINER_VERSION,
                "API": API_VERSION,
                "Miner": MINER_VERSION,
                "CompileTime": COMPILE_TIME,
                "Type": MINER_TYPE,
            }
        ]

    def summary(self) -> list[dict[str, Any]]:
        """SUMMARY items."""
        diff_acc = float(self.accepted * 65536)
        total_mh = self.ghs_av * 1000.0 * self.elapsed
        work_util = self.accepted * 65536 / max(self.elapsed, 1) * 60.0
        return [
            {
                "Elapsed": self.elapsed,
                "GHS 5s": f"{self.ghs_5s:.2f}",
                "GHS av": _r2(self.ghs_av),
                "Found Blocks": 0,
                "Getworks": self.elapsed // 30,
                "Accepted": self.accepted,
                "Rejected": self.rejected,
                "Hardware Errors": self.hw,
                "Utility": _r2(self.accepted / max(self.elapsed, 1) * 60.0),
                "Discarded": self.elapsed // 2,
                "Stale": 0,
                "Get Failures": 0,
                "Local Work": self.elapsed * 50,
                "Remote Failures": 0,
                "Network Blocks": self.elapsed // 600,
                "Total MH": _r2(total_mh),
                "Work Utility": _r2(work_util),
                "Difficulty Accepted": diff_acc,
                "Difficulty Rejected": float(self.rejected * 65536),
                "Difficulty Stale": 0.0,
                "Best Share": self.accepted * 9973 + 131072 if self.accepted else 0,
                "Device Hardware%": _r2(self._hw_percent()),
                "Device Rejected%": _r2(self._rej_percent()),
                "Pool Rejected%": _r2(self._rej_percent()),
                "Pool Stale%": 0.0,
                "Last getwork": int(self.m.clock.wall()),
            }
        ]

    def _hw_percent(self) -> float:
        return 100.0 * self.hw / max(self.accepted * 65536, 1) * 4.0

    def _rej_percent(self) -> float:
        return 100.0 * self.rejected / max(self.accepted + self.rejected, 1)

    def stats(self) -> list[dict[str, Any]]:
        """STATS[0] (identity) and STATS[1] (the S9 chain layout)."""
        head = {
            "CGMiner": CGMINER_VERSION,
            "Miner": MINER_VERSION,
            "CompileTime": COMPILE_TIME,
            "Type": MINER_TYPE,
        }
        m = self.m
        body: dict[str, Any] = {
            "STATS": 0,
            "ID": m.identity.chain_id,
            "Elapsed": self.elapsed,
            "Calls": 0,
            "Wait": 0.0,
            "Max": 0.0,
            "Min": 99999999.0,
            "GHS 5s": f"{self.ghs_5s:.2f}",
            "GHS av": _r2(self.ghs_av),
            "miner_count": len(CHAINS),
            "frequency": str(m.settings.freq_setting),
            "fan_num": len(_S9_FANS),
        }
        for n in _FAN_SLOTS:
            body[f"fan{n}"] = self.fans.get(n, 0)
        body["temp_num"] = len(CHAINS)
        self._per_chain(body, "temp{n}", lambda i: round(physics.pcb_temp_c(self.chip[i])), 0)
        self._per_chain(body, "temp2_{n}", lambda i: round(self.chip[i]), 0)
        body["temp_max"] = round(max(self.chip))
        body["Device Hardware%"] = round(self._hw_percent(), 4)
        body["no_matching_work"] = self.hw
        self._per_chain(body, "chain_acn{n}", lambda i: CHIPS_PER_CHAIN, 0)
        self._per_chain(body, "chain_acs{n}", lambda i: chip_status_string(CHIPS_PER_CHAIN), "")
        self._per_chain(body, "chain_hw{n}", lambda i: self.hw // 3, 0)
        # A dead board still has a slot: its rate reads "0.00" while unused slots are "".
        self._per_chain(body, "chain_rate{n}", lambda i: f"{self.chain_rate[i]:.2f}", "", True)
        self._per_chain(
            body, "chain_rateideal{n}", lambda i: _r2(physics.ideal_chain_ghs(self.freqs[i])), 0.0
        )
        self._per_chain(body, "chain_bchips{n}", lambda i: "0", "")
        self._per_chain(body, "chain_vol{n}", lambda i: self.volts[i], 0, True)
        self._per_chain(body, "chain_consumption{n}", lambda i: self.chain_consumption[i], 0, True)
        self._per_chain(body, "freq_avg{n}", lambda i: _r2(self.freqs[i]), 0.0)
        live_freqs = [f for f, ok in zip(self.freqs, self.live, strict=True) if ok]
        body["total_rateideal"] = _r2(sum(physics.ideal_chain_ghs(f) for f in live_freqs))
        body["total_freqavg"] = _r2(sum(live_freqs) / len(live_freqs)) if live_freqs else 0.0
        body["total_acn"] = CHIPS_PER_CHAIN * len(live_freqs)
        body["total_rate"] = _r2(sum(self.chain_rate))
        body["miner_version"] = MINER_VERSION
        body["build_version"] = BUILD_VERSION
        body["manual_fan_mode"] = False
        body["miner_id"] = m.identity.miner_id
        return [head, body]

    def _per_chain(
        self,
        body: dict[str, Any],
        key: str,
        value: Callable[[int], Any],
        empty: Any,
        dead_too: bool = False,
    ) -> None:
        """Fill `key` for slots 1-16: S9 chains 6-8 get `value(i)`, the rest `empty`."""
        for n in _CHAIN_SLOTS:
            i = _SLOT_TO_INDEX.get(n)
            present = i is not None and (dead_too or self.live[i])
            body[key.format(n=n)] = value(i) if i is not None and present else empty

    def pools(self) -> list[dict[str, Any]]:
        """POOLS items, including the DevFee entry Vnish appends."""
        items: list[dict[str, Any]] = []
        pools = list(self.m.settings.pools) or [("", "")]
        fee = int(self.accepted * DEVFEE_SHARE)
        for i, (url, user) in enumerate(pools):
            acc = self.accepted - fee if i == 0 else 0
            items.append(self._pool(i, url, user, i, acc, active=i == 0))
        items.append(self._pool(len(items), "DevFee", "DevFee", DEVFEE_PRIORITY, fee, active=False))
        return items

    def _pool(
        self, i: int, url: str, user: str, prio: int, acc: int, *, active: bool
    ) -> dict[str, Any]:
        rej = acc // 400
        stratum = url.removeprefix("stratum+tcp://").split(":")[0] if active else ""
        return {
            "POOL": i,
            "URL": url,
            "Status": "Alive",
            "Priority": prio,
            "Quota": 1,
            "Long Poll": "N",
            "Getworks": self.elapsed // 30 if active else 0,
            "Accepted": acc,
            "Rejected": rej,
            "Discarded": self.elapsed // 2 if active else 0,
            "Stale": 0,
            "Get Failures": 0,
            "Remote Failures": 0,
            "User": user,
            "Last Share Time": "0:00:07" if acc else "0",
            "Diff": "65.5K",
            "Diff1 Shares": acc * 65536,
            "Proxy Type": "",
            "Proxy": "",
            "Difficulty Accepted": float(acc * 65536),
            "Difficulty Rejected": float(rej * 65536),
            "Difficulty Stale": 0.0,
            "Last Share Difficulty": 65536.0 if acc else 0.0,
            "Has Stratum": True,
            "Stratum Active": active,
            "Stratum URL": stratum,
            "Has GBT": False,
            "Best Share": acc * 9973 if acc else 0,
            "Pool Rejected%": _r2(100.0 * rej / max(acc + rej, 1)),
            "Pool Stale%": 0.0,
            "Boost": 0,
        }

    def devs(self) -> list[dict[str, Any]]:
        """DEVS items, one ASC per chain (shape unverified on S9, kept cgminer-like)."""
        items: list[dict[str, Any]] = []
        for i, chain in enumerate(CHAINS):
            rate_mh = self.chain_rate[i] * 1000.0
            acc = self.accepted // 3 if self.live[i] else 0
            items.append(
                {
                    "ASC": i,
                    "Name": "BTM",
                    "ID": chain,
                    "Enabled": "Y",
                    "Status": "Alive" if self.live[i] else "Dead",
                    "Temperature": _r2(self.chip[i]),
                    "MHS av": _r2(self.ghs_av * 1000.0 / 3 if self.live[i] else 0.0),
                    "MHS 5s": _r2(rate_mh),
                    "Accepted": acc,
                    "Rejected": acc // 400,
                    "Hardware Errors": self.hw // 3 if self.live[i] else 0,
                    "Utility": _r2(acc / max(self.elapsed, 1) * 60.0),
                    "Last Share Pool": 0,
                    "Last Share Time": int(self.m.clock.wall()) if acc else 0,
                    "Total MH": _r2(self.ghs_av * 1000.0 / 3 * self.elapsed),
                    "Diff1 Work": acc * 65536,
                    "Difficulty Accepted": float(acc * 65536),
                    "Difficulty Rejected": float(acc // 400 * 65536),
                    "Last Share Difficulty": 65536.0 if acc else 0.0,
                    "Device Hardware%": _r2(self._hw_percent()),
                    "Device Rejected%": _r2(self._rej_percent()),
                    "Device Elapsed": self.elapsed,
                }
            )
        return items
