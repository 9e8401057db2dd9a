"""Measurement and verification: what each dispatch of the fleet delivered."""

from .performance import (
    BASELINE_WINDOW_S,
    DispatchMeter,
    Performance,
    PowerHistory,
)
from .tracker import MEASURED, DispatchTracker

__all__ = [
    "BASELINE_WINDOW_S",
    "MEASURED",
    "DispatchMeter",
    "DispatchTracker",
    "Performance",
    "PowerHistory",
]
