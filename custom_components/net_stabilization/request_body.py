"""Reading a command's JSON body the way real clients send it, and refusing what is ambiguous.

The whole body is read, however it arrives (in several TCP segments, chunked), up to a size no
command comes near and within a few seconds. Parsing is strict: duplicate keys (which parsers
resolve differently), NaN and Infinity (not JSON) and numbers with absurdly many digits are
refused with a message saying so.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

# Commands are a few bytes; anything much larger is not an EMS talking to us.
MAX_BODY_BYTES = 16 * 1024
# A client that has not sent its body by then is not going to.
BODY_TIMEOUT_S = 5.0
# More digits than any power in kW needs; longer numbers are refused, not rounded.
MAX_NUMBER_CHARS = 40


class BodyError(ValueError):
    """What is wrong with a request body (the message is for the client)."""


async def read_body(request: web.Request) -> bytes:
    """The whole body, bounded in size and time."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BodyError(f"body larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise BodyError(f"body larger than {MAX_BODY_BYTES} bytes")
    except TimeoutError:
        raise BodyError(f"body not received within {BODY_TIMEOUT_S:g} s") from None
    except (web.RequestPayloadError, HttpProcessingError) as err:
        # Garbage under a Content-Encoding, a broken chunk: the client's fault, not ours.
        raise BodyError(f"body could not be read: {_brief(err)}") from None
    return bytes(body)


def _brief(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:100]


def parse_object(body: bytes) -> dict[str, Any]:
    """A JSON object from `body`; raises BodyError naming the problem."""
    try:
        data = json.loads(
            body,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_bounded_float,
        )
    except BodyError:
        raise
    except ValueError, RecursionError:
        raise BodyError("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BodyError("body must be a JSON object")
    return data


async def read_object(request: web.Request) -> dict[str, Any]:
    """Read and parse a JSON object body."""
    return parse_object(await read_body(request))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise BodyError(f"duplicate key {key[:40]!r} in the body")
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise BodyError(f"{name} is not a finite number (nor JSON)")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise BodyError("a number in the body is too large")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise BodyError("a number in the body is too large")
    return float(text)
