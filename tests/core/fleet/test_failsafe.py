"""The fail-safe for a silent EMS: counted from the EMS's last call, once per silence, only
while the EMS holds a target."""

from __future__ import annotations

from custom_components.net_stabilization.core.fleet.failsafe import Fallback, SilenceWatch


def test_a_silent_ems_holding_a_target_falls_back_once() -> None:
    watch = SilenceWatch(600.0, Fallback.STANDBY)
    watch.heard(0.0)
    assert not watch.due(599.0, ems_holds_target=True)
    assert watch.due(600.0, ems_holds_target=True)
    assert not watch.due(1200.0, ems_holds_target=True)  # once per silence
    watch.heard(1300.0)
    assert not watch.due(1800.0, ems_holds_target=True)
    assert watch.due(1900.0, ems_holds_target=True)


def test_an_ems_without_a_target_or_a_watch_switched_off_never_falls_back() -> None:
    watch = SilenceWatch(60.0, Fallback.HOLD)
    watch.heard(0.0)
    assert not watch.due(1000.0, ems_holds_target=False)
    off = SilenceWatch(0.0, Fallback.HOLD)
    off.heard(0.0)
    assert not off.due(10_000.0, ems_holds_target=True)


def test_silence_is_counted_from_the_first_look_when_the_ems_never_called() -> None:
    watch = SilenceWatch(60.0, Fallback.STRATEGY)
    assert not watch.due(100.0, ems_holds_target=True)  # e.g. a target resumed after a restart
    assert watch.due(160.0, ems_holds_target=True)
