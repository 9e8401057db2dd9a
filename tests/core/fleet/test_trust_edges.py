"""What a reading may claim: a power or hashrate beyond the model's reach makes it implausible,
and a miner of an unknown model is bounded by the largest any miner draws."""

from __future__ import annotations

from dataclasses import replace

from custom_components.net_stabilization.core.fleet.trust import (
    HASHRATE_MARGIN,
    UNKNOWN_MODEL_MAX_W,
    hashrate_bound_ths,
    power_bound_w,
    vet_reading,
)
from custom_components.net_stabilization.core.miners.base import (
    Capabilities,
    MinerReading,
    MiningState,
    PowerSource,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

S9 = Capabilities(
    can_sleep=True,
    can_set_frequency=True,
    min_mhz=S9_CURVE.min_mhz,
    max_mhz=S9_CURVE.max_mhz,
    nominal_mhz=S9_CURVE.nominal_mhz,
    nominal_w=S9_CURVE.nominal_w,
    max_w=S9_CURVE.max_w,
    standby_w=S9_CURVE.standby_w,
)
MINING = MinerReading(online=True, state=MiningState.MINING, power_w=1300.0, hashrate_ths=13.5)


def test_a_model_of_unknown_power_is_bounded_by_the_largest_miner() -> None:
    unknown = replace(S9, max_w=0.0)
    assert power_bound_w(unknown) == UNKNOWN_MODEL_MAX_W
    reading, plausible = vet_reading(replace(MINING, power_w=11_000.0), unknown)
    assert reading.power_w == 11_000.0
    assert plausible
    reading, plausible = vet_reading(replace(MINING, power_w=13_000.0), unknown)
    assert reading.power_w is None
    assert reading.power_source is PowerSource.NAMEPLATE
    assert not plausible


def test_a_hashrate_beyond_the_model_makes_the_reading_implausible_but_keeps_it() -> None:
    bound = hashrate_bound_ths(S9)
    assert bound == max(p[2] for p in S9.points.curve.points) * HASHRATE_MARGIN
    reading, plausible = vet_reading(replace(MINING, hashrate_ths=bound * 2), S9)
    assert not plausible
    assert reading.hashrate_ths == bound * 2
    assert reading.power_w == 1300.0  # the power was within reach: it stands
    _, plausible = vet_reading(replace(MINING, hashrate_ths=float("nan")), S9)
    assert not plausible
    _, plausible = vet_reading(MINING, S9)
    assert plausible


def test_an_offline_reading_shows_nothing() -> None:
    offline = MinerReading(online=False, state=MiningState.OFFLINE)
    assert vet_reading(offline, S9) == (offline, False)
