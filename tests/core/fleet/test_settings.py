"""Stored fleet settings: round trip, and garbage read back as safe defaults."""

from __future__ import annotations

from custom_components.net_stabilization.core.fleet import FleetSettings, MinerOverride, PowerMode


def test_round_trip() -> None:
    settings = FleetSettings(
        mode=PowerMode.FREQUENCY,
        ems_target_kw=2.0,
        dispatch_enabled=False,
        override_enabled=True,
        override_target_kw=1.5,
        excluded=frozenset({"AA"}),
        miner_overrides={"BB": MinerOverride.OFF},
    )
    assert FleetSettings.from_dict(settings.to_dict()) == settings
    assert "manual override at 1.5 kW" in settings.describe()


def test_garbage_reads_as_safe_defaults() -> None:
    settings = FleetSettings.from_dict(
        {
            "mode": "turbo",
            "ems_target_kw": float("nan"),
            "dispatch_enabled": "no",
            "override_enabled": "yes",
            "override_target_kw": True,
            "excluded": "AA",
            "miner_overrides": {"BB": "sideways", "CC": "on"},
        }
    )
    assert settings.mode is PowerMode.ON_OFF
    assert settings.ems_target_kw is None
    assert settings.dispatch_enabled is True  # only an explicit false disables dispatch
    assert settings.override_enabled is False
    assert settings.override_target_kw is None
    assert settings.excluded == frozenset()
    assert settings.miner_overrides == {"CC": MinerOverride.ON}
    assert FleetSettings.from_dict({}).describe().startswith("standby")
    assert FleetSettings(ems_target_kw=2.0).describe().startswith("target 2.0 kW")
