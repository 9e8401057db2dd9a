"""Who may call the EMS paths, judged from what a request carries."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import make_mocked_request
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_AUTHENTICATED, KEY_HASS

from custom_components.net_stabilization.ems_access import (
    check_caller,
    host_is_ours,
    peer_in_networks,
)


def _request(hass: HomeAssistant, host: str = "127.0.0.1", **values: Any) -> Any:
    request = make_mocked_request(
        "GET", "/api/status", headers={"Host": host}, app={KEY_HASS: hass}
    )  # type: ignore[arg-type]
    for key, value in values.items():
        request[key] = value
    return request


async def test_networks_and_peers(hass: HomeAssistant) -> None:
    assert not peer_in_networks(None, ["10.0.0.0/8"])
    assert not peer_in_networks("not an address", ["10.0.0.0/8"])
    assert peer_in_networks("10.1.2.3", ["bogus", "10.0.0.0/8"])


async def test_host_names(hass: HomeAssistant) -> None:
    assert not host_is_ours(_request(hass, host=""))
    assert host_is_ours(_request(hass, host="[fd00::1]:8123"))


async def test_an_authenticated_request_without_a_user_may_only_read(hass: HomeAssistant) -> None:
    caller = check_caller(_request(hass, **{KEY_AUTHENTICATED: True}), [], None)
    assert caller.allowed and not caller.control
