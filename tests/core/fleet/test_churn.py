"""An EMS that changes its mind every few hundred milliseconds to a minute, for a simulated hour,
against simulated S9s of which 30 % never start, some lose power for a while and some answer
slowly. Judged on the simulator's ground truth at every poll."""

from __future__ import annotations

import aiohttp
import pytest

from benchmarks.churn import ChurnProfile, ChurnRun
from benchmarks.control import BOOT_S, JITTER, POLL_S, start_run, stop_run
from custom_components.net_stabilization.core.fleet import (
    FleetSnapshot,
    InMemoryCommandLog,
    PowerMode,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE
from simulator import Fault

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.mark.parametrize("mode", list(PowerMode))
async def test_fleet_survives_an_ems_that_changes_its_mind(mode: PowerMode) -> None:
    async with aiohttp.ClientSession() as session:
        log = InMemoryCommandLog(max_entries=100_000)
        run = await start_run(10, mode, 3, 0.3, session, command_log=log)
        try:
            churn = ChurnRun(
                run.fleet,
                run.controller,
                log,
                ChurnProfile(poll_s=POLL_S, boot_s=BOOT_S * (1 + JITTER)),
                seed=3,
            )
            never = {i for i, m in enumerate(run.fleet.miners) if Fault.NEVER_STARTS in m.faults}
            churn.assign_faults(never)
            healthy = {
                m.mac
                for i, m in enumerate(run.fleet.miners)
                if i not in never and Fault.OFFLINE not in m.faults
            } - {run.fleet.miners[i].mac for i in churn.offline_miners}

            def every_poll(snapshot: FleetSnapshot, now: float) -> None:
                # Rated power never drops for miners that did not really fail, and none of
                # them is ever counted failed.
                for miner in snapshot.miners:
                    if miner.mac in healthy:
                        assert miner.dispatchable, (now, miner)
                        assert miner.wake_failures == 0, (now, miner)
                assert snapshot.rated_power_kw >= len(healthy) * S9_CURVE.nominal_w / 1000 - 1e-6

            figures = await churn.run(every_poll)
        finally:
            await stop_run(run)
    assert figures.polls == 720
    assert figures.deactivations > 10
    assert figures.wrongful_failures == 0
    assert figures.rated_dips == 0
    # After a deactivation no miner reaches mining, and all are asleep within a boot and a poll.
    assert figures.mined_after_deactivate_s == 0.0
    assert figures.late_asleep == 0
    # Every command is in the history.
    assert figures.commands > 100
    assert figures.commands_recorded == figures.commands
