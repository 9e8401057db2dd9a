"""The VTN's REST API as the VEN calls it: OAuth2 client credentials and JSON over aiohttp.

The token is fetched with the client credentials grant (form-encoded, as the specification's
`clientCredentialRequest`) and renewed before it expires: at `RENEW_SHARE` of its lifetime, so a
token of an hour is renewed after 45 minutes. A VTN that answers 401 anyway gets one new token
and one retry. Answers are size-bound before they are parsed; a timeout, a refused connection or
a 5xx is `VtnUnreachable` (try again later), a 4xx is `VtnRefused` (this request is wrong).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

_LOGGER = logging.getLogger(__name__)

MAX_BODY = 2 * 1024 * 1024  # the largest answer read from a VTN
RENEW_SHARE = 0.75  # a token is renewed after this share of its lifetime
DEFAULT_TOKEN_LIFETIME_S = 3600.0  # when the token answer does not say
PAGE = 50  # the specification's largest page


class VtnError(Exception):
    """The VTN did not do what was asked."""


class VtnUnreachable(VtnError):
    """The VTN could not be reached or failed (timeout, connection, 5xx): try again later."""


class VtnRefused(VtnError):
    """The VTN refused the request (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class AuthFailed(VtnRefused):
    """The client credentials were refused."""


async def read_capped(content: aiohttp.StreamReader, limit: int) -> bytes | None:
    """The whole body as it arrives in chunks, or None once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await content.read(65_536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_json(response: aiohttp.ClientResponse) -> Any:
    if response.content_length is not None and response.content_length > MAX_BODY:
        raise VtnUnreachable(f"answer larger than {MAX_BODY} bytes")
    body = await read_capped(response.content, MAX_BODY)
    if body is None:
        raise VtnUnreachable(f"answer larger than {MAX_BODY} bytes")
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError as err:
        if response.status >= 400:
            return None  # an error page: the status says what happened
        raise VtnUnreachable(f"answer is not JSON: {err}") from err


def _problem(body: object) -> str:
    if isinstance(body, dict):
        for key in ("detail", "title", "error_description", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:200]
    return "no detail"


class TokenSource:
    """Client-credentials tokens, renewed before they expire."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        now: Callable[[], float],
        *,
        timeout_s: float = 10.0,
    ) -> None:
        """`now` gives monotonic seconds (the injected clock)."""
        self._session = session
        self.token_url = token_url
        self._client_id = client_id
        self._secret = client_secret
        self._now = now
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.fetched = 0  # tokens fetched so far

    @property
    def anonymous(self) -> bool:
        """No credentials: requests go without a token (a public VTN)."""
        return not self._client_id

    def invalidate(self) -> None:
        """Forget the token (the VTN refused it)."""
        self._token = None

    async def token(self) -> str | None:
        """A valid token, fetched or renewed as needed; None without credentials."""
        if self.anonymous:
            return None
        async with self._lock:
            if self._token is None or self._now() >= self._renew_at:
                await self._fetch()
            return self._token

    async def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret,
        }
        try:
            async with self._session.post(
                self.token_url, data=form, timeout=self._timeout
            ) as response:
                body = await _read_json(response)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise VtnUnreachable(f"token endpoint: {err!r}") from err
        if status >= 500:
            raise VtnUnreachable(f"token endpoint: HTTP {status}")
        if status in (400, 401, 403):
            raise AuthFailed(status, _problem(body))
        if status != 200 or not isinstance(body, dict):
            raise VtnRefused(status, "token endpoint gave no token")
        token = body.get("access_token")
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise VtnRefused(status, "token endpoint gave no usable access_token")
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME_S
        self._token = token
        self._renew_at = self._now() + float(lifetime) * RENEW_SHARE
        self.fetched += 1


class VtnClient:
    """Requests to one VTN."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        tokens: TokenSource,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        """`base_url` is the VTN's API root (e.g. `https://vtn.example/openadr3/3.1.0`)."""
        self._session = session
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.requests = 0

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        auth: bool = True,
    ) -> Any:
        """One call; the parsed JSON answer. Retries once with a new token after a 401."""
        for attempt in (1, 2):
            token = await self.tokens.token() if auth else None
            headers = {"Accept": "application/json"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            self.requests += 1
            try:
                async with self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    answer = await _read_json(response)
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as err:
                raise VtnUnreachable(f"{method} {path}: {err!r}") from err
            if status == 401 and attempt == 1 and token is not None:
                self.tokens.invalidate()
                continue
            if status >= 500:
                raise VtnUnreachable(f"{method} {path}: HTTP {status} {_problem(answer)}")
            if status >= 400:
                raise VtnRefused(status, f"{method} {path}: {_problem(answer)}")
            return answer
        # Never reached: the second attempt returns or raises above; the loop needs an end.
        raise VtnRefused(401, f"{method} {path}: token refused")  # pragma: no cover

    async def get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every object of a search, page by page (at most 40 pages)."""
        found: list[Any] = []
        for page in range(40):
            query = {**(params or {}), "skip": str(page * PAGE), "limit": str(PAGE)}
            answer = await self.request("GET", path, params=query)
            if not isinstance(answer, list):
                raise VtnUnreachable(f"GET {path}: the answer is not a list")
            found.extend(answer)
            if len(answer) < PAGE:
                break
        return found
