"""What a device serves without a login, read as hostile bytes: anything but a small JSON object
of the right shape confirms no firmware, and a page's text is bounded."""

from __future__ import annotations

import json

import pytest

from custom_components.net_stabilization.core.miners.fingerprint import (
    braiins_api_version,
    page_text,
    vnish_public_info,
)

VNISH_INFO = {
    "fw_name": "Vnish",
    "system": {"network_status": {"mac": "02:00:00:00:00:01"}},
}


def ok(body: object) -> tuple[int, bytes]:
    return 200, json.dumps(body).encode()


@pytest.mark.parametrize(
    "answer",
    [
        None,
        (404, b'{"major": 1, "minor": 7, "patch": 0}'),
        (200, b"{not json"),
        (200, b"\xff\xfe{}"),
        (200, b"[" * 100_000),
        (200, b"[1, 7, 0]"),
        (200, b'{"major": 1, "minor": 7}' + b" " * 70_000),
    ],
)
def test_no_version_is_read_from_anything_but_a_small_json_object(
    answer: tuple[int, bytes] | None,
) -> None:
    assert braiins_api_version(answer) is None


@pytest.mark.parametrize(
    "parts",
    [
        {"major": "1", "minor": 7},
        {"major": 1, "minor": True},
        {"major": 1, "minor": -1},
        {"major": 10_000, "minor": 0},
        {"minor": 7},
    ],
)
def test_a_version_needs_a_sane_major_and_minor(parts: dict[str, object]) -> None:
    assert braiins_api_version(ok(parts)) is None


def test_a_missing_or_odd_patch_counts_as_zero() -> None:
    assert braiins_api_version(ok({"major": 1, "minor": 7, "patch": 3})) == "1.7.3"
    assert braiins_api_version(ok({"major": 1, "minor": 7, "patch": "x"})) == "1.7.0"
    assert braiins_api_version(ok({"major": 1, "minor": 7})) == "1.7.0"


@pytest.mark.parametrize(
    "info",
    [
        {**VNISH_INFO, "fw_name": "Braiins OS"},
        {**VNISH_INFO, "fw_name": 7},
        {**VNISH_INFO, "fw_name": "x" * 64 + "vnish"},
        {**VNISH_INFO, "system": "up"},
        {**VNISH_INFO, "system": {"network_status": ["02:00:00:00:00:01"]}},
        {**VNISH_INFO, "system": {"network_status": {"mac": "not a mac"}}},
    ],
)
def test_only_an_info_that_names_vnish_and_a_mac_confirms_vnish(info: dict[str, object]) -> None:
    assert vnish_public_info(ok(info)) is None


def test_an_info_that_names_vnish_and_a_mac_is_kept() -> None:
    assert vnish_public_info(ok(VNISH_INFO)) == VNISH_INFO


def test_a_page_text_is_bounded_and_nothing_is_empty() -> None:
    assert page_text(None) == ""
    text = page_text((200, b"<title>AnthillOS</title>" + b"\xff" + b"a" * 100_000))
    assert text.startswith("<title>AnthillOS</title>\ufffd")
    assert len(text) == 64 * 1024
