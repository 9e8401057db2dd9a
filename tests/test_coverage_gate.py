"""The coverage gate names every module under the minimum and fails; modules no test imported
count as uncovered."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import coverage
import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "custom_components" / "net_stabilization"


def _gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "coverage_gate", ROOT / "scripts" / "coverage_gate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """Coverage data in which only the first lines of const.py ran."""
    path = tmp_path / ".coverage"
    data = coverage.CoverageData(basename=str(path))
    data.add_arcs({str(PACKAGE / "const.py"): {(-1, 3), (3, 5), (5, -1)}})
    data.write()
    return path


def test_the_gate_names_each_module_under_the_minimum(
    data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _gate().main(["--data-file", str(data_file)]) == 1
    out = capsys.readouterr().out
    assert "custom_components/net_stabilization/const.py" in out
    # Never imported: 0 %, and named too.
    assert "  0.0 %  custom_components/net_stabilization/sensor.py" in out
    modules = len(list(PACKAGE.rglob("*.py")))
    assert f"of {modules} modules under 95 %" in out


def test_the_gate_passes_when_every_module_reaches_the_minimum(
    data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _gate().main(["--data-file", str(data_file), "--minimum", "0"]) == 0
    assert "at or above 0 %" in capsys.readouterr().out


def test_the_gate_fails_without_data(tmp_path: Path) -> None:
    assert _gate().main(["--data-file", str(tmp_path / "missing")]) == 1
