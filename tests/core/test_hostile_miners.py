"""A device on the miner network must not learn the fleet's login nor put text into the fleet
that breaks what shows it: hostile devices over real sockets (`simulator.hostile`)."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from typing import Any

import aiohttp
import pytest

from custom_components.net_stabilization.core.device_text import device_text, is_safe_text
from custom_components.net_stabilization.core.discovery import Scanner
from custom_components.net_stabilization.core.miners.base import MinerProtocolError
from custom_components.net_stabilization.core.miners.endpoint import (
    Credentials,
    MinerEndpoint,
    Timeouts,
)
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from custom_components.net_stabilization.core.miners.identify import (
    NEEDS_REST_API,
    ProbeOutcome,
    identify_miner,
)
from simulator.hostile import HostileDevice, WebReply, grpc_era_braiins
from simulator.personality import BRAIINS, VNISH_REST

from .conftest import FleetFactory

pytestmark = pytest.mark.usefixtures("socket_enabled")

FAST = Timeouts(connect_s=1.0, api_read_s=1.0, web_s=1.0)
LOGIN = Credentials("root", "fleet-secret")
SURROGATE = "miner-\ud800-x"
TROJAN = "\u202e\x07\x1b[31mS9-evil\u200f\x00name"


def _version(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "STATUS": [{"STATUS": "S", "Code": 22, "Msg": "versions"}],
        "VERSION": [{"API": "3.7", **entry}],
    }


def _token_page(path: str) -> dict[str, WebReply]:
    return {path: WebReply({"token": "t0ken", "timeout_s": 3600})}


def _endpoint(device: HostileDevice) -> MinerEndpoint:
    return MinerEndpoint(device.host, device.api_port, device.web_port)


async def _identify(device: HostileDevice, session: aiohttp.ClientSession, **kw: Any) -> Any:
    return await identify_miner(
        _endpoint(device), session, credentials=LOGIN, probe_timeouts=FAST, **kw
    )


# --------------------------------------------------------------------- the login


async def test_a_bosminer_claim_alone_gets_no_login(session: aiohttp.ClientSession) -> None:
    async with HostileDevice(
        api={"version": _version({"BOSminer": "0.2.0", "Type": "Antminer S19"})},
        pages={"/": WebReply("<html>hello</html>", content_type="text/html")}
        | _token_page("/api/v1/auth/login"),
    ) as device:
        found = await _identify(device, session)
    assert device.secrets_received == []
    assert found.outcome is not ProbeOutcome.MINER
    assert found.logins == ()


async def test_a_vnish_type_claim_alone_gets_no_login_nor_the_factory_password(
    session: aiohttp.ClientSession,
) -> None:
    async with HostileDevice(
        api={"version": _version({"CGMiner": "4.11.1", "Type": "Antminer S19 (Vnish 1.2.6)"})},
        pages=_token_page("/api/v1/unlock"),
    ) as device:
        found = await _identify(device, session, allow_factory_password=True)
    assert device.secrets_received == []
    assert found.outcome is not ProbeOutcome.MINER


async def test_the_vnish_factory_password_is_tried_only_when_allowed(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[VNISH_REST], password="admin")
    miner = fleet.miners[0]
    endpoint = MinerEndpoint(miner.host, miner.api_port, miner.web_port)
    refused = await identify_miner(endpoint, session, credentials=LOGIN, probe_timeouts=FAST)
    assert refused.outcome is ProbeOutcome.AUTH_FAILED
    assert refused.logins == ("vnish_rest",)  # the fleet's login only
    allowed = await identify_miner(
        endpoint, session, credentials=LOGIN, probe_timeouts=FAST, allow_factory_password=True
    )
    assert allowed.outcome is ProbeOutcome.MINER
    assert allowed.logins == ("vnish_rest", "vnish_rest (factory password)")


async def test_the_factory_password_keeps_the_configured_api_key(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[VNISH_REST], password="admin", jitter=0.0)
    miner = fleet.miners[0]
    miner.api_key = "k3y-from-the-web-ui"
    found = await identify_miner(
        MinerEndpoint(miner.host, miner.api_port, miner.web_port),
        session,
        credentials=Credentials("root", "fleet-secret", api_key="k3y-from-the-web-ui"),
        probe_timeouts=FAST,
        allow_factory_password=True,
    )
    assert found.outcome is ProbeOutcome.MINER
    assert found.driver is not None
    # A setting change is a write the key guards: refused without it.
    await found.driver.apply_setting(1900.0)
    assert miner.preset == "1900"


async def test_a_scan_records_which_host_received_a_login(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(2, kinds=[BRAIINS, VNISH_REST], password="fleet-secret")
    hosts = [f"{m.host}:{m.api_port}:{m.web_port}" for m in fleet.miners]
    result = await Scanner(
        session, hosts=hosts, credentials=LOGIN, probe_timeouts=FAST, concurrency=4
    ).scan()
    assert len(result.miners) == 2
    assert sorted(f.detail for f in result.logins) == ["braiins", "vnish_rest"]
    assert {f.endpoint.web_port for f in result.logins} == {m.web_port for m in fleet.miners}


# --------------------------------------------------------------------- recognition


def _stats(type_string: str) -> dict[str, Any]:
    return {
        "STATUS": [{"STATUS": "S", "Code": 70, "Msg": "CGMiner stats"}],
        "STATS": [{"Type": type_string, "Miner": "49.0.1.3"}, {"STATS": 0, "Elapsed": 100}],
    }


@pytest.mark.parametrize(
    "type_string", ["Antminer S19(88) (Vnish 1.2.6)", "Antminer S19j Pro (Vnish 1.2.6)"]
)
async def test_vnish_rest_is_recognised_from_the_stats_type_and_its_public_info(
    type_string: str, start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    # The version reply names no firmware; `stats` does (as pyasic reads it), and the device
    # serves the firmware's public info. A real Vnish REST miner stands behind the web port.
    fleet = await start_fleet(1, kinds=[VNISH_REST], password="fleet-secret")
    miner = fleet.miners[0]
    async with HostileDevice(
        api={
            "version": _version({"CGMiner": "4.11.1", "Type": "Antminer S19"}),
            "stats": _stats(type_string),
        }
    ) as api:
        found = await identify_miner(
            MinerEndpoint(miner.host, api.api_port, miner.web_port),
            session,
            credentials=LOGIN,
            probe_timeouts=FAST,
        )
    assert found.outcome is ProbeOutcome.MINER, found.detail
    assert found.driver is not None and found.driver.kind == FirmwareKind.VNISH_REST


async def test_a_nopic_version_type_is_vnish_rest(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(1, kinds=[VNISH_REST], password="fleet-secret")
    miner = fleet.miners[0]
    async with HostileDevice(
        api={"version": _version({"CGMiner": "4.11.1", "Type": "Antminer S19(88) (Vnish 1.2.6)"})}
    ) as api:
        found = await identify_miner(
            MinerEndpoint(miner.host, api.api_port, miner.web_port),
            session,
            credentials=LOGIN,
            probe_timeouts=FAST,
        )
    assert found.driver is not None and found.driver.kind == FirmwareKind.VNISH_REST


async def test_vnish_rest_recognition_does_not_depend_on_which_answer_comes_first(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(20, kinds=[VNISH_REST] * 20, password="fleet-secret", seed=7)
    hosts = [f"{m.host}:{m.api_port}:{m.web_port}" for m in fleet.miners]
    for _ in range(2):
        result = await Scanner(
            session, hosts=hosts, credentials=LOGIN, probe_timeouts=FAST, concurrency=20
        ).scan()
        kinds = [m.driver.kind for m in result.miners.values()]
        assert kinds == [FirmwareKind.VNISH_REST] * 20


async def test_a_grpc_only_braiins_release_is_monitored_and_told_to_update(
    session: aiohttp.ClientSession,
) -> None:
    async with grpc_era_braiins() as device:
        result = await Scanner(
            session,
            hosts=[f"{device.host}:{device.api_port}:{device.web_port}"],
            credentials=LOGIN,
            probe_timeouts=FAST,
        ).scan()
    assert device.secrets_received == []
    assert [m.driver.kind for m in result.miners.values()] == [FirmwareKind.MONITOR]
    assert [a.detail for a in result.advisories] == [NEEDS_REST_API]
    assert "update to a release with the REST API" in NEEDS_REST_API


# --------------------------------------------------------------------- device text


@pytest.mark.parametrize(
    "text",
    [SURROGATE, TROJAN, "a\u2028b", "\udfff" * 10_000, "x" * 100_000, "\ue000priv\U000e0001"],
)
def test_device_text_is_valid_printable_bounded_unicode(text: str) -> None:
    clean = device_text(text)
    clean.encode("utf-8")  # a lone surrogate would raise here
    assert len(clean) <= 100
    assert all(unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Co", "Cn"} for c in clean), clean
    assert is_safe_text(clean)


def test_device_text_keeps_real_names() -> None:
    assert device_text("  Antminer  S19j Pro ") == "Antminer S19j Pro"
    assert device_text("Bergwerk-Süd 3") == "Bergwerk-Süd 3"
    assert device_text(None) == ""
    assert device_text("\x1b[1;31mred\x1b[0m miner") == "red miner"


def _fake_s9(hostname: str, mac: str = "02:00:00:00:0a:01") -> HostileDevice:
    info = {
        "minertype": "Antminer S9 (vnish 3.9.0)",
        "macaddr": mac,
        "hostname": hostname,
        "system_filesystem_version": "3.9.0",
    }
    return HostileDevice(pages={"/cgi-bin/get_system_info.cgi": WebReply(info)})


@pytest.mark.parametrize("hostname", [SURROGATE, TROJAN])
async def test_a_hostile_host_name_enters_the_fleet_as_safe_text(
    hostname: str, session: aiohttp.ClientSession, tmp_path: Any
) -> None:
    async with _fake_s9(hostname) as device:
        found = await _identify(device, session)
    assert found.identity is not None
    name = found.identity.hostname
    assert name is not None and is_safe_text(name)
    assert "\x1b" not in name and "\u202e" not in name
    json.dumps(name, ensure_ascii=False).encode("utf-8")
    with sqlite3.connect(tmp_path / "names.db") as db:  # what broke the device registry
        db.execute("create table t (name text)")
        db.execute("insert into t values (?)", (name,))


def test_an_error_text_from_a_device_is_made_safe() -> None:
    err = MinerProtocolError(f"refused: {TROJAN} {SURROGATE}")
    assert is_safe_text(str(err))
    str(err).encode("utf-8")
