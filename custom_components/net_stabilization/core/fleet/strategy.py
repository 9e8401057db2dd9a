"""The local strategy inside the fleet: when it may decide, and what it decides from.

It decides only while nothing above it does: no override, no EMS activation (and, by the
policy "never with an EMS", not at all once an EMS is configured), and only while the operator
has it switched on. Its target is capped by the site's limits like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..strategies import FleetView, LocalStrategy, SiteInputs
from .model import MinerSnapshot, MinerState


class StrategyPolicy(StrEnum):
    """When a configured strategy may decide."""

    WHILE_EMS_IDLE = "while_ems_idle"  # whenever the EMS has no activation in force
    NEVER_WITH_EMS = "never_with_ems"  # not at all while an EMS is configured


class StrategyStatus(StrEnum):
    """What the strategy is doing now."""

    NONE = "none"  # no strategy configured
    OFF = "off"  # switched off by the operator
    BLOCKED = "blocked"  # an EMS is configured and the policy says never with one
    WAITING = "waiting"  # the EMS or the override decides
    FOLLOWING = "following"  # it decides the target
    HOLDING = "holding"  # its input is unavailable: it wakes nothing new


@dataclass(frozen=True, slots=True)
class StrategyView:
    """The strategy as the snapshot shows it."""

    name: str | None = None  # None: no strategy configured
    status: StrategyStatus = StrategyStatus.NONE
    target_kw: float | None = None  # its target while it decides
    reason: str = ""  # why it wants what it wants


NO_STRATEGY = StrategyView()


type InputsReader = Callable[[], SiteInputs]


class StrategySeat:
    """A strategy, its inputs and whether it may decide."""

    def __init__(
        self,
        strategy: LocalStrategy,
        inputs: InputsReader,
        *,
        policy: StrategyPolicy = StrategyPolicy.WHILE_EMS_IDLE,
        ems_configured: bool = False,
        started: bool = True,
    ) -> None:
        self.strategy = strategy
        self.read_inputs = inputs
        self.policy = policy
        self.ems_configured = ems_configured
        self.enabled = True
        # Not started: it waits until the commanded state was restored after a restart (the
        # operator may have switched it off), so the first poll decides nothing.
        self.started = started
        self._joules_per_th: float | None = None  # last measured, kept while nothing mines

    @property
    def blocked(self) -> bool:
        """The policy keeps it from deciding at all."""
        return self.policy is StrategyPolicy.NEVER_WITH_EMS and self.ems_configured

    def may_decide(self, *, ems_active: bool, override: bool) -> bool:
        """Whether the strategy decides the target now."""
        return (
            self.started and self.enabled and not self.blocked and not ems_active and not override
        )

    def status(self, *, ems_active: bool, override: bool, holding: bool) -> StrategyStatus:
        """What it is doing now."""
        if not self.enabled:
            return StrategyStatus.OFF
        if self.blocked:
            return StrategyStatus.BLOCKED
        if ems_active or override:
            return StrategyStatus.WAITING
        return StrategyStatus.HOLDING if holding else StrategyStatus.FOLLOWING

    def fleet_view(
        self, fleet_w: float, rated_w: float, miners: Iterable[MinerSnapshot]
    ) -> FleetView:
        """The fleet as the rule sees it; efficiency from the miners mining at full rate."""
        power = hashrate = 0.0
        for m in miners:
            if m.state is MinerState.MINING and not m.stale and m.power_w and m.hashrate_ths:
                power += m.power_w
                hashrate += m.hashrate_ths
        if hashrate > 0:
            self._joules_per_th = power / hashrate
        return FleetView(fleet_w=fleet_w, rated_w=rated_w, joules_per_th=self._joules_per_th)
