"""The bmminer/cgminer TCP API (port 4028) wire format and request handling.

One request per connection; the reply is followed by a NUL byte and the server closes
the socket. Requests starting with `{` are JSON, anything else is text mode
(`command|parameter`). JSON `a+b` runs several report commands and wraps each section in
a list, as cgminer's head_join/tail_join do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .faults import Fault
from .miner import SimulatedMiner
from .reports import MinerReport
from .runtime import Runtime

_LOGGER = logging.getLogger(__name__)

MAX_REQUEST = 65536
READ_TIMEOUT_S = 5.0
CONTINUATION_TIMEOUT_S = 0.2

# Report commands: (section key, STATUS code, message, text-mode item prefix).
# Single-object reports are written `SUMMARY,key=...|` in text mode; list reports carry
# their own index key first (`POOL=0,...|`) and get no prefix.
_REPORTS: dict[str, tuple[str, int, str, str]] = {
    "version": ("VERSION", 22, "CGMiner versions", "VERSION,"),
    "summary": ("SUMMARY", 11, "Summary", "SUMMARY,"),
    "stats": ("STATS", 70, "CGMiner stats", ""),
    "pools": ("POOLS", 7, "{n} Pool(s)", ""),
    "devs": ("DEVS", 9, "{n} ASC(s)", ""),
}
CODE_INVALID_COMMAND = 14
CODE_INVALID_JSON = 23
CODE_MISSING_COMMAND = 24


@dataclass(slots=True)
class ApiReply:
    """Encoded reply plus the side effect to run after it has been sent."""

    body: str
    after: Callable[[], object] | None = None


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _text_item(item: dict[str, Any], prefix: str = "") -> str:
    return prefix + ",".join(f"{k}={_text_value(v)}" for k, v in item.items()) + "|"


class CommandProcessor:
    """Turns one request into the exact bytes the firmware would send."""

    def __init__(self, miner: SimulatedMiner) -> None:
        self.miner = miner

    # ------------------------------------------------------------ encoding helpers

    def _section_json(self, rep: MinerReport, command: str) -> str:
        """`"STATUS":[...],"KEY":[...],"id":1` wrapped in braces for one report."""
        key, code, msg, _prefix = _REPORTS[command]
        items: list[dict[str, Any]] = getattr(rep, command)()
        status = rep.status(code, msg.format(n=len(items)))
        if command == "stats" and self.miner.stats_brace_bug and len(items) > 1:
            # bmminer forgets the comma between STATS[0] and STATS[1]: `}{`.
            inner = _json(items[0]) + "".join(
                ("," if i > 1 else "") + _json(it) for i, it in enumerate(items[1:], 1)
            )
        else:
            inner = ",".join(_json(it) for it in items)
        return f'{{"STATUS":[{_json(status)}],"{key}":[{inner}],"id":1}}'

    def _section_text(self, rep: MinerReport, command: str) -> str:
        _key, code, msg, prefix = _REPORTS[command]
        items: list[dict[str, Any]] = getattr(rep, command)()
        status = rep.status(code, msg.format(n=len(items)))
        return _text_item(status, "") + "".join(_text_item(it, prefix) for it in items)

    @staticmethod
    def _status_only(rep: MinerReport, code: int, msg: str, kind: str, is_json: bool) -> str:
        status = rep.status(code, msg, kind)
        return f'{{"STATUS":[{_json(status)}],"id":1}}' if is_json else _text_item(status)

    # ------------------------------------------------------------ dispatch

    def handle(self, raw: bytes) -> ApiReply:
        """Process one request (already stripped of a trailing NUL)."""
        text = raw.decode("utf-8", "replace").strip().rstrip("\x00")
        rep = MinerReport(self.miner)
        if text.startswith("{"):
            try:
                req = json.loads(text)
            except ValueError:
                return ApiReply(
                    self._status_only(rep, CODE_INVALID_JSON, "Invalid JSON", "E", True)
                )
            if not isinstance(req, dict) or not isinstance(req.get("command"), str):
                return ApiReply(
                    self._status_only(
                        rep, CODE_MISSING_COMMAND, "Missing JSON 'command'", "E", True
                    )
                )
            param = req.get("parameter")
            return self._dispatch(rep, req["command"], None if param is None else str(param), True)
        command, sep, param = text.partition("|")
        return self._dispatch(rep, command, param if sep else None, False)

    def _dispatch(
        self, rep: MinerReport, command: str, param: str | None, is_json: bool
    ) -> ApiReply:
        command = command.strip()
        if is_json and "+" in command:
            return ApiReply(self._multi(rep, command))
        if command in _REPORTS:
            body = self._section_json(rep, command) if is_json else self._section_text(rep, command)
            return ApiReply(body)
        action = self._action(rep, command, param, is_json)
        if action is not None:
            return action
        return ApiReply(
            self._status_only(rep, CODE_INVALID_COMMAND, "Invalid command", "E", is_json)
        )

    def _action(
        self, rep: MinerReport, command: str, param: str | None, is_json: bool
    ) -> ApiReply | None:
        """Privileged commands (Vnish allows them from anywhere with `W:0/0`)."""
        m = self.miner
        if command == "dosleep" and param == "1":
            # Vnish extension (reply text unverified): sleep right after answering.
            return ApiReply(self._status_only(rep, 200, "Sleep mode", "S", is_json), m.sleep)
        if command == "volt" and param is not None and param.strip().isdigit():
            volt = int(param)
            msg = f"Voltage set to {volt}"
            return ApiReply(
                self._status_only(rep, 201, msg, "S", is_json),
                lambda: m.set_live_voltage(volt),
            )
        if command == "quit":
            return ApiReply('{"STATUS":"BYE","id":1}' if is_json else "BYE", m.stop_bmminer)
        if command == "restart":
            body = '{"STATUS":"RESTART","id":1}' if is_json else "RESTART"
            return ApiReply(body, m.restart_bmminer)
        return None

    def _multi(self, rep: MinerReport, command: str) -> str:
        parts: list[str] = []
        seen: list[str] = []
        for cmd in command.split("+"):
            if cmd and cmd not in seen:
                seen.append(cmd)
        for cmd in seen:
            if cmd in _REPORTS:
                section = self._section_json(rep, cmd)
            else:
                section = self._status_only(rep, CODE_INVALID_COMMAND, "Invalid command", "E", True)
            parts.append(f"{_json(cmd)}:[{section}]")
        return "{" + ",".join(parts) + ',"id":1}'


def _request_complete(data: bytes) -> bool:
    """Whether a JSON request has arrived whole (text requests are taken as-is)."""
    text = data.rstrip(b"\x00 \r\n\t")
    if not text.startswith(b"{"):
        return True
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    """Read one request; like cgminer's single recv, but tolerant of split JSON writes."""
    async with asyncio.timeout(READ_TIMEOUT_S):
        data = await reader.read(MAX_REQUEST)
    while data and not _request_complete(data) and len(data) < MAX_REQUEST:
        try:
            async with asyncio.timeout(CONTINUATION_TIMEOUT_S):
                chunk = await reader.read(MAX_REQUEST)
        except TimeoutError:
            break  # malformed JSON: answer with "Invalid JSON" rather than wait
        if not chunk:
            break
        data += chunk
    return data


def apply_reply_faults(miner: Any, payload: bytes) -> bytes:
    """Mangle an encoded reply according to the TRUNCATED and GARBAGE faults."""
    if Fault.GARBAGE in miner.faults:
        return miner.rng.randbytes(max(16, len(payload) // 2))
    if Fault.TRUNCATED in miner.faults:
        return payload[: len(payload) // 2]
    return payload


type Handle = Callable[[bytes], ApiReply]


class ApiServer:
    """Stream handler for one miner's port 4028: one request, one reply, then close. The S9's
    commands unless `handle` answers for another firmware (LuxOS, BOSer, btminer, Vnish)."""

    def __init__(self, miner: Any, runtime: Runtime, handle: Handle | None = None) -> None:
        self.miner = miner
        self.runtime = runtime
        self.handle: Handle = handle if handle is not None else CommandProcessor(miner).handle
        self.requests = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve exactly one request, then close."""
        with self.runtime.track():
            after: Callable[[], object] | None = None
            try:
                after = await self._serve(reader, writer)
            except (TimeoutError, ConnectionError) as err:
                _LOGGER.debug("%s api: %s", self.miner.hostname, err)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            if after is not None:
                after()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Callable[[], object] | None:
        miner = self.miner
        if Fault.OFFLINE in miner.faults and miner.faults.hang:
            await self.runtime.hang()
            return None
        miner.advance_to(miner.clock.now())
        if not miner.wanted_listeners()[0]:
            return None  # raced with the listener closing: drop the connection
        raw = await _read_request(reader)
        if not raw:
            return None
        self.requests += 1
        if Fault.SLOW in miner.faults and not await self.runtime.pause(miner.faults.delay_s):
            return None
        reply = self.handle(raw)
        payload = apply_reply_faults(miner, reply.body.encode() + b"\x00")
        writer.write(payload)
        await writer.drain()
        return reply.after
