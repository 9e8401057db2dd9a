"""The VTN client against a loopback server that answers badly: oversized, empty and non-JSON
bodies, token endpoints that fail in every way, a token refused twice, and paged searches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from custom_components.net_stabilization.core.openadr.client import (
    DEFAULT_TOKEN_LIFETIME_S,
    MAX_BODY,
    PAGE,
    RENEW_SHARE,
    AuthFailed,
    TokenSource,
    VtnClient,
    VtnRefused,
    VtnUnreachable,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Clock:
    """Monotonic seconds the test moves."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Vtn:
    """A loopback server whose token and API answers the test sets per path."""

    def __init__(self) -> None:
        self.token: Handler = _token_answer({"access_token": "t1", "expires_in": 600})
        self.routes: dict[str, Handler] = {}
        self.seen: list[web.Request] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        if request.path == "/token":
            return await self.token(request)
        return await self.routes[request.path](request)


def _token_answer(body: object, status: int = 200) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    return answer


def _raw(body: bytes, status: int = 200) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, status=status, content_type="application/json")

    return answer


@pytest.fixture
async def vtn() -> AsyncIterator[Vtn]:
    server = Vtn()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def tokens_for(vtn: Vtn, session: aiohttp.ClientSession, clock: Clock | None = None) -> TokenSource:
    return TokenSource(session, f"{vtn.url}/token", "ven", "secret", clock or Clock())


# ----------------------------------------------------------------------------- answers


async def test_an_answer_larger_than_the_bound_is_not_parsed(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/programs"] = _raw(b"[" + b" " * MAX_BODY + b"]")
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    with pytest.raises(VtnUnreachable):
        await client.request("GET", "/programs")


async def test_an_answer_of_many_chunks_within_the_bound_is_read_whole(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    events = [{"id": str(n), "eventName": "x" * 200} for n in range(PAGE)] * 20
    vtn.routes["/events"] = _raw(json.dumps(events).encode())
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    assert await client.request("GET", "/events") == events


async def test_an_empty_answer_is_none(vtn: Vtn, session: aiohttp.ClientSession) -> None:
    vtn.routes["/reports/1"] = _raw(b"", status=204)
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    assert await client.request("DELETE", "/reports/1") is None


async def test_a_successful_answer_that_is_not_json_counts_as_unreachable(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/programs"] = _raw(b"<html>maintenance</html>")
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    with pytest.raises(VtnUnreachable, match="not JSON"):
        await client.request("GET", "/programs")


async def test_an_error_page_that_is_not_json_is_judged_by_its_status(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/programs"] = _raw(b"<html>no such thing</html>", status=404)
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    with pytest.raises(VtnRefused, match="no detail") as refused:
        await client.request("GET", "/programs")
    assert refused.value.status == 404


async def test_a_server_error_is_unreachable_and_names_the_problem(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/events"] = _raw(json.dumps({"title": "database down"}).encode(), status=503)
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    with pytest.raises(VtnUnreachable, match="HTTP 503 database down"):
        await client.request("GET", "/events")


async def test_a_token_refused_after_a_fresh_one_gives_up_after_one_retry(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/events"] = _raw(json.dumps({"detail": "who are you"}).encode(), status=401)
    tokens = tokens_for(vtn, session)
    client = VtnClient(session, vtn.url, tokens)
    with pytest.raises(VtnRefused, match="who are you") as refused:
        await client.request("GET", "/events")
    assert refused.value.status == 401
    assert tokens.fetched == 2  # the first token was dropped and one new one tried
    assert client.requests == 2


async def test_an_error_without_a_known_detail_field_says_so(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/events"] = _raw(json.dumps({"code": 7, "title": ""}).encode(), status=409)
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    with pytest.raises(VtnRefused, match="no detail"):
        await client.request("GET", "/events")


async def test_a_vtn_that_refuses_connections_is_unreachable(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    client = VtnClient(session, "http://127.0.0.1:1", tokens_for(vtn, session))
    with pytest.raises(VtnUnreachable, match="GET /programs"):
        await client.request("GET", "/programs")


async def test_an_anonymous_client_sends_no_token(vtn: Vtn, session: aiohttp.ClientSession) -> None:
    vtn.routes["/programs"] = _raw(b"[]")
    tokens = TokenSource(session, f"{vtn.url}/token", "", "", Clock())
    client = VtnClient(session, vtn.url, tokens)
    assert tokens.anonymous
    assert await client.request("GET", "/programs") == []
    assert [r.path for r in vtn.seen] == ["/programs"]
    assert "Authorization" not in vtn.seen[0].headers


# ----------------------------------------------------------------------------- searches


async def test_a_search_is_read_page_by_page_until_a_short_page(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    items = [{"id": str(n)} for n in range(PAGE + 3)]

    async def paged(request: web.Request) -> web.Response:
        skip, limit = int(request.query["skip"]), int(request.query["limit"])
        return web.json_response(items[skip : skip + limit])

    vtn.routes["/events"] = paged
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    assert await client.get_all("/events", {"programID": "p"}) == items
    pages = [r for r in vtn.seen if r.path == "/events"]
    assert [r.query["skip"] for r in pages] == ["0", str(PAGE)]
    assert all(r.query["programID"] == "p" for r in pages)


async def test_a_search_answered_with_something_else_than_a_list_is_unreachable(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.routes["/events"] = _raw(b'{"events": []}')
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    with pytest.raises(VtnUnreachable, match="not a list"):
        await client.get_all("/events")


async def test_a_search_that_never_ends_stops_after_forty_pages(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    async def endless(request: web.Request) -> web.Response:
        return web.json_response([{"id": request.query["skip"]}] * PAGE)

    vtn.routes["/events"] = endless
    client = VtnClient(session, vtn.url, tokens_for(vtn, session))
    assert len(await client.get_all("/events")) == 40 * PAGE


# ----------------------------------------------------------------------------- tokens


async def test_a_failing_token_endpoint_is_unreachable(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.token = _token_answer({"error": "overloaded"}, status=502)
    with pytest.raises(VtnUnreachable, match="HTTP 502"):
        await tokens_for(vtn, session).token()


async def test_refused_credentials_are_auth_failed_with_the_reason(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    vtn.token = _token_answer({"error": "invalid_client"}, status=400)
    with pytest.raises(AuthFailed, match="invalid_client"):
        await tokens_for(vtn, session).token()


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, ["not", "an", "object"], "gave no token"),
        (302, {"access_token": "t"}, "gave no token"),
        (200, {"token_type": "Bearer"}, "no usable access_token"),
        (200, {"access_token": ""}, "no usable access_token"),
        (200, {"access_token": "x" * 4097}, "no usable access_token"),
    ],
)
async def test_a_token_answer_without_a_usable_token_is_refused(
    vtn: Vtn, session: aiohttp.ClientSession, status: int, body: object, message: str
) -> None:
    vtn.token = _token_answer(body, status=status)
    with pytest.raises(VtnRefused, match=message):
        await tokens_for(vtn, session).token()


async def test_an_unreachable_token_endpoint_is_unreachable(
    vtn: Vtn, session: aiohttp.ClientSession
) -> None:
    tokens = TokenSource(session, "http://127.0.0.1:1/token", "ven", "secret", Clock())
    with pytest.raises(VtnUnreachable, match="token endpoint"):
        await tokens.token()


@pytest.mark.parametrize("lifetime", [None, True, "3600", 0, -5])
async def test_a_token_without_a_sane_lifetime_lasts_the_default(
    vtn: Vtn, session: aiohttp.ClientSession, lifetime: object
) -> None:
    body: dict[str, object] = {"access_token": "t1"}
    if lifetime is not None:
        body["expires_in"] = lifetime
    vtn.token = _token_answer(body)
    clock = Clock()
    tokens = tokens_for(vtn, session, clock)
    assert await tokens.token() == "t1"
    clock.t += DEFAULT_TOKEN_LIFETIME_S * RENEW_SHARE - 1
    await tokens.token()
    assert tokens.fetched == 1  # not renewed yet
    clock.t += 1
    await tokens.token()
    assert tokens.fetched == 2


async def test_a_forgotten_token_is_fetched_again(vtn: Vtn, session: aiohttp.ClientSession) -> None:
    tokens = tokens_for(vtn, session)
    await tokens.token()
    tokens.invalidate()
    await tokens.token()
    assert tokens.fetched == 2
