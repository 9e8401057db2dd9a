"""The lines the setup forms show for a scan: bounded however large the fleet, and nothing a
device reports reaches the page as Markdown or HTML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custom_components.net_stabilization.core.discovery import FoundMiner, ScanFinding, ScanResult
from custom_components.net_stabilization.core.miners.base import (
    Capabilities,
    MinerIdentity,
    OperatingPoints,
)
from custom_components.net_stabilization.core.miners.endpoint import MinerEndpoint
from custom_components.net_stabilization.scan_summary import (
    MAX_GROUPS,
    MAX_REJECTED,
    fine_ranges,
    group_miners,
    miner_lines,
    on_off_steps,
    rejected_lines,
)

CONTROLLABLE = Capabilities.from_points(OperatingPoints(), controllable=True)
READ_ONLY = Capabilities.from_points(OperatingPoints(), controllable=False)


@dataclass
class _Driver:
    capabilities: Capabilities


def _miner(index: int, model: str, *, host: str | None = None, **kw: Any) -> FoundMiner:
    mac = f"02:00:00:00:{index // 256:02X}:{index % 256:02X}"
    endpoint = MinerEndpoint(host or f"10.0.{index // 256}.{index % 256}", kw.get("port", 4028))
    identity = MinerIdentity(mac, endpoint.host, model, kw.get("firmware", "Vnish 1.2"), "1.2")
    driver: Any = _Driver(kw.get("capabilities", CONTROLLABLE))
    return FoundMiner(identity, endpoint, driver)


def _result(*miners: FoundMiner, rejected: int = 0) -> ScanResult:
    findings = tuple(
        ScanFinding(MinerEndpoint(f"10.9.0.{i + 1}"), "refused") for i in range(rejected)
    )
    return ScanResult(miners={m.identity.mac: m for m in miners}, auth_failed=findings)


def test_many_kinds_are_cut_to_a_few_lines_and_a_count() -> None:
    miners = [_miner(i, f"Model {i}") for i in range(MAX_GROUPS + 3)]
    lines = miner_lines(group_miners(_result(*miners)), read_only=False).splitlines()
    assert len(lines) == MAX_GROUPS + 1
    assert lines[-1] == "- **+3** …"
    assert on_off_steps(_result(*miners)).endswith("…")


def test_what_a_device_reports_is_cleaned_before_it_is_shown() -> None:
    hostile = _miner(1, "<img src=x onerror=alert(1)>**S19**\n# big" + "x" * 500)
    line = miner_lines(group_miners(_result(hostile)), read_only=False)
    assert "<" not in line and "**S19**" not in line and "\n" not in line
    assert len(line) < 120
    empty = _miner(2, "<>")
    assert "- **1** ? (" in miner_lines(group_miners(_result(empty)), read_only=False)


def test_addresses_sort_by_number_and_show_a_port_only_when_it_is_not_4028() -> None:
    miners = [
        _miner(1, "S19", host="10.0.0.10"),
        _miner(2, "S19", host="10.0.0.9", port=4029),
        _miner(3, "S19", host="fd00::5"),
        _miner(4, "S19", host="miner-a.local"),
    ]
    line = miner_lines(group_miners(_result(*miners)), read_only=False)
    assert line == "- **4** S19 (Vnish 1.2): 10.0.0.9:4029, 10.0.0.10, [fd00::5], …"


def test_read_only_miners_have_their_own_list_and_no_steps() -> None:
    result = _result(_miner(1, "M30S", capabilities=READ_ONLY, firmware="Whatsminer stock"))
    groups = group_miners(result)
    assert miner_lines(groups, read_only=False) == "—"
    assert miner_lines(groups, read_only=True) == "- **1** M30S (Whatsminer stock): 10.0.0.1"
    assert on_off_steps(result) == "—"
    assert fine_ranges(result) == "—"


def test_the_refusing_addresses_are_bounded() -> None:
    text = rejected_lines(_result(rejected=MAX_REJECTED + 15).auth_failed)
    assert text.endswith("(+15)")
    assert text.count("10.9.0.") == MAX_REJECTED
    assert rejected_lines(()) == "—"
