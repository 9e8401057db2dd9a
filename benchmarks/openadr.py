#!/usr/bin/env python3
"""OpenADR benchmark: a day of grid events through the VEN, on compressed time.

The real `FleetController` drives a simulated S9 fleet (real wire formats over loopback, real
drivers; `benchmarks.control.start_run`) on a manual clock; the core's `Ven` talks to the test VTN
(`simulator.vtn`, OAuth2 with 30-minute tokens, every request checked against OpenADR 3.1.1) over
loopback on the same clock, and hands the fleet what the events ask through `ControllerPort`.
Each poll interval: the fleet advances, the controller polls, the VEN turns (polls the VTN every
60 s, acts on its events, measures, reports). Figures come from the simulator's ground truth
(`SimulatedFleet.power_w`), except the baseline and delivered change, which are the VEN's own
measurement (`core.mv`) as the aggregator receives it.

The day (times from midnight; rated power P of the fleet, an EMS holding it at full power except
where said):
  curtailment     00:30-01:00  DISPATCH_SETPOINT 0.3 P, six 5-min intervals, reports per interval
  take_up         01:30-02:00  DISPATCH_SETPOINT 0.8 P while the EMS is idle (absorbing surplus)
  import_limit    02:30-03:00  IMPORT_CAPACITY_LIMIT 0.5 P (the site has no other load)
  emergency       03:20-03:40  ALERT_GRID_EMERGENCY: a shed to 0
  overlap_low     04:00-05:00  DISPATCH_SETPOINT 0.7 P, priority 5
  overlap_high    04:20-04:40  DISPATCH_SETPOINT 0.2 P, priority 1 (posted at 04:10, found by poll)
  outage          05:30-06:10  DISPATCH_SETPOINT 0.4 P; the VTN is down 05:40-06:30, past its end
  loop            06:50-07:30  DISPATCH_SETPOINT in W: two 10-min intervals (0.3 P, 0.6 P) in an
                               event of 40 min, so they loop twice

One JSON line per event:
  setpoint_kw       what the event asks (a cap for the limit and the emergency)
  response_s        from the event's start until the fleet's power covers 90 % of the change from
                    its draw before the event to the setpoint in force at the start (None:
                    never); sampled at each poll, so 0 means within the first poll (a shed acts
                    at once in the simulator)
  error_kw          mean |power - dispatched setpoint| from the response to the event's end
  baseline_kw       the VEN's baseline (mean of the 15 min before the start)
  delta_kw          the VEN's delivered change (mean draw during the event - baseline)
  reports_sent, reports_late   reports the VTN received for the event, and how many of them
                    more than 60 s after they were due
  schema_violations requests of the whole run the VTN found against the schema (must be 0)
  release_s         (outage) from the event's end until the VEN released the fleet, the VTN
                    still down
A last line sums up the run (tokens issued, VTN requests, real seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.control import POLL_S, Run, start_run, stop_run
from custom_components.net_stabilization.core.fleet import FunctionClock, PowerMode
from custom_components.net_stabilization.core.openadr import (
    ControllerPort,
    EventView,
    Ven,
    VenConfig,
)
from custom_components.net_stabilization.core.openadr.timing import format_datetime
from simulator.vtn import TestVtn

MIN = 60.0
INTERVAL_S = 5 * MIN
REPORTS = ("DEMAND", "USAGE", "BASELINE", "DELTA_USAGE")


@dataclass
class Spec:
    """One event of the day."""

    name: str
    start_s: float
    end_s: float
    payload: str
    share: float | str  # of rated power; the emergency's text
    priority: int | None = None
    extra_reports: tuple[str, ...] = ()
    post_at_s: float = 0.0  # when the BL posts it
    loop: tuple[float, ...] = ()  # shares of one pass of 10-min intervals, looped to the end
    units: str = "KW"
    event_id: str = ""
    view: EventView | None = None


@dataclass
class Trace:
    """Ground truth and what the VEN dispatched, poll by poll."""

    t: list[float] = field(default_factory=list)
    power_kw: list[float] = field(default_factory=list)
    target_kw: list[float | None] = field(default_factory=list)
    cap_kw: list[float | None] = field(default_factory=list)


def day(rated_kw: float) -> list[Spec]:
    """The events of the day."""
    h = 3600.0
    return [
        Spec("curtailment", 0.5 * h, 1.0 * h, "DISPATCH_SETPOINT", 0.3, None, ("OPERATING_STATE",)),
        Spec(
            "take_up",
            1.5 * h,
            2.0 * h,
            "DISPATCH_SETPOINT",
            0.8,
            None,
            ("DOWN_REGULATION_AVAILABLE",),
        ),
        Spec(
            "import_limit",
            2.5 * h,
            3.0 * h,
            "IMPORT_CAPACITY_LIMIT",
            0.5,
            None,
            ("LOAD_SHED_DELTA_AVAILABLE",),
        ),
        Spec(
            "emergency",
            3 * h + 20 * MIN,
            3 * h + 40 * MIN,
            "ALERT_GRID_EMERGENCY",
            "grid emergency: shed now",
            None,
            ("UP_REGULATION_AVAILABLE", "OPERATING_STATE"),
        ),
        Spec("overlap_low", 4.0 * h, 5.0 * h, "DISPATCH_SETPOINT", 0.7, 5),
        Spec(
            "overlap_high",
            4 * h + 20 * MIN,
            4 * h + 40 * MIN,
            "DISPATCH_SETPOINT",
            0.2,
            1,
            post_at_s=4 * h + 10 * MIN,
        ),
        Spec("outage", 5.5 * h, 6 * h + 10 * MIN, "DISPATCH_SETPOINT", 0.4),
        Spec(
            "loop",
            6 * h + 50 * MIN,
            7.5 * h,
            "DISPATCH_SETPOINT",
            0.3,
            loop=(0.3, 0.6),
            units="W",
        ),
    ]


def event_body(spec: Spec, program_id: str, t0: float, rated_kw: float) -> dict[str, Any]:
    """The event as the BL posts it: 5-minute intervals, reports per interval."""
    count = round((spec.end_s - spec.start_s) / INTERVAL_S)
    scale = 1000.0 if spec.units == "W" else 1.0
    values: list[object]
    if isinstance(spec.share, str):
        values = [spec.share] * count
    elif spec.loop:
        values = [round(share * rated_kw * scale, 3) for share in spec.loop]
    else:
        values = [round(spec.share * rated_kw * scale, 3)] * count
    body: dict[str, Any] = {
        "programID": program_id,
        "eventName": spec.name,
        "intervalPeriod": {
            "start": format_datetime(t0 + spec.start_s),
            "duration": "PT10M" if spec.loop else "PT5M",
        },
        "intervals": [
            {"id": i, "payloads": [{"type": spec.payload, "values": [value]}]}
            for i, value in enumerate(values)
        ],
        "reportDescriptors": [
            {"payloadType": kind, "frequency": 1, "aggregate": True}
            for kind in (*REPORTS, *spec.extra_reports)
        ],
    }
    if spec.loop:
        body["duration"] = f"PT{round((spec.end_s - spec.start_s) / MIN)}M"
    if spec.payload != "ALERT_GRID_EMERGENCY":
        body["payloadDescriptors"] = [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": spec.payload,
                "units": spec.units,
            }
        ]
    if spec.priority is not None:
        body["priority"] = spec.priority
    return body


@dataclass
class Day:
    """The fleet, its VEN and the VTN, and what happens to them through the day."""

    run: Run
    vtn: TestVtn
    ven: Ven
    program_id: str
    rated_kw: float
    t0: float
    specs: list[Spec]
    ems: dict[float, float]  # when (s) → the EMS's target (kW; 0: deactivate)
    outage: tuple[float, float]  # the VTN is down from, until (s)
    trace: Trace = field(default_factory=Trace)
    released_at: float | None = None  # when the outage event's target was let go

    async def before_poll(self, elapsed: float) -> None:
        """The EMS's commands, the BL's new events and the VTN's outage, as they fall due."""
        controller = self.run.controller
        for at, kw in list(self.ems.items()):
            if elapsed >= at:
                del self.ems[at]
                if kw > 0:
                    await controller.activate(round(kw, 3))
                else:
                    await controller.deactivate()
        for spec in self.specs:
            if not spec.event_id and elapsed >= spec.post_at_s:
                body = event_body(spec, self.program_id, self.t0, self.rated_kw)
                spec.event_id = self.vtn.create_event(body)
        if self.outage[0] <= elapsed < self.outage[1] and self.vtn.running:
            await self.vtn.stop()
            print("  VTN down", file=sys.stderr)
        elif elapsed >= self.outage[1] and not self.vtn.running:
            await self.vtn.start()
            print("  VTN back", file=sys.stderr)

    def after_poll(self, elapsed: float) -> None:
        """Ground truth and what the VEN dispatched."""
        for spec in self.specs:
            if spec.view is None and spec.event_id in self.ven.events:
                spec.view = self.ven.events[spec.event_id]
        d = self.ven.dispatch
        trace = self.trace
        trace.t.append(elapsed)
        trace.power_kw.append(self.run.fleet.power_w / 1000.0)
        trace.target_kw.append(None if d.target_w is None else d.target_w / 1000.0)
        trace.cap_kw.append(None if d.cap_w is None else d.cap_w / 1000.0)
        outage_end = next(s.end_s for s in self.specs if s.name == "outage")
        if self.released_at is None and elapsed >= outage_end and d.target_w is None:
            self.released_at = elapsed

    def lines(self, miners: int) -> list[dict[str, Any]]:
        """One line per event, and the summary."""
        lines = []
        for spec in self.specs:
            line = figures(spec, self.trace, self.rated_kw)
            view = spec.view
            perf = view.performance if view is not None else None
            delivered = None if perf is None else perf.delivered_kw
            line.update(
                baseline_kw=None if perf is None else round(perf.baseline_kw, 3),
                delta_kw=None if delivered is None else round(delivered, 3),
                reports_sent=len(self.vtn.reports_for(spec.event_id)),
                reports_late=None if view is None else view.counts.late,
                schema_violations=len(self.vtn.violations),
            )
            if spec.name == "outage":
                released = self.released_at
                line["release_s"] = None if released is None else released - spec.end_s
            lines.append(line)
        lines.append(
            {
                "summary": True,
                "miners": miners,
                "rated_kw": round(self.rated_kw, 3),
                "tokens_issued": self.vtn.tokens_issued,
                "vtn_requests": len(self.vtn.requests),
                "reports_total": len(self.vtn.state.reports),
                "violations": self.vtn.violations[:5],
            }
        )
        return lines


async def run_day(
    session: aiohttp.ClientSession, miners: int, seed: int, mode: PowerMode
) -> list[dict[str, Any]]:
    """The day, poll by poll; the figures."""
    run: Run = await start_run(miners, mode, seed, 0.0, session)
    clock = run.fleet.clock
    vtn = TestVtn(clock, token_lifetime_s=1800)
    await vtn.start()
    program_id = vtn.create_program("fleet-dr")
    controller = run.controller
    rated_kw = controller.nominal_rated_kw
    ven = Ven(
        VenConfig(
            vtn_url=vtn.base_url,
            ven_name="site-1",
            programs=("fleet-dr",),
            client_id="ven-client",
            client_secret="ven-secret",
            poll_interval_s=60.0,
            request_timeout_s=5.0,
        ),
        session,
        ControllerPort(controller),
        FunctionClock(clock.now, clock.wall),
    )
    h = 3600.0
    day_ = Day(
        run,
        vtn,
        ven,
        program_id,
        rated_kw,
        clock.wall(),
        day(rated_kw),
        # The EMS: full power, idle around the take-up, full again after it.
        ems={0.0: rated_kw, 1 * h + 10 * MIN: 0.0, 2 * h + 5 * MIN: rated_kw},
        outage=(5 * h + 40 * MIN, 6 * h + 30 * MIN),
    )
    elapsed = 0.0
    while elapsed < 7 * h + 45 * MIN:
        await day_.before_poll(elapsed)
        await run.step()
        await ven.step()
        await controller.wait_idle()
        await run.fleet.sync()
        elapsed = clock.wall() - day_.t0
        day_.after_poll(elapsed)
        if round(elapsed) % 1800 == 0:
            print(f"  {elapsed / 3600:.1f} h: {run.fleet.power_w / 1000:.2f} kW", file=sys.stderr)
    lines = day_.lines(miners)
    await vtn.close()
    await stop_run(run)
    return lines


def figures(spec: Spec, trace: Trace, rated_kw: float) -> dict[str, Any]:
    """Response and error on ground truth, against what the VEN dispatched."""
    before = [
        p
        for t, p in zip(trace.t, trace.power_kw, strict=True)
        if spec.start_s - MIN <= t < spec.start_s
    ]
    pre_kw = statistics.fmean(before) if before else 0.0
    inside = [i for i, t in enumerate(trace.t) if spec.start_s <= t < spec.end_s]
    setpoint = 0.0 if isinstance(spec.share, str) else spec.share * rated_kw

    def in_force(i: int) -> float:
        target, cap = trace.target_kw[i], trace.cap_kw[i]
        value = target if target is not None else pre_kw
        return min(value, cap) if cap is not None else value

    goal = in_force(inside[0]) if inside else setpoint
    change = goal - pre_kw
    response_s = None
    for i in inside:
        if abs(change) < 1e-6 or (trace.power_kw[i] - pre_kw) / change >= 0.9:
            response_s = round(trace.t[i] - spec.start_s, 1)
            break
    errors = [
        abs(trace.power_kw[i] - in_force(i))
        for i in inside
        if response_s is not None and trace.t[i] - spec.start_s >= response_s
    ]
    return {
        "event": spec.name,
        "payload": spec.payload,
        "setpoint_kw": round(setpoint, 3),
        "before_kw": round(pre_kw, 3),
        "response_s": response_s,
        "error_kw": round(statistics.fmean(errors), 3) if errors else None,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--miners", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=[m.value for m in PowerMode], default="on_off")
    args = parser.parse_args()
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        lines = await run_day(session, args.miners, args.seed, PowerMode(args.mode))
    for line in lines:
        line.update(seed=args.seed, poll_s=POLL_S, mode=args.mode)
        if line.get("summary"):
            line["real_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
