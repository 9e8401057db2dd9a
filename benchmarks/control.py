#!/usr/bin/env python3
"""Control-quality benchmark: the fleet controller against simulated S9s, on compressed time.

The controller drives a simulated fleet (Vnish 3.9 over loopback HTTP and the cgminer API, through
the real drivers) on a manual clock: every poll advances simulated time by the poll interval, so an
hour runs in about a minute. Performance is measured on the simulator's ground truth
(`SimulatedFleet.power_w`, `hashrate_ths`), never on what the controller believes.

Scenarios (each in `on_off` and `frequency` mode):
  a  steps 0 → 50 % → 100 % → 20 % → 0 of rated power
  b  a random EMS profile for one simulated hour
  c  as (a) with 30 % of the miners accepting wakes and never starting
  d  an EMS that changes its mind: random targets 0.2-60 s apart for one simulated hour, with
     30 % of the miners never starting, some losing power for a while and some answering
     slowly (`benchmarks.churn`: wrongful failures, rated dips, mining after a deactivation,
     energy over target)
  m  a mixed fleet (`benchmarks.mixed`: S9 on Vnish 3.9, Braiins OS+, LuxOS, Vnish REST), found
     by discovery: the steps of (a), then (frequency mode) targets inside the power-target
     miners' range ("swing": settle, error, S9 reboots), then the random profile of (b);
     transitions per kind
  r  "reality spread": the mixed fleet of (m) with each miner's timings drawn from the public
     record (`simulator.timings`: LuxOS wakes up to 5 min, Braiins OS+ targets that hold steps
     for minutes, Vnish presets with and without a restart, S9 boots of 1-3 min), the steps of
     (a) and the random profile of (b): wake or change failures of healthy miners
     (`wrongful_failures`, must be 0), settle time over the physical limit of the drawn timings
     (`settle_vs_limit`: its median and maximum; `physical_limit_s` says what the limit is for
     steps up and down in each mode), the first half of the run against the second (learning),
     and what the fleet learnt of each kind's timings. A step held for less than its limit
     plus the two minutes its steady error is judged on cannot be judged: it is `truncated`,
     counted in `truncated_steps` and listed in `truncated` with its limit and hold, and left
     out of settle, error and efficiency figures (never shortened, dropped or re-drawn)

Prints progress to stderr and one JSON line with every figure to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.churn import ChurnProfile, ChurnRun
from benchmarks.efficiency import max_hashrate_ths, max_mixed_hashrate_ths
from benchmarks.mixed import heading, kind_of, mixed_kinds, options, swing_range_w
from custom_components.net_stabilization.core.fleet import (
    ControlConfig,
    FleetController,
    FunctionClock,
    InMemoryCommandLog,
    PowerMode,
    StrategySeat,
)
from custom_components.net_stabilization.core.miners.antminer_s9 import (
    AntminerS9Driver,
)
from custom_components.net_stabilization.core.miners.base import (
    S9_POINTS,
    Capabilities,
    MinerDriver,
    MinerIdentity,
    MinerReading,
)
from custom_components.net_stabilization.core.miners.endpoint import (
    Credentials,
    MinerEndpoint,
    Timeouts,
)
from custom_components.net_stabilization.core.miners.identify import identify_miner
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from simulator import Fault, ManualClock, SimulatedFleet
from simulator.modern import ModernMiner
from simulator.timings import SPREAD_JITTER
from simulator.timings import physical_limit_s as timing_limit_s

POLL_S = 5.0
BOOT_S = 60.0
RAMP_S = 80.0
JITTER = 0.25  # boot 45-75 s, ramp 60-100 s
RESTART_S = 8.0
WAKE_TIME_S = BOOT_S * (1 + JITTER) + RESTART_S * (1 + JITTER) + RAMP_S * (1 + JITTER)
BANDS_W = {PowerMode.ON_OFF: S9_CURVE.nominal_w / 2, PowerMode.FREQUENCY: 100.0}
SETTLE_TARGET_S = WAKE_TIME_S + POLL_S
TAIL_S = 120.0  # a step's steady error is judged on its last two minutes
MIN_TH_VS_BEST = 0.95
SCENARIOS = ("a", "b", "c", "d", "m", "r")
_S9_FINE_TOP = S9_POINTS.fine_range[1] if S9_POINTS.fine_range else S9_CURVE.nominal_w
SEND_COMMANDS = ("wake", "sleep", "set_frequency", "restart")
# "+reserve" modes hold a hot reserve of this share of the fleet. What a stopped S9 draws has
# not been measured; the simulated S9s are given this figure, and the fleet is told the same.
RESERVE_SHARE = 0.2
STOPPED_W = 120.0
# Loopback replies never take seconds of simulated time, but a loaded machine can make them take
# seconds of real time. Generous limits keep a slow host from turning into read failures, so the
# figures depend on the simulated clock only.
DISCOVERY_TRIES = 3
BENCH_TIMEOUTS = Timeouts(connect_s=30.0, api_read_s=60.0, web_s=60.0, config_write_s=60.0)


class _Tee(dict[str, int]):
    """A counter that also counts into a second one (the fleet's and its kind's)."""

    def __init__(self, total: dict[str, int], kind: dict[str, int]) -> None:
        super().__init__()
        self._total, self._kind = total, kind

    def __getitem__(self, key: str) -> int:
        return self._total[key]

    def __setitem__(self, key: str, value: int) -> None:
        delta = value - self._total[key]
        self._total[key] = value
        self._kind[key] += delta


class CountingDriver:
    """Wraps a driver and counts the transitions it is told to make: a wake (with or without
    setting the frequency first: one reboot), a sleep, or a frequency change of a running miner.
    """

    def __init__(
        self, inner: MinerDriver, counter: dict[str, int], by_kind: dict[str, int] | None = None
    ) -> None:
        self._inner = inner
        self._counter = _Tee(counter, by_kind) if by_kind is not None else counter
        self._frequency_set = False  # the last call set the frequency (a wake may follow)

    @property
    def host(self) -> str:
        return self._inner.host

    @property
    def kind(self) -> str:
        return self._inner.kind

    @property
    def identity(self) -> MinerIdentity | None:
        return self._inner.identity

    @property
    def capabilities(self) -> Capabilities:
        return self._inner.capabilities

    async def identify(self) -> MinerIdentity:
        return await self._inner.identify()

    async def read(self) -> MinerReading:
        self._frequency_set = False
        return await self._inner.read()

    async def sleep(self) -> None:
        self._frequency_set = False
        self._counter["sleep"] += 1
        await self._inner.sleep()

    async def wake(self) -> None:
        if self._frequency_set:  # frequency stored for the wake's reboot: one transition
            self._counter["set_frequency"] -= 1
        self._frequency_set = False
        self._counter["wake"] += 1
        await self._inner.wake()

    async def apply_setting(self, setting: float) -> None:
        self._counter["set_frequency"] += 1
        self._frequency_set = True
        await self._inner.apply_setting(setting)

    async def restart_mining(self) -> None:
        self._frequency_set = False
        self._counter["restart"] += 1  # a start without a reboot
        await self._inner.restart_mining()

    async def stop_mining(self) -> None:
        self._frequency_set = False
        self._counter["sleep"] += 1  # a stop is a sleep's transition too
        await self._inner.stop_mining()

    async def reboot(self) -> None:
        await self._inner.reboot()


@dataclass
class Sample:
    t: float
    target_w: float
    power_w: float
    hashrate_ths: float
    commands: int


@dataclass
class Run:
    """One scenario in one mode: fleet, controller and the trace of ground truth."""

    fleet: SimulatedFleet
    controller: FleetController
    counter: dict[str, int]
    samples: list[Sample] = field(default_factory=list)
    target_w: float = 0.0
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)
    wrongful_failures: int = 0  # failed wakes or changes of miners without a fault
    _failures: dict[str, int] = field(default_factory=dict)

    @property
    def mixed(self) -> bool:
        return len(self.by_kind) > 1

    def band_w(self) -> float:
        """What counts as on target: the frequency tolerance, or half the typical miner in
        on/off mode (the fleet's resolution; a mixed fleet's miners are larger than S9s)."""
        mode = self.controller.mode
        if mode is PowerMode.FREQUENCY or not self.mixed:
            return BANDS_W[mode]
        steps = [
            opts[-1][0] - opts[0][0]
            for m in self.fleet.miners
            if len(opts := options(m, mode, s9_max_mhz=650.0)) > 1
        ]
        return sum(steps) / len(steps) / 2 if steps else BANDS_W[mode]

    @property
    def commands(self) -> int:
        return sum(self.counter.values())

    async def step(self) -> None:
        await self.fleet.advance(POLL_S)
        await self.controller.poll()
        await self.controller.wait_idle()
        await self.fleet.sync()
        self._count_failures()
        self.samples.append(
            Sample(
                t=self.fleet.clock.now(),
                target_w=self.target_w,
                power_w=self.fleet.power_w,
                hashrate_ths=self.fleet.hashrate_ths,
                commands=self.commands,
            )
        )

    def _count_failures(self) -> None:
        """Failed transitions of miners the simulator gave no fault: the controller's wrong."""
        healthy = {m.mac for m in self.fleet.miners if not m.faults.active}
        for miner in self.controller.snapshot.miners:
            before = self._failures.get(miner.mac, 0)
            if miner.wake_failures > before and miner.mac in healthy:
                self.wrongful_failures += miner.wake_failures - before
            self._failures[miner.mac] = miner.wake_failures

    async def hold(self, seconds: float) -> None:
        for _ in range(round(seconds / POLL_S)):
            await self.step()

    async def command(self, target_kw: float) -> tuple[float, float]:
        """Send a target; returns (simulated time, real seconds the command took)."""
        started = time.perf_counter()
        if target_kw <= 0:
            result = await self.controller.deactivate()
        else:
            result = await self.controller.activate(round(target_kw, 3))
        took = time.perf_counter() - started
        if not result.accepted:
            print(f"  command refused: {result.message}", file=sys.stderr)
        self.target_w = 0.0 if target_kw <= 0 else target_kw * 1000.0
        await self.controller.wait_idle()
        await self.fleet.sync()
        return self.fleet.clock.now(), took


async def start_run(
    miners: int,
    mode: PowerMode,
    seed: int,
    failing: float,
    session: aiohttp.ClientSession,
    *,
    meter: bool = False,
    command_log: InMemoryCommandLog | None = None,
    kinds: list[str] | None = None,
    reserve: bool = False,
    strategy: StrategySeat | None = None,
    spread: bool = False,
) -> Run:
    clock = ManualClock()
    fleet = SimulatedFleet(
        count=miners,
        host="127.0.0.1",
        clock=clock,
        seed=seed,
        password="root",
        boot_time_s=BOOT_S,
        ramp_time_s=RAMP_S,
        restart_time_s=RESTART_S,
        jitter=JITTER,
        initial_state="sleeping",
        kinds=kinds,
        stopped_w=STOPPED_W if reserve else None,
        spread=spread,
    )
    await fleet.start()
    counter = dict.fromkeys(SEND_COMMANDS, 0)
    # Deadlines from the simulated timings: no progress for longer than boot + restart +
    # margin, full hashrate by the whole wake time + margin. A fleet whose miners move at
    # their own pace (`spread`) starts from the integration's defaults and learns.
    defaults = ControlConfig()
    config = ControlConfig(
        wake_start_timeout_s=defaults.wake_start_timeout_s
        if spread
        else BOOT_S * (1 + JITTER) + RESTART_S * (1 + JITTER) + 30.0,
        wake_timeout_s=defaults.wake_timeout_s if spread else WAKE_TIME_S + 60.0,
        # The simulated mining software starts within the restart time once the web is up.
        wake_api_grace_s=RESTART_S * (1 + JITTER) + 2 * POLL_S,
        hot_reserve=round(miners * RESERVE_SHARE) if reserve else 0,
        hot_standby_w=STOPPED_W if reserve else None,
    )
    controller = FleetController(
        clock=FunctionClock(clock.now, clock.wall),
        config=config,
        mode=mode,
        # A site meter on the fleet's feed: here the simulator's ground truth.
        site_meter=(lambda: fleet.power_w / 1000.0) if meter else None,
        command_log=command_log,
        strategy=strategy,
    )
    by_kind: dict[str, dict[str, int]] = {}
    if kinds is None:
        drivers: list[MinerDriver] = [
            AntminerS9Driver(
                m.host,
                session,
                api_port=m.api_port,
                web_port=m.web_port,
                credentials=Credentials("root", "root"),
                timeouts=BENCH_TIMEOUTS,
            )
            for m in fleet.miners
        ]
        await asyncio.gather(*(d.identify() for d in drivers))
        for d in drivers:
            controller.add_miner(CountingDriver(d, counter))
        by_kind["vnish_s9"] = counter
    else:
        for m, driver in zip(fleet.miners, await discover(fleet, session), strict=True):
            kind_counter = by_kind.setdefault(kind_of(m), dict.fromkeys(SEND_COMMANDS, 0))
            controller.add_miner(CountingDriver(driver, counter, kind_counter))
    rng = random.Random(seed)
    for index in rng.sample(range(miners), round(miners * failing)):
        fleet.miners[index].set_fault(Fault.NEVER_STARTS)
    await controller.poll()
    return Run(fleet, controller, counter, by_kind=by_kind)


async def discover(fleet: SimulatedFleet, session: aiohttp.ClientSession) -> list[MinerDriver]:
    """Each simulated miner as discovery finds it: recognised, confirmed, its driver built."""
    found = await asyncio.gather(
        *(
            identify_miner(
                MinerEndpoint(m.host, m.api_port, m.web_port),
                session,
                credentials=Credentials("root", "root"),
                driver_timeouts=BENCH_TIMEOUTS,
            )
            for m in fleet.miners
        )
    )
    drivers = []
    for m, first in zip(fleet.miners, found, strict=True):
        result = first
        for _ in range(DISCOVERY_TRIES):  # a loaded host can miss a probe's short timeout
            if result.driver is not None:
                break
            result = await identify_miner(
                MinerEndpoint(m.host, m.api_port, m.web_port),
                session,
                credentials=Credentials("root", "root"),
                driver_timeouts=BENCH_TIMEOUTS,
            )
        if result.driver is None:
            raise RuntimeError(f"{kind_of(m)} at {m.host}: {result.outcome} {result.detail}")
        drivers.append(result.driver)
    return drivers


async def stop_run(run: Run) -> None:
    await run.controller.close()
    await run.fleet.stop()


# --- measuring -------------------------------------------------------------------------------


def healthy_capacity_w(run: Run) -> float:
    """Ground truth: what the fleet draws with every miner that can mine at full power (the
    planner's highest frequency) and the rest asleep."""
    mode = run.controller.mode
    if run.mixed:
        max_mhz = _S9_FINE_TOP
        return sum(
            max(w for w, _ in options(m, mode, s9_max_mhz=max_mhz)) for m in run.fleet.miners
        )
    mhz = 650.0 if mode is PowerMode.ON_OFF else _S9_FINE_TOP
    total = 0.0
    for m in run.fleet.miners:
        if Fault.NEVER_STARTS in m.faults:
            total += S9_CURVE.standby_w
        else:
            total += S9_CURVE.standby_w + (S9_CURVE.power_w(mhz) - S9_CURVE.standby_w) * (
                m.variation.power
            )
    return total


def best_hashrate_ths(run: Run, power_w: float) -> float:
    """The most hashrate the fleet could make at this power in its mode (on/off: whole miners
    at nominal frequency; frequency: anything from 350 to 650 MHz), with the miners that can
    mine at all (scenario c's never-starting ones cannot)."""
    if run.mixed:
        mode = run.controller.mode
        return max_mixed_hashrate_ths(
            power_w, [options(m, mode, s9_max_mhz=650.0) for m in run.fleet.miners]
        )
    count = sum(1 for m in run.fleet.miners if Fault.NEVER_STARTS not in m.faults)
    power_w -= (len(run.fleet.miners) - count) * S9_CURVE.standby_w  # their standby draw
    if run.controller.mode is PowerMode.ON_OFF:
        nominal = S9_CURVE.nominal_mhz
        return max_hashrate_ths(power_w, count, S9_CURVE, min_mhz=nominal, max_mhz=nominal)
    return max_hashrate_ths(power_w, count, S9_CURVE, max_mhz=650.0)


def step_figures(
    run: Run, start_t: float, end_t: float, target_w: float, band_w: float
) -> dict[str, Any]:
    """Figures for one constant-target interval (start_t, end_t]."""
    window = [s for s in run.samples if start_t < s.t <= end_t]
    if not window:
        return {}
    settled_at: float | None = None
    for s in window:
        inside = abs(s.power_w - target_w) <= band_w
        if inside and settled_at is None:
            settled_at = s.t
        elif not inside:
            settled_at = None
    tail = window[-max(1, round(TAIL_S / POLL_S)) :]  # the last two minutes
    steady_error = sum(abs(s.power_w - target_w) for s in tail) / len(tail)
    overshoot = max(0.0, *(s.power_w - target_w for s in window))
    last = window[-1]
    commands_after = None
    if settled_at is not None:
        before = next(s.commands for s in window if s.t >= settled_at)
        hours = max(end_t - settled_at, POLL_S) / 3600.0
        commands_after = (last.commands - before) / hours
    best = best_hashrate_ths(run, last.power_w)
    return {
        "target_kw": round(target_w / 1000.0, 2),
        # Whether the miners that can mine are enough for the target (within the band).
        "reachable": target_w <= healthy_capacity_w(run) + band_w,
        "settle_s": None if settled_at is None else round(settled_at - start_t, 1),
        "steady_error_kw": round(steady_error / 1000.0, 3),
        "overshoot_kw": round(overshoot / 1000.0, 3),
        "transitions_per_h_settled": None if commands_after is None else round(commands_after, 1),
        "th_per_kw": round(last.hashrate_ths / last.power_w * 1000.0, 2) if last.power_w else None,
        "th_vs_best": round(last.hashrate_ths / best, 3) if best > 0 else None,
    }


async def time_to_all_asleep(run: Run, limit_s: float = 600.0) -> float | None:
    """After a deactivate: simulated seconds until no miner hashes or boots."""
    start = run.fleet.clock.now()
    busy = ("mining", "ramping", "booting", "restarting")
    while run.fleet.clock.now() - start <= limit_s:
        if not any(m.state in busy for m in run.fleet.miners):
            return run.fleet.clock.now() - start
        await run.step()
    return None


async def scenario_steps(run: Run, fractions: list[float], hold_s: float) -> dict[str, Any]:
    mode = run.controller.mode
    band = run.band_w()
    steps: list[dict[str, Any]] = []
    answer_s = []
    for fraction in fractions:
        # As an EMS would: a share of the rated power the fleet reports now.
        target_kw = fraction * run.controller.snapshot.rated_power_kw
        t0, took = await run.command(target_kw)
        answer_s.append(took)
        if fraction == 0 and steps:
            asleep = await time_to_all_asleep(run)
            await run.hold(max(0.0, hold_s / 4 - (asleep or 0)))
            steps.append({"target_kw": 0.0, "all_asleep_s": asleep})
            continue
        await run.hold(hold_s)
        steps.append(step_figures(run, t0, run.fleet.clock.now(), target_kw * 1000.0, band))
    return summarize(steps, answer_s, mode, band)


async def scenario_profile(run: Run, seed: int, duration_s: float) -> dict[str, Any]:
    """A random EMS: a new target every 5-15 minutes, sometimes zero."""
    rng = random.Random(seed)
    mode = run.controller.mode
    band = run.band_w()
    start = run.fleet.clock.now()
    steps = []
    answer_s = []
    while run.fleet.clock.now() - start < duration_s:
        fraction = 0.0 if rng.random() < 0.15 else rng.uniform(0.05, 1.0)
        target_kw = fraction * run.controller.snapshot.rated_power_kw
        t0, took = await run.command(target_kw)
        answer_s.append(took)
        hold = min(rng.uniform(300, 900), duration_s - (run.fleet.clock.now() - start))
        if fraction > 0:
            await run.hold(max(POLL_S, hold))
            figures = step_figures(run, t0, run.fleet.clock.now(), target_kw * 1000.0, band)
            # The profile's end can cut the last step short of a wake: report, do not judge.
            figures["truncated"] = hold < SETTLE_TARGET_S + TAIL_S
            steps.append(figures)
        else:
            asleep = await time_to_all_asleep(run, limit_s=max(POLL_S, hold))
            await run.hold(max(0.0, hold - (run.fleet.clock.now() - t0)))
            steps.append({"target_kw": 0.0, "all_asleep_s": asleep})
    inside = [s for s in run.samples if s.t > start]
    in_band = sum(1 for s in inside if s.target_w == 0 or abs(s.power_w - s.target_w) <= band)
    energy_dev_kwh = sum(abs(s.power_w - s.target_w) for s in inside if s.target_w > 0) * (
        POLL_S / 3600.0 / 1000.0
    )
    hours = (run.fleet.clock.now() - start) / 3600.0
    result = summarize(steps, answer_s, mode, band)
    result.update(
        {
            "time_in_band": round(in_band / max(1, len(inside)), 3),
            "energy_deviation_kwh": round(energy_dev_kwh, 2),
            "transitions_per_h_total": round(
                (run.samples[-1].commands - inside[0].commands) / max(hours, 1e-9), 1
            ),
        }
    )
    return result


async def scenario_churn(
    run: Run, seed: int, log: InMemoryCommandLog, duration_s: float
) -> dict[str, Any]:
    """An EMS that changes its mind every few hundred milliseconds to a minute."""
    churn = ChurnRun(
        run.fleet,
        run.controller,
        log,
        ChurnProfile(duration_s=duration_s, poll_s=POLL_S, boot_s=BOOT_S * (1 + JITTER)),
        seed,
    )
    never = {i for i, m in enumerate(run.fleet.miners) if Fault.NEVER_STARTS in m.faults}
    churn.assign_faults(never)
    figures = (await churn.run()).as_json()
    figures["transitions"] = dict(run.counter)
    return figures


async def scenario_mixed(
    run: Run, seed: int, fractions: list[float], hold_s: float, profile_s: float
) -> dict[str, Any]:
    """Steps, then (frequency mode) the power-target miners' swing range, then a profile;
    the steps of both judged together."""
    stepped = await scenario_steps(run, fractions, hold_s)
    swung = await swing(run, seed) if run.controller.mode is PowerMode.FREQUENCY else None
    profiled = await scenario_profile(run, seed, profile_s)
    answers = [a for a in (stepped["command_answer_s_max"], profiled["command_answer_s_max"]) if a]
    figures = summarize(
        [*stepped["steps"], *profiled["steps"]], answers, run.controller.mode, run.band_w()
    )
    for key in ("time_in_band", "energy_deviation_kwh", "transitions_per_h_total"):
        figures[f"profile_{key}"] = profiled[key]
    if swung is not None:
        figures["swing"] = swung
    figures["transitions_by_kind"] = {kind: dict(c) for kind, c in sorted(run.by_kind.items())}
    figures["miners_by_kind"] = {
        kind: sum(1 for m in run.fleet.miners if kind_of(m) == kind) for kind in run.by_kind
    }
    return figures


async def scenario_reality(
    run: Run, seed: int, fractions: list[float], hold_s: float, profile_s: float
) -> dict[str, Any]:
    """Steps and the random profile on a fleet whose miners each move at their own pace; each
    step's settle time is judged against the least time the drawn timings allow, and a step
    held for less than that time plus the tail it is judged on is reported, not judged."""
    issued: list[tuple[float, float]] = []  # (when, physical limit) of every command
    command = run.command

    async def timed_command(target_kw: float) -> tuple[float, float]:
        limit = physical_limit_s(run, target_kw * 1000.0)
        issued.append((run.fleet.clock.now(), limit))
        return await command(target_kw)

    run.command = timed_command  # type: ignore[method-assign]
    stepped = await scenario_steps(run, fractions, hold_s)
    profiled = await scenario_profile(run, seed, profile_s)
    steps = [*stepped["steps"], *profiled["steps"]]
    ends = [t for t, _ in issued[1:]] + [run.fleet.clock.now()]
    truncated = []
    for step, (t0, limit), end in zip(steps, issued, ends, strict=True):
        if not step.get("target_kw"):
            continue
        step["limit_s"] = round(limit, 1)
        step["hold_s"] = round(end - t0, 1)
        if limit > end - t0 - TAIL_S:
            # The drawn timings leave no tail to judge: neither settle nor steady error.
            step["truncated"] = True
        if step.get("truncated"):
            truncated.append({k: step[k] for k in ("target_kw", "limit_s", "hold_s")})
        elif step.get("settle_s") is not None:
            step["settle_vs_limit"] = round(step["settle_s"] / limit, 2)
    answers = [a for a in (stepped["command_answer_s_max"], profiled["command_answer_s_max"]) if a]
    band = run.band_w()
    figures = summarize(steps, answers, run.controller.mode, band)
    figures["truncated"] = truncated
    figures.update(_limit_ratios(steps))
    figures["wrongful_failures"] = run.wrongful_failures
    half = len(steps) // 2
    for name, part in (("first_half", steps[:half]), ("second_half", steps[half:])):
        judged = summarize(part, answers, run.controller.mode, band)
        figures[name] = {
            "steps": len(part),
            "settled_steps": judged["settled_steps"],
            "truncated_steps": judged["truncated_steps"],
            "settle_s_median": judged["settle_s_median"],
            "settle_vs_limit": _limit_ratios(part)["settle_vs_limit"],
            "steady_error_kw_max": judged["steady_error_kw_max"],
            "th_vs_best_min": judged["th_vs_best_min"],
        }
    figures["learnt_timings"] = run.controller.timing_summary()
    figures["transitions_by_kind"] = {kind: dict(c) for kind, c in sorted(run.by_kind.items())}
    return figures


def _limit_ratios(steps: list[dict[str, Any]]) -> dict[str, float | None]:
    ratios = [st["settle_vs_limit"] for st in steps if "settle_vs_limit" in st]
    return {"settle_vs_limit": _median(ratios), "settle_vs_limit_max": max(ratios, default=None)}


def physical_limit_s(run: Run, target_w: float) -> float:
    """The least time after which the fleet could hold `target_w` (within the bench's band),
    from the simulator's drawn timings less their jitter (never longer than the hardware).

    At that time every miner is where some move, done by then, leaves it: kept as it is (once
    the transition it is in, toward an earlier target, has ended), asleep (a sleep takes
    effect within a poll), woken (an S9's boot, start and ramp; a modern miner's start and
    ramp with its holds) or, in frequency mode, moved to another setting while it runs (a
    power target's change, up with its holds, down without; a restart where the change
    restarts mining: Vnish REST presets, an S9's frequency; a miner still on its way may be
    lowered below what it draws at once). A woken or moved miner may take any setting its
    firmware offers: in on/off mode only full power, in frequency mode a continuous range or
    its presets. The least such time, found over every combination of these moves (their
    powers summed at `BINS_W`), is the limit; a poll is the floor, as nothing is seen
    sooner."""
    mode = run.controller.mode
    band = run.band_w()
    moves = _moves(run)
    ordered = sorted({POLL_S} | {t for move in moves for t in move.times() if math.isfinite(t)})

    def holds_by(limit: float) -> bool:
        sums = 1  # bit n: the fleet can draw n bins
        for move in moves:
            sums = add_spans(sums, move.spans(limit, mode))
        low = max(0, math.ceil((target_w - band) / BINS_W))
        high = math.floor((target_w + band) / BINS_W)
        return high >= low and (sums >> low) & ((1 << (high - low + 1)) - 1) != 0

    lo, hi = 0, len(ordered) - 1
    if not holds_by(ordered[hi]):
        return max(POLL_S, ordered[hi])  # out of reach: as long as the slowest move
    while lo < hi:  # holding only gets easier with time: the first time it does
        mid = (lo + hi) // 2
        if holds_by(ordered[mid]):
            hi = mid
        else:
            lo = mid + 1
    return max(POLL_S, ordered[lo])


@dataclass(frozen=True)
class Moves:
    """What one simulated miner can do, and how soon (seconds from the command)."""

    left_s: float  # until the transition it is in has ended
    eventual_w: float  # its power then
    fixed: bool  # not the fleet's to move (faulty, read-only)
    waking: bool  # asleep: its move is a wake
    choices: list[tuple[float, float]]  # (power, hashrate), asleep first
    wake_s: float = math.inf
    up_s: float = math.inf
    down_s: float = math.inf
    present_w: float = 0.0  # what it draws now

    def times(self) -> tuple[float, ...]:
        return (self.left_s, self.wake_s, self.up_s, self.down_s)

    def spans(self, limit: float, mode: PowerMode) -> list[tuple[float, float]]:
        """The powers it can be holding `limit` seconds from now."""
        spans: list[tuple[float, float]] = []
        if self.fixed or self.left_s <= limit:
            spans.append((self.eventual_w, self.eventual_w))  # kept where it heads
        if self.fixed:
            return spans
        spans.append((self.choices[0][0], self.choices[0][0]))  # asleep
        running = [w for w, _ in self.choices[1:]]
        continuous = mode is PowerMode.FREQUENCY and len(running) > 3
        if (self.waking and self.wake_s <= limit) or (not self.waking and self.up_s <= limit):
            spans += [(min(running), max(running))] if continuous else [(w, w) for w in running]
        elif not self.waking and self.down_s <= limit:
            # Lowered: below where it heads once there, below what it draws now before.
            below = self.eventual_w if self.left_s <= limit else self.present_w
            if continuous:
                spans.append((min(running), max(min(running), below)))
            else:
                spans += [(w, w) for w in running if w <= below]
        return spans


def _moves(run: Run) -> list[Moves]:
    mode = run.controller.mode
    now = run.fleet.clock.now()
    fast = 1.0 - SPREAD_JITTER
    out = []
    for m, drawn in zip(run.fleet.miners, run.fleet.drawn, strict=True):
        left, eventual = heading(m, now)
        choices = options(m, mode, s9_max_mhz=650.0)
        kind = kind_of(m)
        if drawn is None or m.faults.active or kind == "cgminer" or len(choices) < 2:
            out.append(Moves(left, eventual, True, False, choices))
            continue
        if left == 0.0 and m.state not in ("mining", "ramping"):  # asleep, and staying so
            wake_s = fast * timing_limit_s(drawn, kind, waking=True)
            out.append(Moves(left, eventual, False, True, choices, wake_s=wake_s))
            continue
        if mode is PowerMode.ON_OFF:
            out.append(Moves(left, eventual, False, False, choices))
            continue
        restarts = kind == "vnish_s9" or (isinstance(m, ModernMiner) and m.spec.change_restarts)
        out.append(
            Moves(
                left,
                eventual,
                False,
                False,
                choices,
                up_s=fast * timing_limit_s(drawn, kind, waking=False),
                down_s=fast * (drawn.start_s + drawn.ramp_s if restarts else drawn.change_s),
                present_w=m.power_w,
            )
        )
    return out


BINS_W = 10.0  # the fleet's draw is summed at this resolution


def add_spans(sums: int, spans: list[tuple[float, float]]) -> int:
    """The sums reachable with one more miner that can draw anything in one of `spans`."""
    out = 0
    for low_w, high_w in spans:
        low, width = round(low_w / BINS_W), max(0, round(high_w / BINS_W) - round(low_w / BINS_W))
        spread, covered = sums, 1
        while covered * 2 <= width + 1:  # every shift in 0..width, by doubling
            spread |= spread << covered
            covered *= 2
        if covered < width + 1:
            spread |= spread << (width + 1 - covered)
        out |= spread << low
    return out


SWING_TARGETS = 8
SWING_HOLD_S = 120.0
SWING_BAND_W = 100.0  # the fine mode's goal: within 0.1 kW


async def swing(run: Run, seed: int) -> dict[str, Any]:
    """Targets anywhere inside what the power-target miners cover on their own, each held two
    minutes: how fast and how close the fleet follows, and whether an S9 had to reboot."""
    low, high = swing_range_w(run.fleet.miners)
    margin = (high - low) * 0.05
    rng = random.Random(f"swing:{seed}")
    # Bring the power-target miners up first (a wake is not what this measures).
    await run.command(round((low + high) / 2 / 1000.0, 3))
    await run.hold(300.0)
    s9 = run.by_kind.get("vnish_s9", {})
    wakes_before = s9.get("wake", 0)
    retunes_before = s9.get("set_frequency", 0)
    steps: list[dict[str, Any]] = []
    for _ in range(SWING_TARGETS):
        target_w = rng.uniform(low + margin, high - margin)
        before = {kind: dict(c) for kind, c in run.by_kind.items()}
        t0, _took = await run.command(round(target_w / 1000.0, 3))
        await run.hold(SWING_HOLD_S)
        window = [s for s in run.samples if t0 < s.t <= run.fleet.clock.now()]
        settled_at = None
        for s in window:
            inside = abs(s.power_w - target_w) <= SWING_BAND_W
            if inside and settled_at is None:
                settled_at = s.t
            elif not inside:
                settled_at = None
        tail = window[-round(30 / POLL_S) :]
        steps.append(
            {
                "target_kw": round(target_w / 1000.0, 2),
                "settle_s": None if settled_at is None else round(settled_at - t0, 1),
                "steady_error_kw": round(
                    sum(abs(s.power_w - target_w) for s in tail) / len(tail) / 1000.0, 3
                ),
                "transitions": {
                    kind: moved
                    for kind, c in run.by_kind.items()
                    if (
                        moved := {
                            k: v - before[kind][k] for k, v in c.items() if v != before[kind][k]
                        }
                    )
                },
            }
        )
    settles = [s["settle_s"] for s in steps if s["settle_s"] is not None]
    return {
        "range_kw": [round(low / 1000.0, 2), round(high / 1000.0, 2)],
        "steps": steps,
        "settled_steps": f"{len(settles)}/{len(steps)}",
        "settle_s_max": max(settles) if len(settles) == len(steps) else None,
        "steady_error_kw_max": max(s["steady_error_kw"] for s in steps),
        "s9_wakes": s9.get("wake", 0) - wakes_before,
        "s9_frequency_changes": s9.get("set_frequency", 0) - retunes_before,
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarize(
    steps: list[dict[str, Any]],
    answer_s: list[float],
    mode: PowerMode,
    band_w: float | None = None,
) -> dict[str, Any]:
    active = [s for s in steps if s.get("target_kw")]
    # Targets are judged where enough healthy miners exist for them.
    judged = [s for s in active if s.get("reachable", True) and not s.get("truncated")]
    settles = [s["settle_s"] for s in judged if s.get("settle_s") is not None]
    errors = [s["steady_error_kw"] for s in judged]
    asleep = [s["all_asleep_s"] for s in steps if "all_asleep_s" in s]
    ratios = [s["th_vs_best"] for s in judged if s.get("th_vs_best") is not None]
    churn = [
        s["transitions_per_h_settled"]
        for s in judged
        if s.get("transitions_per_h_settled") is not None
    ]
    band_kw = round((band_w if band_w is not None else BANDS_W[mode]) / 1000.0, 2)
    figures: dict[str, Any] = {
        "steps": steps,
        "settle_s_median": _median(settles),
        "settle_s_max": max(settles) if settles else None,
        "settled_steps": f"{len(settles)}/{len(judged)}",
        "unreachable_steps": sum(1 for s in active if not s.get("reachable", True)),
        "truncated_steps": sum(1 for s in active if s.get("truncated")),
        "steady_error_kw_median": _median(errors),
        "steady_error_kw_max": max(errors, default=None),
        "overshoot_kw_max": max((s["overshoot_kw"] for s in judged), default=None),
        "transitions_per_h_settled_max": max(churn) if churn else None,
        "th_vs_best_median": _median(ratios),
        "th_vs_best_min": min(ratios) if ratios else None,
        "deactivate_all_asleep_s": max((a for a in asleep if a is not None), default=None)
        if asleep and all(a is not None for a in asleep)
        else None,
        "command_answer_s_max": round(max(answer_s), 3) if answer_s else None,
        "targets": {
            "steady_error_kw": band_kw,
            "settle_s": round(SETTLE_TARGET_S, 1),
            "transitions_per_h_settled": 0.0,
            "th_vs_best": MIN_TH_VS_BEST,
            "deactivate_all_asleep_s": 2 * POLL_S,
        },
    }
    met: dict[str, bool | None] = {
        "steady_error": bool(errors) and max(errors) <= band_kw,
        "settle": bool(judged) and len(settles) == len(judged) and max(settles) <= SETTLE_TARGET_S,
        "no_transitions_settled": bool(churn) and max(churn) == 0.0,
        "th_vs_best": bool(ratios) and min(ratios) >= MIN_TH_VS_BEST,
        "deactivate": None,
    }
    if asleep:
        met["deactivate"] = all(a is not None and a <= 2 * POLL_S for a in asleep)
    figures["met"] = met
    return figures


def parse_scenarios(text: str) -> list[str]:
    """The scenarios named in `text` (comma-separated), refusing any this bench does not know:
    a typo must not run some other scenario under its name."""
    names = text.split(",")
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        known = ", ".join(SCENARIOS)
        raise ValueError(f"unknown scenario {', '.join(map(repr, unknown))}; known: {known}")
    return names


async def run_scenario(
    scenario: str,
    run: Run,
    seed: int,
    log: InMemoryCommandLog,
    *,
    fractions: list[float],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Run one scenario on a started run."""
    if scenario in ("a", "c"):
        return await scenario_steps(run, fractions[1:], args.hold)
    if scenario == "d":
        return await scenario_churn(run, seed, log, args.profile_s)
    if scenario == "m":
        return await scenario_mixed(run, seed, fractions[1:], args.hold, args.profile_s)
    if scenario == "r":
        return await scenario_reality(run, seed, fractions[1:], args.hold, args.profile_s)
    if scenario == "b":
        return await scenario_profile(run, seed, args.profile_s)
    raise AssertionError(scenario)  # refused by `parse_scenarios`


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--miners", type=int, default=100)
    parser.add_argument("--scenarios", default="a,b,c")
    parser.add_argument(
        "--modes",
        default="on_off,frequency,frequency+meter",
        help="modes; '+meter' adds a site meter (the simulator's ground truth), '+reserve' a "
        "hot reserve of stopped S9s",
    )
    parser.add_argument(
        "--seeds", default="7", help="comma-separated seeds; several add a median/range summary"
    )
    parser.add_argument("--hold", type=float, default=900.0, help="simulated seconds per step")
    parser.add_argument("--profile-s", type=float, default=3600.0)
    args = parser.parse_args()
    try:
        scenarios = parse_scenarios(args.scenarios)
    except ValueError as err:
        parser.error(str(err))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.miners + 1024)), hard))

    seeds = [int(x) for x in args.seeds.split(",")]
    fractions = [0.0, 0.5, 1.0, 0.2, 0.0]
    by_seed: dict[int, dict[str, dict[str, Any]]] = {}
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for seed in seeds:
            results: dict[str, dict[str, Any]] = {}
            for scenario in scenarios:
                for mode_name in args.modes.split(","):
                    mode = PowerMode(mode_name.split("+")[0])
                    failing = 0.3 if scenario in ("c", "d") else 0.0
                    kinds = mixed_kinds(args.miners) if scenario in ("m", "r") else None
                    log = InMemoryCommandLog(max_entries=1_000_000)
                    run = await start_run(
                        args.miners,
                        mode,
                        seed,
                        failing,
                        session,
                        meter="+meter" in mode_name,
                        reserve="+reserve" in mode_name,
                        command_log=log,
                        kinds=kinds,
                        spread=scenario == "r",
                    )
                    t0 = time.perf_counter()
                    try:
                        figures = await run_scenario(
                            scenario, run, seed, log, fractions=fractions, args=args
                        )
                    finally:
                        await stop_run(run)
                    figures.setdefault("transitions", dict(run.counter))
                    figures["real_s"] = round(time.perf_counter() - t0, 1)
                    results[f"{scenario}/{mode_name}"] = figures
                    print(
                        f"seed {seed} {scenario}/{mode_name}: {compact(figures)}", file=sys.stderr
                    )
            by_seed[seed] = results
    output: dict[str, Any] = {
        "bench": "control",
        "miners": args.miners,
        "poll_s": POLL_S,
        "seeds": seeds,
        "real_s": round(time.perf_counter() - started, 1),
        "results": by_seed[seeds[0]],
    }
    if len(seeds) > 1:
        output["results_by_seed"] = {str(k): v for k, v in by_seed.items()}
        output["summary"] = {
            key: _aggregate([by_seed[seed][key] for seed in seeds]) for key in by_seed[seeds[0]]
        }
    print(json.dumps(output))
    return 0


def compact(figures: dict[str, Any]) -> str:
    skip = ("steps", "targets", "violations")
    return json.dumps({k: v for k, v in figures.items() if k not in skip})


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and range over repeated runs of every numeric summary figure."""
    out: dict[str, Any] = {}
    for key in runs[0]:
        values = [r.get(key) for r in runs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            numbers = [float(v) for v in values]  # type: ignore[arg-type]
            out[key] = {
                "median": round(statistics.median(numbers), 3),
                "min": min(numbers),
                "max": max(numbers),
            }
        elif key == "met":
            out[key] = {name: [r["met"].get(name) for r in runs] for name in runs[0]["met"]}
    return out


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
