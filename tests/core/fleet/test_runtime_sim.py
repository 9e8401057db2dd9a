"""Wear levelling against simulated S9s (Vnish 3.9) over real sockets: the mining time that
orders which miner starts or stops next counts every poll a miner reports mining, the ramp of a
wake the fleet still watches included."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.fleet import MinerState, PowerMode

from .test_controller_simulated import BOOT_S, POLL_S, RAMP_S, SimRig, make_sim_rig

pytestmark = pytest.mark.usefixtures("socket_enabled")

# The S9 reports mining from three quarters of its hashrate; the fleet sees the wake arrive once
# the power of its setting shows, a few polls later.
LATE_RAMP = 0.85


async def _until_asleep(rig: SimRig, mac: str) -> None:
    miner = rig.fleet.miners[rig.by_mac(mac)]
    for _ in range(int(3 * BOOT_S // POLL_S)):
        if miner.state == "sleeping":
            return
        await rig.step()
    raise AssertionError(f"{mac} stayed {miner.state}")


async def test_a_miner_hashing_through_its_ramp_counts_runtime_and_rests_next_time() -> None:
    async for rig in make_sim_rig(2, mode=PowerMode.ON_OFF):
        first, second = sorted(m.mac for m in rig.controller.snapshot.miners)
        await rig.controller.activate(1.46)  # one miner's worth: the first by wear and MAC
        await rig.controller.wait_idle()
        sim = rig.fleet.miners[rig.by_mac(first)]
        for _ in range(int((3 * BOOT_S + RAMP_S) // POLL_S)):
            if sim.state == "ramping" and sim.ramp_fraction() >= LATE_RAMP:
                break
            await rig.step()
        await rig.step()
        # Late in its ramp: reported mining, its wake still watched until full power shows.
        assert sim.state == "ramping"
        seen = rig.controller.snapshot.miner(first)
        assert seen is not None and seen.state is MinerState.WAKING
        await rig.controller.deactivate()
        await rig.controller.wait_idle()
        await _until_asleep(rig, first)
        await rig.controller.activate(1.46)
        await rig.controller.wait_idle()
        # The miner that has not mined yet takes the next turn.
        starting = {m.mac for m in rig.controller.snapshot.miners if m.state is MinerState.WAKING}
        assert starting == {second}
        ran = rig.controller.snapshot.miner(first)
        assert ran is not None and ran.runtime_s >= POLL_S
