"""Wire format and firmware behaviour of the simulated LuxOS miner (port 4028)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
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
    assert PERSONALITY.web_app is not None
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


async def test_web_port_serves_the_front_page(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://{m.host}:{m.web_port}/") as resp:
            assert resp.status == 200
            assert "Luxor Firmware" in await resp.text()  # pyasic's sign of LuxOS
        async with session.get(f"http://{m.host}:{m.web_port}/cgi-bin/get_system_info.cgi") as r:
            assert r.status == 404


async def test_multi_command_wraps_each_section(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    reply = await command(m, "summary+power+nonsense")
    assert status(reply["summary"][0])["Code"] == 11
    assert reply["power"][0]["POWER"][0]["Watts"] == round(m.power_w)
    assert status(reply["nonsense"][0])["STATUS"] == "E"


async def test_text_requests_get_text_replies(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    raw = await cgminer_request(m.host, m.api_port, "power")
    text = raw.rstrip(b"\x00").decode()
    assert "STATUS=S" in text and f"POWER,PSU=true,Watts={round(m.power_w)}|" in text
    sid = (await command(m, "logon"))["SESSION"][0]["SessionID"]
    await cgminer_request(m.host, m.api_port, f"curtail|{sid},sleep")
    assert m.curtailed


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
    assert status(refused)["STATUS"] == "E"
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
    assert (await command(m, "config"))["CONFIG"][0]["Profile"] == "495MHz"
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


async def test_undocumented_answers_vary_from_miner_to_miner(clock: ManualClock) -> None:
    sim = SimulatedFleet(count=8, kinds=["luxos"] * 8, clock=clock, seed=1, jitter=0.0)
    await sim.start()
    try:
        stale_wordings, profileget_answers = set(), set()
        for m in sim.miners:
            refused = status(await command(m, "curtail", "stale1,sleep"))
            assert refused["STATUS"] == "E"
            stale_wordings.add("session" in refused["Msg"].lower())
            plain = await command(m, "profileget")
            profileget_answers.add(status(plain)["STATUS"])
            if status(plain)["STATUS"] == "S":
                assert plain["PROFILE"][0]["Profile Name"] == "default"
    finally:
        await sim.stop()
    assert stale_wordings == {True, False}
    assert profileget_answers == {"S", "E"}


async def test_pools_groups_and_temperature_control(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    joined = await command(m, "tempctrl+fans+pools+groups+config+profiles")
    control = joined["tempctrl"][0]["TEMPCTRL"][0]
    assert (control["Target"], control["Hot"], control["Dangerous"]) == (55.0, 65.0, 70.0)
    assert joined["fans"][0]["FANCTRL"][0]["MinFans"] == 1
    groups = joined["groups"][0]["GROUPS"]
    pools = joined["pools"][0]["POOLS"]
    assert [g["GROUP"] for g in groups] == [0]
    assert pools and all(p["GROUP"] == 0 for p in pools)
    assert pools[0]["Stratum Active"] is True


async def test_stats_carry_the_boards(luxos: SimulatedFleet) -> None:
    m = miner_of(luxos)
    boards = (await command(m, "stats"))["STATS"][1]
    rates = [float(boards[f"chain_rate{n}"]) for n in (1, 2, 3)]
    assert sum(rates) == pytest.approx(m.hashrate_ths * 1000.0, rel=0.01)
    for n, pcb in enumerate(m.board_temps(), start=1):
        sensors = [int(t) for t in boards[f"temp_pcb{n}"].split("-")]
        assert len(sensors) == 4 and max(sensors) == round(pcb + 2.0)
