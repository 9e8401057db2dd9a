"""The LuxOS API session: what every command that changes the miner needs as first parameter.

A miner has at most one session at a time; it expires after a minute without use, and a reboot
ends it. LuxOS sessions coordinate writers, they protect nothing: `session` tells anyone the
active id. So when another actor holds the session, its id is borrowed rather than the command
given up, since a curtailment must go through; a borrowed session is never logged off, which
would cut the other actor short. Our own is kept for reuse (the vendor's advice) and left to
expire, or logged off by `logoff()`.
"""

from __future__ import annotations

import asyncio

from .base import MinerAuthError, MinerProtocolError
from .cgminer import CgminerClient, CgminerCommandError, JsonDict
from .luxos_replies import ANOTHER_SESSION_CODE, session_id, status_code


class LuxosSessionBusyError(MinerAuthError):
    """Another actor holds the miner's only session and it could not be shared."""


def is_session_error(err: CgminerCommandError) -> bool:
    """Whether a refused command blames its session id (expired, ended by a reboot, unknown).

    The exact wording is not documented; every such refusal names the session.
    """
    return "session" in err.message.lower()


def _another_session(code: int | None, message: str) -> bool:
    return code == ANOTHER_SESSION_CODE or "another session" in message.lower()


class LuxosSession:
    """Runs privileged commands on one miner, logging on when needed and once more on expiry."""

    def __init__(self, api: CgminerClient) -> None:
        self._api = api
        self._sid: str | None = None
        self._owned = False  # we created it (and may log it off)
        self._lock = asyncio.Lock()  # one logon at a time

    @property
    def session_id(self) -> str | None:
        """The session id in use, if any."""
        return self._sid

    @property
    def borrowed(self) -> bool:
        """The session in use belongs to another actor."""
        return self._sid is not None and not self._owned

    async def ensure(self) -> str:
        """The session id, logging on first if there is none yet."""
        async with self._lock:
            return self._sid if self._sid is not None else await self._logon()

    async def command(self, command: str, *args: str) -> JsonDict:
        """Run `command` with the session id and `args` as its comma-separated parameter."""
        async with self._lock:
            sid = self._sid if self._sid is not None else await self._logon()
            try:
                return await self._api.command(command, ",".join((sid, *args)))
            except CgminerCommandError as err:
                if not is_session_error(err):
                    raise
            # Expired after a minute idle, ended by a reboot, or taken over: once more.
            self._sid = None
            sid = await self._logon()
            return await self._api.command(command, ",".join((sid, *args)))

    async def logoff(self) -> None:
        """End our own session so others can log on at once (a borrowed one is left alone)."""
        async with self._lock:
            sid, owned = self._sid, self._owned
            self._sid = None
            if sid is not None and owned:
                await self._api.command("logoff", sid)

    async def _logon(self) -> str:
        try:
            reply = await self._api.command("logon")
        except CgminerCommandError as err:
            if not _another_session(err.code, err.message):
                raise
            return await self._borrow()
        sid = session_id(reply)
        if sid is None and _another_session(status_code(reply), ""):
            return await self._borrow()
        if sid is None:
            raise MinerProtocolError(f"{self._api.host}: logon returned no session id")
        self._sid, self._owned = sid, True
        return sid

    async def _borrow(self) -> str:
        sid = session_id(await self._api.command("session"))
        if sid is not None:
            self._sid, self._owned = sid, False
            return sid
        # The other session ended between the two calls: it is free now, unless taken again.
        try:
            sid = session_id(await self._api.command("logon"))
        except CgminerCommandError as err:
            if not _another_session(err.code, err.message):
                raise
            sid = None
        if sid is None:
            raise LuxosSessionBusyError(f"{self._api.host}: another session holds the miner")
        self._sid, self._owned = sid, True
        return sid
