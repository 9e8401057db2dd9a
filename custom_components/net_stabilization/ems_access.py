"""Who may call the EMS paths, and who is recorded as having called.

With a Home Assistant token: an administrator, or the user the options name as the EMS user
(reading the status needs any user); a token that does not check out is refused, wherever the
client is. Without a token: a client whose TCP peer address is in one
of the EMS networks, and only as a program would call: no browser (an `Origin` header), Home
Assistant addressed by an IP address or its own configured URL (a foreign `Host` is a DNS
rebinding), and, for an activation, an `application/json` body (a web page can send
`text/plain` cross-site without asking first).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from homeassistant.auth.models import User
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.helpers.http import KEY_AUTHENTICATED, KEY_HASS

from .audit import user_caller

_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Caller:
    """An EMS request's sender."""

    allowed: bool
    control: bool  # may send commands, not only read the status
    who: str  # for the history: "user <name> (<id>)" or "<peer address> without token"
    token_less: bool
    refusal: str = ""  # why not allowed (for the client)


def check_caller(request: web.Request, networks: Iterable[str], ems_user_id: str | None) -> Caller:
    """Judge the sender of an EMS request."""
    peer = request.remote or "unknown peer"
    if request.get(KEY_AUTHENTICATED):
        user: User | None = request.get(KEY_HASS_USER)
        if user is None:
            return Caller(True, False, f"{peer} (authenticated)", token_less=False)
        who = user_caller(user)
        control = user.is_admin or (ems_user_id is not None and user.id == ems_user_id)
        refusal = "" if control else "this user may not control the fleet"
        return Caller(True, control, who, token_less=False, refusal=refusal)
    who = f"{peer} without token"
    if presents_token(request):
        # A token that does not check out is refused, even from inside an EMS network: the
        # client meant to authenticate, and a stolen or expired token must not pass as none.
        return Caller(False, False, f"{peer} with an invalid token", False, "unauthorized")
    if not peer_in_networks(request.remote, networks):
        return Caller(False, False, who, token_less=True, refusal="unauthorized")
    if "Origin" in request.headers:
        return Caller(False, False, who, True, "browser requests need a token")
    if not host_is_ours(request):
        return Caller(False, False, who, True, "address Home Assistant by IP or its own URL")
    return Caller(True, True, who, token_less=True)


def presents_token(request: web.Request) -> bool:
    """The request carries credentials of Home Assistant's (a bearer token or a signed path)."""
    return "Authorization" in request.headers or "authSig" in request.query


def json_content(request: web.Request) -> bool:
    """The request says its body is JSON."""
    return request.content_type == _JSON


def peer_in_networks(remote: str | None, networks: Iterable[str]) -> bool:
    """Whether the TCP peer is in one of the networks.

    `request.remote` is the peer unless Home Assistant itself is configured to trust a proxy;
    X-Forwarded-For is never read here.
    """
    if remote is None:
        return False
    try:
        client = ipaddress.ip_address(remote)
    except ValueError:
        return False
    for text in networks:
        try:
            if client in ipaddress.ip_network(text, strict=False):
                return True
        except ValueError:
            continue
    return False


def host_is_ours(request: web.Request) -> bool:
    """The `Host` header names this Home Assistant: an IP address, localhost, or the host of
    its configured internal or external URL."""
    host = _host_name(request.host)
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    if host == "localhost":
        return True
    config = request.app[KEY_HASS].config
    known = {
        (urlsplit(url).hostname or "").lower()
        for url in (config.internal_url, config.external_url)
        if url
    }
    return host.lower() in known


def _host_name(host: str) -> str:
    """The name in a Host header, without port or IPv6 brackets."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, _sep, _port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return name
