"""The release's own files: the quality-scale record and the version, read as Home Assistant's
tooling reads them."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import probatio
import pytest
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.yaml import load_yaml_dict

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "net_stabilization"

# The Integration Quality Scale's rules per tier (developers.home-assistant.io,
# core/integration-quality-scale); hassfest knows the same names and rejects any other.
RULES_BY_TIER: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}
ALL_RULES = [rule for rules in RULES_BY_TIER.values() for rule in rules]

# A rule is "todo" or "done", optionally with a comment, or exempt with the reason why.
_STATUS = probatio.Any(
    probatio.In(["todo", "done"]),
    probatio.Schema(
        {
            probatio.Required("status"): probatio.In(["todo", "done"]),
            probatio.Required("comment"): str,
        }
    ),
    probatio.Schema({probatio.Required("status"): "exempt", probatio.Required("comment"): str}),
)
QUALITY_SCALE_SCHEMA = probatio.Schema(
    {
        probatio.Required("rules"): probatio.Schema(
            {probatio.Optional(r): _STATUS for r in ALL_RULES}
        )
    }
)


def _quality_scale() -> dict[str, Any]:
    return load_yaml_dict(INTEGRATION / "quality_scale.yaml")


def test_quality_scale_loads_with_home_assistants_yaml_loader() -> None:
    try:
        _quality_scale()
    except HomeAssistantError as err:
        pytest.fail(f"quality_scale.yaml is not valid YAML: {err}")


def test_quality_scale_matches_the_rule_schema() -> None:
    data = _quality_scale()
    QUALITY_SCALE_SCHEMA(data)
    # Every platinum-scale rule has a status: the file claims the whole scale, nothing is left
    # unsaid.
    assert set(data["rules"]) == set(ALL_RULES)
    for rule, value in data["rules"].items():
        if isinstance(value, dict):
            assert value["comment"].strip(), f"{rule}: an empty comment"


def test_versions_agree() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["version"] == manifest["version"]


def test_manifest_names_the_libraries_that_log() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    libraries = {req.split("==")[0].split(">")[0].strip() for req in manifest["requirements"]}
    assert libraries <= set(manifest["loggers"])


# Where Home Assistant passes the config entry, and at which argument (hassfest's runtime-data
# check with strict typing): each must take the typed entry alias, not a bare ConfigEntry.
_ENTRY_ARGUMENTS = {
    "__init__": {
        "async_migrate_entry": 2,
        "async_remove_config_entry_device": 2,
        "async_remove_entry": 2,
        "async_setup_entry": 2,
        "async_unload_entry": 2,
    },
    "diagnostics": {"async_get_config_entry_diagnostics": 2, "async_get_device_diagnostics": 2},
    **{
        platform: {"async_setup_entry": 2}
        for platform in ("binary_sensor", "button", "number", "select", "sensor", "switch")
    },
}
_TYPED_ENTRY = re.compile(r"^[A-Za-z]+ConfigEntry$")


def _annotation(function: ast.FunctionDef | ast.AsyncFunctionDef, position: int) -> str:
    annotation = function.args.args[position - 1].annotation
    return (
        annotation.id if isinstance(annotation, ast.Name) else ast.unparse(annotation or ast.Pass())
    )


def test_every_entry_argument_uses_the_typed_entry() -> None:
    untyped: list[str] = []
    for module, functions in _ENTRY_ARGUMENTS.items():
        path = INTEGRATION / f"{module}.py"
        if not path.exists():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.AsyncFunctionDef) and node.name in functions:
                name = _annotation(node, functions[node.name])
                if not _TYPED_ENTRY.match(name) or name == "ConfigEntry":
                    untyped.append(f"{module}.{node.name}: {name}")
    flow = ast.parse((INTEGRATION / "config_flow.py").read_text(encoding="utf-8"))
    getters = [
        item
        for node in flow.body
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef) and item.name == "async_get_options_flow"
    ]
    assert getters, "the config flow offers no options flow"
    for getter in getters:
        name = _annotation(getter, 1)
        if not _TYPED_ENTRY.match(name) or name == "ConfigEntry":
            untyped.append(f"config_flow.async_get_options_flow: {name}")
    assert untyped == []
