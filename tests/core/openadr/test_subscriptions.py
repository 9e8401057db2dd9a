"""The VEN's subscriptions on the VTN: an earlier start's are replaced or deleted, another
client's are never touched, and they are deleted when the VEN is switched off, in bounded time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from simulator.vtn import StoredObject

from .conftest import Site, event

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def hooks(site: Site) -> AsyncIterator[list[str]]:
    """Two callback endpoints on loopback (as before and after Home Assistant's URL changed)."""

    async def handle(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.Response(text=request.query.get("echo", ""))
        status = await site.ven.notified(await request.json(), request.headers.get("Authorization"))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_route("*", "/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield [f"http://127.0.0.1:{port}/old", f"http://127.0.0.1:{port}/new"]
    await runner.cleanup()


def _stored(site: Site, sub_id: str, url: str, **changes: Any) -> None:
    body = {
        "id": sub_id,
        "clientName": "site-1",
        "programID": site.program_id,
        "objectOperations": [
            {
                "objects": ["EVENT"],
                "operations": ["CREATE", "UPDATE", "DELETE"],
                "callbackUrl": url,
                "bearerToken": "s3cret",
            }
        ],
        **changes,
    }
    client = str(body.pop("clientID", "ven-client"))
    site.vtn.state.subscriptions[sub_id] = StoredObject({**body, "clientID": client}, client)


def _callbacks(site: Site) -> list[str]:
    return [
        op["callbackUrl"]
        for s in site.vtn.state.subscriptions.values()
        for op in s.body["objectOperations"]
    ]


async def test_a_restart_with_a_new_url_replaces_the_old_subscription(
    site: Site, hooks: list[str]
) -> None:
    old, new = hooks
    _stored(site, "subscription-old", old)
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    assert _callbacks(site) == [new]
    assert site.ven.subscription_ids == list(site.vtn.state.subscriptions)
    # Events reach the new webhook only, once.
    site.vtn.create_event(event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 6.0))
    await site.vtn.deliver()
    assert [(n.url, n.status) for n in site.vtn.notifications] == [(new, 200)]
    assert site.vtn.violations == []


async def test_a_restart_keeps_its_own_current_subscription_and_drops_duplicates(
    site: Site, hooks: list[str]
) -> None:
    _, new = hooks
    _stored(site, "subscription-a", new)
    _stored(site, "subscription-b", new)
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    assert list(site.vtn.state.subscriptions) == ["subscription-a"]
    assert ("POST", "/subscriptions") not in site.vtn.requests


async def test_a_new_token_replaces_a_subscription_with_the_old_one(
    site: Site, hooks: list[str]
) -> None:
    _, new = hooks
    _stored(site, "subscription-a", new)
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="n3w")
    await site.ven.step()
    (only,) = site.vtn.state.subscriptions.values()
    assert only.body["id"] != "subscription-a"
    assert only.body["objectOperations"][0]["bearerToken"] == "n3w"


async def test_without_a_webhook_now_the_old_subscriptions_are_deleted(
    site: Site, hooks: list[str]
) -> None:
    old, _ = hooks
    _stored(site, "subscription-old", old)
    _stored(site, "subscription-gone-program", old, programID="program-99")
    await site.ven.step()  # polling only
    assert site.vtn.state.subscriptions == {}
    assert site.ven.subscribed


async def test_another_clients_or_another_vens_subscriptions_are_left_alone(
    site: Site, hooks: list[str]
) -> None:
    old, new = hooks
    _stored(site, "subscription-other-client", old, clientID="someone-else")
    _stored(site, "subscription-other-ven", old, clientName="site-2")
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    assert {"subscription-other-client", "subscription-other-ven"} <= set(
        site.vtn.state.subscriptions
    )
    assert len(site.vtn.state.subscriptions) == 3


async def test_switching_off_deletes_the_subscription(site: Site, hooks: list[str]) -> None:
    _, new = hooks
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    assert len(site.vtn.state.subscriptions) == 1
    assert await site.ven.unsubscribe(timeout_s=2.0)
    assert site.vtn.state.subscriptions == {}
    assert site.ven.subscription_ids == []
    assert site.vtn.violations == []


async def test_a_subscription_gone_already_counts_as_deleted(site: Site, hooks: list[str]) -> None:
    _, new = hooks
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    site.vtn.state.subscriptions.clear()  # the VTN's operator removed it
    assert await site.ven.unsubscribe(timeout_s=2.0)


async def test_switching_off_with_the_vtn_hanging_gives_up_in_bounded_time(
    site: Site, hooks: list[str]
) -> None:
    _, new = hooks
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    site.vtn.hang_next(5)
    assert not await site.ven.unsubscribe(timeout_s=0.2)  # left for the next start
    assert len(site.ven.subscription_ids) == 1
    assert not site.ven.subscribed


async def test_switching_off_with_the_vtn_down_gives_up(site: Site, hooks: list[str]) -> None:
    _, new = hooks
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    await site.vtn.stop()
    assert not await site.ven.unsubscribe(timeout_s=2.0)


async def test_a_ven_that_never_subscribed_has_nothing_to_delete(site: Site) -> None:
    assert await site.ven.unsubscribe(timeout_s=2.0)
    assert site.vtn.requests == []


async def test_a_vtn_that_lists_no_subscriptions_leaves_a_polling_ven_be(site: Site) -> None:
    async def refuse(request: web.Request, *_: object) -> web.Response:
        return web.json_response({"title": "Forbidden", "status": 403}, status=403)

    site.vtn._subscriptions = refuse  # type: ignore[method-assign]
    event_id = site.vtn.create_event(event(site.program_id, site.at(0), "DISPATCH_SETPOINT", 2.0))
    await site.run(30)
    assert site.ven.connection.value == "connected"
    assert site.ven.subscribed
    assert event_id in site.ven.events


async def test_a_deletion_the_vtn_refuses_is_said_not_hidden(site: Site, hooks: list[str]) -> None:
    _, new = hooks
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    site.vtn.fail_next(1, 403)
    assert not await site.ven.unsubscribe(timeout_s=2.0)
    assert len(site.ven.subscription_ids) == 1
    assert len(site.vtn.state.subscriptions) == 1


async def test_a_subscription_answered_without_an_id_is_made_once(
    site: Site, hooks: list[str]
) -> None:
    original = site.vtn._subscriptions

    async def no_id(request: web.Request, client: str, object_id: str, body: Any) -> web.Response:
        answer = await original(request, client, object_id, body)
        return web.json_response({}, status=201) if request.method == "POST" else answer

    site.vtn._subscriptions = no_id  # type: ignore[method-assign]
    _, new = hooks
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    assert site.ven.connection.value == "connected"  # an odd answer is no VTN error
    assert site.ven.subscribed
    await site.run(120)
    assert len(site.vtn.state.subscriptions) == 1  # not one more at every poll


async def test_a_listed_subscription_without_an_id_is_passed_over(
    site: Site, hooks: list[str]
) -> None:
    old, new = hooks
    _stored(site, "subscription-old", old)
    site.vtn.state.subscriptions["subscription-old"].body["id"] = ""
    site.ven.config = replace(site.ven.config, callback_url=new, callback_token="s3cret")
    await site.ven.step()
    assert site.ven.connection.value == "connected"
    assert new in _callbacks(site)
