#!/usr/bin/env python3
"""Local-strategy benchmark: the fleet controller following the site's sensors, on compressed time.

The real `FleetController` drives a simulated fleet (real wire formats over loopback, real
drivers) on a manual clock, as `benchmarks.control` does: simulated time advances poll by poll,
so a day runs in a minute or two. A local strategy (`StrategySeat(LocalStrategy(rule, Pacing()))`)
reads entity states given as Home Assistant reports them (grid power in kW, prices in EUR/MWh,
hashprice in USD/PH/day, frequency in Hz) and converted by the integration's own
`core.strategies.units`. When a fed value changes, the controller is told at once
(`follow_strategy_now`), as the integration does when it sees the entity change; a change in the
middle of a poll interval is answered before the next poll. Every figure is taken from the
simulator's ground truth (`SimulatedFleet.power_w`, `hashrate_ths`, the miners' true efficiency),
never from what the controller believes. The profiles are generated, not recorded: plausible
shapes with noise drawn from `--seed`, so a seed gives the same day every time.

Scenarios (one JSON line each on stdout; progress on stderr):

  pv_clear, pv_cloudy
      S9 fleet (12 miners unless `--miners`; on/off unless `--mode`),
      `SurplusFollower(SurplusSettings())`, default pacing, 05:00-21:00 of a summer day
      (`window`). PV is a bell from 05:30 to 20:30 peaking at 1.5 times the fleet's full power,
      so at midday the surplus exceeds what the fleet can take; the cloudy day adds seeded cloud
      dips of a few minutes to tens of minutes. The house draws a base load with noise, a
      morning and an evening bump and appliances switching on. The grid sensor reads
      house + fleet (ground truth) - PV, import positive, in kW.
      surplus = max(0, PV - house) at each step.
        surplus_share               share of the fleet's energy that came from surplus:
                                    sum of min(fleet, surplus) over the fleet's energy
        grid_import_by_fleet_kwh    sum of max(0, fleet - surplus): what the fleet imported,
                                    its asleep draw included
        grid_import_above_standby_kwh  the same above what the fleet draws with every miner
                                    asleep (the import the strategy's choices caused)
        fleet_kwh, surplus_kwh      the fleet's energy and the surplus there was
        surplus_absorbed_share      the share of the surplus the fleet took
        absorbable_kwh              the surplus the fleet could have taken (up to its full
                                    power); surplus_absorbable_share: the share of that taken
        wakes, sleeps               wake and start commands, sleep and stop commands sent

  price_day
      S9 fleet (as for PV), 96 quarter-hour day-ahead prices in EUR/MWh (cheap night, morning
      and evening peaks, a midday dip with a few negative hours), a fixed hashprice of
      45 USD/PH/day (as an entity and in the settings; USD is taken as EUR: `currency_note`),
      `PriceFollower` in break-even mode (its break-even from the fleet's measured J/TH),
      default pacing. At this hashprice an S9 breaks even near 17.5 EUR/MWh: the midday dip
      pays, the rest of the day does not.
        energy_cost, revenue, profit  sum of price x ground-truth energy, hashprice x
                                    ground-truth TH/s x days, and their difference
        hindsight_profit            the fleet at full power exactly in the quarter hours priced
                                    below its true break-even (the simulator's efficiency),
                                    asleep otherwise, no wake losses
        profit_vs_hindsight         profit / hindsight_profit
        cost_per_kwh                energy_cost / fleet_kwh (EUR/kWh)
        hindsight_cost_per_kwh      the same energy bought in the cheapest quarter hours (at up
                                    to full power each)
        cost_vs_hindsight           their ratio (>= 1; None when the hindsight cost is not above
                                    0, as with many negative prices); cost_excess_per_kwh:
                                    their difference
        mining_kwh, mining_cost_per_kwh, mining_hindsight_cost_per_kwh, mining_cost_vs_hindsight
                                    the same for the energy above the fleet's asleep draw (what
                                    the strategy chose; the asleep draw in expensive hours weighs
                                    on cost_per_kwh whatever the strategy does)
        break_even_eur_per_mwh      the fleet's true break-even; measured_joules_per_th: the
                                    efficiency the strategy used

  frequency_step
      Mixed fleet (`benchmarks.mixed`; 40 miners unless `--miners`), frequency mode,
      `FrequencyDroop` with base = half the rated power the fleet reports, deadband 20 mHz,
      trip at 49.5 Hz, and a gain such that -200 mHz asks for 30 % less than base. The
      frequency holds 50.000 Hz with seeded noise inside the deadband until settled, then
      steps to 49.800 Hz half-way between two polls, a clean reading from then on; then it
      steps to 49.400 Hz, below the trip. Ground truth is sampled every second after each step.
        droop_target_kw             what the droop asks at 49.800 Hz
        response_s                  from the step until the fleet's power enters, and then
                                    stays within, `tolerance_kw` (max(1 kW, 5 % of the step)) of
                                    the droop target
        error_kw, max_error_kw      mean and largest |power - target| after the response, until
                                    the next step
        s9_commands                 commands sent to S9s between the step and the response (the
                                    power-target miners should move first); commands_by_kind
                                    and first_moved: all kinds, and which moved first
        trip_response_s             from the trip until the power is within `trip_tolerance_kw`
                                    of the fleet's asleep draw, and stays there
        with_noise_after_step       the same steps with the reading's noise (a few mHz) going on
                                    after the step: response and error against the step's
                                    target as above, and `tracking_*` against the droop's target
                                    at each reported frequency (the target the noise moves)

  dso_step (one line per mode: on_off, frequency)
      Mixed fleet (as for frequency), no strategy, an EMS activation at 80 % of rated power,
      settled; then a grid operator's limit entity says 30 % (of the nominal rated power, as
      the integration converts it) half-way between two polls, and the controller gets the cap
      at once.
        limit_kw                    the cap
        time_under_limit_s          from the step until the power is at most the limit plus
                                    `tolerance_kw` (max(0.5 kW, 2 % of the limit))
        overshoot_kwh               energy above the limit after the step
        held                        whether it stayed at most limit + tolerance afterwards
        headroom_kw                 the limit less the mean power in the last two minutes

Every line has `scenario`, `seed`, `poll_s`, `miners` and `real_s` (real seconds it took).
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.control import POLL_S, Run, start_run, stop_run
from benchmarks.mixed import kind_of, mixed_kinds, options
from custom_components.net_stabilization.core.fleet import (
    PowerMode,
    SiteLimits,
    StrategySeat,
)
from custom_components.net_stabilization.core.strategies import (
    FrequencyDroop,
    FrequencySettings,
    LocalStrategy,
    Pacing,
    PriceFollower,
    PriceSettings,
    SiteInputs,
    SurplusFollower,
    SurplusSettings,
    break_even_per_kwh,
    units,
)

SCENARIOS = ("pv_clear", "pv_cloudy", "price_day", "frequency_step", "dso_step")
S9_MINERS = 12  # PV and price: an S9 fleet
MIXED_MINERS = 40  # frequency and DSO: a mixed fleet

# --- profiles --------------------------------------------------------------------------------

HOUR = 3600.0
DAY_START_H, DAY_END_H = 5.0, 21.0  # the simulated part of the PV day
SUNRISE_H, SUNSET_H = 5.5, 20.5
PV_PEAK_SHARE = 1.5  # PV peak over the fleet's full power
KNOT_S = 60.0  # profiles are drawn minute by minute and interpolated in between
HASHPRICE = ("45", "USD/PH/day")
QUARTER_S = 900.0
# Day-ahead shape in EUR/MWh, one value per hour: cheap night, morning peak, a midday PV dip
# going negative for a few hours, the evening peak.
_PRICES_AM = (62, 55, 48, 44, 42, 47, 70, 110, 125, 95, 60, 28)
_PRICES_PM = (8, -6, -12, -4, 14, 52, 105, 158, 150, 118, 92, 76)
PRICE_SHAPE = (*_PRICES_AM, *_PRICES_PM)


class Profile:
    """A value every `KNOT_S` seconds from `start_s`, linear in between, held at the ends."""

    def __init__(self, start_s: float, values: list[float]) -> None:
        self.start_s = start_s
        self.values = values

    def at(self, t: float) -> float:
        x = (t - self.start_s) / KNOT_S
        if x <= 0:
            return self.values[0]
        i = int(x)
        if i >= len(self.values) - 1:
            return self.values[-1]
        frac = x - i
        return self.values[i] * (1 - frac) + self.values[i + 1] * frac


def _knots(start_h: float, end_h: float) -> list[float]:
    """The knot times (seconds of the day) over [start_h, end_h]."""
    count = round((end_h - start_h) * HOUR / KNOT_S) + 1
    return [start_h * HOUR + i * KNOT_S for i in range(count)]


def _trapezoid(t: float, start: float, length: float, edge: float) -> float:
    """1 inside [start + edge, start + length - edge], ramping to 0 over `edge` at both ends."""
    if t <= start or t >= start + length:
        return 0.0
    return min(1.0, (t - start) / edge, (start + length - t) / edge)


def pv_profile(seed: int, peak_w: float, *, cloudy: bool) -> Profile:
    """PV production over the simulated part of the day: a bell between sunrise and sunset,
    small noise, and on a cloudy day cloud dips of 2-40 minutes removing 30-85 % of it."""
    rng = random.Random(f"pv:{seed}:{'cloudy' if cloudy else 'clear'}")
    rise, down = SUNRISE_H * HOUR, SUNSET_H * HOUR
    clouds: list[tuple[float, float, float, float]] = []  # start, length, edge, depth
    if cloudy:
        t = rise + rng.uniform(0, 40 * 60)
        while t < down:
            length = rng.uniform(2, 40) * 60
            clouds.append(
                (t, length, min(length / 3, rng.uniform(30, 180)), rng.uniform(0.3, 0.85))
            )
            t += length + rng.expovariate(1 / (25 * 60))
    values = []
    for t in _knots(DAY_START_H, DAY_END_H):
        x = (t - rise) / (down - rise)
        clear = peak_w * math.sin(math.pi * x) ** 1.3 if 0 < x < 1 else 0.0
        shade = 1.0
        for start, length, edge, depth in clouds:
            shade *= 1 - depth * _trapezoid(t, start, length, edge)
        values.append(max(0.0, clear * shade * (1 + rng.gauss(0, 0.01))))
    return Profile(DAY_START_H * HOUR, values)


def house_profile(seed: int) -> Profile:
    """The house: 400 W base, a morning and an evening bump, noise, and appliances (1.5-3 kW
    for 2-20 minutes) switching on a dozen times a day."""
    rng = random.Random(f"house:{seed}")
    appliances = [
        (
            rng.uniform(DAY_START_H, DAY_END_H - 0.5) * HOUR,
            rng.uniform(2, 20) * 60,
            rng.uniform(1500, 3000),
        )
        for _ in range(12)
    ]
    values = []
    for t in _knots(DAY_START_H, DAY_END_H):
        h = t / HOUR
        w = 400.0 + 500.0 * math.exp(-(((h - 7.5) / 1.0) ** 2))
        w += 900.0 * math.exp(-(((h - 19.0) / 1.5) ** 2))
        w += sum(p for start, length, p in appliances if start <= t < start + length)
        values.append(max(150.0, w + rng.gauss(0, 80)))
    return Profile(DAY_START_H * HOUR, values)


def price_day(seed: int) -> list[float]:
    """96 quarter-hour prices in EUR/MWh: the hourly shape, interpolated, with noise."""
    rng = random.Random(f"price:{seed}")
    prices = []
    for q in range(96):
        h = (q + 0.5) / 4 - 0.5  # the quarter's middle, in hours after the first hour's middle
        i = math.floor(h)
        frac = h - i
        a, b = PRICE_SHAPE[i % 24], PRICE_SHAPE[(i + 1) % 24]
        prices.append(round(a * (1 - frac) + b * frac + rng.gauss(0, 4), 2))
    return prices


# --- the site --------------------------------------------------------------------------------

_CONVERTERS: dict[str, Callable[[str, str | None], float | None]] = {
    "grid_w": units.power_w,
    "price_per_kwh": units.price_per_kwh,
    "hashprice_per_th_day": units.hashprice_per_th_day,
    "frequency_hz": units.frequency_hz,
}


class SiteEntities:
    """The entities the strategy reads, as state text and unit; read in the rules' units."""

    def __init__(self) -> None:
        self.states: dict[str, tuple[str, str]] = {}
        self.changes = 0

    def report(self, name: str, text: str, unit: str) -> None:
        if self.states.get(name) != (text, unit):
            self.states[name] = (text, unit)
            self.changes += 1

    def __call__(self) -> SiteInputs:
        return SiteInputs(
            **{name: _CONVERTERS[name](text, unit) for name, (text, unit) in self.states.items()}
        )


@dataclass(frozen=True, slots=True)
class Point:
    """Ground truth at the end of one simulated interval."""

    t: float
    dt: float
    power_w: float
    hashrate_ths: float
    commands: dict[str, int]  # commands sent so far, by miner kind
    frequency_hz: float | None = None  # the frequency the entity reported then


type Feed = Callable[[float], None]  # reports the entities' states at a simulated time


class Site:
    """Moves simulated time: the entities first (the controller told of a change at once),
    then the poll when one is due, then a sample of ground truth."""

    def __init__(
        self,
        run: Run,
        poll_s: float,
        entities: SiteEntities | None = None,
        feed: Feed | None = None,
    ) -> None:
        self.run = run
        self.poll_s = poll_s
        self.entities = entities
        self.feed = feed
        self.next_poll = run.fleet.clock.now() + poll_s
        self.points: list[Point] = []

    @property
    def now(self) -> float:
        return self.run.fleet.clock.now()

    async def report_inputs(self) -> None:
        if self.entities is None or self.feed is None:
            return
        before = self.entities.changes
        self.feed(self.now)
        if self.entities.changes != before:
            await self.run.controller.follow_strategy_now()
            await self.settle_orders()

    async def settle_orders(self) -> None:
        await self.run.controller.wait_idle()
        await self.run.fleet.sync()

    async def run_for(self, seconds: float, sample_s: float | None = None) -> None:
        """`seconds` of simulated time, sampled every `sample_s` (the poll interval if None)."""
        fleet, controller = self.run.fleet, self.run.controller
        end = self.now + seconds
        while self.now < end - 1e-6:
            dt = min(sample_s or self.poll_s, self.next_poll - self.now, end - self.now)
            await fleet.advance(dt)
            await self.report_inputs()
            if self.now >= self.next_poll - 1e-6:
                await controller.poll()
                await self.settle_orders()
                self.next_poll += self.poll_s
            self.points.append(
                Point(
                    t=self.now,
                    dt=dt,
                    power_w=fleet.power_w,
                    hashrate_ths=fleet.hashrate_ths,
                    commands={kind: sum(c.values()) for kind, c in self.run.by_kind.items()},
                    frequency_hz=None if self.entities is None else self.entities().frequency_hz,
                )
            )


def full_power(run: Run) -> tuple[float, float, float]:
    """Ground truth: the fleet's (full power W, its hashrate TH/s, asleep draw W) in its mode."""
    power = hashrate = asleep = 0.0
    for m in run.fleet.miners:
        choices = options(m, run.controller.mode, s9_max_mhz=650.0)
        top = max(choices)
        power, hashrate, asleep = power + top[0], hashrate + top[1], asleep + choices[0][0]
    return power, hashrate, asleep


def wakes(run: Run) -> dict[str, int]:
    return {
        "wakes": run.counter["wake"] + run.counter["restart"],
        "sleeps": run.counter["sleep"],
    }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def settled_at(points: list[Point], inside: Callable[[Point], bool]) -> float | None:
    """The time of the first point from which every later one is inside; None if the last is
    not."""
    at: float | None = None
    for p in points:
        if not inside(p):
            at = None
        elif at is None:
            at = p.t
    return at


def moving_response(
    stage: list[Point], t_step: float, droop: FrequencyDroop, rated_w: float, tolerance_w: float
) -> dict[str, Any]:
    """Response against the droop's target at each reported frequency."""

    def error(p: Point) -> float:
        f = p.frequency_hz if p.frequency_hz is not None else 50.0
        return abs(p.power_w - min(droop.target_w(f, rated_w), rated_w))

    at = settled_at(stage, lambda p: error(p) <= tolerance_w)
    after = [error(p) for p in stage if at is not None and p.t >= at]
    return {
        "tracking_response_s": _r(None if at is None else at - t_step, 1),
        "tracking_error_kw": _r(statistics.fmean(after) / 1000, 3) if after else None,
        "tracking_max_error_kw": _r(max(after) / 1000, 3) if after else None,
    }


def step_response(
    stage: list[Point],
    t_step: float,
    target_w: float,
    tolerance_w: float,
    commands_before: dict[str, int],
) -> dict[str, Any]:
    """How the fleet answered a step: when it reached the target for good, how close it kept
    afterwards, and which miners were told what until then."""
    response_at = settled_at(stage, lambda p: abs(p.power_w - target_w) <= tolerance_w)
    after = [
        abs(p.power_w - target_w) for p in stage if response_at is not None and p.t >= response_at
    ]
    until = next((p for p in stage if p.t == response_at), stage[-1])
    moved = {kind: n - commands_before[kind] for kind, n in until.commands.items()}
    first_moved: list[str] = []
    for p in stage:
        first_moved = [k for k, n in p.commands.items() if n > commands_before[k]]
        if first_moved:
            break
    return {
        "response_s": _r(None if response_at is None else response_at - t_step, 1),
        "error_kw": _r(sum(after) / len(after) / 1000 if after else None),
        "max_error_kw": _r(max(after) / 1000 if after else None),
        "s9_commands": moved.get("vnish_s9", 0),
        "commands_by_kind": moved,
        "first_moved": first_moved,
    }


# --- scenarios -------------------------------------------------------------------------------


async def scenario_pv(
    session: aiohttp.ClientSession,
    miners: int,
    seed: int,
    poll_s: float,
    mode: PowerMode,
    *,
    cloudy: bool,
) -> dict[str, Any]:
    entities = SiteEntities()
    seat = StrategySeat(LocalStrategy(SurplusFollower(SurplusSettings()), Pacing()), entities)
    run = await start_run(miners, mode, seed, 0.0, session, strategy=seat)
    try:
        full_w, _full_ths, asleep_w = full_power(run)
        pv = pv_profile(seed, PV_PEAK_SHARE * full_w, cloudy=cloudy)
        house = house_profile(seed)
        start = run.fleet.clock.now()

        def day_s(t: float) -> float:
            return DAY_START_H * HOUR + t - start

        def feed(t: float) -> None:
            grid_w = house.at(day_s(t)) + run.fleet.power_w - pv.at(day_s(t))
            entities.report("grid_w", f"{grid_w / 1000.0:.3f}", "kW")

        site = Site(run, poll_s, entities, feed)
        await site.report_inputs()
        hours = DAY_END_H - DAY_START_H
        for hour in range(round(hours)):
            await site.run_for(HOUR)
            if hour % 4 == 3:
                print(
                    f"  {DAY_START_H + hour + 1:4.1f} h: fleet {run.fleet.power_w / 1000:.1f} kW, "
                    f"PV {pv.at(day_s(site.now)) / 1000:.1f} kW",
                    file=sys.stderr,
                )
        fleet_j = surplus_j = from_surplus_j = import_j = above_standby_j = absorbable_j = 0.0
        for p in site.points:
            surplus = max(0.0, pv.at(day_s(p.t)) - house.at(day_s(p.t)))
            fleet_j += p.power_w * p.dt
            surplus_j += surplus * p.dt
            from_surplus_j += min(p.power_w, surplus) * p.dt
            import_j += max(0.0, p.power_w - surplus) * p.dt
            above_standby_j += max(0.0, p.power_w - max(surplus, asleep_w)) * p.dt
            absorbable_j += min(surplus, full_w) * p.dt
        kwh = 1 / 3.6e6
        return {
            "scenario": "pv_cloudy" if cloudy else "pv_clear",
            "mode": mode.value,
            "miners": miners,
            "window": f"{DAY_START_H:02.0f}:00-{DAY_END_H:02.0f}:00",
            "hours": hours,
            "full_power_kw": _r(full_w / 1000, 2),
            "pv_peak_kw": _r(max(pv.values) / 1000, 2),
            "surplus_share": _r(from_surplus_j / fleet_j if fleet_j else None),
            "grid_import_by_fleet_kwh": _r(import_j * kwh, 2),
            "grid_import_above_standby_kwh": _r(above_standby_j * kwh, 2),
            "fleet_kwh": _r(fleet_j * kwh, 2),
            "surplus_kwh": _r(surplus_j * kwh, 2),
            "surplus_absorbed_share": _r(from_surplus_j / surplus_j if surplus_j else None),
            "absorbable_kwh": _r(absorbable_j * kwh, 2),
            "surplus_absorbable_share": _r(from_surplus_j / absorbable_j if absorbable_j else None),
            **wakes(run),
        }
    finally:
        await stop_run(run)


async def scenario_price(
    session: aiohttp.ClientSession, miners: int, seed: int, poll_s: float, mode: PowerMode
) -> dict[str, Any]:
    hashprice = units.hashprice_per_th_day(*HASHPRICE)
    assert hashprice is not None
    entities = SiteEntities()
    rule = PriceFollower(PriceSettings(hashprice_per_th_day=hashprice))
    seat = StrategySeat(LocalStrategy(rule, Pacing()), entities)
    run = await start_run(miners, mode, seed, 0.0, session, strategy=seat)
    try:
        prices_mwh = price_day(seed)
        prices = [units.price_per_kwh(f"{p:.2f}", "EUR/MWh") for p in prices_mwh]
        start = run.fleet.clock.now()

        def quarter(t: float) -> int:
            return min(95, max(0, math.floor((t - start) / QUARTER_S + 1e-9)))

        def feed(t: float) -> None:
            entities.report("price_per_kwh", f"{prices_mwh[quarter(t)]:.2f}", "EUR/MWh")
            entities.report("hashprice_per_th_day", *HASHPRICE)

        site = Site(run, poll_s, entities, feed)
        await site.report_inputs()
        for hour in range(24):
            await site.run_for(HOUR)
            if hour % 6 == 5:
                print(
                    f"  {hour + 1:2d} h: fleet {run.fleet.power_w / 1000:.1f} kW", file=sys.stderr
                )
        full_w, full_ths, asleep_w = full_power(run)
        energy_cost = revenue = fleet_j = above_j = above_cost = 0.0
        for p in site.points:
            price = prices[quarter(p.t - p.dt)]  # the interval's price: where it began
            assert price is not None
            fleet_j += p.power_w * p.dt
            energy_cost += price * p.power_w * p.dt / 3.6e6
            revenue += hashprice * p.hashrate_ths * p.dt / 86400.0
            # What the strategy chose: the draw above the fleet's asleep draw.
            above = max(0.0, p.power_w - asleep_w) * p.dt / 3.6e6
            above_j += above * 3.6e6
            above_cost += price * above
        true_jth = full_w / full_ths
        break_even = break_even_per_kwh(hashprice, true_jth)
        assert break_even is not None
        q_h = QUARTER_S / HOUR
        hindsight = 0.0
        for price in prices:
            assert price is not None
            if price < break_even:
                hindsight += hashprice * full_ths * q_h / 24.0 - price * full_w / 1000.0 * q_h
            else:
                hindsight -= price * asleep_w / 1000.0 * q_h
        fleet_kwh, above_kwh = fleet_j / 3.6e6, above_j / 3.6e6
        known = [p for p in prices if p is not None]
        cost_per_kwh, best_per_kwh = per_kwh(energy_cost, fleet_kwh, known, full_w)
        mining_per_kwh, mining_best = per_kwh(above_cost, above_kwh, known, full_w - asleep_w)
        profit = revenue - energy_cost
        measured = seat.fleet_view(0.0, 0.0, run.controller.snapshot.miners).joules_per_th
        return {
            "scenario": "price_day",
            "mode": mode.value,
            "miners": miners,
            "hours": 24,
            "hashprice_usd_per_ph_day": float(HASHPRICE[0]),
            "currency_note": "USD taken as EUR",
            "price_min_eur_per_mwh": min(prices_mwh),
            "price_max_eur_per_mwh": max(prices_mwh),
            "break_even_eur_per_mwh": _r(break_even * 1000, 2),
            "true_joules_per_th": _r(true_jth, 2),
            "measured_joules_per_th": _r(measured, 2),
            "profitable_quarters": sum(1 for p in prices if p is not None and p < break_even),
            "energy_cost": _r(energy_cost, 2),
            "revenue": _r(revenue, 2),
            "profit": _r(profit, 2),
            "hindsight_profit": _r(hindsight, 2),
            "profit_vs_hindsight": _r(profit / hindsight if hindsight > 0 else None),
            "cost_per_kwh": _r(cost_per_kwh, 4),
            "hindsight_cost_per_kwh": _r(best_per_kwh, 4),
            "cost_vs_hindsight": _r(ratio(cost_per_kwh, best_per_kwh)),
            "cost_excess_per_kwh": _r(
                None
                if cost_per_kwh is None or best_per_kwh is None
                else cost_per_kwh - best_per_kwh,
                4,
            ),
            "mining_kwh": _r(above_kwh, 2),
            "mining_cost_per_kwh": _r(mining_per_kwh, 4),
            "mining_hindsight_cost_per_kwh": _r(mining_best, 4),
            "mining_cost_vs_hindsight": _r(ratio(mining_per_kwh, mining_best)),
            "fleet_kwh": _r(fleet_kwh, 2),
            **wakes(run),
        }
    finally:
        await stop_run(run)


def per_kwh(
    cost: float, kwh: float, prices: list[float], most_w: float
) -> tuple[float | None, float | None]:
    """The cost per kWh, and what the same energy would have cost bought in the cheapest
    quarter hours at up to `most_w` in each."""
    if kwh <= 0:
        return None, None
    left, best = kwh, 0.0
    for price in sorted(prices):
        take = min(left, most_w / 1000.0 * QUARTER_S / HOUR)
        best += take * price
        left -= take
        if left <= 0:
            break
    return cost / kwh, best / kwh


def ratio(cost: float | None, best: float | None) -> float | None:
    """cost / best; None when best is not above 0 (a ratio to a free or paid-for energy says
    nothing)."""
    return cost / best if cost is not None and best is not None and best > 0 else None


FREQ_SETTLE_S = 900.0
FREQ_STAGE_S = 600.0
TRIP_STAGE_S = 300.0
FREQ_NOISE_HZ = 0.004  # standard deviation, clipped to stay inside the deadband
STEP_HZ = 49.8
TRIP_STEP_HZ = 49.4
NOISY_KEYS = (
    "response_s",
    "error_kw",
    "max_error_kw",
    "tracking_response_s",
    "tracking_error_kw",
    "tracking_max_error_kw",
    "s9_commands",
    "trip_response_s",
)
SHED_AT_STEP = 0.3  # -200 mHz asks for 30 % less than base


async def scenario_frequency(
    session: aiohttp.ClientSession,
    miners: int,
    seed: int,
    poll_s: float,
    *,
    noise_after_step: bool = True,
) -> dict[str, Any]:
    entities = SiteEntities()
    # The droop is set once the fleet says its rated power, as an installer would set it.
    seat = StrategySeat(
        LocalStrategy(FrequencyDroop(FrequencySettings(base_w=0.0, gain_w_per_hz=0.0)), Pacing()),
        entities,
    )
    run = await start_run(
        miners, PowerMode.FREQUENCY, seed, 0.0, session, kinds=mixed_kinds(miners), strategy=seat
    )
    try:
        rated_w = run.controller.nominal_rated_kw * 1000.0
        base_w = round(rated_w / 2, -2)
        deadband = 0.02
        gain = SHED_AT_STEP * base_w / (50.0 - STEP_HZ - deadband)
        droop = FrequencyDroop(
            FrequencySettings(base_w=base_w, gain_w_per_hz=gain, deadband_hz=deadband, trip_hz=49.5)
        )
        seat.strategy = LocalStrategy(droop, Pacing())
        rng = random.Random(f"frequency:{seed}")
        nominal = [50.0]

        def feed(_t: float) -> None:
            noise = max(-0.012, min(0.012, rng.gauss(0, FREQ_NOISE_HZ)))
            if nominal[0] != 50.0 and not noise_after_step:
                noise = 0.0
            entities.report("frequency_hz", f"{nominal[0] + noise:.3f}", "Hz")

        site = Site(run, poll_s, entities, feed)
        await site.report_inputs()
        await site.run_for(FREQ_SETTLE_S)
        _full_w, _full_ths, asleep_w = full_power(run)
        before_w = run.fleet.power_w
        await site.run_for(poll_s / 2)  # the step falls between two polls
        target_w = min(droop.target_w(STEP_HZ, rated_w), rated_w)
        step_w = abs(base_w - target_w)
        tolerance = max(1000.0, 0.05 * step_w)
        t_step = site.now
        first = len(site.points)
        commands_before = {kind: sum(c.values()) for kind, c in run.by_kind.items()}
        nominal[0] = STEP_HZ
        await site.report_inputs()
        await site.run_for(FREQ_STAGE_S, sample_s=1.0)
        response = step_response(site.points[first:], t_step, target_w, tolerance, commands_before)
        if noise_after_step:
            # With a noisy reading the droop's own target moves: judged against it, not the step's.
            response.update(moving_response(site.points[first:], t_step, droop, rated_w, tolerance))
        print(f"  step to {STEP_HZ} Hz: response {response['response_s']} s", file=sys.stderr)

        trip_first = len(site.points)
        t_trip = site.now
        trip_from_w = run.fleet.power_w
        trip_tolerance = max(1000.0, 0.05 * max(0.0, trip_from_w - asleep_w))
        nominal[0] = TRIP_STEP_HZ
        await site.report_inputs()
        await site.run_for(TRIP_STAGE_S, sample_s=1.0)
        tripped_at = settled_at(
            site.points[trip_first:], lambda p: p.power_w <= asleep_w + trip_tolerance
        )
        return {
            "scenario": "frequency_step",
            "mode": PowerMode.FREQUENCY.value,
            "miners": miners,
            "miners_by_kind": {
                k: sum(1 for m in run.fleet.miners if kind_of(m) == k) for k in run.by_kind
            },
            "rated_kw": _r(rated_w / 1000, 2),
            "base_kw": _r(base_w / 1000, 2),
            "gain_kw_per_hz": _r(gain / 1000, 2),
            "settled_kw": _r(before_w / 1000, 2),
            "step_mhz": round((STEP_HZ - 50.0) * 1000),
            "noise_mhz": FREQ_NOISE_HZ * 1000,
            "noise_after_step": noise_after_step,
            "droop_target_kw": _r(target_w / 1000, 2),
            "tolerance_kw": _r(tolerance / 1000, 2),
            **response,
            "trip_mhz": round((TRIP_STEP_HZ - 50.0) * 1000),
            "asleep_kw": _r(asleep_w / 1000, 2),
            "trip_tolerance_kw": _r(trip_tolerance / 1000, 2),
            "trip_response_s": _r(None if tripped_at is None else tripped_at - t_trip, 1),
            "after_trip_kw": _r(run.fleet.power_w / 1000, 2),
            **wakes(run),
        }
    finally:
        await stop_run(run)


DSO_SETTLE_S = 900.0
DSO_STAGE_S = 600.0
EMS_SHARE = 0.8
LIMIT_PERCENT = "30"


async def scenario_dso(
    session: aiohttp.ClientSession, miners: int, seed: int, poll_s: float, mode: PowerMode
) -> dict[str, Any]:
    run = await start_run(miners, mode, seed, 0.0, session, kinds=mixed_kinds(miners))
    try:
        controller = run.controller
        ems_kw = round(EMS_SHARE * controller.snapshot.rated_power_kw, 1)
        result = await controller.activate(ems_kw)
        if not result.accepted:
            raise RuntimeError(f"activation refused: {result.message}")
        site = Site(run, poll_s)
        await site.settle_orders()
        await site.run_for(DSO_SETTLE_S)
        before_w = run.fleet.power_w
        await site.run_for(poll_s / 2)  # the limit changes between two polls
        percent = units.number(LIMIT_PERCENT)
        assert percent is not None
        # As the integration converts a limit entity in %: a share of the nominal rated power.
        limit_w = min(percent, 100.0) / 100.0 * controller.nominal_rated_kw * 1000.0
        tolerance = max(500.0, 0.02 * limit_w)
        t_step = site.now
        first = len(site.points)
        await controller.set_limits(SiteLimits(cap_w=limit_w))
        await site.settle_orders()
        await site.run_for(DSO_STAGE_S, sample_s=1.0)
        stage = site.points[first:]
        under_at = next((p.t for p in stage if p.power_w <= limit_w + tolerance), None)
        held = under_at is not None and all(
            p.power_w <= limit_w + tolerance for p in stage if p.t >= under_at
        )
        tail = [p for p in stage if p.t > site.now - 120.0]
        return {
            "scenario": "dso_step",
            "mode": mode.value,
            "miners": miners,
            "ems_kw": ems_kw,
            "settled_kw": _r(before_w / 1000, 2),
            "limit_percent": percent,
            "limit_kw": _r(limit_w / 1000, 2),
            "tolerance_kw": _r(tolerance / 1000, 2),
            "time_under_limit_s": _r(None if under_at is None else under_at - t_step, 1),
            "overshoot_kwh": _r(
                sum(max(0.0, p.power_w - limit_w) * p.dt for p in stage) / 3.6e6, 4
            ),
            "held": held,
            "max_after_kw": _r(
                max(p.power_w for p in stage if under_at is not None and p.t >= under_at) / 1000, 2
            )
            if under_at is not None
            else None,
            "headroom_kw": _r((limit_w - sum(p.power_w for p in tail) / len(tail)) / 1000, 2),
            **wakes(run),
        }
    finally:
        await stop_run(run)


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument(
        "--miners",
        type=int,
        default=None,
        help=f"fleet size (default {S9_MINERS} S9s for PV and price, "
        f"{MIXED_MINERS} mixed for frequency and DSO)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--poll", type=float, default=POLL_S, help="poll interval, simulated s")
    parser.add_argument(
        "--mode",
        choices=[m.value for m in PowerMode],
        default=PowerMode.ON_OFF.value,
        help="the power mode of the PV and price scenarios",
    )
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    most = max(args.miners or 0, S9_MINERS, MIXED_MINERS)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * most + 1024)), hard))
    mode = PowerMode(args.mode)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for scenario in scenarios:
            t0 = time.perf_counter()
            print(f"{scenario}:", file=sys.stderr)
            lines: list[dict[str, Any]]
            if scenario in ("pv_clear", "pv_cloudy"):
                n = args.miners or S9_MINERS
                cloudy = scenario == "pv_cloudy"
                lines = [await scenario_pv(session, n, args.seed, args.poll, mode, cloudy=cloudy)]
            elif scenario == "price_day":
                n = args.miners or S9_MINERS
                lines = [await scenario_price(session, n, args.seed, args.poll, mode)]
            elif scenario == "frequency_step":
                n = args.miners or MIXED_MINERS
                # A clean reading after the step: the controller's own answer. Then the same
                # steps with the reading's noise kept, judged against the moving droop target.
                line = await scenario_frequency(
                    session, n, args.seed, args.poll, noise_after_step=False
                )
                noisy = await scenario_frequency(session, n, args.seed, args.poll)
                line["with_noise_after_step"] = {k: noisy[k] for k in NOISY_KEYS}
                lines = [line]
            else:
                n = args.miners or MIXED_MINERS
                lines = []
                for dso_mode in (PowerMode.ON_OFF, PowerMode.FREQUENCY):
                    t0 = time.perf_counter()
                    lines.append(await scenario_dso(session, n, args.seed, args.poll, dso_mode))
                    lines[-1]["real_s"] = round(time.perf_counter() - t0, 1)
            for line in lines:
                line.setdefault("real_s", round(time.perf_counter() - t0, 1))
                line.update(seed=args.seed, poll_s=args.poll)
                print(json.dumps(line), flush=True)
    print(f"all scenarios: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
