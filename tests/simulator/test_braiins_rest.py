"""The "braiins" personality as a fleet serves it: identities, open endpoints, mixed fleets."""

from __future__ import annotations

import aiohttp

from simulator import ManualClock, SimulatedFleet
from simulator.braiins_rest import MAC_PREFIX, SPEC


async def test_a_mixed_fleet_serves_each_firmware_on_its_ports(clock: ManualClock) -> None:
    kinds = ["braiins", "vnish_s9", "braiins"]
    async with (
        SimulatedFleet(count=3, kinds=kinds, clock=clock, seed=1, jitter=0.0) as fleet,
        aiohttp.ClientSession() as session,
    ):
        braiins = [fleet.miners[0], fleet.miners[2]]
        prefix = ":".join(f"{o:02X}" for o in MAC_PREFIX)
        assert all(m.mac.startswith(prefix) for m in braiins)
        assert len({m.mac for m in fleet.miners}) == 3
        for miner in braiins:
            base = f"http://{miner.host}:{miner.web_port}"
            async with session.get(f"{base}/") as response:
                assert "Braiins OS" in await response.text()
            async with session.get(f"{base}/api/v1/version/") as response:
                assert await response.json() == {"major": 1, "minor": 7, "patch": 0}
        s9 = fleet.miners[1]
        async with session.get(f"http://{s9.host}:{s9.web_port}/cgi-bin/get_system_info.cgi") as r:
            assert r.status == 401  # the Vnish interface behind its digest login
        assert fleet.power_w > 2 * SPEC.nominal_w * 0.95


async def test_a_token_does_not_survive_a_reboot(clock: ManualClock) -> None:
    async with (
        SimulatedFleet(count=1, kinds=["braiins"], clock=clock, seed=1, jitter=0.0) as fleet,
        aiohttp.ClientSession() as session,
    ):
        miner = fleet.miners[0]
        base = f"http://{miner.host}:{miner.web_port}/api/v1"
        login = {"username": "root", "password": "root"}
        async with session.post(f"{base}/auth/login", json=login) as response:
            token = (await response.json())["token"]
        headers = {"authorization": token}
        async with session.get(f"{base}/miner/details", headers=headers) as response:
            assert response.status == 200
        miner.reboot()
        await fleet.advance(SPEC.boot_s + 1.0)
        async with session.get(f"{base}/miner/details", headers=headers) as response:
            assert response.status == 401
