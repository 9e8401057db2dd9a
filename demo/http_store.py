"""Write Home Assistant's HTTP settings (port, listen address) into <config>/.storage/http.

    python -m demo.http_store CONFIG_DIR PORT [LISTEN_ADDRESS]

Home Assistant 2026.11 moved the `http:` settings from configuration.yaml into storage: YAML is
migrated once as a *pending* configuration that reverts (with a restart) unless someone confirms
it in the UI within five minutes, and is ignored afterwards. The demo therefore leaves `http:` out
of configuration.yaml and writes the confirmed ("stable") settings here before every start, while
Home Assistant is not running; other stored settings are kept.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

DEFAULTS = {
    "cors_allowed_origins": ["https://cast.home-assistant.io"],
    "login_attempts_threshold": -1,
    "ip_ban_enabled": True,
    "ssl_profile": "intermediate_v6",
    "use_x_frame_options": True,
}


def main() -> int:
    """Update or create the store."""
    config_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    listen = sys.argv[3] if len(sys.argv) > 3 else ""
    path = config_dir / ".storage" / "http"
    store = None
    if path.exists():
        try:
            store = json.loads(path.read_text())
        except ValueError:
            store = None
    if not store or store.get("version") != 3 or "stable" not in store.get("data", {}):
        store = {"version": 3, "minor_version": 1, "key": "http", "data": {}}
    data = store["data"]
    stable = {**DEFAULTS, **(data.get("stable") or {})}
    stable["server_port"] = port
    if listen:
        stable["server_host"] = [listen]
    else:
        stable.pop("server_host", None)
    stable.update(
        created_at=stable.get("created_at") or datetime.now(UTC).isoformat(),
        error=None,
        error_message=None,
    )
    data.update(stable=stable, pending=None, yaml_migration_done=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(store, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
