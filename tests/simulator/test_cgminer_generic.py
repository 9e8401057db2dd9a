"""Wire format of the simulated Whatsminer M30S ("cgminer" kind): btminer's port 4028 only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from simulator import ManualClock, SimulatedFleet
from simulator.cgminer_generic import (
    CHIPS_PER_BOARD,
    DEVICE_MODEL,
    M30S,
    PERSONALITY,
    BtminerReplies,
)
from simulator.client import cgminer_command, cgminer_request
from simulator.personality import CGMINER, personality


@pytest.fixture
async def whatsminers() -> AsyncIterator[SimulatedFleet]:
    """Two mining M30S without timing jitter."""
    sim = SimulatedFleet(count=2, kinds=[CGMINER] * 2, clock=ManualClock(), seed=1, jitter=0.0)
    await sim.start()
    yield sim
    await sim.stop()


def test_the_personality_is_registered() -> None:
    assert personality(CGMINER) is PERSONALITY
    assert PERSONALITY.web_app is None


async def test_summary_in_mh_with_fans_and_power_and_mac_where_the_miner_tells(
    whatsminers: SimulatedFleet,
) -> None:
    seen = set()
    for m in whatsminers.miners:
        raw = await cgminer_request(m.host, m.api_port, '{"command":"summary"}')
        assert raw.endswith(b"}\x00") and raw.count(b"\x00") == 1
        reply = json.loads(raw[:-1])
        assert reply["STATUS"][0]["Description"] == "btminer"
        summary = reply["SUMMARY"][0]
        assert summary["MHS 1m"] == pytest.approx(m.hashrate_ths * 1e6, rel=1e-9)
        assert summary["MHS 5s"] == summary["MHS 1m"]
        told = BtminerReplies(m)
        assert summary.get("Power") == (round(m.power_w) if told.reports_power else None)
        assert summary.get("MAC") == (m.mac if told.reports_mac else None)
        assert summary["Fan Speed In"] > 0 and summary["Fan Speed Out"] > 0
        assert summary["Factory GHS"] == M30S.nominal_ths * 1000
        seen.add(told.reports_mac)
    assert seen == {True, False}  # the seeded pair has a summary with and one without a MAC


async def test_devs_devdetails_and_version(whatsminers: SimulatedFleet) -> None:
    m = whatsminers.miners[0]
    devs = (await cgminer_command(m.host, m.api_port, "devs"))["DEVS"]
    assert [d["ASC"] for d in devs] == [0, 1, 2]
    assert all(d["Effective Chips"] == CHIPS_PER_BOARD for d in devs)
    assert sum(d["MHS 1m"] for d in devs) == pytest.approx(m.hashrate_ths * 1e6, rel=1e-6)
    details = (await cgminer_command(m.host, m.api_port, "devdetails"))["DEVDETAILS"]
    assert {d["Driver"] for d in details} == {"bitmicro"}
    assert {d["Model"] for d in details} == {DEVICE_MODEL}
    version = await cgminer_command(m.host, m.api_port, "version")
    assert "btminer" in json.dumps(version).lower()


async def test_joined_commands_are_wrapped_in_lists(whatsminers: SimulatedFleet) -> None:
    m = whatsminers.miners[0]
    reply = await cgminer_command(m.host, m.api_port, "summary+devs+stats+summary")
    assert set(reply) == {"summary", "devs", "stats", "id"}
    assert reply["summary"][0]["SUMMARY"][0]["Elapsed"] > 0
    assert reply["stats"][0]["STATUS"][0]["Code"] == 14  # btminer here has no bmminer stats


async def test_btminer_commands_answer_flat(whatsminers: SimulatedFleet) -> None:
    m = whatsminers.miners[1]
    info = await cgminer_command(m.host, m.api_port, "get_miner_info")
    assert (info["STATUS"], info["Code"]) == ("S", 131)
    assert info["Msg"]["mac"] == m.mac and info["Msg"]["hostname"] == m.hostname
    status = await cgminer_command(m.host, m.api_port, "status")
    assert status["Msg"]["btmineroff"] == "false"
    m.pause()
    status = await cgminer_command(m.host, m.api_port, "status")
    assert status["Msg"]["btmineroff"] == "true"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ('{"cmd":"power_off","respbefore":"true"}', 45),
        ('{"command":"adjust_power_limit","parameter":"2000"}', 45),
        ('{"enc":1,"data":"c2VjcmV0"}', 135),
        ("summary|", 23),
        ("[1,2]", 23),
        ('{"command":7}', 14),
    ],
)
async def test_writes_and_junk_are_refused_flat(
    whatsminers: SimulatedFleet, payload: str, code: int
) -> None:
    m = whatsminers.miners[0]
    reply = json.loads((await cgminer_request(m.host, m.api_port, payload))[:-1])
    assert (reply["STATUS"], reply["Code"]) == ("E", code)
    assert m.machine_state == "mining" and m.target_w == M30S.nominal_w


async def test_cgminer_privileged_commands_are_denied(whatsminers: SimulatedFleet) -> None:
    m = whatsminers.miners[0]
    for command in ("restart", "quit", "addpool"):
        status = (await cgminer_command(m.host, m.api_port, command))["STATUS"][0]
        assert (status["STATUS"], status["Code"]) == ("E", 45)
    check = (await cgminer_command(m.host, m.api_port, "check", "restart"))["CHECK"][0]
    assert check == {"Exists": "Y", "Access": "N"}
    assert m.machine_state == "mining"


async def test_ports_follow_the_state() -> None:
    clock = ManualClock()
    async with SimulatedFleet(
        count=1, kinds=[CGMINER], clock=clock, seed=1, jitter=0.0, initial_state="booting"
    ) as sim:
        m = sim.miners[0]
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(m.host, m.api_port)
        await sim.advance(M30S.boot_s + 1.0)
        summary = (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"][0]
        assert m.machine_state == "starting"
        assert summary["MHS 1m"] == 0 and 0 <= summary["Elapsed"] <= 2
        # No web interface: the port accepts and hangs up.
        reader, writer = await asyncio.open_connection(m.host, m.web_port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        await writer.wait_closed()
