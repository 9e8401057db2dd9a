"""A test VTN: OpenADR 3.1.1's REST API on loopback, strict about every request.

Built from the specification (grid-coordination/openadr3-specification, `3.1.1/openadr3.yaml`,
`Definition.md` and `User_Guide.md`): OAuth2 client credentials at `/auth/token` (form-encoded,
`expires_in` in seconds; an expired or unknown token is a 401 problem), `/auth/server` naming the
token endpoint, programs, events, vens, resources, subscriptions and reports with the
`skip`/`limit` paging (limit at most 50), objects given `id`, `createdDateTime`,
`modificationDateTime` and `objectType`, the VEN's client id written into what it creates, and
webhook notifications (`notification` objects) to subscribers, a subscription read or deleted by
its id (`/subscriptions/{subscriptionID}`, only by the client that made it). Before it takes a
subscription it calls the callback with `GET ?echo=<random>` and wants the value back
(Definition, Webhooks); unlike the specification it allows `http://` callbacks, since tests run
on loopback.

Every request is checked (`vtn_schema`); a violation is answered 400 with a problem and kept in
`violations`. Faults for tests: the next requests fail with a status (`fail_next`), hang past any
client timeout (`hang_next`), or the server goes away altogether (`stop`, then `start` again on
the same port). Time (token expiry, timestamps) comes from the simulator's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from . import vtn_schema
from .clock import Clock, ManualClock

MAX_BODY = 1024 * 1024


@dataclass
class Fault:
    """What the next requests suffer."""

    status: int = 0  # answered with this status
    hang: bool = False  # never answered (until the client gives up)
    page: bool = False  # with a proxy's text page instead of a problem object
    count: int = 0


@dataclass
class StoredObject:
    """An object and who created it."""

    body: dict[str, Any]
    client_id: str = ""


@dataclass
class Notification:
    """A webhook call made (or tried)."""

    url: str
    body: dict[str, Any]
    status: int | None = None


@dataclass
class VtnState:
    """What the VTN holds."""

    programs: dict[str, StoredObject] = field(default_factory=dict)
    events: dict[str, StoredObject] = field(default_factory=dict)
    vens: dict[str, StoredObject] = field(default_factory=dict)
    resources: dict[str, StoredObject] = field(default_factory=dict)
    subscriptions: dict[str, StoredObject] = field(default_factory=dict)
    reports: dict[str, StoredObject] = field(default_factory=dict)


class TestVtn:
    """The VTN; `await start()`, then `base_url` and `token_url`."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        clients: dict[str, str] | None = None,
        token_lifetime_s: int = 3600,
        host: str = "127.0.0.1",
    ) -> None:
        """`clients` maps VEN client ids to their secrets."""
        self.clock = clock or ManualClock()
        self.clients = clients if clients is not None else {"ven-client": "ven-secret"}
        self.token_lifetime_s = token_lifetime_s
        self.host = host
        self.port = 0
        self.state = VtnState()
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, expires at)
        self.violations: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.tokens_issued = 0
        self.notifications: list[Notification] = []
        self.fault = Fault()
        self._next_id = 1
        self._runner: web.AppRunner | None = None
        self._hang = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._pending: set[asyncio.Task[None]] = set()

    # --- life ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root."""
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return f"{self.base_url}/auth/token"

    @property
    def running(self) -> bool:
        """Whether it listens."""
        return self._runner is not None

    async def start(self) -> None:
        """Listen (on the same port as before after a `stop`)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server = site._server  # the port the system chose
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._hang = asyncio.Event()
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Go away: every connection is refused until `start`."""
        self._hang.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def close(self) -> None:
        """Stop and close the webhook client."""
        await self.stop()
        await self.deliver()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def fail_next(self, count: int, status: int = 500, *, page: bool = False) -> None:
        """The next `count` API requests are answered with `status` (`page`: with a text page,
        as a reverse proxy in front of a VTN answers)."""
        self.fault = Fault(status=status, count=count, page=page)

    def hang_next(self, count: int) -> None:
        """The next `count` API requests are never answered (the client times out)."""
        self.fault = Fault(hang=True, count=count)

    async def deliver(self) -> None:
        """Wait until every webhook call made so far is done."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # --- what the business logic does -------------------------------------------------------------

    def _now_text(self) -> str:
        moment = datetime.fromtimestamp(self.clock.wall(), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def _stored(self, body: dict[str, Any], object_type: str, prefix: str) -> dict[str, Any]:
        now = self._now_text()
        created = {
            **{k: v for k, v in body.items() if k not in ("id", "createdDateTime")},
            "id": f"{prefix}-{self._next_id}",
            "createdDateTime": now,
            "modificationDateTime": now,
            "objectType": object_type,
        }
        self._next_id += 1
        return created

    def create_program(self, name: str, **extra: Any) -> str:
        """A program (as the BL would create it); its id."""
        program = self._stored({"programName": name, **extra}, "PROGRAM", "program")
        self.state.programs[program["id"]] = StoredObject(program)
        return str(program["id"])

    def create_event(self, body: dict[str, Any]) -> str:
        """An event (checked like any request); subscribers are notified. Its id."""
        errors = vtn_schema.check_event(body)
        if errors:
            raise ValueError("; ".join(errors))
        event = self._stored(body, "EVENT", "event")
        self.state.events[event["id"]] = StoredObject(event)
        self._notify("EVENT", "CREATE", event)
        return str(event["id"])

    def update_event(self, event_id: str, body: dict[str, Any]) -> None:
        """Replace an event's content; subscribers are notified."""
        errors = vtn_schema.check_event(body)
        if errors:
            raise ValueError("; ".join(errors))
        old = self.state.events[event_id].body
        event = {
            **body,
            "id": event_id,
            "createdDateTime": old["createdDateTime"],
            "modificationDateTime": self._now_text(),
            "objectType": "EVENT",
        }
        self.state.events[event_id] = StoredObject(event)
        self._notify("EVENT", "UPDATE", event)

    def delete_event(self, event_id: str) -> None:
        """Delete an event (the specification's way to cancel one); subscribers are notified."""
        event = self.state.events.pop(event_id).body
        self._notify("EVENT", "DELETE", event)

    def reports_for(self, event_id: str) -> list[dict[str, Any]]:
        """The reports received for one event, in order."""
        return [r.body for r in self.state.reports.values() if r.body.get("eventID") == event_id]

    # --- webhooks --------------------------------------------------------------------------------

    def _notify(self, object_type: str, operation: str, obj: dict[str, Any]) -> None:
        for sub in self.state.subscriptions.values():
            body = sub.body
            if body.get("programID") not in (None, obj.get("programID")):
                continue
            for op in body["objectOperations"]:
                if object_type in op["objects"] and operation in op["operations"]:
                    note = {"objectType": object_type, "operation": operation, "object": obj}
                    task = asyncio.get_running_loop().create_task(
                        self._call(op["callbackUrl"], op.get("bearerToken"), note)
                    )
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    async def _call(self, url: str, bearer: str | None, note: dict[str, Any]) -> None:
        record = Notification(url, note)
        self.notifications.append(record)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        assert self._session is not None
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with self._session.post(
                url, json=note, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                record.status = response.status

    async def _verify_callback(self, url: str) -> bool:
        challenge = secrets.token_hex(8)
        assert self._session is not None
        try:
            async with self._session.get(
                url, params={"echo": challenge}, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                text = await response.text()
                return response.status == 200 and challenge in text
        except aiohttp.ClientError, TimeoutError:
            return False

    # --- the API ---------------------------------------------------------------------------------

    def _problem(self, status: int, detail: str) -> web.Response:
        titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
        body = {"title": titles.get(status, "Error"), "status": status, "detail": detail}
        return web.json_response(body, status=status)

    def _violation(self, request: web.Request, errors: list[str]) -> web.Response:
        self.violations.extend(f"{request.method} {request.path}: {e}" for e in errors)
        return self._problem(400, "; ".join(errors)[:2000])

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.fault.count > 0:
            self.fault.count -= 1
            if self.fault.hang:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hang.wait(), timeout=30)
                return self._problem(500, "hung")
            if self.fault.page:
                return web.Response(status=self.fault.status, text="<html>Bad Gateway</html>")
            return self._problem(self.fault.status, "injected failure")
        path = request.path.rstrip("/") or "/"
        if path == "/auth/server" and request.method == "GET":
            return web.json_response({"tokenURL": self.token_url})
        if path == "/auth/token" and request.method == "POST":
            return await self._token(request)
        client_id = self._client_of(request)
        if client_id is None:
            return self._problem(401, "missing, unknown or expired token")
        collection, _, object_id = path.lstrip("/").partition("/")
        handlers = {
            "programs": self._programs,
            "events": self._events,
            "vens": self._vens,
            "resources": self._resources,
            "subscriptions": self._subscriptions,
            "reports": self._reports,
        }
        handler = handlers.get(collection)
        if handler is None:
            return self._problem(404, f"no {path}")
        if request.method == "GET" and not object_id:
            errors = vtn_schema.check_query(f"/{collection}", request.query)
            if errors:
                return self._violation(request, errors)
        body: Any = None
        if request.method in ("POST", "PUT"):
            if request.content_type != "application/json":
                return self._violation(request, [f"content type {request.content_type}"])
            try:
                body = json.loads(await request.read())
            except ValueError:
                return self._violation(request, ["the body is not JSON"])
        return await handler(request, client_id, object_id, body)

    async def _token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            self.violations.append(f"POST /auth/token: content type {request.content_type}")
            return web.json_response({"error": "invalid_request"}, status=400)
        form = await request.post()
        unknown = set(form) - {"grant_type", "client_id", "client_secret", "scope"}
        if unknown or form.get("grant_type") != "client_credentials":
            self.violations.append(f"POST /auth/token: bad form {sorted(form)}")
            return web.json_response({"error": "invalid_request"}, status=400)
        client_id = str(form.get("client_id", ""))
        if self.clients.get(client_id) != form.get("client_secret"):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(16)
        self.tokens[token] = (client_id, self.clock.now() + self.token_lifetime_s)
        self.tokens_issued += 1
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_s,
            }
        )

    def _client_of(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        found = self.tokens.get(header[7:])
        if found is None or self.clock.now() >= found[1]:
            return None
        return found[0]

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        skip = int(request.query.get("skip", "0"))
        limit = int(request.query.get("limit", "50"))
        return web.json_response(items[skip : skip + limit])

    async def _programs(
        self, request: web.Request, client_id: str, object_id: str, body: Any
    ) -> web.Response:
        return self._published(request, self.state.programs, object_id, "programs")

    async def _events(
        self, request: web.Request, client_id: str, object_id: str, body: Any
    ) -> web.Response:
        return self._published(request, self.state.events, object_id, "events", "programID")

    def _published(
        self,
        request: web.Request,
        store: dict[str, StoredObject],
        object_id: str,
        what: str,
        *fields: str,
    ) -> web.Response:
        """Objects the VTN publishes to every VEN: read only, one by its id, or a page of them
        narrowed by the `fields` the query names."""
        if request.method != "GET":
            return self._problem(403, f"VENs may not write {what}")
        if object_id:
            found = store.get(object_id)
            return web.json_response(found.body) if found else self._problem(404, object_id)
        return self._page(request, _narrowed(request, [o.body for o in store.values()], fields))

    def _own(self, store: dict[str, StoredObject], client_id: str) -> list[dict[str, Any]]:
        return [o.body for o in store.values() if o.client_id == client_id]

    def _own_page(
        self, request: web.Request, store: dict[str, StoredObject], client_id: str, *fields: str
    ) -> web.Response:
        """A page of the client's own objects, narrowed by the `fields` the query names."""
        return self._page(request, _narrowed(request, self._own(store, client_id), fields))

    def _keep(
        self,
        store: dict[str, StoredObject],
        client_id: str,
        body: dict[str, Any],
        object_type: str,
        prefix: str,
    ) -> dict[str, Any]:
        """Store a new object the client sent, with the fields the VTN adds."""
        stored = self._stored({**body, "clientID": client_id}, object_type, prefix)
        store[stored["id"]] = StoredObject(stored, client_id)
        return stored

    async def _vens(
        self, request: web.Request, client_id: str, object_id: str, body: Any
    ) -> web.Response:
        if request.method == "GET":
            return self._own_page(request, self.state.vens, client_id, "venName")
        if request.method != "POST" or object_id:
            return self._problem(403, "not allowed")
        errors: list[str] = []
        vtn_schema.VEN_REQUEST(body, "ven", errors)
        if errors:
            return self._violation(request, errors)
        if any(v["venName"] == body["venName"] for v in self._own(self.state.vens, client_id)):
            return self._problem(409, "a ven of that name exists")
        ven = self._keep(self.state.vens, client_id, body, "VEN", "ven")
        return web.json_response(ven, status=201)

    async def _resources(
        self, request: web.Request, client_id: str, object_id: str, body: Any
    ) -> web.Response:
        if request.method == "GET":
            return self._own_page(request, self.state.resources, client_id, "venID", "resourceName")
        if request.method != "POST" or object_id:
            return self._problem(403, "not allowed")
        errors: list[str] = []
        vtn_schema.RESOURCE_REQUEST(body, "resource", errors)
        if not errors:
            errors = vtn_schema.check_attributes(body)
        if errors:
            return self._violation(request, errors)
        if body["venID"] not in self.state.vens:
            return self._problem(404, f"no ven {body['venID']}")
        resource = self._keep(self.state.resources, client_id, body, "RESOURCE", "resource")
        return web.json_response(resource, status=201)

    async def _subscriptions(
        self, request: web.Request, client_id: str, object_id: str, body: Any
    ) -> web.Response:
        if request.method == "GET":
            return self._own_page(
                request, self.state.subscriptions, client_id, "programID", "clientName"
            )
        if object_id:
            return self._one_subscription(request, client_id, object_id)
        if request.method != "POST":
            return self._problem(403, "not allowed")
        errors: list[str] = []
        vtn_schema.SUBSCRIPTION_REQUEST(body, "subscription", errors)
        if errors:
            return self._violation(request, errors)
        for op in body["objectOperations"]:
            if not await self._verify_callback(op["callbackUrl"]):
                return self._problem(400, f"callback {op['callbackUrl']} failed the echo check")
        sub = self._keep(self.state.subscriptions, client_id, body, "SUBSCRIPTION", "subscription")
        return web.json_response(sub, status=201)

    def _one_subscription(
        self, request: web.Request, client_id: str, object_id: str
    ) -> web.Response:
        """GET or DELETE one subscription; a VEN sees only its own (Definition, "VEN created
        object privacy"): another's is as missing as an unknown one. DELETE answers the deleted
        object (`deleteSubscription`, 200)."""
        found = self.state.subscriptions.get(object_id)
        if found is None or found.client_id != client_id:
            return self._problem(404, f"no subscription {object_id}")
        if request.method == "GET":
            return web.json_response(found.body)
        if request.method == "DELETE":
            del self.state.subscriptions[object_id]
            return web.json_response(found.body)
        return self._problem(403, "not allowed")

    async def _reports(
        self, request: web.Request, client_id: str, object_id: str, body: Any
    ) -> web.Response:
        if request.method == "GET":
            return self._page(request, self._own(self.state.reports, client_id))
        if request.method != "POST" or object_id:
            return self._problem(403, "not allowed")
        errors = vtn_schema.check_report(body)
        if errors:
            return self._violation(request, errors)
        if body["eventID"] not in self.state.events:
            return self._problem(404, f"no event {body['eventID']}")
        report = self._keep(self.state.reports, client_id, body, "REPORT", "report")
        report["receivedAt"] = self.clock.wall()  # for the tests: not sent to anybody
        shown = {k: v for k, v in report.items() if k != "receivedAt"}
        return web.json_response(shown, status=201)


def _narrowed(
    request: web.Request, objects: list[dict[str, Any]], fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The objects whose `fields` equal the query's (a field the query does not name is free)."""
    wanted = {f: request.query[f] for f in fields if f in request.query}
    return [o for o in objects if all(o.get(f) == value for f, value in wanted.items())]
