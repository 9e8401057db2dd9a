"""OpenADR 3 time values: RFC 3339 date-times and ISO 8601 durations, as seconds.

Conventions of the specification this follows: a start of `0001-01-01` means "now" (the moment
the VEN first saw the object), a duration of `P9999Y` means "for ever". Years and months have no
fixed length in ISO 8601; a year counts 365 days and a month 30 here (the User Guide advises
against months for this reason). Everything is parsed from strings of bounded length with one
regular expression without nested repetition, so a hostile value costs linear time.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

FOREVER = math.inf
_MAX_TEXT = 64  # a date-time or duration longer than this is not one

_DURATION = re.compile(
    r"(?P<sign>-)?P"
    r"(?:(?P<y>\d{1,5})Y)?(?:(?P<mo>\d{1,5})M)?(?:(?P<w>\d{1,6})W)?(?:(?P<d>\d{1,7})D)?"
    r"(?:T(?:(?P<h>\d{1,8})H)?(?:(?P<mi>\d{1,9})M)?(?:(?P<s>\d{1,11}(?:\.\d{1,9})?)S)?)?"
)
_SECONDS = {"y": 365 * 86400.0, "mo": 30 * 86400.0, "w": 7 * 86400.0, "d": 86400.0}
_TIME_SECONDS = {"h": 3600.0, "mi": 60.0, "s": 1.0}


class TimingError(ValueError):
    """A date-time or duration that is not one."""


def parse_duration(text: object) -> float:
    """Seconds of an ISO 8601 duration (`PT15M` → 900); `P9999Y` is `FOREVER`."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise TimingError(f"not a duration: {str(text)[:40]!r}")
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "-P") or text.endswith("T"):
        raise TimingError(f"not a duration: {text!r}")
    parts = match.groupdict()
    if parts["y"] is not None and int(parts["y"]) >= 9999:
        return FOREVER
    seconds = 0.0
    for key, unit in (*_SECONDS.items(), *_TIME_SECONDS.items()):
        if parts[key] is not None:
            seconds += float(parts[key]) * unit
    return -seconds if parts["sign"] else seconds


def format_duration(seconds: float) -> str:
    """An ISO 8601 duration for a number of seconds (`FOREVER` → `P9999Y`)."""
    if math.isinf(seconds):
        return "P9999Y"
    sign = "-" if seconds < 0 else ""
    whole = round(abs(seconds), 3)
    if whole == int(whole):
        return f"{sign}PT{int(whole)}S"
    return f"{sign}PT{whole:g}S"


def parse_datetime(text: object) -> float | None:
    """Unix seconds of an RFC 3339 date-time; None for the "now" marker `0001-01-01`."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise TimingError(f"not a date-time: {str(text)[:40]!r}")
    if text.startswith("0001-01-01"):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as err:
        raise TimingError(f"not a date-time: {text!r}") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the specification's examples are UTC
    return moment.timestamp()


def format_datetime(seconds: float) -> str:
    """An RFC 3339 UTC date-time for Unix seconds, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
