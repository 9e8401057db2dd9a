"""Access to the recorded miner replies in tests/fixtures/miners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[2] / "fixtures" / "miners"


def reply_bytes(name: str) -> bytes:
    """Raw bytes of a reply fixture, as they came off the socket."""
    return (FIXTURES / name).read_bytes()


def web_json(name: str) -> dict[str, Any]:
    """A CGI output fixture, parsed."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data
