"""Recognise Vnish's REST firmware (AnthillOS web UI, S19/S21 class) during discovery.

Two signs, either is enough:
- the cgminer API's `version`/`stats` `Type` (and the REST summary's `miner_type`) reads
  "Antminer <model> (Vnish <version>)", e.g. "Antminer S19j Pro (Vnish 1.2.6)";
- the web root (the UI's single page, no login needed) names "AnthillOS".

The S9's Vnish 3.x ("Antminer S9 (vnish 3.9.0)") is an older firmware family with CGI scripts
and its own driver: it does not match. Versions 3 and up are taken to be that family (the REST
firmware is at 1.2.x); the S9-era boards are refused by name as well.
"""

from __future__ import annotations

from .firmware import MAX_TYPE_CHARS

ANTHILL_MARK = "anthillos"
# The UI's index page is a few kB; the mark is in its title.
MAX_WEB_ROOT_CHARS = 64 * 1024
_FIRST_CGI_MAJOR = 3
# Boards of the Vnish 3.x CGI era (compact, upper case).
_CGI_ERA_MODELS = frozenset({"S9", "S9I", "S9J", "S9K", "S9SE", "T9", "T9+", "L3+", "L3++"})


def is_vnish_rest_type(type_string: str) -> bool:
    """Whether a `Type` string is this firmware's, e.g. "Antminer S19 (Vnish 1.2.6)"."""
    if len(type_string) > MAX_TYPE_CHARS * 4:
        return False
    text = " ".join(type_string.split())
    if len(text) > MAX_TYPE_CHARS or not text.endswith(")"):
        return False
    head, sep, suffix = text[:-1].rpartition("(")
    if not sep or "(" in head or ")" in head:
        return False
    words = head.split()
    if len(words) < 2 or words[0].lower() != "antminer":
        return False
    if "".join(words[1:]).upper() in _CGI_ERA_MODELS:
        return False
    firmware = suffix.split()
    if len(firmware) != 2 or firmware[0].lower() != "vnish":
        return False
    major = firmware[1].partition(".")[0]
    return major.isdigit() and len(major) <= 3 and int(major) < _FIRST_CGI_MAJOR


def is_anthill_web_root(body: str | bytes) -> bool:
    """Whether a web root's page (bounded) is the AnthillOS UI."""
    if isinstance(body, bytes):
        body = body[:MAX_WEB_ROOT_CHARS].decode("utf-8", errors="replace")
    return ANTHILL_MARK in body[:MAX_WEB_ROOT_CHARS].lower()
