"""Power curve, ground truth, temperatures, identity and determinism."""

from __future__ import annotations

import pytest

from simulator import ManualClock, SimulatedFleet, SimulatedMiner
from simulator.fleet import network_hosts
from simulator.physics import curve_hashrate_ths, curve_power_w, default_voltage


def test_curve_points_and_interpolation() -> None:
    assert curve_power_w(650) == 1460
    assert curve_hashrate_ths(650) == 13.7
    assert curve_power_w(350) == 660
    assert curve_power_w(800) == 1900
    assert curve_power_w(700) == pytest.approx((1460 + 1850) / 2)
    assert curve_hashrate_ths(700) == pytest.approx((13.7 + 16.0) / 2)
    assert curve_power_w(100) == 660  # clamped
    assert curve_power_w(1000) == 1900
    assert default_voltage(650) == 890


def make(clock: ManualClock, index: int = 0, **kwargs: object) -> SimulatedMiner:
    return SimulatedMiner(index, "127.0.0.1", 0, 0, clock, seed=7, jitter=0.0, **kwargs)  # type: ignore[arg-type]


def test_ground_truth_power_by_state() -> None:
    clock = ManualClock()
    miners = [make(clock, i) for i in range(50)]
    powers = [m.power_w for m in miners]
    assert all(1460 * 0.97 < p < 1460 * 1.03 for p in powers)
    assert max(powers) - min(powers) > 10  # per-miner variation exists
    for m in miners:
        m.sleep()
    assert all(45 < m.power_w < 56 for m in miners)
    assert all(m.hashrate_ths == 0 for m in miners)


def test_ramp_is_monotonic_and_ends_at_full_power() -> None:
    clock = ManualClock()
    m = make(clock)
    full = m.power_w
    m.restart_bmminer()
    clock.advance(8.0)
    assert m.state == "ramping"
    last = 0.0
    for _ in range(8):
        clock.advance(10.0)
        assert m.power_w >= last
        last = m.power_w
    assert m.state == "mining"
    assert m.power_w == pytest.approx(full)


def test_temperature_follows_power_with_lag() -> None:
    clock = ManualClock()
    m = make(clock)
    hot = m.chip_temp_c
    assert 75 < hot < 86
    m.sleep()
    assert m.chip_temp_c == pytest.approx(hot)  # no instant jump
    clock.advance(60)
    assert 40 < m.chip_temp_c < hot
    clock.advance(1800)
    assert m.chip_temp_c == pytest.approx(40, abs=4)


def test_big_jump_equals_small_steps() -> None:
    a_clock, b_clock = ManualClock(), ManualClock()
    a, b = make(a_clock), make(b_clock)
    a.reboot()
    b.reboot()
    a_clock.advance(500)
    for _ in range(100):
        b_clock.advance(5)
        _ = b.power_w
    assert a.state == b.state == "mining"
    assert a.chip_temp_c == pytest.approx(b.chip_temp_c, rel=1e-3)
    assert a.accepted_shares == pytest.approx(b.accepted_shares, abs=1)


def test_identity_is_deterministic_and_unique() -> None:
    clock = ManualClock()
    first = [make(clock, i) for i in range(200)]
    again = [make(clock, i) for i in range(200)]
    assert [m.mac for m in first] == [m.mac for m in again]
    assert [m.power_w for m in first] == [m.power_w for m in again]
    assert len({m.mac for m in first}) == 200
    assert first[0].hostname == "s9-0001"
    other_seed = SimulatedMiner(0, "127.0.0.1", 0, 0, clock, seed=8)
    assert other_seed.mac != first[0].mac


def test_network_hosts_skip_zero_and_broadcast_octets() -> None:
    hosts = network_hosts("127.0.1.0/24", 254)
    assert hosts[0] == "127.0.1.1"
    assert hosts[-1] == "127.0.1.254"
    big = network_hosts("127.0.4.0/22", 1000)
    assert not any(h.endswith((".0", ".255")) for h in big)
    assert len(set(big)) == 1000
    with pytest.raises(ValueError):
        network_hosts("127.0.1.0/24", 255)


async def test_fleet_power_is_sum(clock: ManualClock) -> None:
    async with SimulatedFleet(count=4, clock=clock, initial_state="sleeping") as sim:
        assert sim.power_w == pytest.approx(sum(m.power_w for m in sim.miners))
        assert sim.power_w == pytest.approx(4 * 50, rel=0.06)
        assert {m.state for m in sim.miners} == {"sleeping"}
