"""Vnish 3.9.0 CGI endpoints and Digest authentication."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
import pytest

from simulator import (
    CUSTOM_CONF_FIELDS,
    ManualClock,
    SimulatedFleet,
    SimulatedMiner,
    default_custom_fields,
    encode_custom_form,
)
from simulator.client import cgminer_command, cgminer_request
from simulator.physics import curve_power_w

SessionFactory = Callable[..., aiohttp.ClientSession]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def cgi(m: SimulatedMiner, name: str) -> str:
    return f"http://{m.host}:{m.web_port}/cgi-bin/{name}"


async def get_text(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as resp:
        return resp.status, await resp.text()


async def post_text(session: aiohttp.ClientSession, url: str, body: str) -> tuple[int, str]:
    async with session.post(url, data=body, headers=FORM) as resp:
        return resp.status, await resp.text()


async def web_refuses(m: SimulatedMiner) -> bool:
    try:
        _reader, writer = await asyncio.open_connection(m.host, m.web_port)
    except ConnectionRefusedError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def api_refuses(m: SimulatedMiner) -> bool:
    try:
        await cgminer_request(m.host, m.api_port, "summary|")
    except ConnectionRefusedError:
        return True
    return False


# ------------------------------------------------------------------ digest auth


async def test_digest_auth_good(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    status, body = await get_text(web_session(), cgi(m, "check.cgi"))
    assert (status, body) == (200, "1\n")


async def test_digest_auth_wrong_password(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    async with web_session("wrong").get(cgi(m, "check.cgi")) as resp:
        assert resp.status == 401
        challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Digest realm="antMiner Configuration"')
    assert 'qop="auth"' in challenge
    assert "nonce=" in challenge


async def test_digest_auth_missing(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    session = web_session(None)
    for url in (cgi(m, "get_system_info.cgi"), f"http://{m.host}:{m.web_port}/"):
        async with session.get(url) as resp:
            assert resp.status == 401
            assert 'realm="antMiner Configuration"' in resp.headers["WWW-Authenticate"]


async def test_digest_auth_per_miner_password(
    clock: ManualClock, web_session: SessionFactory
) -> None:
    async with SimulatedFleet(count=2, clock=clock, password="s3cret") as sim:
        m = sim.miners[1]
        assert m.password == "s3cret"
        assert (await get_text(web_session("s3cret"), cgi(m, "check.cgi")))[0] == 200
        assert (await get_text(web_session("root"), cgi(m, "check.cgi")))[0] == 401
        m.password = "changed"
        assert (await get_text(web_session("changed"), cgi(m, "check.cgi")))[0] == 200


async def test_post_with_digest(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    status, body = await post_text(web_session(), cgi(m, "do_sleep_mode.cgi"), "mode=1")
    assert (status, body.strip()) == (200, "OK")
    assert m.state == "sleeping"


# ------------------------------------------------------------------ read-only CGIs


async def test_get_system_info(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[1]
    _status, body = await get_text(web_session(), cgi(m, "get_system_info.cgi"))
    info = json.loads(body)
    assert info["minertype"] == "Antminer S9 (vnish 3.9.0)"
    assert info["macaddr"] == m.mac
    assert info["hostname"] == m.hostname == "s9-0002"
    assert info["ipaddress"] == m.host
    assert info["bmminer_version"] == "4.11.1"
    for key in (
        "nettype",
        "netmask",
        "gateway",
        "dnsservers",
        "uptime",
        "mem_total",
        "mem_free",
        "ant_hwv",
        "system_kernel_version",
        "system_filesystem_version",
    ):
        assert key in info


async def test_get_miner_conf(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    _status, body = await get_text(web_session(), cgi(m, "get_miner_conf.cgi"))
    conf = json.loads(body)
    assert conf["bitmain-freq"] == "650"
    assert conf["api-allow"] == "W:0/0"
    assert conf["api-listen"] is True
    assert len(conf["pools"]) == 3
    for n in (1, 2, 3):
        assert conf[f"bitmain-freq{n}"] == "0"
        assert f"bitmain-voltage{n}" in conf
    assert "bitmain-voltage" in conf


async def test_get_miner_status_healthy(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    _status, body = await get_text(web_session(), cgi(m, "get_miner_status.cgi"))
    status = json.loads(body)
    assert set(status) == {"summary", "pools", "devs"}
    assert float(status["summary"]["ghs5s"]) > 12000
    assert status["summary"]["elapsed"] > 0
    assert status["pools"][-1]["url"] == "DevFee"
    assert not status["pools"][0]["url"].startswith("stratum+tcp://")
    devs = status["devs"]
    assert [d["index"] for d in devs] == ["6", "7", "8"]
    first = devs[0]
    for key in ("chain_acn", "freq", "temp", "temp2", "hw", "chain_vol", "chain_consumption"):
        assert isinstance(first[key], str), key
    assert first["chain_acn"] == "63"
    assert isinstance(first["rate"], float)
    assert first["fan5"] != "0"
    assert "fan5" not in devs[1]


async def test_get_miner_status_malformed_while_bmminer_down(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    m.stop_bmminer()
    _status, body = await get_text(web_session(), cgi(m, "get_miner_status.cgi"))
    assert '"summary":\n,' in body
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


async def test_chip_hr(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    _status, body = await get_text(web_session(), cgi(m, "chip_hr.json"))
    chains = json.loads(body)["chiphr"]
    assert len(chains) == 3
    assert len(chains[0]) == 63
    assert 55 < int(chains[0]["Asic00"]) < 85


async def test_check_and_index(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    assert await get_text(web_session(), cgi(m, "check.cgi")) == (200, "1\n")
    assert (await get_text(web_session(), f"http://{m.host}:{m.web_port}/"))[0] == 200


# ------------------------------------------------------------------ set_miner_conf_custom


async def test_set_miner_conf_custom_changes_frequency(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    fields = default_custom_fields(m.hostname)
    fields["_ant_freq"] = "500"
    fields["_ant_voltage"] = "870"
    assert list(fields) == list(CUSTOM_CONF_FIELDS)
    status, body = await post_text(
        web_session(), cgi(m, "set_miner_conf_custom.cgi"), encode_custom_form(fields)
    )
    assert (status, body) == (200, "ok\n")
    assert m.state == "restarting"
    assert await api_refuses(m)
    conf = json.loads(m.config_text)
    assert conf["bitmain-freq"] == "500"
    assert conf["pools"][0]["url"] == fields["_ant_pool1url"]
    await fleet.advance(8.0)
    assert m.state == "ramping"
    assert not await api_refuses(m)
    assert m.frequency_mhz == 500
    await fleet.advance(80.0)
    assert m.state == "mining"
    assert m.power_w == pytest.approx(curve_power_w(500), rel=0.03)
    stats = (await cgminer_command(m.host, m.api_port, "stats"))["STATS"][1]
    assert stats["frequency"] == "500"
    assert stats["chain_vol6"] == 870


async def test_set_miner_conf_custom_missing_field_shifts_values(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    fields = default_custom_fields(m.hostname)
    fields["_ant_freq"] = "500"
    del fields["_ant_pool3pw"]  # a client that drops an empty field
    await post_text(web_session(), cgi(m, "set_miner_conf_custom.cgi"), encode_custom_form(fields))
    conf = json.loads(m.config_text)
    # Every value after the gap moved one slot left and kept its `name=` prefix.
    assert conf["pools"][2]["pass"] == "_ant_nobeeper=false"
    assert conf["bitmain-freq"] == "_ant_freq1=0"
    assert conf["bitmain-freq1"] == "_ant_freq2=0"
    assert conf["bitmain-voltage"] == "_ant_voltage1=0"
    await fleet.advance(100.0)
    # The requested 500 MHz never took effect.
    assert m.state == "mining"
    assert m.frequency_mhz == 650
    assert m.power_w == pytest.approx(1460, rel=0.03)


async def test_set_miner_conf_custom_misordered_fields(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    fields = default_custom_fields(m.hostname)
    fields["_ant_freq"] = "500"
    order = list(fields)
    i, j = order.index("_ant_freq"), order.index("_ant_freq1")
    order[i], order[j] = order[j], order[i]
    swapped = {k: fields[k] for k in order}
    await post_text(web_session(), cgi(m, "set_miner_conf_custom.cgi"), encode_custom_form(swapped))
    conf = json.loads(m.config_text)
    assert conf["bitmain-freq"] == "_ant_freq1=0"
    assert conf["bitmain-freq1"] == "_ant_freq=500"


async def test_set_miner_conf_custom_presave_does_not_restart(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    fields = default_custom_fields(m.hostname)
    fields["_ant_freq"] = "575"
    fields["_ant_presave"] = "1"
    _status, body = await post_text(
        web_session(), cgi(m, "set_miner_conf_custom.cgi"), encode_custom_form(fields)
    )
    assert body == "ok\n"
    assert m.state == "mining"
    assert json.loads(m.config_text)["bitmain-freq"] == "575"
    assert m.frequency_mhz == 650  # running settings unchanged until bmminer restarts


# ------------------------------------------------------------------ control CGIs


async def test_stop_and_kill_bmminer(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    a, b = fleet.miners[0], fleet.miners[1]
    assert await get_text(web_session(), cgi(a, "stop_bmminer.cgi")) == (200, "ok\n")
    assert await get_text(web_session(), cgi(b, "kill_bmminer.cgi")) == (200, "ok\n")
    for m in (a, b):
        assert m.state == "stopped"
        assert await api_refuses(m)
        assert not await web_refuses(m)
        assert m.power_w == pytest.approx(50, abs=5)
    await fleet.advance(600)
    assert a.state == "stopped"


async def test_reboot_cgminer_replies_late_and_empty(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    m = fleet.miners[0]
    session = web_session()
    request = asyncio.ensure_future(get_text(session, cgi(m, "reboot_cgminer.cgi")))
    for _ in range(50):
        await asyncio.sleep(0)
        if m.state == "restarting":
            break
    assert m.state == "restarting"
    done, _pending = await asyncio.wait({request}, timeout=0.05)
    assert not done  # no reply while bmminer restarts
    await fleet.advance(10.0)
    assert await request == (200, "")
    assert m.state == "ramping"


async def test_wake_via_reboot(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    """Sleep, then mode=0: web down for the boot, API down while bmminer starts, ramp."""
    m = fleet.miners[0]
    session = web_session()
    assert await post_text(session, cgi(m, "do_sleep_mode.cgi"), "mode=1") == (200, "OK\n")
    assert m.state == "sleeping"
    assert await api_refuses(m)
    assert not await web_refuses(m)
    assert m.power_w == pytest.approx(50, abs=5)

    assert await post_text(session, cgi(m, "do_sleep_mode.cgi"), "mode=0") == (200, "OK\n")
    assert m.state == "booting"
    assert await web_refuses(m)
    assert await api_refuses(m)
    assert m.power_w == pytest.approx(100, abs=10)

    await fleet.advance(59.0)
    assert m.state == "booting"
    assert await web_refuses(m)
    await fleet.advance(1.0)
    assert m.state == "restarting"
    assert not await web_refuses(m)
    assert await api_refuses(m)

    await fleet.advance(8.0)
    assert m.state == "ramping"
    assert not await api_refuses(m)
    mid = m.power_w
    await fleet.advance(40.0)
    assert m.power_w > mid
    assert m.power_w < 1400
    await fleet.advance(40.0)
    assert m.state == "mining"
    assert m.power_w == pytest.approx(1460, rel=0.03)
    assert m.hashrate_ths == pytest.approx(13.7, rel=0.03)


async def test_reboot_cgi(fleet: SimulatedFleet, web_session: SessionFactory) -> None:
    m = fleet.miners[0]
    assert await get_text(web_session(), cgi(m, "reboot.cgi")) == (200, "Reboot\n")
    assert m.state == "booting"
    assert await web_refuses(m)
    await fleet.advance(60.0 + 8.0 + 80.0)
    assert m.state == "mining"


async def test_sleep_ignored_while_bmminer_starting(
    fleet: SimulatedFleet, web_session: SessionFactory
) -> None:
    """mode=1 goes through port 4028; while bmminer is still starting it is lost."""
    m = fleet.miners[0]
    m.restart_bmminer()
    assert await post_text(web_session(), cgi(m, "do_sleep_mode.cgi"), "mode=1") == (200, "OK\n")
    assert m.state == "restarting"
    await fleet.advance(10.0)
    assert m.state == "ramping"
