"""What hassfest and the HACS action check, mirrored so a plain test run catches it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as ha_version

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "net_stabilization"
HACS_KEYS = {
    "name",
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _flat_keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            keys |= _flat_keys(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_manifest_shape() -> None:
    manifest = _json(INTEGRATION / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest wants domain, name, then sorted keys"
    assert manifest["domain"] == INTEGRATION.name
    for key in ("codeowners", "documentation", "issue_tracker", "iot_class", "version"):
        assert manifest.get(key), f"manifest lacks {key}"
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["documentation"].startswith("https://")
    version = AwesomeVersion(manifest["version"])
    assert version.strategy != AwesomeVersionStrategy.UNKNOWN
    assert "http" in manifest["dependencies"], "the EMS views need the http integration"


def test_hacs_json() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert "name" in hacs
    assert set(hacs) <= HACS_KEYS, "HACS rejects unknown keys"
    # The minimum Home Assistant version must not be newer than the one the tests run on.
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(ha_version)


def test_one_integration_and_repository_files() -> None:
    folders = {p.name for p in (ROOT / "custom_components").iterdir() if p.is_dir()}
    assert folders - {"__pycache__"} == {"net_stabilization"}, "HACS wants exactly one integration"
    assert (INTEGRATION / "brand" / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ROOT / "README.md").exists()
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "de"])
def test_translations_cover_strings(language: str) -> None:
    strings = _flat_keys(_json(INTEGRATION / "strings.json"))
    translation = _flat_keys(_json(INTEGRATION / "translations" / f"{language}.json"))
    assert strings - translation == set()
    assert translation - strings == set()


def test_json_files_parse() -> None:
    for path in INTEGRATION.rglob("*.json"):
        _json(path)
