"""Sensors of OpenADR and of dispatch performance: the VEN's connection, its current event and
that event's figures, and the figures of the running (else last) dispatch, EMS or OpenADR."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower, UnitOfTime

from .coordinator import FleetCoordinator
from .core.mv import Performance
from .core.openadr import Connection
from .entity import FleetEntity
from .openadr import OpenAdrLink

type Value = float | str | None


@dataclass(frozen=True, kw_only=True)
class LinkSensorDescription(SensorEntityDescription):
    """A sensor read from the OpenADR link."""

    value_fn: Callable[[OpenAdrLink], Value]
    attributes_fn: Callable[[OpenAdrLink], dict[str, Any]] | None = None
    needs_ven: bool = False


def _figure(
    pick: Callable[[OpenAdrLink], Performance | None], read: Callable[[Performance], float | None]
) -> Callable[[OpenAdrLink], Value]:
    def value(link: OpenAdrLink) -> Value:
        performance = pick(link)
        figure = None if performance is None else read(performance)
        return None if figure is None else round(figure, 3)

    return value


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100.0


def _event_name(link: OpenAdrLink) -> Value:
    ven = link.ven
    view = ven.current_event() if ven is not None else None
    if view is None:
        return "none"
    return (view.event.name or view.event.id)[:250]


def _event_attributes(link: OpenAdrLink) -> dict[str, Any]:
    ven = link.ven
    view = ven.current_event() if ven is not None else None
    if ven is None or view is None:
        return {}
    return {
        "event_id": view.event.id,
        "priority": view.event.priority,
        "target_kw": None if ven.dispatch.target_w is None else ven.dispatch.target_w / 1000.0,
        "cap_kw": None if ven.dispatch.cap_w is None else ven.dispatch.cap_w / 1000.0,
        "ends_at": view.end,
        "reports_sent": view.counts.sent,
        "reports_late": view.counts.late,
    }


def _performance_sensors(
    prefix: str, pick: Callable[[OpenAdrLink], Performance | None], *, needs_ven: bool
) -> tuple[LinkSensorDescription, ...]:
    power = {
        "device_class": SensorDeviceClass.POWER,
        "native_unit_of_measurement": UnitOfPower.KILO_WATT,
        "state_class": SensorStateClass.MEASUREMENT,
    }
    return (
        LinkSensorDescription(
            key=f"{prefix}_baseline",
            translation_key=f"{prefix}_baseline",
            value_fn=_figure(pick, lambda p: p.baseline_kw),
            needs_ven=needs_ven,
            **power,  # type: ignore[arg-type]
        ),
        LinkSensorDescription(
            key=f"{prefix}_delivered",
            translation_key=f"{prefix}_delivered",
            value_fn=_figure(pick, lambda p: p.delivered_kw),
            needs_ven=needs_ven,
            **power,  # type: ignore[arg-type]
        ),
        LinkSensorDescription(
            key=f"{prefix}_compliance",
            translation_key=f"{prefix}_compliance",
            native_unit_of_measurement=PERCENTAGE,
            value_fn=_figure(pick, lambda p: _percent(p.compliance)),
            needs_ven=needs_ven,
        ),
        LinkSensorDescription(
            key=f"{prefix}_response",
            translation_key=f"{prefix}_response",
            device_class=SensorDeviceClass.DURATION,
            native_unit_of_measurement=UnitOfTime.SECONDS,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_figure(pick, lambda p: p.response_s),
            needs_ven=needs_ven,
        ),
    )


LINK_SENSORS: tuple[LinkSensorDescription, ...] = (
    LinkSensorDescription(
        key="openadr_connection",
        translation_key="openadr_connection",
        device_class=SensorDeviceClass.ENUM,
        options=[c.value for c in Connection],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda link: link.ven.connection.value if link.ven is not None else None,
        needs_ven=True,
    ),
    LinkSensorDescription(
        key="openadr_event",
        translation_key="openadr_event",
        value_fn=_event_name,
        attributes_fn=_event_attributes,
        needs_ven=True,
    ),
    *_performance_sensors("openadr_event", lambda link: link.event_performance(), needs_ven=True),
    *_performance_sensors("dispatch", lambda link: link.dispatch_performance(), needs_ven=False),
)


def link_sensors(coordinator: FleetCoordinator, link: OpenAdrLink | None) -> list[LinkSensor]:
    """The sensors this fleet has (the OpenADR ones only with a VEN)."""
    if link is None:
        return []
    return [
        LinkSensor(coordinator, link, d)
        for d in LINK_SENSORS
        if not d.needs_ven or link.ven is not None
    ]


class LinkSensor(FleetEntity, SensorEntity):
    """A figure of OpenADR or of a dispatch."""

    entity_description: LinkSensorDescription

    def __init__(
        self,
        coordinator: FleetCoordinator,
        link: OpenAdrLink,
        description: LinkSensorDescription,
    ) -> None:
        """Read from `link` at every update of the fleet."""
        super().__init__(coordinator, description)
        self._link = link

    @property
    @override
    def native_value(self) -> Value:
        return self.entity_description.value_fn(self._link)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        attributes = self.entity_description.attributes_fn
        return attributes(self._link) if attributes is not None else None

    @override
    def _state_key(self) -> Hashable:
        attributes = self.extra_state_attributes
        return (self.native_value, tuple(sorted((attributes or {}).items())))
