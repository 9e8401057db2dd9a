"""Digest challenges and answers in the forms firmwares use."""

from __future__ import annotations

import hashlib

import pytest

from custom_components.net_stabilization.core.miners.digest import (
    DigestSigner,
    challenge_realm,
    parse_challenge,
)

REALM = "antMiner Configuration"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def test_an_old_style_challenge_without_qop_is_answered_without_it() -> None:
    challenge = parse_challenge(f'Digest realm="{REALM}", nonce="n", opaque="o", stale=TRUE')
    assert challenge is not None and challenge.qop is None and challenge.stale
    signer = DigestSigner("root", "pw", REALM)
    assert signer.take(challenge) and signer.ready
    header = signer.authorization("GET", "/cgi-bin/x.cgi")
    ha1, ha2 = _md5(f"root:{REALM}:pw"), _md5("GET:/cgi-bin/x.cgi")
    assert f'response="{_md5(f"{ha1}:n:{ha2}")}"' in header and 'opaque="o"' in header
    assert "qop" not in header


def test_a_challenge_with_only_auth_int_is_refused() -> None:
    assert parse_challenge(f'Digest realm="{REALM}", nonce="n", qop="auth-int"') is None
    assert parse_challenge(f'Digest realm="{REALM}"') is None  # no nonce
    assert parse_challenge("Digest") is None


def test_quoted_values_with_escapes_and_bare_tokens() -> None:
    challenge = parse_challenge('Digest realm="a \\"b\\"", nonce=abc, qop=auth, flag')
    assert challenge is not None and challenge.realm == 'a "b"' and challenge.nonce == "abc"
    assert challenge_realm('Basic realm="x"') == "x"
    assert challenge_realm("x" * 5000) is None


def test_a_signer_counts_its_nonce_uses_and_forgets() -> None:
    signer = DigestSigner("root", "pw", REALM)
    challenge = parse_challenge(f'Digest realm="{REALM}", nonce="n", qop="auth"')
    assert challenge is not None and signer.take(challenge)
    assert "nc=00000001" in signer.authorization("GET", "/a")
    assert "nc=00000002" in signer.authorization("POST", "/b")
    other = parse_challenge('Digest realm="Some NAS", nonce="n"')
    assert other is not None and not signer.take(other)
    signer.forget()
    assert not signer.ready


def test_spaces_around_the_equals_sign_are_read_past() -> None:
    challenge = parse_challenge(f'Digest realm = "{REALM}" , nonce =\t"n", qop= auth')
    assert challenge is not None
    assert (challenge.realm, challenge.nonce, challenge.qop) == (REALM, "n", "auth")


def test_a_signer_without_a_challenge_signs_nothing() -> None:
    signer = DigestSigner("root", "pw", REALM)
    with pytest.raises(RuntimeError, match="no challenge"):
        signer.authorization("GET", "/a")
