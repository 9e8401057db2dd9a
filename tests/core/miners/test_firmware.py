"""Recognising models and firmware."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.miners.cgminer import parse_reply
from custom_components.net_stabilization.core.miners.firmware import (
    FirmwareKind,
    classify_type,
    classify_version_reply,
    normalize_mac,
)

from .replies import reply_bytes


@pytest.mark.parametrize(
    ("type_string", "kind", "model", "version"),
    [
        ("Antminer S9 (vnish 3.9.0)", FirmwareKind.VNISH_S9, "Antminer S9", "3.9.0"),
        ("Antminer S9 (vnish 3.8.6)", FirmwareKind.VNISH_S9, "Antminer S9", "3.8.6"),
        ("Antminer S9i (Vnish 3.9.1)", FirmwareKind.VNISH_S9, "Antminer S9i", "3.9.1"),
        ("Antminer S9", FirmwareKind.STOCK_S9, "Antminer S9", ""),
        ("Antminer S9j", FirmwareKind.STOCK_S9, "Antminer S9j", ""),
        ("Antminer S9k", FirmwareKind.UNSUPPORTED, "Antminer S9k", ""),
        ("Antminer S9 Hydro", FirmwareKind.UNSUPPORTED, "Antminer S9 Hydro", ""),
        ("Antminer S19 (Vnish 1.2.6)", FirmwareKind.UNSUPPORTED, "Antminer S19 (Vnish 1.2.6)", ""),
        ("Antminer S9 (asicseer 1.0)", FirmwareKind.UNSUPPORTED, "Antminer S9", ""),
        ("", FirmwareKind.UNSUPPORTED, "", ""),
    ],
)
def test_classify_type(type_string: str, kind: FirmwareKind, model: str, version: str) -> None:
    info = classify_type(type_string)
    assert (info.kind, info.model, info.version) == (kind, model, version)


def test_stock_version_reply() -> None:
    info = classify_version_reply(parse_reply(reply_bytes("stock_version.bin")))
    assert info.kind is FirmwareKind.STOCK_S9
    assert info.firmware == "Bitmain stock"
    assert info.version == "2.0.0"


def test_braiins_version_reply() -> None:
    # Its REST API confirms Braiins OS+ (a control driver); the API's keys only suggest it.
    info = classify_version_reply(parse_reply(reply_bytes("bosminer_version.bin")))
    assert info.kind is FirmwareKind.BRAIINS
    assert info.firmware == "Braiins OS"


def test_version_replies_of_other_firmwares() -> None:
    luxos = classify_version_reply({"VERSION": [{"LUXminer": "2024.1", "API": "3.7"}]})
    assert (luxos.kind, luxos.firmware, luxos.version) == (FirmwareKind.LUXOS, "LuxOS", "2024.1")
    rest = classify_version_reply({"VERSION": [{"Type": "Antminer S19 (Vnish 1.2.6)"}]})
    assert (rest.kind, rest.model, rest.version) == (
        FirmwareKind.VNISH_REST,
        "Antminer S19",
        "1.2.6",
    )
    # Vnish 3.9 on an S9 keeps its own driver.
    s9 = classify_version_reply({"VERSION": [{"Type": "Antminer S9 (vnish 3.9.0)"}]})
    assert s9.kind is FirmwareKind.VNISH_S9
    # Any other cgminer API is monitored; no VERSION at all is nothing we know.
    other = classify_version_reply({"VERSION": [{"CGMiner": "4.9.2", "Type": "Antminer L3+"}]})
    assert other.kind is FirmwareKind.MONITOR
    untyped = classify_version_reply({"VERSION": [{"BTMiner": "2.0", "API": "2.0"}]})
    assert untyped.kind is FirmwareKind.MONITOR
    assert not classify_version_reply({"STATUS": []}).supported


@pytest.mark.parametrize(
    ("raw", "mac"),
    [
        ("c4:06:83:1a:2b:3c", "C4:06:83:1A:2B:3C"),
        ("C4-06-83-1A-2B-3C", "C4:06:83:1A:2B:3C"),
        ("c406831a2b3c", "C4:06:83:1A:2B:3C"),
        (" c4:06:83:1a:2b:3c\n", "C4:06:83:1A:2B:3C"),
        ("00:00:00:00:00:00", None),
        ("c4:06:83:1a:2b", None),
        ("c4:06-83:1a:2b:3c", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_mac(raw: object, mac: str | None) -> None:
    assert normalize_mac(raw) == mac
