"""What a scan found, as the lines the setup forms show: miners grouped by model and firmware,
the addresses that refused the login, and the power steps the found miners give.

The texts hold only names, numbers and addresses (the forms' translations say what they are),
and every name a device reported is cleaned and cut short: it is shown as Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .core.discovery import FoundMiner, ScanFinding, ScanResult
from .core.miners.endpoint import DEFAULT_API_PORT, MinerEndpoint

MAX_GROUPS = 8  # kinds of miner listed; the rest are counted
ADDRESSES_PER_GROUP = 3  # addresses shown per kind
MAX_REJECTED = 10  # refusing addresses listed; the rest are counted
_NAME_LIMIT = 48
_UNSAFE = re.compile(r"[^A-Za-z0-9 .,+\-/:()]")  # no Markdown, HTML or line breaks


@dataclass(slots=True)
class MinerGroup:
    """Miners of one model on one firmware."""

    model: str
    firmware: str
    read_only: bool
    addresses: list[str] = field(default_factory=list)


def group_miners(result: ScanResult) -> list[MinerGroup]:
    """The found miners by model, firmware and whether they can be controlled, largest first."""
    groups: dict[tuple[str, str, bool], MinerGroup] = {}
    for miner in sorted(result.miners.values(), key=lambda m: _sort_key(m.endpoint)):
        read_only = not miner.driver.capabilities.can_sleep
        key = (_clean(miner.identity.model), _clean(miner.identity.firmware), read_only)
        group = groups.setdefault(key, MinerGroup(*key))
        group.addresses.append(address(miner.endpoint))
    return sorted(groups.values(), key=lambda g: (-len(g.addresses), g.model, g.firmware))


def miner_lines(groups: list[MinerGroup], *, read_only: bool) -> str:
    """A Markdown list of the controllable (or the read-only) groups; "—" when there is none."""
    chosen = [g for g in groups if g.read_only is read_only]
    lines = [
        f"- **{len(g.addresses)}** {g.model} ({g.firmware}): {_first(g.addresses)}"
        for g in chosen[:MAX_GROUPS]
    ]
    if len(chosen) > MAX_GROUPS:
        rest = sum(len(g.addresses) for g in chosen[MAX_GROUPS:])
        lines.append(f"- **+{rest}** …")
    return "\n".join(lines) or "—"


def rejected_lines(findings: Iterable[ScanFinding]) -> str:
    """The addresses that refused the login, a bounded list."""
    addresses = sorted((f.endpoint for f in findings), key=_sort_key)
    shown = ", ".join(address(e) for e in addresses[:MAX_REJECTED])
    more = len(addresses) - MAX_REJECTED
    return f"{shown} (+{more})" if more > 0 else shown or "—"


def on_off_steps(result: ScanResult) -> str:
    """What switching one miner of each controllable model adds or sheds, e.g. "3.25 kW
    (Antminer S19)"."""
    steps: dict[str, float] = {}
    for miner in _controllable(result.miners.values()):
        steps.setdefault(_clean(miner.identity.model), miner.driver.capabilities.nominal_w)
    return _per_model({model: _kw(watts) for model, watts in steps.items()})


def fine_ranges(result: ScanResult) -> str:
    """The range each model that takes a setting (frequency, power target, preset) can be
    tuned in below full power, e.g. "0.66-1.46 kW (Antminer S9)"."""
    ranges: dict[str, str] = {}
    for miner in _controllable(result.miners.values()):
        capabilities = miner.driver.capabilities
        if capabilities.can_set_frequency:
            curve = capabilities.points.curve
            ranges.setdefault(
                _clean(miner.identity.model),
                f"{_kw(curve.min_w, unit=False)}-{_kw(curve.nominal_w)}",
            )
    return _per_model(ranges)


def address(endpoint: MinerEndpoint) -> str:
    """An address as the user typed it: the host, with the API port when it is not 4028."""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    return host if endpoint.api_port == DEFAULT_API_PORT else f"{host}:{endpoint.api_port}"


def _controllable(miners: Iterable[FoundMiner]) -> list[FoundMiner]:
    return [m for m in miners if m.driver.capabilities.can_sleep]


def _per_model(values: dict[str, str]) -> str:
    shown = [f"{value} ({model})" for model, value in sorted(values.items())[:MAX_GROUPS]]
    if len(values) > MAX_GROUPS:
        shown.append("…")
    return ", ".join(shown) or "—"


def _first(addresses: list[str]) -> str:
    shown = ", ".join(addresses[:ADDRESSES_PER_GROUP])
    return f"{shown}, …" if len(addresses) > ADDRESSES_PER_GROUP else shown


def _kw(watts: float, *, unit: bool = True) -> str:
    text = f"{watts / 1000:.2f}".rstrip("0").rstrip(".")
    return f"{text} kW" if unit else text


def _clean(text: str) -> str:
    cleaned = _UNSAFE.sub("", text).strip()[:_NAME_LIMIT]
    return cleaned or "?"


def _sort_key(endpoint: MinerEndpoint) -> tuple[int, tuple[int, ...] | str, int]:
    parts = endpoint.host.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return (0, tuple(int(p) for p in parts), endpoint.api_port)
    return (1, endpoint.host, endpoint.api_port)
