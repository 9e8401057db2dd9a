"""The timing book at its edges: a stop's deadlines come from the driver alone, the driver's
typical durations stand until measured, nonsense samples are never learnt, and the summary
tells per kind what was measured."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from custom_components.net_stabilization.core.fleet import ControlConfig
from custom_components.net_stabilization.core.fleet.timings import (
    TimingBook,
    TimingSample,
    Transition,
    ceiling_s,
    prior_pause_s,
    prior_typical_s,
)
from custom_components.net_stabilization.core.miners.base import S9_POINTS

KIND = "vnish/Antminer S9"


def sample(
    seconds: float, pause_s: float = 5.0, *, ok: bool = True, mac: str = "m1"
) -> TimingSample:
    return TimingSample(mac, KIND, Transition.STOP, seconds, pause_s, ok)


def test_a_stop_is_bounded_by_the_driver_alone() -> None:
    points = replace(S9_POINTS, stop_ceiling_s=300.0)
    config = ControlConfig(change_timeout_s=1000.0, wake_timeout_s=2000.0)
    assert prior_pause_s(points, Transition.STOP, config) == 300.0
    assert ceiling_s(points, Transition.STOP, config) == 300.0
    assert ceiling_s(points, Transition.CHANGE, config) == 2000.0


def test_the_drivers_typical_durations_stand_for_each_transition() -> None:
    points = replace(S9_POINTS, change_s=40.0, stop_s=7.0, wake_s=150.0)
    assert prior_typical_s(points, Transition.CHANGE) == 40.0
    assert prior_typical_s(points, Transition.STOP) == 7.0
    assert prior_typical_s(points, Transition.START) == 150.0
    assert prior_typical_s(points, Transition.FULL) == 150.0


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
def test_a_sample_of_no_real_duration_is_not_learnt(seconds: float) -> None:
    book = TimingBook()
    book.record(sample(seconds))
    assert book.typical_s("m1", KIND, Transition.STOP) is None
    assert book.drain() == []
    assert book.summary() == {}


def test_restoring_skips_stored_samples_that_make_no_sense() -> None:
    book = TimingBook()
    taken = book.restore([sample(8.0), sample(-2.0), sample(9.0, pause_s=math.nan), sample(12.0)])
    assert taken == 2
    assert book.typical_s("m1", KIND, Transition.STOP) == 10.0
    assert book.drain() == []  # restored samples are stored already


def test_the_summary_counts_samples_and_failures_per_kind_and_transition() -> None:
    book = TimingBook()
    book.record(sample(8.04, pause_s=3.0))
    book.record(sample(12.0, pause_s=6.06, mac="m2"))
    book.record(sample(90.0, ok=False))
    failed_only = TimingSample("m3", "luxos/S19", Transition.CHANGE, 240.0, 240.0, ok=False)
    book.record(failed_only)
    assert book.summary() == {
        KIND: {
            "stop": {
                "samples": 2,
                "failures": 1,
                "median_s": 10.0,
                "max_s": 12.0,
                "max_pause_s": 6.1,
            }
        },
        "luxos/S19": {"change": {"samples": 0, "failures": 1}},
    }
