"""HTTP digest authentication (RFC 7616, MD5, qop=auth) for one miner's web interface.

The credentials are answered only to the realm the firmware is known to use: a device that
challenges with any other realm (a NAS, a router) never learns the miners' login hash. After
the first challenge every request is signed at once, with a fresh nonce count, so an order
costs one round trip, not two.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

# A challenge is a short header; anything longer is not worth parsing.
MAX_CHALLENGE_CHARS = 2048


@dataclass(frozen=True, slots=True)
class Challenge:
    """What a `WWW-Authenticate: Digest ...` header asked for."""

    realm: str
    nonce: str
    qop: str | None  # "auth", or None for the old RFC 2069 form
    opaque: str | None
    algorithm: str
    stale: bool


def parse_challenge(header: str) -> Challenge | None:
    """The digest challenge in a `WWW-Authenticate` value, or None if it is not one we answer
    (another scheme, MD5-sess or SHA, no nonce, or an oversized header)."""
    if len(header) > MAX_CHALLENGE_CHARS:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params = _parameters(rest)
    nonce = params.get("nonce")
    algorithm = params.get("algorithm", "MD5")
    if not nonce or algorithm.upper() != "MD5":
        return None
    qops = {q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()}
    if qops and "auth" not in qops:
        return None
    return Challenge(
        realm=params.get("realm", ""),
        nonce=nonce,
        qop="auth" if qops else None,
        opaque=params.get("opaque"),
        algorithm="MD5",
        stale=params.get("stale", "").lower() == "true",
    )


def challenge_realm(header: str) -> str | None:
    """The realm a challenge names (any scheme), or None."""
    if len(header) > MAX_CHALLENGE_CHARS:
        return None
    _scheme, _, rest = header.strip().partition(" ")
    return _parameters(rest).get("realm")


def _parameters(text: str) -> dict[str, str]:
    """`k=v, k="v"` pairs, scanned once from left to right (no backtracking)."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        start = i
        while i < n and text[i] not in "= \t,":
            i += 1
        key = text[start:i].lower()
        while i < n and text[i] in " \t":
            i += 1
        if i >= n or text[i] != "=":
            continue  # a bare token: nothing we use
        i += 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            value: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            i += 1  # the closing quote
            params[key] = "".join(value)
        else:
            start = i
            while i < n and text[i] not in " \t,":
                i += 1
            params[key] = text[start:i]
    return params


def _md5(text: str) -> str:
    # Digest auth mandates MD5; it is the firmware's protocol, not a choice of ours.
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class DigestSigner:
    """Signs requests for one miner once its firmware's realm has challenged us."""

    def __init__(self, username: str, password: str, realm: str) -> None:
        """Answer only challenges of `realm`."""
        self._username = username
        self._password = password
        self.realm = realm
        self._challenge: Challenge | None = None
        self._count = 0

    @property
    def ready(self) -> bool:
        """A challenge of the expected realm was taken: requests can be signed up front."""
        return self._challenge is not None

    def take(self, challenge: Challenge) -> bool:
        """Take a challenge; refuses (returns False) one of any other realm."""
        if challenge.realm != self.realm:
            return False
        self._challenge = challenge
        self._count = 0
        return True

    def forget(self) -> None:
        """Drop the challenge (the next request goes unsigned and is challenged again)."""
        self._challenge = None

    def authorization(self, method: str, uri: str) -> str:
        """The `Authorization` header for one request (the path and query as sent)."""
        challenge = self._challenge
        if challenge is None:
            raise RuntimeError("no challenge taken yet")
        self._count += 1
        ha1 = _md5(f"{self._username}:{challenge.realm}:{self._password}")
        ha2 = _md5(f"{method}:{uri}")
        fields = [
            f'username="{_quote(self._username)}"',
            f'realm="{_quote(challenge.realm)}"',
            f'nonce="{_quote(challenge.nonce)}"',
            f'uri="{_quote(uri)}"',
            "algorithm=MD5",
        ]
        if challenge.qop == "auth":
            nc = f"{self._count:08x}"
            cnonce = os.urandom(8).hex()
            response = _md5(f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
            fields += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            fields.append(f'response="{_md5(f"{ha1}:{challenge.nonce}:{ha2}")}"')
        if challenge.opaque is not None:
            fields.append(f'opaque="{_quote(challenge.opaque)}"')
        return "Digest " + ", ".join(fields)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
