"""Simulated fleet of Antminer S9 miners on Vnish 3.9.0 for tests, demos and benchmarks."""

from .clock import Clock, ManualClock, ScaledClock
from .faults import Fault
from .fleet import SimulatedFleet
from .miner import SimulatedMiner
from .vnish_conf import CUSTOM_CONF_FIELDS, default_custom_fields, encode_custom_form

__all__ = [
    "CUSTOM_CONF_FIELDS",
    "Clock",
    "Fault",
    "ManualClock",
    "ScaledClock",
    "SimulatedFleet",
    "SimulatedMiner",
    "default_custom_fields",
    "encode_custom_form",
]
