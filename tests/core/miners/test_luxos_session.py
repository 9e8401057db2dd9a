"""LuxOS session and profile corners against scripted stand-ins on loopback sockets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from custom_components.net_stabilization.core.miners import (
    MinerProtocolError,
    MinerUnsupportedError,
)
from custom_components.net_stabilization.core.miners.cgminer import (
    CgminerClient,
    CgminerCommandError,
)
from custom_components.net_stabilization.core.miners.endpoint import Timeouts
from custom_components.net_stabilization.core.miners.luxos import LuxosDriver
from custom_components.net_stabilization.core.miners.luxos_session import (
    LuxosSession,
    LuxosSessionBusyError,
)

from .standins import ApiStandIn

FAST = Timeouts(connect_s=1.0, api_read_s=0.5)
Script = dict[str, list[dict[str, Any]]]


def ok(section: str | None = None, items: Any = None, code: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"STATUS": [{"STATUS": "S", "Code": code, "Msg": "ok"}]}
    if section is not None:
        body[section] = items
    return body


def refused(code: int, msg: str) -> dict[str, Any]:
    return {"STATUS": [{"STATUS": "E", "Code": code, "Msg": msg}]}


def sid(value: str) -> dict[str, Any]:
    return ok("SESSION", [{"SessionID": value}])


class Scripted:
    """Answers each command with the next scripted reply (the last one repeats)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sent: list[tuple[str, str | None]] = []

    async def __call__(self, request: bytes) -> bytes:
        data = json.loads(request)
        self.sent.append((data["command"], data.get("parameter")))
        replies = self.script.get(data["command"]) or [refused(14, "Invalid command")]
        answer = replies.pop(0) if len(replies) > 1 else replies[0]
        return json.dumps({**answer, "id": 1}).encode() + b"\0"


@pytest.fixture
async def stand_in() -> AsyncIterator[ApiStandIn]:
    server = ApiStandIn(Scripted({}))
    await server.start()
    yield server
    await server.stop()


def script(stand_in: ApiStandIn, commands: Script) -> Scripted:
    scripted = Scripted(commands)
    stand_in.handler = scripted
    return scripted


def luxos_session(stand_in: ApiStandIn) -> LuxosSession:
    return LuxosSession(CgminerClient("127.0.0.1", stand_in.port, read_timeout_s=0.5))


async def test_a_refusal_while_the_session_lives_is_not_retried(
    stand_in: ApiStandIn,
) -> None:
    scripted = script(
        stand_in,
        {
            "logon": [sid("a1")],
            # Worded as if about the session: the wording decides nothing.
            "curtail": [refused(401, "Invalid session action")],
            "session": [sid("a1")],
        },
    )
    with pytest.raises(CgminerCommandError, match="Invalid session action"):
        await luxos_session(stand_in).command("curtail", "nap")
    assert [c for c, _ in scripted.sent] == ["logon", "curtail", "session"]


# A refusal, the miner's word that the session is gone, a new session, the command again.
RENEWED_ONCE = [
    ("logon", None),
    ("curtail", "a1,sleep"),
    ("session", None),
    ("logon", None),
    ("curtail", "a2,sleep"),
]


async def test_a_lapsed_session_is_renewed_whatever_the_refusal_says(
    stand_in: ApiStandIn,
) -> None:
    scripted = script(
        stand_in,
        {
            "logon": [sid("a1"), sid("a2")],
            "curtail": [refused(45, "Access denied"), ok("CURTAIL", [{}])],
            "session": [sid("")],  # expired a minute after its last use
        },
    )
    await luxos_session(stand_in).command("curtail", "sleep")
    assert scripted.sent == RENEWED_ONCE


async def test_a_refusal_is_not_retried_where_the_miner_cannot_name_its_session(
    stand_in: ApiStandIn,
) -> None:
    scripted = script(
        stand_in,
        {"logon": [sid("a1")], "curtail": [refused(45, "Access denied")]},  # no `session`
    )
    with pytest.raises(CgminerCommandError, match="Access denied"):
        await luxos_session(stand_in).command("curtail", "sleep")
    assert [c for c, _ in scripted.sent] == ["logon", "curtail", "session"]


async def test_a_session_refused_twice_is_given_up(stand_in: ApiStandIn) -> None:
    scripted = script(
        stand_in,
        {
            "logon": [sid("a1"), sid("a2")],
            "curtail": [refused(401, "Invalid session id")],
            "session": [sid("")],
        },
    )
    with pytest.raises(CgminerCommandError, match="session"):
        await luxos_session(stand_in).command("curtail", "sleep")
    assert scripted.sent == RENEWED_ONCE


async def test_a_change_logs_off_the_session_it_opened(stand_in: ApiStandIn) -> None:
    scripted = script(
        stand_in,
        {"logon": [sid("a1")], "curtail": [ok("CURTAIL", [{}])], "logoff": [ok()]},
    )
    session = luxos_session(stand_in)
    async with session.change():
        await session.command("curtail", "sleep")
        await session.command("curtail", "wakeup")
    assert scripted.sent == [
        ("logon", None),
        ("curtail", "a1,sleep"),
        ("curtail", "a1,wakeup"),
        ("logoff", "a1"),
    ]
    assert session.session_id is None


async def test_a_change_leaves_a_borrowed_session_alone(stand_in: ApiStandIn) -> None:
    scripted = script(
        stand_in,
        {
            "logon": [refused(402, "Another session is active")],
            "session": [sid("theirs")],
            "curtail": [ok("CURTAIL", [{}])],
        },
    )
    session = luxos_session(stand_in)
    async with session.change():
        await session.command("curtail", "sleep")
    assert "logoff" not in [c for c, _ in scripted.sent]


async def test_another_session_is_told_by_its_code_not_its_wording(
    stand_in: ApiStandIn,
) -> None:
    scripted = script(stand_in, {"logon": [refused(99, "Another session is active")]})
    with pytest.raises(CgminerCommandError, match="Another session"):
        await luxos_session(stand_in).ensure()
    assert [c for c, _ in scripted.sent] == ["logon"]


async def test_logon_refused_for_another_reason(stand_in: ApiStandIn) -> None:
    script(stand_in, {"logon": [refused(14, "Invalid command")]})
    with pytest.raises(CgminerCommandError):
        await luxos_session(stand_in).ensure()


async def test_logon_without_an_id(stand_in: ApiStandIn) -> None:
    script(stand_in, {"logon": [ok("SESSION", [{"SessionID": ""}])]})
    with pytest.raises(MinerProtocolError, match="no session id"):
        await luxos_session(stand_in).ensure()


async def test_busy_answered_as_success_is_borrowed(stand_in: ApiStandIn) -> None:
    script(stand_in, {"logon": [ok(code=402)], "session": [sid("theirs")]})
    session = luxos_session(stand_in)
    assert await session.ensure() == "theirs"
    assert session.borrowed


async def test_a_session_that_ended_meanwhile_is_taken(stand_in: ApiStandIn) -> None:
    script(
        stand_in,
        {
            "logon": [refused(402, "Another session is active"), sid("mine")],
            "session": [sid("")],
        },
    )
    session = luxos_session(stand_in)
    assert await session.ensure() == "mine"
    assert not session.borrowed


async def test_a_second_logon_failing_otherwise_is_raised(stand_in: ApiStandIn) -> None:
    script(
        stand_in,
        {
            "logon": [refused(402, "Another session is active"), refused(99, "Broken")],
            "session": [sid("")],
        },
    )
    with pytest.raises(CgminerCommandError, match="Broken"):
        await luxos_session(stand_in).ensure()
    script(
        stand_in,
        {"logon": [refused(402, "Another session is active")], "session": [sid("")]},
    )
    with pytest.raises(LuxosSessionBusyError):
        await luxos_session(stand_in).ensure()


PROFILES = [
    {"Profile Name": "default", "Watts": 3000, "Hashrate": 100},
    {"Profile Name": "low", "Watts": 2000, "Hashrate": 70},
]


def profile_change(**replies: list[dict[str, Any]]) -> Script:
    """A miner with two profiles and ATM off, answering a profile change with `replies`."""
    base: Script = {
        "profiles": [ok("PROFILES", PROFILES)],
        "logon": [sid("s1")],
        "atm": [ok("ATM", [{"Enabled": False}])],
        "logoff": [ok()],
    }
    return {**base, **replies}


async def test_a_profileset_naming_another_profile_is_an_error(
    stand_in: ApiStandIn, session: aiohttp.ClientSession
) -> None:
    script(stand_in, profile_change(profileset=[ok("PROFILE", [{"Profile": "default"}])]))
    driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
    with pytest.raises(MinerProtocolError, match="set default"):
        await driver.apply_setting(2000.0)


async def test_the_profile_is_confirmed_from_config_not_from_profileget(
    stand_in: ApiStandIn, session: aiohttp.ClientSession
) -> None:
    scripted = script(
        stand_in,
        profile_change(
            profileset=[ok("PROFILE", [{"Profile": "low"}])],
            # Without a name `profileget` is not documented: this firmware refuses it.
            profileget=[refused(403, "Missing profile name")],
            config=[ok("CONFIG", [{"Profile": "low"}])],
        ),
    )
    driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
    await driver.apply_setting(2000.0)
    sent = [c for c, _ in scripted.sent]
    assert "profileget" not in sent
    assert sent[-1] == "config"


async def test_a_config_naming_another_profile_is_an_error(
    stand_in: ApiStandIn, session: aiohttp.ClientSession
) -> None:
    script(
        stand_in,
        profile_change(
            profileset=[ok("PROFILE", [{"Profile": "low"}])],
            config=[ok("CONFIG", [{"Profile": "default"}])],
        ),
    )
    driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
    with pytest.raises(MinerProtocolError, match="runs default"):
        await driver.apply_setting(2000.0)


async def test_a_multi_command_firmware_that_is_not_luxos(
    stand_in: ApiStandIn, session: aiohttp.ClientSession
) -> None:
    stock = ok("VERSION", [{"BMMiner": "2.0.0", "Type": "Antminer S19"}])
    everything = {
        "version": [stock],
        "config": [ok("CONFIG", [{}])],
        "profiles": [ok("PROFILES", [])],
    }
    joined = {name: [replies[0]] for name, replies in everything.items()}
    script(stand_in, {"version+config+profiles": [joined]})
    driver = LuxosDriver("127.0.0.1", session, api_port=stand_in.port, timeouts=FAST)
    with pytest.raises(MinerUnsupportedError):
        await driver.identify()
