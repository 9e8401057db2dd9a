"""Scanning networks and host lists for miners (simulator and stand-ins on loopback)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import replace

import aiohttp
import pytest
import pytest_socket

from custom_components.net_stabilization.core.discovery import (
    MAX_SCAN_ADDRESSES,
    Scanner,
    diff_miners,
    parse_host,
    scan_targets,
)
from custom_components.net_stabilization.core.miners.endpoint import (
    Credentials,
    MinerEndpoint,
    Timeouts,
)
from custom_components.net_stabilization.core.miners.firmware import FirmwareKind
from simulator import Fault

from .conftest import FleetFactory
from .miners.standins import (
    STOCK_SYSTEM_INFO,
    ApiStandIn,
    WebStandIn,
    json_route,
    stock_api_handler,
    text_route,
)

pytestmark = pytest.mark.usefixtures("loopback_network")

FAST = Timeouts(connect_s=0.5, api_read_s=0.5, web_s=0.5)


@pytest.fixture
def loopback_network(socket_enabled: None) -> Iterator[None]:
    """Allow the whole 127.0.0.0/8 (the HA test plugin allows only 127.0.0.1).

    Its per-test setup restores the default before the next test.
    """
    pytest_socket.socket_allow_hosts(["127.0.0.0/8"], allow_unix_socket=True)
    yield


@pytest.fixture
def ports() -> tuple[int, int]:
    """An API and a web port free on every address right now (a fleet spread over 127.0.x.y
    uses the same ports on each address; other processes on this host may use fixed ones).
    """
    with socket.socket() as api, socket.socket() as web:
        api.bind(("0.0.0.0", 0))
        web.bind(("0.0.0.0", 0))
        return int(api.getsockname()[1]), int(web.getsockname()[1])


# ----------------------------------------------------------------------------- targets


def test_cidr_expansion() -> None:
    targets = scan_targets(["10.0.0.0/24"], api_port=4029, web_port=8080)
    assert len(targets) == 254
    assert targets[0] == MinerEndpoint("10.0.0.1", 4029, 8080)
    assert targets[-1].host == "10.0.0.254"
    assert [t.host for t in scan_targets(["10.0.0.7/32", "10.0.0.8/31"])] == [
        "10.0.0.7",
        "10.0.0.8",
        "10.0.0.9",
    ]
    assert len(scan_targets(["10.1.0.0/16"])) == 65534


def test_host_entries_and_deduplication() -> None:
    targets = scan_targets(
        ["10.0.0.0/30"],
        ["10.0.0.1", "miner-7.lan", "10.0.0.9:4030", "10.0.0.9:4030:8081", "[::1]:1:2", "::1"],
    )
    assert targets == [
        MinerEndpoint("10.0.0.1"),
        MinerEndpoint("10.0.0.2"),
        MinerEndpoint("miner-7.lan"),
        MinerEndpoint("10.0.0.9", 4030, 80),
        MinerEndpoint("10.0.0.9", 4030, 8081),
        MinerEndpoint("::1", 1, 2),
        MinerEndpoint("::1"),
    ]
    assert parse_host(" 10.0.0.5 ", 1, 2) == MinerEndpoint("10.0.0.5", 1, 2)


@pytest.mark.parametrize(
    "entry", ["", "10.0.0.1:x", "10.0.0.1:0", "10.0.0.1:70000", "[::1", "[::1]x", "a b", "h:1:2:3"]
)
def test_bad_host_entries(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_host(entry)


@pytest.mark.parametrize("network", ["10.0.0.0/15", "0.0.0.0/0", "fd00::/64", "not-a-net"])
def test_absurd_or_malformed_networks_are_refused(network: str) -> None:
    with pytest.raises(ValueError):
        scan_targets([network])


def test_too_many_addresses_in_total() -> None:
    with pytest.raises(ValueError, match="more than"):
        scan_targets(["10.0.0.0/16", "10.1.0.0/16"])
    assert MAX_SCAN_ADDRESSES == 65536


def test_scanner_validates_up_front(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError):
        Scanner(session, networks=["192.168.0.0/8"])
    with pytest.raises(ValueError):
        Scanner(session, hosts=["h"], concurrency=0)


# ----------------------------------------------------------------------------- scans


async def test_scan_host_list_on_one_address(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(4)
    fleet.miners[3].set_fault(Fault.WRONG_PASSWORD)
    stock_api = ApiStandIn(stock_api_handler())
    stock_web = WebStandIn({"/cgi-bin/get_system_info.cgi": json_route(STOCK_SYSTEM_INFO)})
    router = WebStandIn({"/": text_route("router")}, password=None)
    for server in (stock_api, stock_web, router):
        await server.start()
    try:
        hosts: list[str | MinerEndpoint] = [
            f"127.0.0.1:{m.api_port}:{m.web_port}" for m in fleet.miners
        ]
        hosts += [
            MinerEndpoint("127.0.0.1", stock_api.port, stock_web.port),
            MinerEndpoint("127.0.0.1", 1, router.port),
            MinerEndpoint("127.0.0.1", 1, 2),  # nothing there
        ]
        result = await Scanner(session, hosts=hosts, probe_timeouts=FAST).scan()
    finally:
        for server in (stock_api, stock_web, router):
            await server.stop()

    vnish = {m.mac for m in fleet.miners[:3]}
    assert set(result.miners) == vnish | {"B4:B1:5A:10:20:30"}
    assert result.miners["B4:B1:5A:10:20:30"].driver.firmware is FirmwareKind.STOCK_S9
    for miner in fleet.miners[:3]:
        found = result.miners[miner.mac]
        assert found.endpoint == MinerEndpoint("127.0.0.1", miner.api_port, miner.web_port)
        assert found.identity.host == "127.0.0.1"
        assert found.driver.firmware is FirmwareKind.VNISH_S9
        assert found.description == "Antminer S9 (Vnish 3.9.0)"
    bad_password = fleet.miners[3]
    assert [f.endpoint.web_port for f in result.auth_failed] == [bad_password.web_port]
    assert [f.endpoint.web_port for f in result.unsupported] == [router.port]
    assert result.addresses_scanned == 7


async def test_scan_network_of_loopback_addresses(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, ports: tuple[int, int]
) -> None:
    api_port, web_port = ports
    fleet = await start_fleet(
        5, network="127.0.1.0/24", api_port=api_port, web_port=web_port, initial_state="sleeping"
    )
    fleet.miners[4].set_fault(Fault.OFFLINE)
    await fleet.sync()
    scanner = Scanner(
        session,
        networks=["127.0.1.0/27"],
        api_port=api_port,
        web_port=web_port,
        probe_timeouts=FAST,
    )
    result = await scanner.scan()
    assert result.addresses_scanned == 30
    assert {m.identity.host: mac for mac, m in result.miners.items()} == {
        m.host: m.mac for m in fleet.miners[:4]
    }
    assert not result.unsupported
    assert not result.auth_failed


async def test_empty_range(session: aiohttp.ClientSession, ports: tuple[int, int]) -> None:
    api_port, web_port = ports
    # Limits of an hour: an address that refuses is done with at once, so the scan ends long
    # before the guard below however loaded the machine, while a probe that waited out a limit
    # instead of taking the refusal would run into it.
    scanner = Scanner(
        session,
        networks=["127.0.2.0/24"],
        api_port=api_port,
        web_port=web_port,
        probe_timeouts=Timeouts(connect_s=3600.0, api_read_s=3600.0, web_s=3600.0),
    )
    async with asyncio.timeout(120.0):
        result = await scanner.scan()
    assert result.miners == {}
    assert result.addresses_scanned == 254
    assert not result.unsupported


async def test_rescan_notices_moved_new_and_missing_miners(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, ports: tuple[int, int]
) -> None:
    api_port, web_port = ports
    first = await start_fleet(3, network="127.0.4.0/24", api_port=api_port, web_port=web_port)
    scanner = Scanner(
        session,
        networks=["127.0.4.0/29", "127.0.5.0/29"],
        api_port=api_port,
        web_port=web_port,
        probe_timeouts=FAST,
    )
    known = {mac: m.endpoint for mac, m in (await scanner.scan()).miners.items()}
    assert set(known) == {m.mac for m in first.miners}
    assert diff_miners(known, await scanner.scan()).unchanged == tuple(known)

    # The same boxes (same seed: same MACs) come back from DHCP on other addresses, plus one
    # more; the first one does not come back at all.
    await first.stop()
    second = await start_fleet(4, network="127.0.5.0/24", api_port=api_port, web_port=web_port)
    second.miners[0].set_fault(Fault.OFFLINE)
    await second.sync()
    changes = diff_miners(known, await scanner.scan())
    assert changes.missing == (first.miners[0].mac,)
    assert {move.mac: move.new.endpoint.host for move in changes.moved} == {
        first.miners[1].mac: second.miners[1].host,
        first.miners[2].mac: second.miners[2].host,
    }
    assert all(move.old.host.startswith("127.0.4.") for move in changes.moved)
    assert [m.identity.mac for m in changes.new] == [second.miners[3].mac]
    assert changes.unchanged == ()
    assert changes.displaced == ()


async def test_an_address_handed_to_another_miner_displaces_the_one_known_there(
    start_fleet: FleetFactory, session: aiohttp.ClientSession, ports: tuple[int, int]
) -> None:
    """DHCP gives a known miner's address to another box (here: a miner of another firmware):
    what answers there is not the known miner, which must not be read or driven there."""
    api_port, web_port = ports
    fleet = await start_fleet(
        2,
        network="127.0.6.0/29",
        api_port=api_port,
        web_port=web_port,
        kinds=["braiins", "vnish_s9"],
    )
    scanner = Scanner(
        session,
        networks=["127.0.6.0/29"],
        api_port=api_port,
        web_port=web_port,
        probe_timeouts=FAST,
    )
    found = (await scanner.scan()).miners
    ghost = "02:00:00:00:00:01"
    known = {
        ghost: found[fleet.miners[0].mac].endpoint,  # known here from before
        fleet.miners[1].mac: found[fleet.miners[1].mac].endpoint,
    }
    changes = diff_miners(known, found)
    assert changes.displaced == (ghost,)
    assert changes.missing == (ghost,)
    assert [m.identity.mac for m in changes.new] == [fleet.miners[0].mac]


async def test_concurrency_bound_and_credentials(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    fleet = await start_fleet(3, password="s3cret")
    hosts = [MinerEndpoint("127.0.0.1", m.api_port, m.web_port) for m in fleet.miners]
    wrong = await Scanner(session, hosts=hosts, concurrency=1, probe_timeouts=FAST).scan()
    assert not wrong.miners
    assert len(wrong.auth_failed) == 3
    right = await Scanner(
        session,
        hosts=hosts,
        concurrency=1,
        credentials=Credentials("root", "s3cret"),
        probe_timeouts=FAST,
    ).scan()
    assert len(right.miners) == 3


# ----------------------------------------------------------------------------- odd answers


def test_host_entries_beyond_the_limit_are_refused() -> None:
    """The limit counts networks and host entries together."""
    with pytest.raises(ValueError, match="more than 5"):
        scan_targets(["10.0.0.0/30"], [f"10.0.1.{i}" for i in range(1, 5)], max_addresses=5)


async def test_two_addresses_reporting_one_mac_keep_the_first(
    start_fleet: FleetFactory, session: aiohttp.ClientSession
) -> None:
    """A cloned MAC (seen on refurbished control boards): the second address is reported as a
    duplicate of the first, not taken as the same miner moved."""
    fleet = await start_fleet(2)
    first, clone = fleet.miners
    clone.identity = replace(clone.identity, mac=first.mac)
    hosts: list[str | MinerEndpoint] = [
        f"127.0.0.1:{m.api_port}:{m.web_port}" for m in fleet.miners
    ]
    result = await Scanner(session, hosts=hosts, probe_timeouts=FAST).scan()
    assert list(result.miners) == [first.mac]
    assert result.miners[first.mac].endpoint.api_port == first.api_port
    assert [f.endpoint.api_port for f in result.duplicates] == [clone.api_port]
    assert first.mac in result.duplicates[0].detail


async def test_a_probe_that_fails_unexpectedly_costs_only_its_address(
    start_fleet: FleetFactory,
) -> None:
    """An error no driver expects (here a closed HTTP session) marks the address unsupported
    with the reason; the scan itself completes."""
    fleet = await start_fleet(1)
    miner = fleet.miners[0]
    async with aiohttp.ClientSession() as closed:
        pass
    hosts: list[str | MinerEndpoint] = [f"127.0.0.1:{miner.api_port}:{miner.web_port}"]
    result = await Scanner(closed, hosts=hosts, probe_timeouts=FAST).scan()
    assert result.miners == {}
    assert [f.endpoint.api_port for f in result.unsupported] == [miner.api_port]
    assert result.unsupported[0].detail.startswith("probe failed:")
