"""Wire format of the simulated cgminer API (port 4028)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from simulator import ManualClock, SimulatedFleet, physics
from simulator.client import cgminer_command, cgminer_request, parse_cgminer_json


async def test_reply_is_nul_terminated_and_socket_closed(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    reader, writer = await asyncio.open_connection(m.host, m.api_port)
    writer.write(b'{"command":"summary"}')
    await writer.drain()
    # read() returning means the server closed the connection after one reply.
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    assert data.endswith(b"}\x00")
    assert data.count(b"\x00") == 1
    reply = json.loads(data[:-1])
    assert reply["STATUS"][0]["STATUS"] == "S"
    assert reply["STATUS"][0]["Code"] == 11
    assert reply["id"] == 1


async def test_text_mode_summary(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    raw = await cgminer_request(m.host, m.api_port, "summary|")
    assert raw.endswith(b"|\x00")
    text = raw[:-1].decode()
    assert re.match(
        r"^STATUS=S,When=\d+,Code=11,Msg=Summary,Description=cgminer 4\.11\.1\|"
        r"SUMMARY,Elapsed=\d+,",
        text,
    )
    assert "GHS 5s=" in text


async def test_version_identifies_vnish_390(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    reply = await cgminer_command(m.host, m.api_port, "version")
    version = reply["VERSION"][0]
    assert version["Type"] == "Antminer S9 (vnish 3.9.0)"
    assert version["CGMiner"] == "4.11.1"
    assert version["API"] == "3.7"
    text = (await cgminer_request(m.host, m.api_port, "version|")).decode()
    assert "VERSION,CGMiner=4.11.1,API=3.7" in text


async def test_summary_hashrate_types(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    summary = (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"][0]
    assert isinstance(summary["GHS 5s"], str)
    assert isinstance(summary["GHS av"], float)
    assert float(summary["GHS 5s"]) == pytest.approx(m.hashrate_ths * 1000, rel=0.02)
    assert summary["Elapsed"] > 0


async def test_stats_brace_bug_on_by_default(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    raw = await cgminer_request(m.host, m.api_port, '{"command":"stats"}')
    assert b'"Type":"Antminer S9 (vnish 3.9.0)"}{"STATS":0' in raw
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw[:-1])
    stats = parse_cgminer_json(raw)["STATS"]
    assert len(stats) == 2


async def test_stats_brace_bug_can_be_disabled(clock: ManualClock) -> None:
    async with SimulatedFleet(count=1, clock=clock, stats_brace_bug=False) as sim:
        m = sim.miners[0]
        raw = await cgminer_request(m.host, m.api_port, '{"command":"stats"}')
        assert b"}{" not in raw
        assert len(json.loads(raw[:-1])["STATS"]) == 2


async def test_stats_s9_layout(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    stats = (await cgminer_command(m.host, m.api_port, "stats"))["STATS"][1]
    for n in range(1, 17):
        for key in ("chain_acn", "chain_acs", "chain_hw", "chain_rate", "chain_vol", "temp"):
            assert f"{key}{n}" in stats
        assert f"temp2_{n}" in stats
        assert f"freq_avg{n}" in stats
        assert f"chain_consumption{n}" in stats
    for n in (6, 7, 8):
        assert stats[f"chain_acn{n}"] == 63
        assert stats[f"chain_acs{n}"].count("o") == 63
        assert isinstance(stats[f"chain_rate{n}"], str)
        assert float(stats[f"chain_rate{n}"]) > 4000
        assert 60 < stats[f"temp2_{n}"] < 95
        assert stats[f"temp{n}"] < stats[f"temp2_{n}"]
        assert 400 < stats[f"chain_consumption{n}"] < 520
        assert stats[f"freq_avg{n}"] == 650
    for n in (1, 5, 9, 16):
        assert stats[f"chain_rate{n}"] == ""
        assert stats[f"chain_acn{n}"] == 0
        assert stats[f"temp2_{n}"] == 0
    assert stats["fan5"] > 0 and stats["fan6"] > 0
    assert stats["fan1"] == stats["fan8"] == 0
    assert stats["frequency"] == "650"
    assert isinstance(stats["GHS 5s"], str)
    assert stats["build_version"] == "3.9.0"
    assert stats["miner_version"]
    total_estimate = sum(stats[f"chain_consumption{n}"] for n in (6, 7, 8))
    assert total_estimate == pytest.approx(m.power_w * physics.FIRMWARE_ESTIMATE_RATIO, rel=0.01)


async def test_pools_has_devfee_entry(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    reply = await cgminer_command(m.host, m.api_port, "pools")
    pools = reply["POOLS"]
    assert pools[-1]["URL"] == "DevFee"
    assert pools[-1]["Priority"] == 993
    assert pools[0]["URL"].startswith("stratum+tcp://")
    assert reply["STATUS"][0]["Msg"] == f"{len(pools)} Pool(s)"


async def test_devs(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    devs = (await cgminer_command(m.host, m.api_port, "devs"))["DEVS"]
    assert [d["ID"] for d in devs] == [6, 7, 8]


async def test_multi_command_sections_are_list_wrapped(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    raw = await cgminer_request(m.host, m.api_port, '{"command":"summary+stats"}')
    assert raw.startswith(b'{"summary":[{"STATUS":[')
    assert b'"stats":[{"STATUS":[' in raw
    assert b"}{" in raw  # the STATS bug is inside the stats section too
    reply = parse_cgminer_json(raw)
    assert set(reply) == {"summary", "stats", "id"}
    assert isinstance(reply["summary"], list)
    assert reply["summary"][0]["SUMMARY"][0]["Elapsed"] > 0
    assert len(reply["stats"][0]["STATS"]) == 2


async def test_unknown_command(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    reply = await cgminer_command(m.host, m.api_port, "frobnicate")
    status = reply["STATUS"][0]
    assert (status["STATUS"], status["Code"], status["Msg"]) == ("E", 14, "Invalid command")
    text = (await cgminer_request(m.host, m.api_port, "frobnicate|")).decode()
    assert text.startswith("STATUS=E,") and ",Code=14,Msg=Invalid command," in text


async def test_invalid_json(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    raw = await cgminer_request(m.host, m.api_port, '{"command": summary}')
    assert json.loads(raw[:-1])["STATUS"][0]["Code"] == 23


async def test_dosleep_closes_api_but_not_web(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    raw = await cgminer_request(m.host, m.api_port, "dosleep|1")
    assert raw.startswith(b"STATUS=S")
    assert m.state == "sleeping"
    with pytest.raises(ConnectionRefusedError):
        await cgminer_request(m.host, m.api_port, "summary|")
    _reader, writer = await asyncio.open_connection(m.host, m.web_port)
    writer.close()
    await writer.wait_closed()
    assert m.power_w == pytest.approx(50, abs=5)
    # The other miners are untouched.
    assert fleet.miners[1].state == "mining"


async def test_restart_command(fleet: SimulatedFleet) -> None:
    m = fleet.miners[0]
    raw = await cgminer_request(m.host, m.api_port, '{"command":"restart"}')
    assert json.loads(raw[:-1]) == {"STATUS": "RESTART", "id": 1}
    assert m.state == "restarting"
    await fleet.advance(8.0)
    assert m.state == "ramping"
    summary = (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"][0]
    assert summary["Elapsed"] == 0
