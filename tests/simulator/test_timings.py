"""Each simulated miner's timings drawn from the public record's ranges: fixed by the seed,
inside the ranges, and a Braiins OS+ target that holds steps on its way up."""

from __future__ import annotations

from simulator import ManualClock
from simulator.braiins_rest import create as create_braiins
from simulator.personality import BRAIINS, LUXOS, VNISH_REST, VNISH_S9
from simulator.timings import RANGES, Plateaus, apply_spread, draw


def test_timings_are_fixed_by_seed_and_lie_in_the_ranges() -> None:
    for kind in (LUXOS, BRAIINS, VNISH_REST, VNISH_S9):
        drawn = [draw(kind, 7, i) for i in range(40)]
        assert drawn == [draw(kind, 7, i) for i in range(40)]
        assert drawn != [draw(kind, 8, i) for i in range(40)]
        ranges = RANGES[kind]
        for d in drawn:
            assert ranges.boot_s[0] <= d.boot_s <= ranges.boot_s[1]
            assert ranges.start_s[0] <= d.start_s <= ranges.start_s[1]
            assert len(d.plateaus.holds_s) <= ranges.plateaus[1]
    luxos_starts = [draw(LUXOS, 7, i).start_s for i in range(40)]
    assert max(luxos_starts) > 240.0  # some LuxOS wakes take minutes, as documented
    assert {draw(VNISH_REST, 7, i).change_restarts for i in range(40)} == {True, False}


def test_plateaus_hold_each_step_on_the_way_up_only() -> None:
    knots = Plateaus((60.0, 120.0)).knots(0.0, 800.0, 2000.0, 30.0)
    assert knots == (
        (0.0, 800.0),
        (10.0, 1200.0),
        (70.0, 1200.0),
        (80.0, 1600.0),
        (200.0, 1600.0),
        (210.0, 2000.0),
    )
    assert Plateaus((60.0,)).knots(0.0, 2000.0, 800.0, 30.0) == ((0.0, 2000.0), (30.0, 800.0))


def test_a_braiins_target_rises_in_held_steps() -> None:
    clock = ManualClock()
    seed = next(s for s in range(100) if len(draw(BRAIINS, s, 0).plateaus.holds_s) >= 2)
    miner = create_braiins(
        0, "127.0.0.1", 0, 0, clock, seed=seed, password="root", jitter=0.0, initial_state="mining"
    )
    drawn = apply_spread(miner, BRAIINS, seed)
    miner.set_target(1200.0)
    clock.advance(3600.0)
    low = miner.power_w
    miner.set_target(3600.0)
    first_hold = drawn.change_s / (len(drawn.plateaus.holds_s) + 1)
    clock.advance(first_hold + 1.0)
    held = miner.power_w
    clock.advance(drawn.plateaus.holds_s[0] - 2.0)
    assert low < held == miner.power_w  # held while temperatures settle
    clock.advance(drawn.change_s + sum(drawn.plateaus.holds_s))
    assert miner.power_w > held


def test_whether_a_ramp_is_worded_varies_per_miner_and_is_fixed_by_the_seed() -> None:
    def words(seed: int) -> list[bool]:
        return [
            create_braiins(
                i,
                "127.0.0.1",
                0,
                0,
                ManualClock(),
                seed=seed,
                password="root",
                jitter=0.0,
                initial_state="mining",
            ).words_ramp
            for i in range(40)
        ]

    assert words(7) == words(7)
    assert set(words(7)) == {True, False}
