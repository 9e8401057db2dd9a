"""Mark onboarding's core-config step done in <config>/.storage/onboarding before the first start.

    python -m demo.onboarding_store CONFIG_DIR

Finishing that step over the API starts config flows for integrations the demo does not install
(google_translate, met, radio_browser), which then fail to load with tracebacks in the log. The
demo's configuration.yaml already sets what the step would (name, units, time zone), so the step is
recorded as done up front and the demo starts clean. An existing store is left alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    """Create the store unless Home Assistant already keeps one."""
    path = Path(sys.argv[1]) / ".storage" / "onboarding"
    if path.exists():
        return 0
    store = {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": ["core_config"]},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
