"""Faults, switched on and off at runtime."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from random import Random

import aiohttp
import pytest

from simulator import Fault, SimulatedFleet, SimulatedMiner
from simulator.client import cgminer_command, cgminer_request
from simulator.faults import parse_fault_spec, pick_miners

SessionFactory = Callable[..., aiohttp.ClientSession]


def cgi(m: SimulatedMiner, name: str) -> str:
    return f"http://{m.host}:{m.web_port}/cgi-bin/{name}"


async def refused(host: str, port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(host, port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def test_offline_power_loss(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    m.set_fault(Fault.OFFLINE)
    assert m.state == "offline"
    assert m.power_w == 0
    assert await refused(m.host, m.api_port)
    assert await refused(m.host, m.web_port)
    m.clear_fault(Fault.OFFLINE)
    assert m.state == "booting"
    await fleet.advance(60 + 8 + 80)
    assert m.state == "mining"
    assert not await refused(m.host, m.api_port)


async def test_offline_network_loss_keeps_drawing_power(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    m.set_fault(Fault.OFFLINE, powered=True)
    assert m.state == "offline"
    assert m.machine_state == "mining"
    assert m.power_w > 1400
    assert await refused(m.host, m.api_port)
    m.clear_fault(Fault.OFFLINE)
    await fleet.sync()
    assert m.state == "mining"
    assert not await refused(m.host, m.api_port)


async def test_offline_hang_accepts_and_never_answers(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    m.set_fault(Fault.OFFLINE, hang=True)
    await fleet.sync()
    with pytest.raises(TimeoutError):
        await cgminer_request(m.host, m.api_port, "summary|", timeout_s=0.2)
    # The hanging handler is released when the fleet stops (checked by the fixture).


async def test_slow_replies(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    """A slow miner holds its replies back (far longer than the client waits here), on the API
    and on the web interface alike, and answers again once the fault clears. The client gives
    up: nothing measures how long the reply took."""
    m = fleet.miners[0]
    m.set_fault(Fault.SLOW, delay_s=60.0)
    with pytest.raises(TimeoutError):
        await cgminer_request(m.host, m.api_port, "summary|", timeout_s=0.5)
    with pytest.raises(TimeoutError):
        held = aiohttp.ClientTimeout(total=0.5)
        async with web_session().get(cgi(m, "check.cgi"), timeout=held) as resp:
            await resp.text()
    m.clear_fault(Fault.SLOW)
    assert (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"]
    async with web_session().get(cgi(m, "check.cgi")) as resp:
        assert await resp.text() == "1\n"


async def test_truncated_replies(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    full = await cgminer_request(m.host, m.api_port, '{"command":"summary"}')
    m.set_fault(Fault.TRUNCATED)
    raw = await cgminer_request(m.host, m.api_port, '{"command":"summary"}')
    assert not raw.endswith(b"\x00")
    assert 0 < len(raw) < len(full)
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with web_session().get(cgi(m, "get_system_info.cgi")) as resp:
            await resp.read()


async def test_garbage_replies(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    m.set_fault(Fault.GARBAGE)
    raw = await cgminer_request(m.host, m.api_port, '{"command":"summary"}')
    with pytest.raises(ValueError):
        json.loads(raw.rstrip(b"\x00").decode())
    async with web_session().get(cgi(m, "get_system_info.cgi")) as resp:
        body = await resp.read()
    with pytest.raises(ValueError):
        json.loads(body.decode())
    m.clear_fault(Fault.GARBAGE)
    assert (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"]


async def test_wrong_password(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    m.set_fault(Fault.WRONG_PASSWORD)
    assert m.password == "root"  # what the client believes
    async with web_session("root").get(cgi(m, "check.cgi")) as resp:
        assert resp.status == 401
    m.clear_fault(Fault.WRONG_PASSWORD)
    async with web_session("root").get(cgi(m, "check.cgi")) as resp:
        assert resp.status == 200


async def test_never_starts_after_wake(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    m.set_fault(Fault.NEVER_STARTS)
    session = web_session()
    async with session.post(cgi(m, "do_sleep_mode.cgi"), data={"mode": "1"}) as resp:
        assert await resp.text() == "OK\n"
    async with session.post(cgi(m, "do_sleep_mode.cgi"), data={"mode": "0"}) as resp:
        assert await resp.text() == "OK\n"
    await fleet.advance(600)
    assert m.state == "stopped"
    assert not await refused(m.host, m.web_port)  # the web came back
    assert await refused(m.host, m.api_port)  # bmminer did not
    assert m.power_w < 60
    m.clear_fault(Fault.NEVER_STARTS)
    # reboot_cgminer.cgi does not answer while bmminer restarts: clients need a short timeout.
    with pytest.raises(TimeoutError):
        await session.get(cgi(m, "reboot_cgminer.cgi"), timeout=aiohttp.ClientTimeout(total=0.2))
    assert m.state == "restarting"
    await fleet.advance(10)
    assert m.state == "ramping"


async def test_dead_board(fleet: SimulatedFleet) -> None:
    m, healthy = fleet.miners[0], fleet.miners[1]
    full_power, full_rate = m.power_w, m.hashrate_ths
    m.set_fault(Fault.DEAD_BOARD)
    stats = (await cgminer_command(m.host, m.api_port, "stats"))["STATS"][1]
    assert stats["chain_acn8"] == 0
    assert stats["chain_rate8"] == "0.00"
    assert stats["chain_acs8"] == ""
    assert stats["chain_consumption8"] == 0
    assert stats["chain_acn6"] == stats["chain_acn7"] == 63
    assert stats["total_acn"] == 126
    assert m.hashrate_ths == pytest.approx(full_rate * 2 / 3, rel=1e-6)
    assert m.power_w < full_power - 400
    assert healthy.power_w > 1400


async def test_overheat(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    assert m.chip_temp_c < 90
    m.set_fault(Fault.OVERHEAT)
    await fleet.advance(600)
    assert m.chip_temp_c > 95
    stats = (await cgminer_command(m.host, m.api_port, "stats"))["STATS"][1]
    assert max(stats["temp2_6"], stats["temp2_7"], stats["temp2_8"]) > 95
    m.clear_fault(Fault.OVERHEAT)
    await fleet.advance(900)
    assert m.chip_temp_c < 90


def test_fault_specs() -> None:
    assert parse_fault_spec("offline=0.05") == (Fault.OFFLINE, 0.05)
    assert parse_fault_spec("never_starts") == (Fault.NEVER_STARTS, 1.0)
    with pytest.raises(ValueError):
        parse_fault_spec("gremlins=0.1")
    with pytest.raises(ValueError):
        parse_fault_spec("slow=2")
    picked = pick_miners(173, 66 / 173, Random(1))
    assert len(picked) == 66
    assert len(set(picked)) == 66


async def test_fleet_fault_fraction(fleet: SimulatedFleet) -> None:
    picked = fleet.apply_fault_fraction(Fault.SLOW, 2 / 3, delay_s=0.5)
    assert len(picked) == 2
    for i, m in enumerate(fleet.miners):
        assert (Fault.SLOW in m.faults) == (i in picked)
    assert fleet.miners[picked[0]].faults.delay_s == 0.5
