"""Shared shutdown signal and task tracking for all handlers of one fleet."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Runtime:
    """Lets handlers wait (slow replies, hangs) and still end promptly at shutdown."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[object]] = set()

    async def pause(self, seconds: float) -> bool:
        """Wait up to `seconds` real seconds; return False if the fleet is stopping."""
        if self.stopping.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        return not self.stopping.is_set()

    async def hang(self) -> None:
        """Wait until the fleet stops (a daemon that accepted and never answers)."""
        await self.stopping.wait()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Register the current task so shutdown can wait for it."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, grace_s: float = 2.0) -> None:
        """Signal shutdown and wait for tracked handlers; cancel stragglers."""
        self.stopping.set()
        tasks = [t for t in self._tasks if not t.done() and t is not asyncio.current_task()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
