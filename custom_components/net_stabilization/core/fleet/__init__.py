"""Fleet control without Home Assistant: model, pure planner, controller (the closed loop).

The HA layer uses `FleetController` (commands and `poll()`), reads `FleetSnapshot`s and answers
with `CommandResult`s; everything else here is detail.
"""

from .clock import Clock, FunctionClock, ManualClock, SystemClock
from .command_log import CommandLog, CommandRecord, InMemoryCommandLog
from .commands import (
    CommandReason,
    CommandResult,
    CommandSource,
    InvalidPowerError,
    parse_power_kw,
)
from .config import ControlConfig
from .controller import SOURCE_EMS, FleetController, SiteMeter
from .grid_dispatch import NO_GRID_DISPATCH, GridDispatch
from .limits import SiteLimits, TargetSource
from .model import (
    FleetSnapshot,
    FleetState,
    MinerOverride,
    MinerSnapshot,
    MinerState,
    PowerMode,
    RunningStatus,
)
from .planner import (
    Action,
    DispatchPlan,
    MinerAssignment,
    PlanLimits,
    PlanMiner,
    TargetPolicy,
    plan_dispatch,
)
from .settings import FleetSettings
from .strategy import StrategyPolicy, StrategySeat, StrategyStatus

__all__ = [
    "NO_GRID_DISPATCH",
    "SOURCE_EMS",
    "Action",
    "Clock",
    "CommandLog",
    "CommandReason",
    "CommandRecord",
    "CommandResult",
    "CommandSource",
    "ControlConfig",
    "DispatchPlan",
    "FleetController",
    "FleetSettings",
    "FleetSnapshot",
    "FleetState",
    "FunctionClock",
    "GridDispatch",
    "InMemoryCommandLog",
    "InvalidPowerError",
    "ManualClock",
    "MinerAssignment",
    "MinerOverride",
    "MinerSnapshot",
    "MinerState",
    "PlanLimits",
    "PlanMiner",
    "PowerMode",
    "RunningStatus",
    "SiteLimits",
    "SiteMeter",
    "StrategyPolicy",
    "StrategySeat",
    "StrategyStatus",
    "SystemClock",
    "TargetPolicy",
    "TargetSource",
    "parse_power_kw",
    "plan_dispatch",
]
