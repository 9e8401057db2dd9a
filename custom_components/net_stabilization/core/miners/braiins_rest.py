"""HTTP client for the Braiins OS public REST API: JSON under `/api/v1/` on the web port.

`POST /api/v1/auth/login {"username", "password"}` answers `{"token", "timeout_s"}`. The token is
sent as the `authorization` header as it is (no "Bearer"), and every request it rides on starts
its lifetime again. A token the miner no longer knows (it expired, or the miner rebooted) is
answered 401: we log in once more and repeat the request. A login answered with any client
error but 404, 408 or 429 was refused: 401 and 403 are the usual answers, but a real S19
answered 405. Replies are read up to a bound no documented reply comes near; the session is
injected, never created.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from .base import (
    MinerAuthError,
    MinerProtocolError,
    MinerUnsupportedError,
)
from .cgminer import JsonDict, number
from .endpoint import DEFAULT_WEB_PORT, Credentials
from .http_exchange import exchange

LOGIN_PATH = "/api/v1/auth/login"
MAX_TOKEN_CHARS = 512
DEFAULT_TOKEN_S = 3600.0  # the documented session lifetime, for a login reply naming none
_TOKEN_S_RANGE = (10.0, 7 * 86400.0)
# Log in anew this long before an idle token would lapse (slow replies, clocks that drift).
_TOKEN_MARGIN_S = 30.0
_HTTP_OK_MIN, _HTTP_OK_MAX = 200, 299
_HTTP_UNAUTHORIZED, _HTTP_NOT_FOUND = 401, 404
# Client errors at login that say nothing about the credentials: no such endpoint, the
# request timed out, too many requests.
_LOGIN_NOT_REFUSED = frozenset({_HTTP_NOT_FOUND, 408, 429})
# The API answers, but the mining software behind the endpoint does not run.
_SOFTWARE_DOWN = frozenset({412, 503})
_DETAIL_CHARS = 80


class RestStatusError(MinerProtocolError):
    """The API answered with an HTTP error status."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url}: HTTP {status}{f' ({detail})' if detail else ''}")
        self.status = status


class MiningSoftwareDownError(RestStatusError):
    """The endpoint needs the mining software (bosminer), which is not running (412, 503)."""


class BraiinsRestClient:
    """Calls the REST API of one miner, logged in with one token at a time."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        port: int = DEFAULT_WEB_PORT,
        credentials: Credentials | None = None,
        *,
        connect_timeout_s: float = 3.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self._credentials = credentials or Credentials()
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        url_host = f"[{host}]" if ":" in host else host
        self._base = f"http://{url_host}:{port}"
        self._token: str | None = None
        self._token_s = DEFAULT_TOKEN_S
        self._valid_until = 0.0  # event-loop time
        self._login_lock = asyncio.Lock()
        self.logins = 0  # successful logins, for diagnostics

    async def get(self, path: str, *, timeout_s: float | None = None) -> Any:
        """GET an endpoint and return its parsed JSON (None for an empty body)."""
        return await self.call("GET", path, None, timeout_s=timeout_s)

    async def put(
        self, path: str, body: JsonDict | None = None, *, timeout_s: float | None = None
    ) -> Any:
        """PUT to an endpoint (an action or a setting) and return its parsed JSON reply."""
        return await self.call("PUT", path, body, timeout_s=timeout_s)

    async def call(
        self, method: str, path: str, body: JsonDict | None, *, timeout_s: float | None = None
    ) -> Any:
        """One authenticated request; a token the miner has forgotten costs one new login."""
        token = self._token if self._fresh() else None
        if token is None:
            token = await self._login(None, timeout_s)
        status, raw = await self._exchange(method, path, body, token, timeout_s)
        if status == _HTTP_UNAUTHORIZED:
            token = await self._login(token, timeout_s)
            status, raw = await self._exchange(method, path, body, token, timeout_s)
            if status == _HTTP_UNAUTHORIZED:
                raise MinerAuthError(f"{self.host}: the API refused the token of a fresh login")
        self._valid_until = self._now() + self._usable_s()
        url = f"{self._base}{path}"
        _check_status(url, status, raw)
        return parse_json(raw, url)

    def forget_token(self) -> None:
        """Drop the token, so the next call logs in (after a reboot, say)."""
        self._token = None
        self._valid_until = 0.0

    async def _login(self, stale: str | None, timeout_s: float | None) -> str:
        async with self._login_lock:
            # Another call may have logged in while this one waited for the lock.
            if self._token is not None and self._token != stale and self._fresh():
                return self._token
            self.forget_token()
            credentials = {
                "username": self._credentials.username,
                "password": self._credentials.password,
            }
            status, raw = await self._exchange("POST", LOGIN_PATH, credentials, None, timeout_s)
            url = f"{self._base}{LOGIN_PATH}"
            if _login_rejected(status):
                raise MinerAuthError(
                    f"{self.host}: the API rejected the login (HTTP {status}"
                    f"{f': {detail}' if (detail := _error_detail(raw)) else ''})"
                )
            _check_status(url, status, raw)
            token, lifetime_s = parse_login(parse_json(raw, url), url)
            self._token, self._token_s = token, lifetime_s
            self._valid_until = self._now() + self._usable_s()
            self.logins += 1
            return token

    def _fresh(self) -> bool:
        return self._token is not None and self._now() < self._valid_until

    def _usable_s(self) -> float:
        return self._token_s - min(_TOKEN_MARGIN_S, self._token_s / 2)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def _exchange(
        self,
        method: str,
        path: str,
        body: JsonDict | None,
        token: str | None,
        timeout_s: float | None,
    ) -> tuple[int, bytes]:
        url = f"{self._base}{path}"
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        if token is not None:
            headers["authorization"] = token
        reply = await exchange(
            self._session,
            method,
            url,
            data=data,
            headers=headers,
            connect_timeout_s=self.connect_timeout_s,
            read_s=self.timeout_s if timeout_s is None else timeout_s,
        )
        return reply.status, reply.body


def parse_json(raw: bytes, url: str) -> Any:
    """A reply body as JSON; an empty body (204) is None."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:  # includes undecodable bytes and integers too long to convert
        raise MinerProtocolError(f"{url}: reply is not JSON: {raw[:40]!r}") from None
    except RecursionError:
        raise MinerProtocolError(f"{url}: reply nests too deeply") from None


def parse_login(reply: object, url: str) -> tuple[str, float]:
    """The token and its lifetime in seconds from a login reply."""
    if not isinstance(reply, dict):
        raise MinerProtocolError(f"{url}: login answered {type(reply).__name__}, not an object")
    token = reply.get("token")
    # The token goes back in a header: printable ASCII without spaces only.
    if (
        not isinstance(token, str)
        or not 0 < len(token) <= MAX_TOKEN_CHARS
        or not token.isascii()
        or not token.isprintable()
        or " " in token
    ):
        raise MinerProtocolError(f"{url}: login answered without a usable token")
    lifetime = number(reply.get("timeout_s"))
    low, high = _TOKEN_S_RANGE
    if lifetime is None or not low <= lifetime <= high:
        lifetime = DEFAULT_TOKEN_S
    return token, lifetime


def _login_rejected(status: int) -> bool:
    """Whether a login's answer refuses it. Not only 401 and 403: a real S19 answered 405.
    A missing endpoint (404) is a firmware without this API; a timeout or a rate limit is not
    about the credentials."""
    return 400 <= status < 500 and status not in _LOGIN_NOT_REFUSED


def _check_status(url: str, status: int, raw: bytes) -> None:
    if _HTTP_OK_MIN <= status <= _HTTP_OK_MAX:
        return
    detail = _error_detail(raw)
    if status == _HTTP_NOT_FOUND:
        raise MinerUnsupportedError(f"{url}: not found (a firmware without this endpoint)")
    if status in _SOFTWARE_DOWN:
        raise MiningSoftwareDownError(url, status, detail)
    raise RestStatusError(url, status, detail)


def _error_detail(raw: bytes) -> str:
    """A short, printable excerpt of an error body, for the message."""
    text = raw[: _DETAIL_CHARS * 2].decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else " " for c in text)[:_DETAIL_CHARS].strip()
