"""Fail unless every module of the integration is covered to at least 95 % by the tests.

Reads the data file pytest --cov left behind (branch coverage, as pyproject.toml configures
it): lines and branches both count, as in coverage's own per-file percentage. A module no test
imports counts as 0 %, so a new module without tests fails the gate too. Run it after the full
suite: `python scripts/coverage_gate.py [--minimum 95] [--data-file .coverage]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "custom_components" / "net_stabilization"


def module_coverage(data_file: Path) -> dict[str, float]:
    """Percent covered (lines and branches) per module of the integration, by relative path."""
    cov = coverage.Coverage(data_file=str(data_file), config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(out), include=[str(PACKAGE / "**" / "*.py")])
        files = json.loads(out.read_text())["files"]
    measured = {
        str(Path(name).resolve().relative_to(ROOT)): data["summary"]["percent_covered"]
        for name, data in files.items()
    }
    # A module that neither a test nor another module imported is not in the data at all.
    for path in PACKAGE.rglob("*.py"):
        measured.setdefault(str(path.relative_to(ROOT)), 0.0)
    return measured


def main(argv: list[str] | None = None) -> int:
    """Print the modules under the minimum and return 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minimum", type=float, default=95.0)
    parser.add_argument("--data-file", type=Path, default=ROOT / ".coverage")
    args = parser.parse_args(argv)
    if not args.data_file.exists():
        print(f"no coverage data at {args.data_file}: run pytest --cov first", file=sys.stderr)
        return 1
    measured = module_coverage(args.data_file)
    under = {name: pct for name, pct in measured.items() if pct < args.minimum}
    lowest = min(measured.values()) if measured else 0.0
    if under:
        print(f"{len(under)} of {len(measured)} modules under {args.minimum:g} % coverage:")
        for name, pct in sorted(under.items(), key=lambda item: item[1]):
            print(f"  {pct:5.1f} %  {name}")
        return 1
    print(f"all {len(measured)} modules at or above {args.minimum:g} % (lowest {lowest:.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
