"""The strategy benchmark's generated profiles: the same for a seed, and plausible."""

from benchmarks.strategy import DAY_END_H, DAY_START_H, HOUR, house_profile, price_day, pv_profile


def test_profiles_are_deterministic_and_plausible() -> None:
    clear = pv_profile(7, 30_000.0, cloudy=False)
    cloudy = pv_profile(7, 30_000.0, cloudy=True)
    assert clear.values == pv_profile(7, 30_000.0, cloudy=False).values
    assert cloudy.values != pv_profile(8, 30_000.0, cloudy=True).values
    assert clear.at(DAY_START_H * HOUR) == 0.0 and clear.at(DAY_END_H * HOUR) == 0.0
    assert 29_000.0 < max(clear.values) < 31_000.0
    assert sum(cloudy.values) < 0.9 * sum(clear.values)
    assert all(0.0 <= c <= 1.05 * 30_000.0 for c in cloudy.values)
    house = house_profile(7)
    assert all(150.0 <= w < 6_000.0 for w in house.values)
    prices = price_day(7)
    assert prices == price_day(7) and len(prices) == 96
    assert min(prices) < 0 < max(prices)
