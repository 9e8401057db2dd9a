"""HTTP Digest authentication (RFC 2617/7616, MD5, qop=auth) as lighttpd does it."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time

REALM = "antMiner Configuration"
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _md5(text: str) -> str:
    # Digest auth mandates MD5; it is a protocol requirement, not a security choice.
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_authorization(header: str) -> dict[str, str] | None:
    """Parse a `Digest k=v, k="v"` header into a dict; None if it is not Digest."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        key, quoted, bare = match.groups()
        params[key.lower()] = quoted.replace('\\"', '"') if quoted is not None else bare
    return params


class DigestAuth:
    """Issues challenges and verifies responses; nonces are self-validating (HMAC)."""

    def __init__(self, realm: str = REALM) -> None:
        self.realm = realm
        self._secret = os.urandom(16)
        self.challenges = 0  # 401s sent (a client that signs up front causes one per miner)

    def _nonce_mac(self, stamp: str) -> str:
        return hmac.new(self._secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]

    def new_nonce(self) -> str:
        """A nonce that this server can later recognise as its own."""
        stamp = f"{time.time_ns():x}"
        return stamp + self._nonce_mac(stamp)

    def _nonce_ok(self, nonce: str) -> bool:
        stamp, mac = nonce[:-24], nonce[-24:]
        return bool(stamp) and hmac.compare_digest(mac, self._nonce_mac(stamp))

    def challenge(self) -> str:
        """Value of the WWW-Authenticate header on a 401."""
        self.challenges += 1
        return (
            f'Digest realm="{self.realm}", charset="UTF-8", algorithm=MD5, '
            f'nonce="{self.new_nonce()}", qop="auth"'
        )

    def verify(self, method: str, uri: str, header: str | None, user: str, password: str) -> bool:
        """Check an Authorization header against the expected credentials."""
        if not header:
            return False
        params = parse_authorization(header)
        if params is None:
            return False
        nonce = params.get("nonce", "")
        if (
            params.get("username") != user
            or params.get("realm") != self.realm
            or params.get("uri") != uri
            or params.get("algorithm", "MD5").upper() != "MD5"
            or not self._nonce_ok(nonce)
        ):
            return False
        ha1 = _md5(f"{user}:{self.realm}:{password}")
        ha2 = _md5(f"{method}:{uri}")
        qop = params.get("qop")
        if qop == "auth":
            nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
            if not nc or not cnonce:
                return False
            expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
        elif qop is None:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        else:
            return False
        return hmac.compare_digest(expected, params.get("response", ""))
