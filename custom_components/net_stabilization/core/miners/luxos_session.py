"""The LuxOS API session: what every command that changes the miner needs as first parameter.

A miner has at most one session at a time; it expires after a minute without use, and a reboot
ends it. LuxOS sessions coordinate writers, they protect nothing: `session` tells anyone the
active id. The vendor asks writers to log on when they need to, run their commands and log off
so the next actor can act; a change therefore runs inside `change()`, which logs off a session
it opened once the change is done.

When another actor holds the session, its id is borrowed rather than the command given up,
since a curtailment must go through; a borrowed session is never logged off, which would cut
the other actor short.

The wording and code of a refusal of a stale session id are not documented, so the text of a
refusal decides nothing: a refused command asks `session` whether the id it sent is still the
active one. Only if it is not (expired, ended by a reboot, taken over) is the command sent once
more, on a session of its own. A `logon` refused with code 402 means another session is active
(the vendor's own tooling reads it so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .base import MinerAuthError, MinerError, MinerProtocolError
from .cgminer import CgminerClient, CgminerCommandError, JsonDict
from .luxos_replies import ANOTHER_SESSION_CODE, session_id, status_code

_LOGGER = logging.getLogger(__name__)


class LuxosSessionBusyError(MinerAuthError):
    """Another actor holds the miner's only session and it could not be shared."""


class LuxosSession:
    """Runs privileged commands on one miner, logging on when needed and once more on expiry."""

    def __init__(self, api: CgminerClient) -> None:
        self._api = api
        self._sid: str | None = None
        self._owned = False  # we created it (and may log it off)
        self._lock = asyncio.Lock()  # one logon at a time
        self._changes = 0  # changes under way; the last one to end logs off

    @property
    def session_id(self) -> str | None:
        """The session id in use, if any."""
        return self._sid

    @property
    def borrowed(self) -> bool:
        """The session in use belongs to another actor."""
        return self._sid is not None and not self._owned

    @asynccontextmanager
    async def change(self) -> AsyncIterator[None]:
        """Run one change (one or more commands); log off our own session afterwards."""
        self._changes += 1
        try:
            yield
        finally:
            self._changes -= 1
            if self._changes == 0:
                try:
                    await self.logoff()
                except MinerError as err:
                    # The session expires by itself a minute later.
                    _LOGGER.debug("%s: logoff failed (%s)", self._api.host, err)

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
                if await self._still_active(sid):
                    raise  # the session is fine: the miner refused the command itself
                _LOGGER.debug(
                    "%s: session %s ended (%s): logging on again", self._api.host, sid, err
                )
            self._sid = None
            sid = await self._logon()
            return await self._api.command(command, ",".join((sid, *args)))

    def forget(self) -> None:
        """Drop the session without logging off (a reboot ends it on the miner)."""
        self._sid = None

    async def logoff(self) -> None:
        """End our own session so others can log on at once (a borrowed one is left alone)."""
        async with self._lock:
            sid, owned = self._sid, self._owned
            self._sid = None
            if sid is not None and owned:
                await self._api.command("logoff", sid)

    async def _still_active(self, sid: str) -> bool:
        """Whether `sid` is the miner's active session (True where the miner cannot say)."""
        try:
            active = session_id(await self._api.command("session"))
        except CgminerCommandError:
            return True  # no way to tell: do not repeat a change on a guess
        return active == sid

    async def _logon(self) -> str:
        try:
            reply = await self._api.command("logon")
        except CgminerCommandError as err:
            if err.code != ANOTHER_SESSION_CODE:
                raise
            return await self._borrow()
        sid = session_id(reply)
        if sid is None and status_code(reply) == ANOTHER_SESSION_CODE:
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
            if err.code != ANOTHER_SESSION_CODE:
                raise
            sid = None
        if sid is None:
            raise LuxosSessionBusyError(f"{self._api.host}: another session holds the miner")
        self._sid, self._owned = sid, True
        return sid
