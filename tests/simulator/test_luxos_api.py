"""Wire format and firmware behaviour of the simulated LuxOS miner (port 4028)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from simulator import ManualClock, SimulatedFleet
from simulator.client import cgminer_command, cgminer_request
from simulator.luxos_api import PERSONALITY
from simulator.luxos_miner import MAC_PREFIX, SESSION_IDLE_S, SPEC, LuxosMiner


@pytest.fixture
async def luxos(clock: ManualClock) -> AsyncIterator[SimulatedFleet]:
    """One LuxOS miner, no timing jitter."""
    sim = SimulatedFleet(count=1, kinds=["luxos"], clock=clock, seed=1, jitter=0.0)
    await sim.start()
    yield sim
    await sim.stop()


def miner_of(fleet: SimulatedFleet) -> LuxosMiner:
    miner: LuxosMiner = fleet.miners[0]
    return miner


async def command(miner: LuxosMiner, name: str, parameter: str | None = None) -> dict[str, Any]:
    return await cgminer_command(miner.host, miner.api_port, name, parameter)


def status(reply: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = reply["STATUS"][0]
    return entry


def test_personality() -> None:
    assert PERSONALITY.kind == "luxos"
    assert PERSONALITY.web_app is None
    assert SPEC.levels_w and SPEC.pause_survives_reboot


async def test_reply_is_sorted_json_with_one_nul(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    raw = await cgminer_request(m.host, m.api_port, '{"command":"version"}')
    assert raw.endswith(b"}\x00") and raw.count(b"\x00") == 1
    reply = json.loads(raw[:-1])
    assert list(reply) == sorted(reply)
    assert status(reply)["Description"].startswith("LUXminer ")
    assert reply["VERSION"][0]["Type"] == "Antminer S19j Pro"
    assert m.mac.startswith(":".join(f"{o:02X}" for o in MAC_PREFIX))
    assert (await command(m, "config"))["CONFIG"][0]["MACAddr"] == m.mac.lower()


async def test_web_port_is_shut(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    reader, writer = await asyncio.open_connection(m.host, m.web_port)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()


async def test_multi_command_wraps_each_section(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    reply = await command(m, "summary+power+nonsense")
    assert status(reply["summary"][0])["Code"] == 11
    assert reply["power"][0]["POWER"][0]["Watts"] == round(m.power_w)
    assert status(reply["nonsense"][0])["STATUS"] == "E"


async def test_bad_requests(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    raw = await cgminer_request(m.host, m.api_port, "{not json")
    assert status(json.loads(raw[:-1]))["Code"] == 23
    assert status(await command(m, "frobnicate"))["STATUS"] == "E"


async def test_one_session_at_a_time_expiring_on_the_clock(
    luxos: SimulatedFleet, clock: ManualClock
) -> None:
    m = miner_of(luxos)
    sid = (await command(m, "logon"))["SESSION"][0]["SessionID"]
    busy = await command(m, "logon")
    assert status(busy)["Code"] == 402 and "SESSION" not in busy
    assert (await command(m, "session"))["SESSION"][0]["SessionID"] == sid
    await luxos.advance(SESSION_IDLE_S - 1.0)
    assert status(await command(m, "curtail", f"{sid},sleep"))["Code"] == 335
    await luxos.advance(SESSION_IDLE_S - 1.0)  # renewed by the use above
    assert (await command(m, "session"))["SESSION"][0]["SessionID"] == sid
    await luxos.advance(2.0)
    refused = await command(m, "curtail", f"{sid},wakeup")
    assert status(refused)["STATUS"] == "E" and "session" in status(refused)["Msg"].lower()
    assert (await command(m, "session"))["SESSION"][0]["SessionID"] == ""
    assert (await command(m, "logon"))["SESSION"][0]["SessionID"] != sid
    assert clock.now() > SESSION_IDLE_S


async def test_profile_changes_need_atm_off(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    sid = (await command(m, "logon"))["SESSION"][0]["SessionID"]
    assert (await command(m, "atm"))["ATM"][0]["Enabled"] is True
    assert status(await command(m, "profileset", f"{sid},495MHz"))["STATUS"] == "E"
    assert status(await command(m, "atmset", f"{sid},enabled=false"))["Code"] == 340
    assert status(await command(m, "profileset", f"{sid},nosuch"))["STATUS"] == "E"
    done = await command(m, "profileset", f"{sid},495MHz")
    assert done["PROFILE"][0]["Profile"] == "495MHz"
    assert (await command(m, "profileget"))["PROFILE"][0]["Profile Name"] == "495MHz"
    assert (await command(m, "profileget", "default"))["PROFILE"][0]["Watts"] == SPEC.nominal_w
    assert m.target_w == 2700.0


async def test_curtailment_survives_a_reboot(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    sid = (await command(m, "logon"))["SESSION"][0]["SessionID"]
    await command(m, "curtail", f"{sid},sleep")
    assert (await command(m, "events"))["EVENTS"][0]["Code"] == "SLEEP"
    assert status(await command(m, "rebootdevice", sid))["STATUS"] == "S"
    await luxos.sync()
    with pytest.raises(OSError):
        await command(m, "version")
    await luxos.advance(SPEC.boot_s + 30.0)
    assert m.machine_state == "paused"
    assert (await command(m, "events"))["EVENTS"][0]["Code"] == "SLEEP"
    assert (await command(m, "session"))["SESSION"][0]["SessionID"] == ""  # the boot ended it
