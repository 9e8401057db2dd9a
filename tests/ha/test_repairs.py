"""The fleet database's repair issue follows the store's newest problem, named in the user's
language, even when the problem changes while its name is still being looked up."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.net_stabilization.const import DOMAIN
from custom_components.net_stabilization.core.store import StoreProblem
from custom_components.net_stabilization.repairs import ISSUE_DATABASE, database_watch


async def test_a_problem_cleared_during_its_lookup_raises_nothing(hass: HomeAssistant) -> None:
    hass.config.language = "de"  # not loaded yet: the lookup has to wait for the files
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    on_problem = database_watch(hass, entry, "/config/fleet.db")
    on_problem(StoreProblem.FULL)
    on_problem(None)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_DATABASE) is None


async def test_the_newest_problem_is_the_one_shown(hass: HomeAssistant) -> None:
    hass.config.language = "de"
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    on_problem = database_watch(hass, entry, "/config/fleet.db")
    on_problem(StoreProblem.LOCKED)
    on_problem(StoreProblem.FULL)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_DATABASE)
    assert issue is not None
    assert issue.translation_placeholders == {
        "problem": "Datenträger voll",
        "path": "/config/fleet.db",
    }
