"""Make text a device sent safe to keep, store and show.

Whatever a miner calls itself (host name, model, firmware, an error it reports) ends up in
entity names, the device registry, the recorder, the fleet database and JSON replies. One lone
surrogate (`"\\ud800"`, which a JSON reply may carry as an escape) cannot be encoded as UTF-8 and
breaks every one of them; control characters and bidirectional overrides make a name lie on
screen or in a terminal. So each such string is cleaned once, where it enters the core: only
valid, printable Unicode, no control, format (bidi) or private characters, whitespace folded to
single spaces, and a bounded length.
"""

from __future__ import annotations

import unicodedata
from typing import Final

MAX_NAME_CHARS: Final = 100  # a host name, model or firmware name (real ones: about 30)
MAX_MESSAGE_CHARS: Final = 240  # an error or status text
# Categories dropped: control, format (bidi marks, zero-width), surrogate, private use,
# unassigned. Line and paragraph separators become spaces.
_DROPPED: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACES: Final = frozenset({"Zl", "Zp", "Zs"})


def device_text(value: object, limit: int = MAX_NAME_CHARS) -> str:
    """`value` as safe text of at most `limit` characters; "" for anything not a string.

    Linear in `limit`, not in the input: only the first `4 * limit` characters are looked at.
    """
    if not isinstance(value, str):
        return ""
    head = value[: limit * 4]
    if head.isascii() and head.isprintable():  # the usual case: nothing to drop
        return " ".join(head.split())[:limit]
    kept: list[str] = []
    for char in _without_escapes(head):
        if char in "\t\n\r\v\f":
            kept.append(" ")
            continue
        category = unicodedata.category(char)
        if category in _SPACES:
            kept.append(" ")
        elif category not in _DROPPED:
            kept.append(char)
    return " ".join("".join(kept).split())[:limit]


def _without_escapes(text: str) -> str:
    """`text` without terminal escape sequences (ESC [ ... final letter), whose remains would
    still read as part of a name once the ESC itself is dropped."""
    if "\x1b" not in text:
        return text
    out: list[str] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        i += 1
        if char != "\x1b":
            out.append(char)
            continue
        if i < end and text[i] == "[":
            i += 1
            while i < end and not "@" <= text[i] <= "~":  # parameters up to the final byte
                i += 1
        i += 1  # the final byte (or the one character after a lone ESC)
    return "".join(out)


def device_name(value: object, limit: int = MAX_NAME_CHARS) -> str | None:
    """Like `device_text`, but None where nothing usable is left (an optional name)."""
    return device_text(value, limit) or None


def is_safe_text(value: str) -> bool:
    """Whether `value` is already what `device_text` makes of it (at any length)."""
    return device_text(value, max(len(value), 1)) == value
