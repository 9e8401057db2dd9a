"""How a simulated miner's web server misbehaves: dropped connections, garbage, cut replies.

Shared by every firmware's web personality (Vnish 3.9 CGI, Braiins OS+ REST, Vnish REST).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .faults import Fault


def drop(request: web.Request) -> web.Response:
    """Close the connection without answering (the daemon is gone)."""
    if request.transport is not None:
        request.transport.close()
    raise web.HTTPServiceUnavailable  # never reaches the client: the socket is closed


async def mangle(
    request: web.Request, miner: Any, response: web.StreamResponse
) -> web.StreamResponse:
    """Apply the GARBAGE and TRUNCATED faults to a finished response."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    body = response.body
    if Fault.GARBAGE in miner.faults:
        response.body = miner.rng.randbytes(max(16, len(body) // 2))
        return response
    if Fault.TRUNCATED in miner.faults:
        partial = web.StreamResponse(status=response.status)
        partial.content_type = response.content_type
        partial.content_length = len(body)
        await partial.prepare(request)
        await partial.write(body[: len(body) // 2])
        return drop(request)
    return response
