"""Texts and numbers in the user's language: translated action responses, localised figures."""

from __future__ import annotations

import re
from collections.abc import Mapping

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN

# Languages Home Assistant ships that write a decimal comma (the rest use a point).
_DECIMAL_COMMA = frozenset(
    {
        "bg", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fr", "gl", "hr", "hu",
        "id", "it", "lt", "lv", "nb", "nl", "nn", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl",
        "sr", "sr-Latn", "sv", "tr", "uk", "vi",
    }
)  # fmt: skip
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def decimal_comma(language: str) -> bool:
    """Whether `language` writes 2,5 rather than 2.5."""
    return language in _DECIMAL_COMMA or language.partition("-")[0] in _DECIMAL_COMMA


def format_number(value: float, language: str, digits: int = 2) -> str:
    """A figure as the user writes it: `29,20` in German, `29.20` in English."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if decimal_comma(language) else text


def localize_placeholders(values: Mapping[str, str], language: str) -> dict[str, str]:
    """Placeholders with their decimal figures written the user's way (other text unchanged)."""
    if not decimal_comma(language):
        return dict(values)
    return {k: v.replace(".", ",") if _DECIMAL.match(v) else v for k, v in values.items()}


async def async_texts(hass: HomeAssistant, category: str) -> dict[str, str]:
    """This integration's translations of `category` in the system language, by full key."""
    return await async_get_translations(hass, hass.config.language, category, {DOMAIN})


async def async_option_label(hass: HomeAssistant, selector: str, value: str) -> str:
    """The user's-language label of option `value` of `selector.<selector>` (the value itself
    when there is none), for placeholders that would otherwise show a code."""
    texts = await async_texts(hass, "selector")
    return texts.get(f"component.{DOMAIN}.selector.{selector}.options.{value}", value)


async def async_message(
    hass: HomeAssistant, key: str, placeholders: Mapping[str, str] | None = None
) -> str:
    """The translated message `exceptions.<key>` with its placeholders filled in."""
    texts = await async_texts(hass, "exceptions")
    template = texts.get(f"component.{DOMAIN}.exceptions.{key}.message", key)
    values = localize_placeholders(placeholders or {}, hass.config.language)
    try:
        return template.format(**values)
    except KeyError, IndexError, ValueError:
        return template
