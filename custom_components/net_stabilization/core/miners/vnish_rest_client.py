"""HTTP client for the REST API of Vnish's current firmware (AnthillOS web UI), `/api/v1/*`.

Login is `POST /api/v1/unlock {"pw": ...}`, answered with `{"token": ...}`; the token goes
out as `Authorization: Bearer <token>` (the form the API documentation and pyasic's `system/*`
calls use; pyasic's other calls send it raw). The firmware forgets its tokens (a reboot, a
timeout, a login elsewhere), so a 401 is answered by one fresh unlock and one retry. Some
builds also want an API key, `x-api-key`, for sensitive writes (`settings`, `system/reboot`):
it is sent with those when one is configured, and a refusal of them after a fresh login says
so. Actions answer
with an empty body on success and `{"err": "..."}` when the firmware refuses. Replies are
read up to a bound no real one comes near; the session is injected, never created here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeIs

import aiohttp

from .base import (
    MinerAuthError,
    MinerProtocolError,
    MinerUnsupportedError,
)
from .endpoint import DEFAULT_WEB_PORT
from .http_exchange import exchange

API_PREFIX = "/api/v1/"
# The firmware's factory password (its login has no user name).
DEFAULT_PASSWORD = "admin"
_HTTP_OK_MIN, _HTTP_OK_MAX = 200, 299
_HTTP_UNAUTHORIZED = 401
_HTTP_FORBIDDEN = 403
_HTTP_NOT_FOUND = 404
_TOKEN_REJECTED = frozenset({_HTTP_UNAUTHORIZED, _HTTP_FORBIDDEN})
# Real tokens are 32 characters; anything long or unprintable is not sent back as a header.
_MAX_TOKEN_CHARS = 256
_MAX_MESSAGE_CHARS = 120
# Writes some builds guard with an API key.
SENSITIVE_WRITES = frozenset({"settings", "system/reboot"})


class VnishCommandError(MinerProtocolError):
    """The firmware understood the request and refused it (`{"err": ...}`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: the firmware refused ({message})")
        self.path = path
        self.message = message


class VnishRestClient:
    """Calls `/api/v1/<path>` on one miner, logging in when needed."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        port: int = DEFAULT_WEB_PORT,
        password: str = DEFAULT_PASSWORD,
        *,
        api_key: str | None = None,
        connect_timeout_s: float = 3.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self.host = host
        self.port = port
        self._password = password
        self._api_key = api_key
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        url_host = f"[{host}]" if ":" in host else host
        self._base = f"http://{url_host}:{port}"
        self._token: str | None = None
        self._unlocking = asyncio.Lock()
        self.unlocks = 0  # logins performed, for diagnostics

    async def get(self, path: str, *, timeout_s: float | None = None) -> Any:
        """GET a JSON document (an object or a list); None for an empty body."""
        return await self._call("GET", path, None, timeout_s)

    async def post(
        self, path: str, body: dict[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> Any:
        """POST (a JSON body, if any); returns the decoded reply, None for an empty one."""
        data = None if body is None else json.dumps(body).encode()
        return await self._call("POST", path, data, timeout_s)

    async def probe_root(self, *, timeout_s: float | None = None) -> tuple[int, bytes]:
        """GET the web root without credentials: its status and (bounded) body."""
        return await self._exchange("GET", "/", None, timeout_s, None)

    def forget_token(self) -> None:
        """Drop the token, so the next call logs in again."""
        self._token = None

    async def _call(
        self, method: str, path: str, data: bytes | None, timeout_s: float | None
    ) -> Any:
        url_path = API_PREFIX + path
        sensitive = method == "POST" and path in SENSITIVE_WRITES
        key = self._api_key if sensitive else None
        if key is not None and not _usable_token(key):
            raise MinerAuthError(f"{self.host}: the configured API key cannot go in a header")
        token = await self._ensure_token(timeout_s)
        status, body = await self._exchange(method, url_path, data, timeout_s, token, api_key=key)
        if status in _TOKEN_REJECTED:
            # The firmware forgot the token: log in once more and retry once.
            if self._token == token:
                self._token = None
            token = await self._ensure_token(timeout_s)
            status, body = await self._exchange(
                method, url_path, data, timeout_s, token, api_key=key
            )
            if status in _TOKEN_REJECTED:
                self._token = None
                hint = ""
                if sensitive:
                    hint = " (this write may need an API key" + (
                        ": the one configured was refused)" if key else ", none is configured)"
                    )
                raise MinerAuthError(f"{self.host}: {url_path} refused a fresh login{hint}")
        return self._checked(url_path, status, body)

    async def _ensure_token(self, timeout_s: float | None) -> str:
        if self._token is not None:
            return self._token
        # Concurrent callers share one login instead of each starting their own.
        async with self._unlocking:
            if self._token is None:
                self._token = await self._unlock(timeout_s)
            return self._token

    async def _unlock(self, timeout_s: float | None) -> str:
        path = API_PREFIX + "unlock"
        data = json.dumps({"pw": self._password}).encode()
        status, body = await self._exchange("POST", path, data, timeout_s, None)
        if status in _TOKEN_REJECTED:
            raise MinerAuthError(f"{self.host}: the firmware rejected the password")
        reply = self._checked(path, status, body)
        token = reply.get("token") if isinstance(reply, dict) else None
        if not _usable_token(token):
            raise MinerProtocolError(f"{self.host}: {path} answered without a usable token")
        self.unlocks += 1
        return token

    def _checked(self, path: str, status: int, body: bytes) -> Any:
        url = f"{self._base}{path}"
        name = path.removeprefix(API_PREFIX)
        if status == _HTTP_NOT_FOUND:
            raise MinerUnsupportedError(f"{url}: not found (firmware without this endpoint)")
        if not _HTTP_OK_MIN <= status <= _HTTP_OK_MAX:
            try:
                refusal = refusal_message(decode_json(body, url))
            except MinerProtocolError:  # an error page, not the firmware's JSON
                refusal = None
            if refusal is not None:
                raise VnishCommandError(name, refusal)
            raise MinerProtocolError(f"{url}: HTTP {status}")
        reply = decode_json(body, url)
        refusal = refusal_message(reply)
        if refusal is not None:
            raise VnishCommandError(name, refusal)
        return reply

    async def _exchange(
        self,
        method: str,
        path: str,
        data: bytes | None,
        timeout_s: float | None,
        token: str | None,
        *,
        api_key: str | None = None,
    ) -> tuple[int, bytes]:
        url = f"{self._base}{path}"
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if api_key is not None:
            headers["x-api-key"] = api_key
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


def decode_json(body: bytes, where: str) -> Any:
    """A reply's JSON value, None for an empty body; junk is a `MinerProtocolError`."""
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise MinerProtocolError(f"{where}: reply is not UTF-8 text") from None
    except RecursionError:
        raise MinerProtocolError(f"{where}: reply nests too deeply") from None
    except ValueError as err:
        raise MinerProtocolError(f"{where}: reply is not JSON ({err})") from None


def refusal_message(reply: Any) -> str | None:
    """The text of an `{"err": ...}` reply, bounded; None if the reply is no refusal."""
    if not isinstance(reply, dict) or "err" not in reply:
        return None
    message = reply["err"]
    text = message[:_MAX_MESSAGE_CHARS] if isinstance(message, str) else ""
    return " ".join(text.split()) or "no reason given"


def _usable_token(token: object) -> TypeIs[str]:
    return (
        isinstance(token, str)
        and 0 < len(token) <= _MAX_TOKEN_CHARS
        and token.isascii()
        and token.isprintable()
        and " " not in token
    )
