"""HTTP client for the Antminer web interface's CGI scripts (Vnish 3.9.x and stock S9).

The interface sits behind HTTP digest auth with the realm "antMiner Configuration"; the login is
answered to that realm only (`digest`). Replies are read up to a size no CGI comes near, so a
device on the miner network cannot make us read a body of any size. The session is always
injected (in Home Assistant it is HA's shared one); this client never creates one.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from .base import (
    MinerAuthError,
    MinerProtocolError,
    MinerUnsupportedError,
)
from .cgminer import JsonDict, parse_reply
from .digest import DigestSigner, challenge_realm, parse_challenge
from .endpoint import DEFAULT_WEB_PORT, Credentials
from .http_exchange import exchange

ANTMINER_REALM = "antMiner Configuration"
_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_HTTP_OK_MIN, _HTTP_OK_MAX = 200, 299
_HTTP_UNAUTHORIZED = 401
_HTTP_NOT_FOUND = 404


@dataclass(frozen=True, slots=True)
class WebAnswer:
    """What an unauthenticated request to the web root returned."""

    status: int
    realm: str | None  # digest/basic realm of a 401, if any

    @property
    def is_antminer(self) -> bool:
        """The 401 challenge names the Antminer configuration realm."""
        return self.realm == ANTMINER_REALM


class VnishWebClient:
    """Calls `/cgi-bin/*.cgi` on one miner."""

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
        credentials = credentials or Credentials()
        self._session = session
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        url_host = f"[{host}]" if ":" in host else host
        self._base = f"http://{url_host}:{port}"
        # One signer per miner: it keeps the firmware's last challenge, so after the first
        # request every one is signed at once and saves the 401 round trip.
        self._signer = DigestSigner(credentials.username, credentials.password, ANTMINER_REALM)
        # The interface asked for the Antminer login and took ours: what a real one does.
        self.login_verified = False

    async def get_json(self, script: str, *, timeout_s: float | None = None) -> JsonDict:
        """GET a CGI that prints JSON (parsed tolerantly, whatever the Content-Type)."""
        _status, body = await self._request("GET", script, timeout_s=timeout_s)
        return parse_reply(body)

    async def get_text(self, script: str, *, timeout_s: float | None = None) -> str:
        """GET a CGI and return its body as text."""
        _status, body = await self._request("GET", script, timeout_s=timeout_s)
        return body.decode("utf-8", errors="replace").strip()

    async def post_form(self, script: str, body: str, *, timeout_s: float | None = None) -> str:
        """POST an already encoded form body to a CGI and return its reply as text."""
        _status, reply = await self._request(
            "POST", script, data=body.encode("ascii"), timeout_s=timeout_s
        )
        return reply.decode("utf-8", errors="replace").strip()

    async def probe(self, *, timeout_s: float | None = None) -> WebAnswer:
        """Ask the web root without credentials; any HTTP answer means the web server is up.

        The firmware answers with its login challenge: taken here, the next order is signed up
        front (a sleeping miner's poll readies the wake that ends its sleep)."""
        status, headers, _body = await self._exchange("GET", "/", None, timeout_s, None)
        offered = headers.get("WWW-Authenticate", "")
        if status == _HTTP_UNAUTHORIZED and not self._signer.ready:
            challenge = parse_challenge(offered)
            if challenge is not None:
                self._signer.take(challenge)  # refuses any realm but the Antminer's
        return WebAnswer(status=status, realm=challenge_realm(offered))

    async def _request(
        self, method: str, script: str, *, data: bytes | None = None, timeout_s: float | None
    ) -> tuple[int, bytes]:
        path = f"/cgi-bin/{script}"
        url = f"{self._base}{path}"
        status, headers, body = await self._signed(method, path, data, timeout_s)
        if status == _HTTP_UNAUTHORIZED:
            realm = challenge_realm(headers.get("WWW-Authenticate", ""))
            if realm is not None and realm != ANTMINER_REALM:
                # Someone else's login (a NAS, a router): the miners' is never sent to it.
                raise MinerUnsupportedError(f"{url}: unexpected auth realm {realm[:60]!r}")
            raise MinerAuthError(f"{self.host}: the web interface rejected the credentials")
        if status == _HTTP_NOT_FOUND:
            raise MinerUnsupportedError(f"{url}: not found (firmware without this CGI)")
        if not _HTTP_OK_MIN <= status <= _HTTP_OK_MAX:
            raise MinerProtocolError(f"{url}: HTTP {status}")
        return status, body

    async def _signed(
        self, method: str, path: str, data: bytes | None, timeout_s: float | None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request, signed once the firmware's realm has challenged us; a challenge (a
        first one, or a new nonce) is answered once, and only for the firmware's realm."""
        signer = self._signer
        for _attempt in range(2):
            auth = signer.authorization(method, path) if signer.ready else None
            status, headers, body = await self._exchange(method, path, data, timeout_s, auth)
            if status != _HTTP_UNAUTHORIZED:
                if auth is not None and _HTTP_OK_MIN <= status <= _HTTP_OK_MAX:
                    self.login_verified = True
                return status, headers, body
            challenge = parse_challenge(headers.get("WWW-Authenticate", ""))
            if challenge is None or not signer.take(challenge):
                signer.forget()
                return status, headers, body
        return status, headers, body

    async def _exchange(
        self,
        method: str,
        path: str,
        data: bytes | None,
        timeout_s: float | None,
        authorization: str | None,
    ) -> tuple[int, dict[str, str], bytes]:
        url = f"{self._base}{path}"
        headers: dict[str, str] = {}
        if data is not None:
            headers["Content-Type"] = _FORM_CONTENT_TYPE
        if authorization is not None:
            headers["Authorization"] = authorization
        reply = await exchange(
            self._session,
            method,
            url,
            data=data,
            headers=headers,
            connect_timeout_s=self.connect_timeout_s,
            read_s=self.timeout_s if timeout_s is None else timeout_s,
        )
        return reply.status, reply.headers, reply.body
