"""The 50-field form for set_miner_conf_custom.cgi."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from custom_components.net_stabilization.core.miners import MinerUnsupportedError
from custom_components.net_stabilization.core.miners.vnish_config import (
    FORM_FIELDS,
    encode_form,
    form_from_config,
)
from simulator.vnish_conf import CUSTOM_CONF_FIELDS

from .replies import web_json


def test_fifty_fields_in_the_documented_order() -> None:
    assert len(FORM_FIELDS) == 50
    assert len(set(FORM_FIELDS)) == 50
    assert FORM_FIELDS[0] == "_ant_pool1url"
    assert FORM_FIELDS[13] == "_ant_freq"
    assert FORM_FIELDS[36] == "_ant_presave"
    assert FORM_FIELDS[49] == "_ant_dchain7"


def test_the_order_is_the_firmware_scripts_case_arms() -> None:
    # The simulator reads its slots from the firmware's script, independently of the driver.
    assert FORM_FIELDS == CUSTOM_CONF_FIELDS


def test_form_from_config_maps_every_setting_back() -> None:
    conf = web_json("vnish390_miner_conf.json")
    form = dict(form_from_config(conf))
    assert list(form) == list(FORM_FIELDS)
    assert form["_ant_pool1url"] == "stratum+tcp://stratum.slushpool.com:3333"
    assert form["_ant_pool2pw"] == "123"
    assert form["_ant_pool3url"] == ""
    assert form["_ant_fan_customize_switch"] == "true"
    assert form["_ant_fan_customize_value"] == "80"
    assert form["_ant_nobeeper"] == "false"
    assert form["_ant_freq"] == "650"
    assert form["_ant_voltage"] == "890"
    assert form["_ant_asicboost"] == "true"
    assert form["_ant_autodownscale_min"] == "400"
    assert form["_ant_target_temp"] == "75"
    assert form["_ant_tempoff"] == "0"
    assert form["_ant_altdf"] == "false"
    assert form["_ant_presave"] == "0"


def test_change_only_the_frequency() -> None:
    conf = web_json("vnish390_miner_conf.json")
    before = form_from_config(conf)
    after = form_from_config(conf, _ant_freq="500")
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(("_ant_freq", "650"), ("_ant_freq", "500"))]
    with pytest.raises(ValueError, match="not form fields"):
        form_from_config(conf, freq="500")


def test_encoding_uses_only_escapes_the_script_decodes() -> None:
    conf = web_json("vnish390_miner_conf.json")
    body = encode_form(form_from_config(conf))
    pairs = body.split("&")
    assert len(pairs) == 50
    assert pairs[0] == "_ant_pool1url=stratum%2Btcp%3A%2F%2Fstratum.slushpool.com%3A3333"
    assert all(" " not in p and "*" not in p for p in pairs)
    decoded = [unquote_plus(p.split("=", 1)[1]) for p in pairs]
    assert decoded == [v for _, v in form_from_config(conf)]


def test_spaces_and_symbols() -> None:
    assert encode_form([("a", "x y@z,1;2")]) == "a=x+y%40z%2C1%3B2"


@pytest.mark.parametrize("value", ['pa"ss', "back\\slash", "glob*", "tab\t", "ünï", "100%41"])
def test_values_the_form_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(MinerUnsupportedError):
        encode_form([("_ant_pool1pw", value)])
