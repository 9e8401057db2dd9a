"""DHCP discovery: a known miner on a new address is followed at once, a new one in the fleet's
networks joins, and without a fleet the discovery offers to set one up.

The flows start as Home Assistant's DHCP watcher starts them (source "dhcp", its service info);
the miners answer over real sockets on loopback addresses of their own.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
from homeassistant.config_entries import SOURCE_DHCP, SOURCE_IGNORE, SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import (
    CONF_API_PORT,
    CONF_HOSTS,
    CONF_NETWORKS,
    CONF_WEB_PORT,
    DOMAIN,
)
from custom_components.net_stabilization.discovery_update import follow_discovered_miner
from simulator import Fault, ManualClock, SimulatedFleet

MANIFEST = Path(__file__).parent.parent.parent / "custom_components" / DOMAIN / "manifest.json"

type FleetFactory = Callable[..., Awaitable[SimulatedFleet]]


@pytest.fixture(autouse=True)
def _loopback_network(_sockets: None) -> None:
    """Miners on addresses of their own: all of 127.0.0.0/8 (still only this host)."""
    pytest_socket.socket_allow_hosts(["127.0.0.1", "127.0.0.0/8"])


@pytest.fixture
def ports() -> tuple[int, int]:
    """An API and a web port free on every loopback address now."""
    with socket.socket() as api, socket.socket() as web:
        api.bind(("0.0.0.0", 0))
        web.bind(("0.0.0.0", 0))
        return int(api.getsockname()[1]), int(web.getsockname()[1])


@pytest.fixture
async def start_fleet(ports: tuple[int, int]) -> AsyncIterator[FleetFactory]:
    """Fleets on a network of loopback addresses, all on the same ports; same seed, same MACs."""
    fleets: list[SimulatedFleet] = []

    async def start(network: str, count: int = 2) -> SimulatedFleet:
        fleet = SimulatedFleet(
            count=count,
            network=network,
            api_port=ports[0],
            web_port=ports[1],
            clock=ManualClock(),
            seed=7,
            jitter=0.0,
            initial_state="sleeping",
        )
        fleets.append(fleet)
        await fleet.start()
        return fleet

    yield start
    for fleet in fleets:
        await fleet.stop()


def _entry(ports: tuple[int, int], **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Mining fleet",
        unique_id=DOMAIN,
        data={
            CONF_NETWORKS: [],
            CONF_HOSTS: [],
            CONF_USERNAME: "root",
            CONF_PASSWORD: "root",
            CONF_API_PORT: ports[0],
            CONF_WEB_PORT: ports[1],
            **data,
        },
        options={"rescan_interval": 0},
    )


async def _load(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _dhcp(hass: HomeAssistant, ip: str, mac: str, hostname: str) -> FlowResult:
    """What the DHCP watcher starts: the MAC as it reports it (lower case, no colons)."""
    return await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_DHCP},
        data=DhcpServiceInfo(ip=ip, hostname=hostname, macaddress=mac.replace(":", "").lower()),
    )


def test_the_manifest_asks_for_miners_dhcp_announcements() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert {"registered_devices": True} in manifest["dhcp"]
    # Antminers announce themselves as "antMiner" (S9) or "Antminer"; matched in lower case.
    assert {"hostname": "antminer*"} in manifest["dhcp"]
    # The DHCP watcher starts no flow for an integration limited to one entry once it has it.
    assert "single_config_entry" not in manifest


async def test_a_known_miner_on_a_new_address_is_followed(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    old = await start_fleet("127.0.7.0/24")
    entry = await _load(
        hass, _entry(ports, **{CONF_HOSTS: [f"{m.host}:{ports[0]}:{ports[1]}" for m in old.miners]})
    )
    runtime = entry.runtime_data
    mac = old.miners[1].mac
    # Its device carries the MAC: that is what DHCP's registered-devices matching looks up.
    connection = (dr.CONNECTION_NETWORK_MAC, dr.format_mac(mac))
    assert dr.async_get(hass).async_get_devices(connections={connection})

    # The boxes come back from DHCP on other addresses.
    await old.stop()
    new = await start_fleet("127.0.8.0/24")
    assert new.miners[1].mac == mac

    result = await _dhcp(hass, new.miners[1].host, mac, "antminer")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert runtime.scanning.endpoint_of(mac).host == "127.0.8.2"
    # The database follows, so a restart looks there first.
    records = {r.mac: r for r in await runtime.store.miners()}
    assert records[mac].host == "127.0.8.2"
    # The other miner was not announced: it stays where it was until a scan or its own DHCP.
    assert runtime.scanning.endpoint_of(new.miners[0].mac).host == "127.0.7.1"


async def test_an_announcement_where_the_miner_does_not_answer_changes_nothing(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    fleet = await start_fleet("127.0.7.0/24")
    entry = await _load(
        hass,
        _entry(ports, **{CONF_HOSTS: [f"{m.host}:{ports[0]}:{ports[1]}" for m in fleet.miners]}),
    )
    mac = fleet.miners[1].mac
    # A packet naming the MAC with an address where nothing, or another miner, answers.
    for ip in ("127.0.9.9", fleet.miners[0].host):
        result = await _dhcp(hass, ip, mac, "antminer")
        assert result["reason"] == "already_configured"
        assert entry.runtime_data.scanning.endpoint_of(mac).host == "127.0.7.2"
    assert set(entry.runtime_data.controller.macs) == {m.mac for m in fleet.miners}


async def test_a_new_miner_in_the_fleets_networks_joins(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    fleet = await start_fleet("127.0.10.0/24")
    fleet.miners[1].set_fault(Fault.OFFLINE, powered=True)  # its network is down
    await fleet.sync()
    entry = await _load(hass, _entry(ports, **{CONF_NETWORKS: ["127.0.10.0/30"]}))
    assert set(entry.runtime_data.controller.macs) == {fleet.miners[0].mac}

    fleet.miners[1].clear_fault(Fault.OFFLINE)
    await fleet.sync()
    result = await _dhcp(hass, fleet.miners[1].host, fleet.miners[1].mac, "antminer")
    assert result["reason"] == "already_configured"
    assert set(entry.runtime_data.controller.macs) == {m.mac for m in fleet.miners}


async def test_a_miner_outside_the_fleets_networks_is_left_alone(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    fleet = await start_fleet("127.0.11.0/24")
    entry = await _load(hass, _entry(ports, **{CONF_HOSTS: [f"127.0.11.1:{ports[0]}:{ports[1]}"]}))
    result = await _dhcp(hass, fleet.miners[1].host, fleet.miners[1].mac, "antminer")
    assert result["reason"] == "already_configured"
    assert set(entry.runtime_data.controller.macs) == {fleet.miners[0].mac}


async def test_without_a_fleet_a_discovered_miner_offers_the_setup(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    fleet = await start_fleet("127.0.12.0/24")
    result = await _dhcp(hass, fleet.miners[0].host, fleet.miners[0].mac, "antminer")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "dhcp_confirm"
    assert result["description_placeholders"] == {"network": "127.0.12.0/24"}
    # More miners asking do not pile up more offers.
    again = await _dhcp(hass, fleet.miners[1].host, fleet.miners[1].mac, "antminer")
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_in_progress"

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["step_id"] == "user"
    networks = next(key for key in result["data_schema"].schema if key == CONF_NETWORKS).description
    assert networks == {"suggested_value": "127.0.12.0/24"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_NETWORKS: "127.0.12.0/30",
            CONF_USERNAME: "root",
            CONF_PASSWORD: "root",
            CONF_API_PORT: ports[0],
            CONF_WEB_PORT: ports[1],
        },
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["step_id"] == "scan_result"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert set(entry.runtime_data.controller.macs) == {m.mac for m in fleet.miners}


async def test_a_user_flow_ends_a_pending_offer(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    fleet = await start_fleet("127.0.13.0/24")
    offer = await _dhcp(hass, fleet.miners[0].host, fleet.miners[0].mac, "antminer")
    assert offer["step_id"] == "dhcp_confirm"
    # The offer does not block setting the fleet up by hand.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOSTS: f"127.0.13.1:{ports[0]}:{ports[1]}",
            CONF_USERNAME: "root",
            CONF_PASSWORD: "root",
            CONF_API_PORT: ports[0],
            CONF_WEB_PORT: ports[1],
        },
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert not [
        f for f in hass.config_entries.flow.async_progress() if f["flow_id"] == offer["flow_id"]
    ]


async def test_a_failing_look_or_a_fleet_not_loaded_changes_nothing(
    hass: HomeAssistant,
    start_fleet: FleetFactory,
    ports: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fleet = await start_fleet("127.0.14.0/24")
    entry = await _load(hass, _entry(ports, **{CONF_NETWORKS: ["127.0.14.0/30"]}))
    mac = fleet.miners[0].mac

    async def broken(*_args: Any) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(entry.runtime_data.scanning, "async_look_at", broken)
    assert not await follow_discovered_miner(hass, entry, mac, "127.0.14.3")
    assert not await follow_discovered_miner(hass, entry, "02:00:00:00:00:99", "not-an-ip")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert not await follow_discovered_miner(hass, entry, mac, "127.0.14.3")
    result = await _dhcp(hass, "127.0.14.3", mac, "antminer")
    assert result["reason"] == "already_configured"


async def test_an_ignored_offer_stays_ignored_but_blocks_no_setup(
    hass: HomeAssistant, start_fleet: FleetFactory, ports: tuple[int, int]
) -> None:
    fleet = await start_fleet("127.0.15.0/24")
    offer = await _dhcp(hass, fleet.miners[0].host, fleet.miners[0].mac, "antminer")
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": DOMAIN, "title": "Mining fleet"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert not [
        f for f in hass.config_entries.flow.async_progress() if f["flow_id"] == offer["flow_id"]
    ]
    again = await _dhcp(hass, fleet.miners[1].host, fleet.miners[1].mac, "antminer")
    assert again["reason"] == "already_configured"

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOSTS: f"127.0.15.1:{ports[0]}:{ports[1]}",
            CONF_USERNAME: "root",
            CONF_PASSWORD: "root",
            CONF_API_PORT: ports[0],
            CONF_WEB_PORT: ports[1],
        },
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entries = hass.config_entries.async_entries(DOMAIN)
    assert [e.source for e in entries] == [SOURCE_USER]
