"""Minimal clients for tests and benchmarks (not part of the simulated firmware)."""

from __future__ import annotations

import asyncio
import json
from typing import Any


async def cgminer_request(host: str, port: int, payload: str, timeout_s: float = 5.0) -> bytes:
    """Send one raw request to a cgminer API port and read until the server closes."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(payload.encode())
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()


async def cgminer_command(
    host: str, port: int, command: str, parameter: str | None = None, timeout_s: float = 5.0
) -> dict[str, Any]:
    """Send a JSON command and return the parsed reply (bmminer quirks repaired)."""
    request: dict[str, str] = {"command": command}
    if parameter is not None:
        request["parameter"] = parameter
    return parse_cgminer_json(await cgminer_request(host, port, json.dumps(request), timeout_s))


def parse_cgminer_json(raw: bytes) -> dict[str, Any]:
    """Parse a JSON reply: drop the trailing NUL and repair the `}{` STATS bug."""
    text = raw.rstrip(b"\x00").decode()
    result: dict[str, Any] = json.loads(text.replace("}{", "},{"))
    return result
