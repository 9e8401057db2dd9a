"""The VEN: one fleet (one site) as a Virtual End Node of an OpenADR 3 VTN.

`step()` is called at every fleet poll. It polls the VTN for events every `poll_interval_s`
(sooner after a webhook notification), honours the events it holds on the injected clock (see
`schedule`), hands the fleet what they ask (`FleetPort.dispatch`), measures every dispatch
(`core.mv`) and sends the reports the events request, keeping them while the VTN cannot be
reached and sending them when it can again.

Start-up (User Guide: enrollment, VENs and resources, programs, subscriptions): a token by the
client credentials grant; the VEN's ven object found by its name or created; the fleet found or
created as one resource of it (with its maximum power); the configured programs found by name;
with a callback URL, a subscription to the programs' events whose notifications come to that
webhook. Polling goes on beside the webhook: a missed notification is caught at the next poll.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import aiohttp

from ..fleet import Clock, GridDispatch, TargetSource
from ..mv import BASELINE_WINDOW_S, DispatchMeter, Performance, PowerHistory
from .client import AuthFailed, TokenSource, VtnClient, VtnError, VtnRefused, VtnUnreachable
from .fleet_port import FleetPort, FleetReading
from .model import Event, ObjectError, Program, parse_event, parse_program
from .price import GridPrice
from .reports import (
    DueReport,
    FleetState,
    Outbox,
    ReportCounts,
    plan_reports,
    report_body,
    shortfall_body,
)
from .schedule import Instruction, Kind, Schedule, Signals, random_shift, schedule, signals_at

_LOGGER = logging.getLogger(__name__)

KEEP_ENDED_S = 2 * 3600.0  # an ended event is kept this long (its last reports, its figures)
RATED_TOLERANCE = 0.02  # a target this far above rated power is still met as far as it goes
MAX_PERFORMANCES = 50
# Looping intervals whose pass is shorter than this are reported on for their first pass only:
# a VTN's pass of milliseconds would otherwise ask for reports at every turn.
MIN_REPORTED_PASS_S = 60.0


class Connection(StrEnum):
    """The VEN's standing with its VTN."""

    STARTING = "starting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"  # timeouts, refused connections, 5xx
    AUTH_FAILED = "auth_failed"  # the credentials were refused
    ERROR = "error"  # the VTN refused a request (4xx) or a program is missing


@dataclass(frozen=True, slots=True)
class VenConfig:
    """How the VEN reaches its VTN and what it maps events to."""

    vtn_url: str
    ven_name: str
    programs: tuple[str, ...]
    client_id: str = ""
    client_secret: str = ""
    token_url: str = ""  # empty: asked of the VTN (`/auth/server`)
    resource_name: str = "fleet"
    poll_interval_s: float = 30.0
    request_timeout_s: float = 10.0
    callback_url: str = ""  # a webhook for notifications; empty: polling only
    callback_token: str = ""  # the bearer token the VTN must send to the webhook
    simple_shares: tuple[float, float, float] = (0.5, 0.25, 0.0)  # SIMPLE 1-3: share of rated
    emergency_share: float = 0.0  # an ALERT_GRID_EMERGENCY caps the fleet at this share
    late_after_s: float = 60.0  # a report sent this long after it was due is late
    # What an event that ends while the VTN cannot be reached leaves behind until it can:
    # "strategy" releases the fleet (to the EMS, the strategy or standby), "hold" keeps the
    # event's last target and cap, "standby" holds the fleet at 0 kW.
    vtn_lost: str = "strategy"
    seed: str = ""  # for the random shifts of starts (default: the VEN's name)


@dataclass
class EventView:
    """An event as the VEN holds it."""

    event: Event
    seen_at: float
    schedule: Schedule
    due: list[DueReport]
    planned: int = 0  # the pass of looping intervals whose reports are planned
    counts: ReportCounts = field(default_factory=ReportCounts)
    meter: DispatchMeter | None = None
    performance: Performance | None = None
    shortfall: str = ""  # the last shortfall reported

    @property
    def end(self) -> float | None:
        """When its last interval ends (the last pass's, when they loop)."""
        return self.schedule.end


class Ven:
    """An OpenADR 3 VEN for one fleet."""

    def __init__(
        self,
        config: VenConfig,
        session: aiohttp.ClientSession,
        fleet: FleetPort,
        clock: Clock,
        *,
        price: GridPrice | None = None,
        on_performance: Callable[[Performance], None] | None = None,
    ) -> None:
        """Nothing is sent until the first `step()`."""
        self.config = config
        self._session = session
        self._fleet = fleet
        self._clock = clock
        self._price = price
        self._on_performance = on_performance
        self._tokens = TokenSource(
            session,
            config.token_url,
            config.client_id,
            config.client_secret,
            clock.monotonic,
            timeout_s=config.request_timeout_s,
        )
        self.client = VtnClient(
            session, config.vtn_url, self._tokens, timeout_s=config.request_timeout_s
        )
        self.connection = Connection.STARTING
        self.problem = ""  # what went wrong last, for people
        self.ven_id: str | None = None
        self.resource_id: str | None = None
        self.programs: dict[str, Program] = {}
        self.subscribed = False  # the VTN's subscriptions of this VEN are what they should be
        self.subscription_ids: list[str] = []  # the ones that call this VEN's webhook
        self.events: dict[str, EventView] = {}
        self.history = PowerHistory()
        self.outbox = Outbox()
        self.performances: list[Performance] = []
        self.last_contact: float | None = None  # Unix s of the last answer from the VTN
        self.signals = Signals()
        self.dispatch = GridDispatch()
        self.fallback: GridDispatch | None = None  # in force after an event ended unheard
        self._next_poll = -math.inf
        self._registered = False
        self._finished: dict[str, float] = {}  # ended events let go (id → modification time)
        self._seed = config.seed or config.ven_name
        self.reports_sent = 0
        self.reports_late = 0

    # --- the loop ------------------------------------------------------------------------------

    async def step(self) -> None:
        """One turn: poll the VTN when due, act on the events, measure, report."""
        reading = self._fleet.reading()
        self.history.add(self._clock.now().timestamp(), reading.power_kw)
        if self._clock.monotonic() >= self._next_poll:
            await self.poll_vtn()
        now = self._clock.now().timestamp()  # after the poll: an event of "now" holds at once
        await self._act(now, reading)
        self._measure(now, reading)
        self._queue_reports(now, reading)
        await self._send_reports(now)
        self._forget_ended(now)

    def poll_soon(self) -> None:
        """Poll the VTN at the next step (a notification came)."""
        self._next_poll = -math.inf

    async def poll_vtn(self) -> None:
        """Register if not yet done, then fetch the programs' events."""
        self._next_poll = self._clock.monotonic() + self.config.poll_interval_s
        try:
            if not self._registered:
                await self._register()
            fetched: list[Event] = []
            for program in self.programs.values():
                for raw in await self.client.get_all("/events", {"programID": program.id}):
                    try:
                        fetched.append(parse_event(raw, program))
                    except ObjectError as err:
                        _LOGGER.warning("Skipping an event of %s: %s", program.name, err)
            self._take_events(fetched, self._clock.now().timestamp())
            if not self.subscribed:  # without a webhook: the left-overs are deleted
                await self._subscribe()
        except AuthFailed as err:
            self._lost(Connection.AUTH_FAILED, str(err))
        except VtnUnreachable as err:
            self._lost(Connection.UNREACHABLE, str(err))
        except VtnRefused as err:
            self._lost(Connection.ERROR, str(err))
        else:
            self.last_contact = self._clock.now().timestamp()
            if self._registered:  # else a program is missing: `_register` said so
                self.connection = Connection.CONNECTED
                self.problem = ""

    def _lost(self, state: Connection, why: str) -> None:
        if self.connection is not state:
            _LOGGER.warning("OpenADR VTN %s: %s", state.value, why)
        self.connection = state
        self.problem = why

    # --- registration ----------------------------------------------------------------------------

    async def _register(self) -> None:
        if not self._tokens.token_url and not self._tokens.anonymous:
            info = await self.client.request("GET", "/auth/server", auth=False)
            url = info.get("tokenURL") if isinstance(info, dict) else None
            if not isinstance(url, str) or not url:
                raise VtnRefused(404, "the VTN names no token endpoint")
            self._tokens.token_url = url
        name = self.config.ven_name
        vens = await self.client.get_all("/vens", {"venName": name})
        ven = next((v for v in vens if isinstance(v, dict) and v.get("venName") == name), None)
        if ven is None:
            ven = await self.client.request(
                "POST", "/vens", body={"objectType": "VEN_VEN_REQUEST", "venName": name}
            )
        self.ven_id = _object_id(ven, "ven")
        await self._register_resource()
        found = {}
        for raw in await self.client.get_all("/programs"):
            try:
                program = parse_program(raw)
            except ObjectError:
                continue
            if program.name in self.config.programs:
                found[program.id] = program
        self.programs = found
        missing = set(self.config.programs) - {p.name for p in found.values()}
        self._registered = not missing  # a missing program is looked for again at each poll
        if missing:
            self.connection = Connection.ERROR
            self.problem = "programs not found: " + ", ".join(sorted(missing))
            _LOGGER.warning("OpenADR VTN: %s", self.problem)
        else:
            self.problem = ""

    async def _register_resource(self) -> None:
        assert self.ven_id is not None
        name = self.config.resource_name
        found = await self.client.get_all(
            "/resources", {"venID": self.ven_id, "resourceName": name}
        )
        resource = next(
            (r for r in found if isinstance(r, dict) and r.get("resourceName") == name), None
        )
        if resource is None:
            rated = round(self._fleet.reading().rated_kw, 3)
            resource = await self.client.request(
                "POST",
                "/resources",
                body={
                    "objectType": "VEN_RESOURCE_REQUEST",
                    "resourceName": name,
                    "venID": self.ven_id,
                    "attributes": [{"type": "MAX_POWER_CONSUMPTION", "values": [rated]}],
                },
            )
        self.resource_id = _object_id(resource, "resource")

    async def _subscribe(self) -> None:
        """Make the VTN's subscriptions of this VEN what the configuration says.

        The VTN shows a VEN only the subscriptions made with its own credentials (Definition
        3.1.1, "VEN created object privacy": `read_ven_objects`), and the VEN names itself in
        each (`clientName`, searchable by `GET /subscriptions?clientName=`): of those, one per
        program that calls this webhook with this token is kept; the rest are left-overs of an
        earlier start (another Home Assistant URL, a new token, a program no longer configured,
        or no webhook at all now) and are deleted (`DELETE /subscriptions/{subscriptionID}`).
        """
        url, token = self.config.callback_url, self.config.callback_token
        name = self.config.ven_name
        kept: dict[str, str] = {}  # program id -> subscription id
        try:
            found = await self.client.get_all("/subscriptions", {"clientName": name})
        except VtnRefused as err:
            # A VTN without subscriptions for VENs: nothing to tidy, polling alone works.
            _LOGGER.info("OpenADR VTN lists no subscriptions: %s", err)
            found = []
        for sub in found:
            sub_id = _usable_id(sub)
            if sub_id is None or sub.get("clientName") != name:
                continue
            program = sub.get("programID")
            current = (
                url
                and isinstance(program, str)
                and program in self.programs
                and program not in kept
                and _calls_back(sub, url, token)
            )
            if current:
                kept[str(program)] = sub_id
            else:
                await self._delete_subscription(sub_id)
        for program in self.programs.values():
            if not url or program.id in kept:
                continue
            operation: dict[str, object] = {
                "objects": ["EVENT"],
                "operations": ["CREATE", "UPDATE", "DELETE"],
                "callbackUrl": url,
            }
            if token:
                operation["bearerToken"] = token
            try:
                made = await self.client.request(
                    "POST",
                    "/subscriptions",
                    body={
                        "clientName": name,
                        "programID": program.id,
                        "objectOperations": [operation],
                    },
                )
            except VtnRefused as err:
                # A VTN that cannot call back (or will not): polling carries on alone.
                _LOGGER.warning("OpenADR subscription refused, polling only: %s", err)
                break
            made_id = _usable_id(made)
            if made_id is None:  # found by its name at the next start, and tidied then
                _LOGGER.warning("OpenADR VTN gave the subscription of %s no id", program.name)
            else:
                kept[program.id] = made_id
        self.subscription_ids = list(kept.values())
        self.subscribed = True

    async def _delete_subscription(self, sub_id: str) -> bool:
        """Delete one subscription; True when it is gone (deleted now, or already)."""
        try:
            await self.client.request("DELETE", f"/subscriptions/{quote(sub_id, safe='')}")
        except VtnRefused as err:
            if err.status == 404:  # gone already is as good as deleted
                return True
            _LOGGER.warning("OpenADR subscription %s not deleted: %s", sub_id, err)
            return False
        _LOGGER.info("OpenADR subscription %s deleted", sub_id)
        return True

    async def unsubscribe(self, timeout_s: float = 5.0) -> bool:
        """Delete the subscriptions this VEN made (it is unloaded or switched off), within
        `timeout_s`; True when none is left. Best effort: what stays is deleted at the next
        start (see `_subscribe`)."""
        refused: list[str] = []
        try:
            async with asyncio.timeout(timeout_s):
                while self.subscription_ids:
                    sub_id = self.subscription_ids[0]
                    if not await self._delete_subscription(sub_id):
                        refused.append(sub_id)
                    self.subscription_ids.pop(0)
        except (TimeoutError, VtnError) as err:
            _LOGGER.warning(
                "OpenADR subscriptions left on the VTN until the next start: %s", err or "timeout"
            )
        self.subscription_ids[:0] = refused
        self.subscribed = False
        return not self.subscription_ids

    # --- events ---------------------------------------------------------------------------------

    def _take_events(self, fetched: list[Event], now: float) -> None:
        """The VTN's list is the truth: new and changed events are placed, the ones it no
        longer lists are cancelled (deleted)."""
        ids = {e.id for e in fetched}
        for event in fetched:
            self._hold(event, now)
        for event_id in list(self.events):
            if event_id not in ids:
                self._cancel(event_id, now)

    def _hold(self, event: Event, now: float) -> None:
        held = self.events.get(event.id)
        if held is not None and held.event == event:
            return
        if held is None and self._finished.get(event.id) == event.modified:
            return  # done with, and not changed since
        seen_at = held.seen_at if held is not None else now
        placed = schedule(event, seen_at, random_shift(event, self._seed))
        end = placed.end
        if held is None and end is not None and end <= now:
            return  # over before it was seen: inactive (User Guide, event timing)
        planned = placed.pass_index(now)
        due = plan_reports(event, placed.pass_slots(planned))
        if held is not None:
            due = [r for r in due if r.due_at >= now]
        else:
            # Seen late: of the reports already due only the last one is sent (User Guide,
            # "'do it now' event reporting").
            past = [r for r in due if r.due_at < now]
            due = past[-1:] + [r for r in due if r.due_at >= now]
        if held is None:
            self.events[event.id] = EventView(event, seen_at, placed, due, planned)
            _LOGGER.info("OpenADR event %s (%s) received", event.id, event.name)
        else:
            held.event, held.schedule, held.due, held.planned = event, placed, due, planned

    def _cancel(self, event_id: str, now: float) -> None:
        view = self.events.pop(event_id)
        if view.meter is not None:
            self._record(view.meter.end(now))
        _LOGGER.info("OpenADR event %s cancelled", event_id)

    async def notified(self, body: object, authorization: str | None) -> int:
        """A webhook notification; returns the HTTP status to answer."""
        expected = self.config.callback_token
        if expected:
            given = authorization or ""
            if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
                return 401
        if not isinstance(body, dict) or body.get("objectType") != "EVENT":
            return 200 if isinstance(body, dict) else 400
        operation = body.get("operation")
        raw = body.get("object")
        try:
            event = parse_event(raw, self.programs.get(_program_of(raw)))
        except ObjectError:
            return 400
        if event.program_id not in self.programs:
            return 200  # not one of this VEN's programs
        now = self._clock.now().timestamp()
        if operation == "DELETE":
            if event.id in self.events:
                self._cancel(event.id, now)
        elif operation in ("CREATE", "UPDATE"):
            self._hold(event, now)
        return 200

    # --- acting ----------------------------------------------------------------------------------

    async def _act(self, now: float, reading: FleetReading) -> None:
        views = list(self.events.values())
        signals = signals_at(now, [v.event for v in views], {v.event.id: v.schedule for v in views})
        self.signals = signals
        target_kw = self._target_kw(signals.target, reading)
        caps = []
        for cap in signals.caps:
            other = self._fleet.other_load_kw()
            caps.append(max(0.0, float(cap.value) - (other or 0.0)))
        if signals.emergency is not None:
            caps.append(max(0.0, self.config.emergency_share * reading.rated_kw))
        cap_kw = min(caps) if caps else None
        deciding = [
            i.event_id for i in (signals.target, signals.cap, signals.emergency) if i is not None
        ]
        dispatch = GridDispatch(
            target_w=None if target_kw is None else round(target_kw * 1000.0, 1),
            cap_w=None if cap_kw is None else round(cap_kw * 1000.0, 1),
            events=", ".join(sorted(set(deciding))),
        )
        dispatch = self._fall_back(dispatch)
        if dispatch != self.dispatch:
            self.dispatch = dispatch
            await self._fleet.dispatch(dispatch)
        if self._price is not None:
            price = signals.price
            self._price.per_kwh = None if price is None else float(price.value)
        await self._answer_shortfalls(now, signals, target_kw, cap_kw)

    def _fall_back(self, dispatch: GridDispatch) -> GridDispatch:
        """An event that ended while the VTN was away leaves what `vtn_lost` says, until the
        VTN answers again or another event decides."""
        if self.connection is Connection.CONNECTED:
            if self.fallback is not None:
                _LOGGER.info("OpenADR VTN back: the fallback ends")
            self.fallback = None
            return dispatch
        empty = dispatch.target_w is None and dispatch.cap_w is None
        if not empty:
            self.fallback = None
            return dispatch
        last = self.dispatch
        if self.fallback is None and (last.target_w is not None or last.cap_w is not None):
            mode = self.config.vtn_lost
            if mode == "hold":
                self.fallback = GridDispatch(last.target_w, last.cap_w, "fallback: hold")
            elif mode == "standby":
                self.fallback = GridDispatch(0.0, None, "fallback: standby")
            if self.fallback is not None:
                _LOGGER.warning(
                    "OpenADR event ended while the VTN is unreachable: %s", self.fallback.events
                )
        return self.fallback if self.fallback is not None else dispatch

    def _target_kw(self, target: Instruction | None, reading: FleetReading) -> float | None:
        if target is None:
            return None
        value = float(target.value)
        if target.kind is Kind.SETPOINT:
            return value
        if target.kind is Kind.SIMPLE:
            share = self.config.simple_shares[int(value) - 1]
            return max(0.0, share * reading.rated_kw)
        view = self.events.get(target.event_id)
        baseline = view.meter.baseline_kw if view is not None and view.meter else None
        if baseline is None:
            baseline = reading.power_kw
        return max(0.0, baseline + value)

    def _asked_kw(self, view: EventView, now: float, reading: FleetReading) -> float | None:
        """What this event alone asks of the fleet now (for its measurement)."""
        own = signals_at(now, [view.event], {view.event.id: view.schedule})
        if own.target is not None:
            return self._target_kw(own.target, reading)
        caps = [float(c.value) for c in own.caps]
        if own.emergency is not None:
            caps.append(self.config.emergency_share * reading.rated_kw)
        if caps:
            baseline = view.meter.baseline_kw if view.meter is not None else reading.power_kw
            return min(*caps, baseline)
        return None

    async def _answer_shortfalls(
        self, now: float, signals: Signals, target_kw: float | None, cap_kw: float | None
    ) -> None:
        """An event the fleet cannot meet is answered with a report that says so."""
        reading = self._fleet.reading()
        reasons: dict[str, tuple[str, int, float | None, float]] = {}
        for event_id, why in signals.problems:
            reasons.setdefault(event_id, (why, 0, None, reading.power_kw))
        target = signals.target
        if target is not None and target_kw is not None:
            deliverable = min(target_kw, reading.rated_kw)
            if cap_kw is not None:
                deliverable = min(deliverable, cap_kw)
            why = ""
            if target_kw > reading.rated_kw * (1 + RATED_TOLERANCE) + 0.001:
                why = f"above the fleet's rated power {reading.rated_kw:.2f} kW"
            elif reading.source in (TargetSource.OVERRIDE, TargetSource.SAFETY):
                why = f"the site's {reading.source} holds the fleet"
                deliverable = reading.target_kw or 0.0
            elif reading.source == TargetSource.LIMIT and cap_kw is None:
                why = "a site limit caps the fleet"
                deliverable = reading.target_kw or 0.0
            elif reading.miners == 0 or (not reading.available and reading.target_kw is None):
                why = "no miner is available"
                deliverable = 0.0
            if why:
                reasons[target.event_id] = (why, target.interval_id, target_kw, deliverable)
        state = self._state(reading)
        for event_id, (why, interval_id, asked, deliverable) in reasons.items():
            view = self.events.get(event_id)
            if view is None or view.shortfall == why:
                continue
            view.shortfall = why
            _LOGGER.warning("OpenADR event %s cannot be met: %s", event_id, why)
            body = shortfall_body(
                event_id,
                interval_id,
                client_name=self.config.ven_name,
                asked_kw=asked,
                deliverable_kw=deliverable,
                state=state,
                reason=why,
                now=now,
            )
            self.outbox.put(event_id, now, body)
            view.counts.waiting += 1

    # --- measuring -------------------------------------------------------------------------------

    def _measure(self, now: float, reading: FleetReading) -> None:
        for view in self.events.values():
            start = view.schedule.start
            if start is None:
                continue
            end = view.end
            active = start <= now and (end is None or now < end)
            if active:
                asked = self._asked_kw(view, now, reading)
                if view.meter is None:
                    if asked is None:
                        continue  # a price or an alert of nothing to measure
                    view.meter = DispatchMeter(
                        view.event.id, "openadr", start, asked or reading.power_kw, self.history
                    )
                elif asked is not None:
                    view.meter.retarget(asked)
                view.meter.sample(now, reading.power_kw)
                view.performance = view.meter.performance()
            elif (
                view.meter is not None
                and view.meter.ended_at is None
                and end is not None
                and now >= end
            ):
                self._record(view.meter.end(end))
                view.performance = view.meter.performance()

    def _record(self, performance: Performance) -> None:
        self.performances.append(performance)
        del self.performances[:-MAX_PERFORMANCES]
        if self._on_performance is not None:
            self._on_performance(performance)

    # --- reporting -------------------------------------------------------------------------------

    def _state(self, reading: FleetReading) -> FleetState:
        running = reading.power_kw > reading.standby_kw + 0.01
        prefix = "RUNNING" if running else "IDLE"
        if reading.miners == 0:
            state = "ERROR"
        elif reading.source == TargetSource.OPENADR or (
            self.dispatch.cap_w is not None and reading.source == TargetSource.LIMIT
        ):
            # Curtailed or heightened against the deciding event's baseline.
            view = self.current_event()
            baseline = view.meter.baseline_kw if view is not None and view.meter else None
            if baseline is None:
                now = self._clock.now().timestamp()
                baseline = self.history.mean_kw(now - BASELINE_WINDOW_S, now)
            raised = reading.target_kw is not None and reading.target_kw > (baseline or 0.0)
            state = f"{prefix}_{'HEIGHTENED' if raised else 'CURTAILED'}"
        else:
            state = f"{prefix}_NORMAL"
        return FleetState(reading.power_kw, reading.rated_kw, reading.standby_kw, state)

    def _queue_reports(self, now: float, reading: FleetReading) -> None:
        state = self._state(reading)
        for view in self.events.values():
            self._plan_next_pass(view, now)
            while view.due and view.due[0].due_at <= now:
                due = view.due.pop(0)
                meter = view.meter
                body = report_body(
                    due,
                    client_name=self.config.ven_name,
                    resource_name=self.config.resource_name,
                    history=self.history,
                    baseline_kw=meter.baseline_kw if meter is not None else None,
                    target_kw=meter.target_kw if meter is not None else None,
                    state=state,
                    now=now,
                )
                if body is not None:
                    self.outbox.put(view.event.id, due.due_at, body)
                    view.counts.waiting += 1

    @staticmethod
    def _plan_next_pass(view: EventView, now: float) -> None:
        """Looping intervals: each pass asks for the event's reports again (User Guide 7.5,
        "Looping intervals": a report of all intervals is due whenever a pass has transpired)."""
        index = view.schedule.pass_index(now)
        if index > view.planned and view.schedule.span >= MIN_REPORTED_PASS_S:
            view.planned = index
            view.due.extend(plan_reports(view.event, view.schedule.pass_slots(index)))
            view.due.sort(key=lambda r: r.due_at)

    async def _send_reports(self, now: float) -> None:
        # Unreachable: the reports wait for the next poll that gets through.
        if self.connection in (Connection.AUTH_FAILED, Connection.STARTING, Connection.UNREACHABLE):
            return
        outbox = self.outbox
        while outbox.waiting:
            event_id, due_at, body = outbox.waiting[0]
            counts = self.events[event_id].counts if event_id in self.events else None
            try:
                await self.client.request("POST", "/reports", body=body)
            except VtnUnreachable as err:
                self._lost(Connection.UNREACHABLE, str(err))
                return  # kept for the next turn
            except VtnRefused as err:
                _LOGGER.warning("OpenADR report for %s refused: %s", event_id, err)
                outbox.waiting.pop(0)
                if counts is not None:
                    counts.waiting -= 1
                    counts.refused += 1
                continue
            except VtnError as err:  # pragma: no cover - the two above are all there are
                _LOGGER.warning("OpenADR report for %s failed: %s", event_id, err)
                return
            outbox.waiting.pop(0)
            self.last_contact = now
            late = now - due_at > self.config.late_after_s
            self.reports_sent += 1
            self.reports_late += late
            if counts is not None:
                counts.waiting -= 1
                counts.sent += 1
                counts.late += late

    def _forget_ended(self, now: float) -> None:
        for event_id, view in list(self.events.items()):
            end = view.end
            done = end is not None and now - end > KEEP_ENDED_S and not view.due
            if done and not any(e == event_id for e, _d, _b in self.outbox.waiting):
                del self.events[event_id]
                self._finished[event_id] = view.event.modified

    # --- for people ----------------------------------------------------------------------------

    def current_event(self) -> EventView | None:
        """The event that decides the fleet now (its target, else its cap), if any."""
        for instruction in (self.signals.target, self.signals.cap, self.signals.emergency):
            if instruction is not None and instruction.event_id in self.events:
                return self.events[instruction.event_id]
        return None


def new_callback_token() -> str:
    """A random bearer token for the VTN to call the webhook with."""
    return secrets.token_urlsafe(24)


def _usable_id(obj: Any) -> str | None:
    value = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(value, str) or not value or len(value) > 128:
        return None
    return value


def _object_id(obj: Any, what: str) -> str:
    value = _usable_id(obj)
    if value is None:
        raise VtnRefused(502, f"the VTN's {what} has no usable id")
    return value


def _calls_back(subscription: dict[str, Any], url: str, token: str) -> bool:
    """Whether a subscription calls `url` for events, with `token` where the VTN shows one."""
    operations = subscription.get("objectOperations")
    if not isinstance(operations, list):
        return False
    for o in operations:
        if not isinstance(o, dict) or o.get("callbackUrl") != url:
            continue
        shown = o.get("bearerToken")
        objects = o.get("objects")
        if (shown is None or shown == (token or None)) and (
            not isinstance(objects, list) or "EVENT" in objects
        ):
            return True
    return False


def _program_of(raw: object) -> str:
    value = raw.get("programID") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else ""
