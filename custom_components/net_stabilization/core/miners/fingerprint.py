"""What a firmware serves without a login: the signs that confirm it before a password goes out.

A `version` reply that names a firmware is only a claim, and both REST firmwares take their
password in plain text. So a firmware is confirmed by what it serves to anyone, as independent
clients recognise it, before the fleet's login is sent:

- Braiins OS+: the public REST API answers its own version without authentication
  (`GET /api/v1/version/` -> `{"major", "minor", "patch"}`; the gRPC `ApiVersionService/
  GetApiVersion` it mirrors needs no login either). pyasic knows the web page by "Braiins OS".
  Releases of the gRPC-only era serve no REST API at all.
- Vnish's REST firmware (AnthillOS): `GET /api/v1/info` needs no login and names the firmware
  (`fw_name`), the model and the MAC; pyasic knows the web page by "AnthillOS".

Every reply is bounded (`http_exchange`) and looked at only to a small bound.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from .base import MinerError
from .endpoint import MinerEndpoint, Timeouts
from .firmware import normalize_mac
from .http_exchange import exchange

BRAIINS_VERSION_PATH = "/api/v1/version/"
VNISH_INFO_PATH = "/api/v1/info"
_MAX_JSON_BYTES = 64 * 1024  # a version or info reply is well under 2 kB
_MAX_PAGE_CHARS = 64 * 1024
_OK = 200


async def public_get(
    session: aiohttp.ClientSession, endpoint: MinerEndpoint, path: str, timeouts: Timeouts
) -> tuple[int, bytes] | None:
    """GET `path` on the web port without any credentials; None when nothing usable answers."""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    try:
        reply = await exchange(
            session,
            "GET",
            f"http://{host}:{endpoint.web_port}{path}",
            data=None,
            headers={"Accept": "application/json, text/html"},
            connect_timeout_s=timeouts.connect_s,
            read_s=timeouts.web_s,
        )
    except MinerError:
        return None
    return reply.status, reply.body


def _json_object(answer: tuple[int, bytes] | None) -> dict[str, Any] | None:
    if answer is None or answer[0] != _OK or len(answer[1]) > _MAX_JSON_BYTES:
        return None
    try:
        value = json.loads(answer[1].decode("utf-8"))
    except ValueError, RecursionError:  # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def braiins_api_version(answer: tuple[int, bytes] | None) -> str | None:
    """ "1.7.0" from the REST API's unauthenticated version reply; None if it is not one."""
    reply = _json_object(answer)
    if reply is None:
        return None
    parts = [reply.get(key) for key in ("major", "minor", "patch")]
    if not all(type(p) is int and 0 <= p < 10_000 for p in parts[:2]):
        return None
    patch = parts[2] if type(parts[2]) is int and 0 <= parts[2] < 10_000 else 0
    return f"{parts[0]}.{parts[1]}.{patch}"


def vnish_public_info(answer: tuple[int, bytes] | None) -> dict[str, Any] | None:
    """The unauthenticated `info` of Vnish's REST firmware: it names Vnish and tells a MAC."""
    reply = _json_object(answer)
    if reply is None:
        return None
    name = reply.get("fw_name")
    if not isinstance(name, str) or "vnish" not in name[:64].lower():
        return None
    system = reply.get("system")
    network = system.get("network_status") if isinstance(system, dict) else None
    mac = network.get("mac") if isinstance(network, dict) else None
    return reply if normalize_mac(mac) is not None else None


def page_text(answer: tuple[int, bytes] | None) -> str:
    """A web page's text, bounded; "" when there is none."""
    if answer is None:
        return ""
    return answer[1][:_MAX_PAGE_CHARS].decode("utf-8", errors="replace")


async def braiins_rest_version(
    session: aiohttp.ClientSession, endpoint: MinerEndpoint, timeouts: Timeouts
) -> str | None:
    """The Braiins OS REST API's version, asked without a login; None where none answers."""
    return braiins_api_version(await public_get(session, endpoint, BRAIINS_VERSION_PATH, timeouts))


async def vnish_info(
    session: aiohttp.ClientSession, endpoint: MinerEndpoint, timeouts: Timeouts
) -> dict[str, Any] | None:
    """Vnish's REST firmware's public `info`, or None where the device serves no such thing."""
    return vnish_public_info(await public_get(session, endpoint, VNISH_INFO_PATH, timeouts))
