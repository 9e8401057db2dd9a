"""Small readers of what miners send: the software type in a stats reply, the S9 web's
answers to its control scripts, a scan's summary of a device, a Vnish config value."""

from __future__ import annotations

import pytest

from custom_components.net_stabilization.core.miners.antminer_s9 import (
    AntminerS9Driver,
    _expect_reply,
)
from custom_components.net_stabilization.core.miners.antminer_stats import software_type
from custom_components.net_stabilization.core.miners.base import (
    MinerProtocolError,
    MinerTimeoutError,
)
from custom_components.net_stabilization.core.miners.identify import _summary
from custom_components.net_stabilization.core.miners.vnish_config import _as_text


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({"STATS": [{"Type": "Antminer S9 (vnish 3.9.0)"}]}, "Antminer S9 (vnish 3.9.0)"),
        ({"STATS": [{"Type": 9}]}, None),
        ({"STATS": []}, None),
        ({}, None),
    ],
)
def test_the_software_type_is_read_only_where_it_is_text(
    stats: dict[str, object], expected: str | None
) -> None:
    assert software_type(stats) == expected


def test_a_control_script_that_answers_something_else_is_a_protocol_error() -> None:
    _expect_reply("OK, sleeping", "ok", "do_sleep_mode.cgi")
    with pytest.raises(MinerProtocolError, match=r"do_sleep_mode\.cgi"):
        _expect_reply("<html>login</html>", "ok", "do_sleep_mode.cgi")


def test_a_driver_names_its_miner_in_logs() -> None:
    driver = AntminerS9Driver("10.0.0.5", None)  # type: ignore[arg-type]
    assert "10.0.0.5" in repr(driver)


def test_a_scan_says_how_a_device_that_never_answered_behaved() -> None:
    assert _summary(MinerTimeoutError("slow")) == "accepted the connection but did not answer"
    assert _summary(MinerProtocolError("")) == "MinerProtocolError"
    assert _summary({"STATUS": []}) == "answered"


@pytest.mark.parametrize(
    ("value", "text"), [(None, "-"), (True, "true"), (False, "false"), (5.0, "5"), (2.5, "2.5")]
)
def test_vnish_config_values_are_written_as_its_form_expects(value: object, text: str) -> None:
    assert _as_text(value, "-") == text
