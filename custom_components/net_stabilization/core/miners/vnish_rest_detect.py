"""Recognise Vnish's REST firmware (AnthillOS web UI, S19/S21 class) during discovery.

Two signs:
- the cgminer API's `version`/`stats` `Type` (and the REST summary's `miner_type`) reads
  "Antminer <model> (Vnish <version>)", e.g. "Antminer S19j Pro (Vnish 1.2.6)", or on NOPIC
  boards "Antminer S19(88) (Vnish 1.2.6)" (pyasic reads the suffix from `stats` and knows these);
- the web root (the UI's single page, no login needed) names "AnthillOS".
Either sign only makes it a candidate: discovery confirms it by the firmware's public
`/api/v1/info` (`fingerprint`) before the fleet's password goes out.

The S9's Vnish 3.x ("Antminer S9 (vnish 3.9.0)") is an older firmware family with CGI scripts
and its own driver: it does not match. Versions 3 and up are taken to be that family (the REST
firmware is at 1.2.x); the S9-era boards are refused by name as well.
"""

from __future__ import annotations

from .firmware import split_vnish_rest_type

ANTHILL_MARK = "anthillos"
# The UI's index page is a few kB; the mark is in its title.
MAX_WEB_ROOT_CHARS = 64 * 1024


def is_vnish_rest_type(type_string: str) -> bool:
    """Whether a `Type` string is this firmware's, e.g. "Antminer S19 (Vnish 1.2.6)" or a
    NOPIC board's "Antminer S19(88) (Vnish 1.2.6)"."""
    return split_vnish_rest_type(type_string) is not None


def is_anthill_web_root(body: str | bytes) -> bool:
    """Whether a web root's page (bounded) is the AnthillOS UI."""
    if isinstance(body, bytes):
        body = body[:MAX_WEB_ROOT_CHARS].decode("utf-8", errors="replace")
    return ANTHILL_MARK in body[:MAX_WEB_ROOT_CHARS].lower()
