"""The translations match strings.json, and every key the code names has a text.

The code is read, not run: each check walks the integration's syntax tree for the places that
name a translation (entity descriptions, exceptions, repair issues, selectors, flow steps,
errors and aborts, command refusals), so a key added in code without a text fails here.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).parents[1] / "custom_components" / "net_stabilization"
STRINGS = PACKAGE / "strings.json"
EN = PACKAGE / "translations" / "en.json"
DE = PACKAGE / "translations" / "de.json"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

EXCEPTIONS = {
    "HomeAssistantError",
    "ServiceValidationError",
    "ConfigEntryNotReady",
    "ConfigEntryAuthFailed",
    "ConfigEntryError",
    "UpdateFailed",
}
PLATFORMS = {
    "sensor": "sensor",
    "openadr_sensor": "sensor",
    "binary_sensor": "binary_sensor",
    "number": "number",
    "switch": "switch",
    "select": "select",
    "button": "button",
}
# Flow modules and the section of strings.json their steps, errors and aborts belong to.
FLOWS = {
    "config_flow": "config",
    "options_flow": "options",
    "openadr_options": "options",
    "strategy_options": "options",
}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


STRINGS_FLAT = _flat(_load(STRINGS))


def _has(path: str) -> bool:
    return path in STRINGS_FLAT or any(k.startswith(f"{path}.") for k in STRINGS_FLAT)


def _placeholders(path: str) -> set[str]:
    """The placeholders every text under `path` uses."""
    found: set[str] = set()
    for key, text in STRINGS_FLAT.items():
        if key == path or key.startswith(f"{path}."):
            found |= set(PLACEHOLDER.findall(text))
    return found


class _Module:
    """One module of the integration: its tree and the string constants it can name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.stem
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.constants: dict[str, str] = {}
        self.imported: dict[str, str] = {}
        for node in self.tree.body:
            targets: list[ast.expr] = [node.target] if isinstance(node, ast.AnnAssign) else []
            if isinstance(node, ast.Assign):
                targets = node.targets
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.constants[target.id] = value.value
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = node.module


MODULES = {p.stem: _Module(p) for p in sorted(PACKAGE.glob("*.py"))}
CORE = [_Module(p) for p in sorted((PACKAGE / "core").rglob("*.py"))]


def _strings(module: _Module, node: ast.expr | None, scope: ast.AST | None = None) -> set[str]:
    """The strings an expression can be: a literal, a constant, or a local name's literals."""
    if node is None:
        return set()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(module, node.body, scope) | _strings(module, node.orelse, scope)
    if isinstance(node, ast.Name):
        if node.id in module.constants:
            return {module.constants[node.id]}
        if node.id in module.imported:
            source = MODULES.get(module.imported[node.id].split(".")[-1])
            if source is not None and node.id in source.constants:
                return {source.constants[node.id]}
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            params = [a.arg for a in scope.args.args]
            if node.id in params:
                return _arguments(module, scope.name, params.index(node.id), params[0] == "self")
        if scope is not None:
            found: set[str] = set()
            for sub in ast.walk(scope):
                if isinstance(sub, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == node.id for t in sub.targets
                ):
                    found |= _strings(module, sub.value)
            return found
    return set()


def _arguments(module: _Module, function: str, index: int, method: bool) -> set[str]:
    """The literal values a function's parameter is called with."""
    position = index - 1 if method else index
    found: set[str] = set()
    for call, called, scope in _calls(module):
        if called == function and len(call.args) > position:
            found |= _strings(module, call.args[position], scope)
    assert found, f"{module.name}.py: no literal argument for {function}"
    return found


def _calls(module: _Module) -> Iterator[tuple[ast.Call, str, ast.AST | None]]:
    """Every call with the name it calls and the function it is in."""
    for function in ast.walk(module.tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Call):
                    yield node, _called(node), function
    for node in module.tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and not isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            ):
                yield sub, _called(sub), None


def _called(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _dict_keys(node: ast.expr | None) -> set[str] | None:
    """The keys of a literal dict; None when they cannot all be read."""
    if not isinstance(node, ast.Dict):
        return None
    keys: set[str] = set()
    for key in node.keys:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        keys.add(key.value)
    return keys


# Calls that name a translation, and where its text is.
CALLS = {
    **{name: "exceptions.{key}.message" for name in EXCEPTIONS},
    "async_create_issue": "issues.{key}",
    "SelectSelectorConfig": "selector.{key}.options",
    "DeviceInfo": "device.{key}.name",
}


def _uses() -> Iterator[tuple[str, str, set[str] | None]]:
    """(where, strings.json path, placeholders given) for each key the HA layer names."""
    for module in MODULES.values():
        for call, called, scope in _calls(module):
            where = f"{module.name}.py:{call.lineno}"
            given = _dict_keys(_keyword(call, "translation_placeholders"))
            if called in CALLS:
                for key in _keys(module, call, scope):
                    yield where, CALLS[called].format(key=key), given
            elif called.endswith("Description") and module.name in PLATFORMS:
                for key in _keys(module, call, scope):
                    yield where, f"entity.{PLATFORMS[module.name]}.{key}.name", None
        section = FLOWS.get(module.name)
        if section is not None:
            yield from _flow_uses(module, section)


def _keys(module: _Module, call: ast.Call, scope: ast.AST | None) -> set[str]:
    """A call's translation keys. In an f-string like f"{prefix}_baseline" each value takes the
    literals it can be (an unreadable one, like a refusal's key, is checked from the core)."""
    node = _keyword(call, "translation_key")
    if not isinstance(node, ast.JoinedStr):
        return _strings(module, node, scope)
    keys = {""}
    for part in node.values:
        if isinstance(part, ast.Constant):
            keys = {key + str(part.value) for key in keys}
        elif isinstance(part, ast.FormattedValue):
            values = _strings(module, part.value, scope)
            keys = {key + value for key in keys for value in values}
    return keys


def _flow_uses(module: _Module, section: str) -> Iterator[tuple[str, str, set[str] | None]]:
    for call, called, scope in _calls(module):
        where = f"{module.name}.py:{call.lineno}"
        given = _dict_keys(_keyword(call, "description_placeholders"))
        if called in ("async_show_form", "async_show_menu"):
            steps = _strings(module, _keyword(call, "step_id"), scope)
            assert steps, f"{where}: step id not found"
            menu = _keyword(call, "menu_options")
            options = _strings_in(module, menu) if isinstance(menu, ast.List) else set()
            for step in steps:
                yield where, f"{section}.step.{step}", given
                for option in options:
                    yield where, f"{section}.step.{step}.menu_options.{option}", None
        elif called == "async_show_progress":
            for action in _strings(module, _keyword(call, "progress_action"), scope):
                yield where, f"{section}.progress.{action}", given
        elif called.endswith("abort"):
            for reason in _strings(module, _keyword(call, "reason"), scope):
                yield where, f"{section}.abort.{reason}", None
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Assign) and any(_is_error_target(t) for t in node.targets):
            for error in _strings(module, node.value):
                yield f"{module.name}.py:{node.lineno}", f"{section}.error.{error}", None


def _strings_in(module: _Module, node: ast.List) -> set[str]:
    found: set[str] = set()
    for element in node.elts:
        found |= _strings(module, element)
    return found


def _is_error_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
        return target.value.id == "errors"
    return isinstance(target, ast.Attribute) and target.attr == "_scan_error"


def _command_refusals() -> Iterator[tuple[str, str, set[str] | None]]:
    """The core's refusals, shown through `command_<key>` exceptions."""
    for module in CORE:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and node.name == "CommandReason":
                for item in node.body:
                    if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                        reason = str(item.value.value)
                        yield module.name, f"exceptions.command_{reason}.message", None
            if not isinstance(node, ast.Call):
                continue
            called = _called(node)
            key: ast.expr | None = None
            given: set[str] | None = None
            if called == "refused":
                key = node.args[2] if len(node.args) > 2 else _keyword(node, "key")
                given = {k.arg for k in node.keywords if k.arg and k.arg != "key"}
                # The HA layer adds the message, and the miner's name wherever a MAC is given.
                given |= {"message"} | ({"miner"} if "mac" in given else set())
            elif called == "InvalidPowerError" and len(node.args) > 2:
                key, given = node.args[1], {"name", "message"}
            for text in _strings(module, key):
                yield (
                    f"{module.path.name}:{node.lineno}",
                    f"exceptions.command_{text}.message",
                    given,
                )


def test_same_keys_in_every_language() -> None:
    """strings.json, en.json and de.json have exactly the same keys."""
    strings = set(STRINGS_FLAT)
    for path in (EN, DE):
        keys = set(_flat(_load(path)))
        assert sorted(strings - keys) == [], f"missing in {path.name}"
        assert sorted(keys - strings) == [], f"not in strings.json but in {path.name}"


def test_en_is_strings() -> None:
    """Home Assistant builds en.json from strings.json: the two are the same."""
    assert _load(EN) == _load(STRINGS)


def test_placeholders_match() -> None:
    """Each text uses the same placeholders in every language."""
    for path in (EN, DE):
        flat = _flat(_load(path))
        wrong = {
            key: (sorted(PLACEHOLDER.findall(text)), sorted(PLACEHOLDER.findall(flat[key])))
            for key, text in STRINGS_FLAT.items()
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(flat[key]))
        }
        assert wrong == {}, path.name


def test_every_key_the_code_names_has_a_text() -> None:
    """Entities, exceptions, issues, selectors, flow steps, errors, aborts: all in strings.json."""
    uses = [*_uses(), *_command_refusals()]
    assert len(uses) > 100  # the walk finds the code's keys at all
    missing = sorted({f"{where}: {path}" for where, path, _ in uses if not _has(path)})
    assert missing == []


def test_every_placeholder_is_given() -> None:
    """A text's placeholders are all among those the code passes (else Home Assistant shows
    the raw key, or fails to format the message)."""
    unknown = sorted(
        f"{where}: {path} uses {sorted(_placeholders(path) - given)}"
        for where, path, given in [*_uses(), *_command_refusals()]
        if given is not None and _has(path) and not _placeholders(path) <= given
    )
    assert unknown == []


def test_issue_texts_are_complete() -> None:
    """Every repair issue has a title and a description (or a fix flow)."""
    issues = _load(STRINGS)["issues"]
    for key, texts in issues.items():
        assert "title" in texts, key
        assert "description" in texts or "fix_flow" in texts, key
