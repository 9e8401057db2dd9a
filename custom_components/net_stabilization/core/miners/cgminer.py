"""The cgminer/bmminer JSON API on TCP 4028: one request per connection, tolerant parsing.

The firmware closes the socket after each reply and terminates the reply with a NUL byte. Replies
from bmminer and Vnish are often not valid JSON; `parse_reply` repairs the known bugs and reports
anything else as `MinerProtocolError`.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

from .base import MinerProtocolError
from .endpoint import DEFAULT_API_PORT
from .tcp_exchange import tcp_exchange

type JsonDict = dict[str, Any]

MAX_REPLY_BYTES = 1 << 20  # an S9 `stats` reply is about 5 kB; anything near 1 MiB is not a miner
_CHUNK = 65536

# Repairs for bugs seen in real bmminer/Vnish replies, applied only when strict parsing fails.
_MISSING_COMMA = re.compile(r"\}\s*\{")  # STATS[0] and STATS[1] glued together: `}{`
_LEADING_COMMA = re.compile(r"\[\s*,")  # `[,{`
_TRAILING_COMMA = re.compile(r",\s*([}\]])")  # `,}` and `,]`
# Anchored on the preceding delimiter rather than a look-behind: several times faster on 5 kB.
_NON_FINITE = re.compile(r"([:\[,]\s*)[-+]?(?:inf(?:inity)?|nan)(?=\s*[,}\]])", re.IGNORECASE)


class CgminerCommandError(MinerProtocolError):
    """The API understood the request and refused it (STATUS E/F), e.g. an unknown command."""

    def __init__(self, command: str, code: int | None, message: str) -> None:
        super().__init__(f"{command}: {message or 'error'} (code {code})")
        self.command = command
        self.code = code
        self.message = message


def parse_reply(raw: bytes) -> JsonDict:
    """Decode one API reply into a dict, repairing the firmware's known JSON bugs."""
    text = raw.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()
    if not text:
        raise MinerProtocolError("empty reply")
    try:
        if "}{" in text:
            # bmminer's STATS bug is in nearly every S9 stats reply: skip the doomed strict parse.
            data = _loads_repaired(text)
        else:
            try:
                data = json.loads(text, strict=False)
            except ValueError:
                data = _loads_repaired(text)
    except RecursionError:
        # Nesting deeper than the parser's stack: no miner answers like that.
        raise MinerProtocolError("reply nests too deeply") from None
    if not isinstance(data, dict):
        raise MinerProtocolError(f"reply is a JSON {type(data).__name__}, not an object")
    return data


def _loads_repaired(text: str) -> Any:
    repaired = _MISSING_COMMA.sub("},{", text)
    repaired = _LEADING_COMMA.sub("[", repaired)
    repaired = _TRAILING_COMMA.sub(r"\1", repaired)
    lowered = repaired.lower()
    if "inf" in lowered or "nan" in lowered:
        repaired = _NON_FINITE.sub(r"\1null", repaired)
    try:
        return json.loads(repaired, strict=False)
    except ValueError as err:
        # Truncated or plain garbage: never guess the missing part.
        raise MinerProtocolError(f"reply is not JSON ({err}): {text[:80]!r}") from None


def check_status(reply: JsonDict, command: str) -> None:
    """Raise `CgminerCommandError` if the reply's STATUS says the command failed."""
    status = reply.get("STATUS")
    if isinstance(status, list) and status and isinstance(status[0], dict):
        entry: JsonDict = status[0]
        if entry.get("STATUS") in ("E", "F"):
            code = entry.get("Code")
            raise CgminerCommandError(
                command, code if isinstance(code, int) else None, str(entry.get("Msg", ""))
            )


def number(value: Any) -> float | None:
    """A finite number from a JSON value that may be a number, a numeric string or junk."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:  # an integer beyond any float
            return None
    elif isinstance(value, str):
        if len(value) > 64:
            return None
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


class CgminerClient:
    """Talks to one miner's API. Every call opens and closes its own connection."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_API_PORT,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_reply_bytes = max_reply_bytes

    async def command(self, command: str, parameter: str | None = None) -> JsonDict:
        """Run one command and return its checked reply."""
        request: JsonDict = {"command": command}
        if parameter is not None:
            request["parameter"] = parameter
        reply = parse_reply(await self.exchange(json.dumps(request).encode()))
        check_status(reply, command)
        return reply

    async def multi_command(self, *commands: str) -> dict[str, JsonDict]:
        """Run several parameterless report commands over one connection (`summary+stats`).

        Raises `CgminerCommandError` when the firmware does not understand the joined form, so
        the caller can fall back to one connection per command.
        """
        joined = "+".join(commands)
        reply = parse_reply(await self.exchange(json.dumps({"command": joined}).encode()))
        sections: dict[str, JsonDict] = {}
        for name in commands:
            section = reply.get(name)
            # api.c wraps every section in a list; accept a bare object too.
            if isinstance(section, list) and section and isinstance(section[0], dict):
                section = section[0]
            if not isinstance(section, dict):
                check_status(reply, joined)
                raise CgminerCommandError(joined, None, f"no '{name}' section in the reply")
            check_status(section, name)
            sections[name] = section
        return sections

    async def exchange(self, request: bytes) -> bytes:
        """Send one request and return the raw reply (read until NUL or end of stream)."""
        return await tcp_exchange(
            self.host,
            self.port,
            request,
            self._read_reply,
            connect_timeout_s=self.connect_timeout_s,
            read_timeout_s=self.read_timeout_s,
        )

    async def _read_reply(self, reader: asyncio.StreamReader) -> bytes:
        buffer = bytearray()
        while True:
            chunk = await reader.read(_CHUNK)
            if not chunk:
                return bytes(buffer)
            buffer += chunk
            if b"\0" in chunk:
                # The reply is complete; no need to wait for the close.
                return bytes(buffer)
            if len(buffer) > self.max_reply_bytes:
                raise MinerProtocolError(
                    f"{self.host}:{self.port}: reply larger than {self.max_reply_bytes} B"
                )
