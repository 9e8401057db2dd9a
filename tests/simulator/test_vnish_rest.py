"""The `vnish_rest` personality's wire formats: the REST API on the web port and the
cgminer-compatible reports on 4028."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from simulator import Fault, ManualClock, SimulatedFleet
from simulator.client import cgminer_command, cgminer_request
from simulator.personality import personality
from simulator.vnish_rest_miner import MINER_TYPE, SPEC, TUNED_W, VnishRestMiner

API = "/api/v1"


@pytest.fixture
async def fleet(clock: ManualClock) -> AsyncIterator[SimulatedFleet]:
    """Two miners of this personality, the second one paused, without jitter."""
    sim = SimulatedFleet(count=2, kinds=["vnish_rest"] * 2, clock=clock, seed=3, jitter=0.0)
    await sim.start()
    sim.miners[1].pause()
    yield sim
    await sim.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client


def url(miner: VnishRestMiner, path: str) -> str:
    return f"http://{miner.host}:{miner.web_port}{path}"


async def call(
    session: aiohttp.ClientSession,
    miner: VnishRestMiner,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    async with session.request(method, url(miner, path), data=data, headers=headers) as resp:
        raw = await resp.read()
        return resp.status, json.loads(raw) if raw else None


async def login(session: aiohttp.ClientSession, miner: VnishRestMiner) -> str:
    status, reply = await call(session, miner, "POST", f"{API}/unlock", {"pw": miner.password})
    assert status == 200
    token: str = reply["token"]
    return token


def test_the_personality_builds_this_firmwares_miners(fleet: SimulatedFleet) -> None:
    assert personality("vnish_rest").kind == "vnish_rest"
    macs = {m.mac for m in fleet.miners}
    assert len(macs) == 2
    assert all(mac.startswith("02:56:52:") for mac in macs)
    assert all(isinstance(m, VnishRestMiner) for m in fleet.miners)
    assert all(replace(m.spec, change_restarts=SPEC.change_restarts) == SPEC for m in fleet.miners)
    assert SPEC.levels_w == TUNED_W


async def test_whether_a_preset_restarts_mining_varies_from_miner_to_miner(
    clock: ManualClock,
) -> None:
    sim = SimulatedFleet(count=8, kinds=["vnish_rest"] * 8, clock=clock, seed=3, jitter=0.0)
    await sim.start()
    try:
        seen = set()
        for miner in sim.miners:
            miner.apply_preset("1700")
            seen.add(miner.hashing)
            assert miner.hashing is not miner.spec.change_restarts
    finally:
        await sim.stop()
    assert seen == {True, False}


async def test_a_sensitive_write_without_the_api_key_is_refused(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    miner = fleet.miners[0]
    miner.api_key = "secret"
    token = await login(session, miner)
    body = {"miner": {"overclock": {"preset": "1700"}}}
    status, reply = await call(session, miner, "POST", f"{API}/settings", body, token=token)
    assert (status, reply) == (403, {"err": "API key required"}) and miner.preset == "2950"
    assert (await call(session, miner, "GET", f"{API}/settings", token=token))[0] == 200
    headers = {"Authorization": token, "x-api-key": "secret"}  # the token raw, as pyasic sends it
    async with session.post(url(miner, f"{API}/settings"), json=body, headers=headers) as resp:
        assert resp.status == 200
    assert miner.preset == "1700"


async def test_login_and_tokens(fleet: SimulatedFleet, session: aiohttp.ClientSession) -> None:
    miner = fleet.miners[0]
    assert (await call(session, miner, "GET", f"{API}/summary"))[0] == 401
    status, reply = await call(session, miner, "POST", f"{API}/unlock", {"pw": "nope"})
    assert (status, reply) == (403, {"err": "Wrong password"})
    assert (await call(session, miner, "POST", f"{API}/unlock", b"[["))[0] == 403
    token = await login(session, miner)
    assert len(token) == 32
    status, summary = await call(session, miner, "GET", f"{API}/summary", token=token)
    assert status == 200
    assert summary["miner"]["miner_type"] == MINER_TYPE
    assert (await call(session, miner, "GET", f"{API}/summary", token="x" + token))[0] == 401
    miner.fw_reboot()
    assert miner.tokens == set()


async def test_info_and_the_web_root_need_no_login(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    miner = fleet.miners[0]
    status, info = await call(session, miner, "GET", f"{API}/info")
    assert status == 200
    assert info["system"]["network_status"]["mac"] == miner.mac
    assert info["fw_version"] == "1.2.6" and info["hr_measure"] == "GH/s"
    async with session.get(url(miner, "/")) as resp:
        assert "AnthillOS" in await resp.text()
    status, state = await call(session, miner, "GET", f"{API}/status")
    assert state["miner_state"] == "mining"


async def test_summary_hashrate_units_and_a_paused_miner(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    mining, paused = fleet.miners
    token = await login(session, mining)
    _, summary = await call(session, mining, "GET", f"{API}/summary", token=token)
    body = summary["miner"]
    assert body["hr_realtime"] == pytest.approx(mining.hashrate_ths * 1000.0, abs=0.01)
    assert body["instant_hashrate"] == pytest.approx(mining.hashrate_ths, abs=0.01)
    assert body["power_consumption"] == round(mining.power_w)
    assert len(body["chains"]) == 3 and len(body["cooling"]["fans"]) == 4
    token = await login(session, paused)
    _, summary = await call(session, paused, "GET", f"{API}/summary", token=token)
    body = summary["miner"]
    assert body["miner_status"]["miner_state"] == "paused"
    assert body["power_consumption"] == 0 and body["hr_realtime"] == 0.0
    assert body["chip_temp"] == {"min": 0, "max": 0}


async def test_pause_stop_resume_start_and_their_refusals(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    miner = fleet.miners[1]  # paused
    token = await login(session, miner)
    assert await call(session, miner, "POST", f"{API}/mining/resume", token=token) == (200, None)
    assert miner.firmware_state == "initializing"
    status, reply = await call(session, miner, "POST", f"{API}/mining/pause", token=token)
    assert status == 500 and "failed-to-activate-pause-mode" in reply["err"]
    assert await call(session, miner, "POST", f"{API}/mining/stop", token=token) == (200, None)
    assert miner.firmware_state == "stopped"
    status, reply = await call(session, miner, "POST", f"{API}/mining/resume", token=token)
    assert status == 500 and "failed-to-activate-resume-mode" in reply["err"]
    assert await call(session, miner, "POST", f"{API}/mining/start", token=token) == (200, None)
    await fleet.advance(SPEC.start_s + SPEC.ramp_s)
    assert miner.firmware_state == "mining"
    assert (await call(session, miner, "POST", f"{API}/mining/fly", token=token))[0] == 404


async def test_settings_writes_answer_the_same_whether_taken_or_not(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    miner = fleet.miners[0]
    token = await login(session, miner)
    untuned = {"miner": {"overclock": {"preset": "3600"}}}
    tuned = {"miner": {"overclock": {"preset": "1700"}}}
    first = await call(session, miner, "POST", f"{API}/settings", untuned, token=token)
    assert miner.preset == "2950" and miner.hashing
    second = await call(session, miner, "POST", f"{API}/settings", tuned, token=token)
    assert first == second == (200, {"restart_required": False, "reboot_required": False})
    assert miner.preset == "1700"
    assert miner.hashing is not miner.spec.change_restarts  # undocumented: varies per miner
    _, settings = await call(session, miner, "GET", f"{API}/settings", token=token)
    assert settings["miner"]["overclock"]["preset"] == "1700"
    _, presets = await call(session, miner, "GET", f"{API}/autotune/presets", token=token)
    assert presets[0]["name"] == "disabled"
    assert [float(p["name"]) for p in presets[1:] if p["status"] == "tuned"] == list(TUNED_W)
    assert (await call(session, miner, "POST", f"{API}/settings", b"x", token=token))[0] == 400


async def test_reboot_answers_then_goes_down(
    fleet: SimulatedFleet, session: aiohttp.ClientSession
) -> None:
    miner = fleet.miners[0]
    token = await login(session, miner)
    assert await call(session, miner, "POST", f"{API}/system/reboot", token=token) == (200, None)
    assert miner.machine_state == "booting"
    await fleet.sync()
    with pytest.raises(aiohttp.ClientConnectionError):
        await call(session, miner, "GET", f"{API}/info")
    await fleet.advance(SPEC.boot_s + 1.0)
    assert (await call(session, miner, "GET", f"{API}/info"))[0] == 200


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.TRUNCATED])
async def test_web_faults(
    fleet: SimulatedFleet, session: aiohttp.ClientSession, fault: Fault
) -> None:
    miner = fleet.miners[0]
    miner.set_fault(fault)
    with pytest.raises((ValueError, aiohttp.ClientError)):
        await call(session, miner, "GET", f"{API}/info")


async def test_the_cgminer_api_names_the_firmware(fleet: SimulatedFleet) -> None:
    mining, paused = fleet.miners
    version = await cgminer_command(mining.host, mining.api_port, "version")
    assert version["STATUS"][0]["STATUS"] == "S"
    assert version["VERSION"][0]["Type"] == MINER_TYPE
    stats = await cgminer_command(mining.host, mining.api_port, "stats")
    assert stats["STATS"][0]["Type"] == MINER_TYPE
    assert float(stats["STATS"][1]["GHS 5s"]) == pytest.approx(mining.hashrate_ths * 1000, abs=0.1)
    summary = await cgminer_command(paused.host, paused.api_port, "summary")
    assert summary["SUMMARY"][0]["GHS 5s"] == 0.0  # the API stays up while paused
    joined = await cgminer_command(mining.host, mining.api_port, "summary+stats+nope")
    assert set(joined) == {"summary", "stats", "nope", "id"}
    assert joined["nope"][0]["STATUS"][0]["Code"] == 14
    text = await cgminer_request(mining.host, mining.api_port, "version|")
    assert text.startswith(b"STATUS=S,") and f"Type={MINER_TYPE}".encode() in text
    assert text.endswith(b"|\x00")
    bad = await cgminer_command(mining.host, mining.api_port, "ascset", "0,freq,600")
    assert bad["STATUS"][0]["STATUS"] == "E"
    broken = json.loads((await cgminer_request(mining.host, mining.api_port, "{x")).rstrip(b"\0"))
    assert broken["STATUS"][0]["Code"] == 23


async def test_the_cgminer_api_under_faults(fleet: SimulatedFleet) -> None:
    miner = fleet.miners[0]
    clean = await cgminer_request(miner.host, miner.api_port, '{"command":"version"}')
    miner.set_fault(Fault.GARBAGE)
    garbled = await cgminer_request(miner.host, miner.api_port, '{"command":"version"}')
    assert garbled != clean
    miner.clear_fault(Fault.GARBAGE)
    miner.set_fault(Fault.TRUNCATED)
    cut = await cgminer_request(miner.host, miner.api_port, '{"command":"version"}')
    assert len(cut) < len(clean) and not cut.endswith(b"\0")
