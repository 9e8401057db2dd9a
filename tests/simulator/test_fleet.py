"""Fleet addressing, ScaledClock, the admin endpoint and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from simulator import Fault, ManualClock, ScaledClock, SimulatedFleet
from simulator.client import cgminer_command
from simulator.personality import mix_kinds

ROOT = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def test_host_mode_uses_distinct_ports(clock: ManualClock) -> None:
    async with SimulatedFleet(count=5, clock=clock) as sim:
        ports = {m.api_port for m in sim.miners} | {m.web_port for m in sim.miners}
        assert len(ports) == 10
        assert all(m.host == "127.0.0.1" for m in sim.miners)
        for m in sim.miners:
            assert (await cgminer_command(m.host, m.api_port, "version"))["VERSION"]


async def test_network_mode(clock: ManualClock, allow_loopback_network: None) -> None:
    api, web = free_port(), free_port()
    async with SimulatedFleet(
        count=3, network="127.0.1.0/24", api_port=api, web_port=web, clock=clock
    ) as sim:
        assert [m.host for m in sim.miners] == ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
        assert {m.api_port for m in sim.miners} == {api}
        for m in sim.miners:
            reply = await cgminer_command(m.host, m.api_port, "summary")
            assert reply["SUMMARY"][0]["Elapsed"] > 0
        sim.miners[1].sleep()
        with pytest.raises(ConnectionRefusedError):
            await cgminer_command("127.0.1.2", api, "summary")
        assert (await cgminer_command("127.0.1.3", api, "summary"))["SUMMARY"]
        async with (
            aiohttp.ClientSession(middlewares=(aiohttp.DigestAuthMiddleware("root", "root"),)) as s,
            s.get(f"http://127.0.1.2:{web}/cgi-bin/get_system_info.cgi") as resp,
        ):
            info = json.loads(await resp.text())
        assert info["ipaddress"] == "127.0.1.2"
        assert info["macaddr"] == sim.miners[1].mac


async def test_scaled_clock_runs_transitions_by_itself() -> None:
    async with SimulatedFleet(
        count=2, clock=ScaledClock(600.0), boot_time_s=60.0, ramp_time_s=60.0, jitter=0.0
    ) as sim:
        m = sim.miners[0]
        m.reboot()
        assert m.state == "booting"
        for _ in range(250):
            if m.state == "mining":
                break
            await asyncio.sleep(0.02)  # real time is the point of this test
        assert m.state == "mining"
        await asyncio.sleep(0.1)  # let the ticker reopen the port
        assert (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"]


async def test_advance_requires_manual_clock() -> None:
    sim = SimulatedFleet(count=1, clock=ScaledClock(1.0))
    with pytest.raises(TypeError):
        await sim.advance(1.0)


async def test_admin_endpoint(clock: ManualClock) -> None:
    async with (
        SimulatedFleet(count=3, clock=clock, admin_port=0, seed=3) as sim,
        aiohttp.ClientSession() as session,
    ):
        url = sim.admin_url
        assert url is not None
        async with session.get(url) as resp:
            data = await resp.json()
        assert data["count"] == 3
        assert data["power_w"] == pytest.approx(sim.power_w, abs=1)
        first = data["miners"][0]
        for key in ("host", "api_port", "web_port", "mac", "state", "frequency_mhz"):
            assert first[key] == getattr(sim.miners[0], key)
        assert first["power_w"] == pytest.approx(sim.miners[0].power_w, abs=0.1)
        assert first["hashrate_ths"] > 13

        async with session.post(
            f"{url}miners/1/faults", json={"fault": "offline", "enabled": True}
        ) as resp:
            assert (await resp.json())["state"] == "offline"
        assert Fault.OFFLINE in sim.miners[1].faults
        async with session.post(
            f"{url}miners/1/faults", json={"fault": "offline", "enabled": False}
        ):
            pass
        assert sim.miners[1].state == "booting"
        async with session.post(f"{url}miners/2/action", json={"action": "sleep"}) as resp:
            assert (await resp.json())["state"] == "sleeping"
        async with session.get(f"{url}miners/9") as resp:
            assert resp.status == 404


async def test_admin_machine_state_counts(clock: ManualClock) -> None:
    async with (
        SimulatedFleet(count=3, clock=clock, admin_port=0, seed=3) as sim,
        aiohttp.ClientSession() as session,
    ):
        sim.miners[2].sleep()
        async with session.get(f"{sim.admin_url}machine-states") as resp:
            data = await resp.json()
        assert data == {"count": 3, "machine_states": {"mining": 2, "sleeping": 1}}
        waiting = f"{sim.admin_url}machine-states/wait?state=sleeping"
        async with session.get(f"{waiting}&until=all&timeout_s=0.05") as resp:
            assert await resp.json() == {"done": False, "pending": 2}
        for miner in sim.miners[:2]:
            miner.sleep()
        async with session.get(f"{waiting}&until=all") as resp:
            assert await resp.json() == {"done": True, "pending": 0}
        async with session.get(f"{waiting}&until=some") as resp:
            assert resp.status == 400


async def test_start_1000_miners(clock: ManualClock) -> None:
    """A thousand miners start and answer (how fast they start is for the benchmarks)."""
    sim = SimulatedFleet(count=1000, clock=clock)
    await sim.start()
    try:
        m = sim.miners[-1]
        assert (await cgminer_command(m.host, m.api_port, "summary"))["SUMMARY"]
        assert sim.power_w == pytest.approx(1000 * 1460, rel=0.01)
    finally:
        await sim.stop()


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError("no output from the simulator")
    return proc.stdout.readline()


def test_cli_ready_admin_and_sigterm() -> None:
    api, web, admin = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--count=5",
            "--network=127.0.1.0/24",
            f"--api-port={api}",
            f"--web-port={web}",
            f"--admin-port={admin}",
            "--time-scale=10",
            "--fault=never_starts=0.4",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = _read_line(proc, 20.0)
        assert line.startswith("READY count=5 admin=http://127.0.0.1:")
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/", timeout=5) as resp:
            data = json.load(resp)
        assert data["count"] == 5
        assert [m["host"] for m in data["miners"]][:2] == ["127.0.1.1", "127.0.1.2"]
        assert data["power_w"] > 5 * 1400
        assert sum("never_starts" in m["faults"] for m in data["miners"]) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None
        assert "STOPPED" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_a_mix_spec_names_every_miners_kind() -> None:
    kinds = mix_kinds(10, "braiins=0.3,luxos=0.2")
    assert sorted(set(kinds)) == ["braiins", "luxos", "vnish_s9"]
    assert (kinds.count("braiins"), kinds.count("luxos"), kinds.count("vnish_s9")) == (3, 2, 5)
    with pytest.raises(ValueError, match="unknown miner kind"):
        mix_kinds(10, "antminer=0.5")
    with pytest.raises(ValueError, match="more than the whole fleet"):
        mix_kinds(10, "braiins=0.7,luxos=0.6")
