"""Benchmark helper installed only into the benchmark's Home Assistant: event-loop stalls and
state writes, read over HTTP. Not part of the integration."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import gc
import os
import sys
import threading
import time
import traceback
import tracemalloc
from typing import Any

from aiohttp import web
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.typing import ConfigType

DOMAIN = "loop_monitor"
TICK_S = 0.005
SAMPLE_S = 0.01
STALL_S = 0.04
STACK_DEPTH = 14
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Monitor:
    """Wakes every few milliseconds and records how late it woke: the loop's stalls."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self.stalls_over_50ms = 0
        self.state_writes = 0
        self.since = time.monotonic()
        self.last_tick = time.monotonic()
        # Stacks of the loop's thread sampled while it stalls: each sample is ~10 ms blocked.
        self.stall_stacks: collections.Counter[tuple[str, ...]] = collections.Counter()
        self.loop_thread = threading.get_ident()
        self.stopped = threading.Event()
        # The longest stall's CPU use per thread, and how late the sampler itself woke: a stall
        # the sampler could not see (it was late too) is the GIL held elsewhere or no CPU.
        self.worst_stall: dict[str, Any] = {}
        self.sampler_late_s = 0.0
        # Garbage collections: the longest per generation (they hold the GIL throughout).
        self.gc_worst_s: dict[int, float] = {}
        self.gc_counts: dict[int, int] = {}
        self.gc_total_s = 0.0
        self.gc_total_at_reset_s = 0.0
        # When collections ran and when the loop stalled, to tell the stalls apart.
        self.gc_spans: collections.deque[tuple[float, float]] = collections.deque(maxlen=2000)
        self.worst_ex_gc_s = 0.0
        self.gc_count = 0
        self._gc_started = 0.0
        self.profiler: IterationProfiler | None = None

    def reset(self) -> None:
        self.worst_s = 0.0
        self.stalls_over_50ms = 0
        self.state_writes = 0
        self.since = time.monotonic()
        self.stall_stacks.clear()
        self.worst_stall = {}
        self.sampler_late_s = 0.0
        self.gc_worst_s = {}
        self.gc_counts = {}
        # Never reset: a loop pass that spans a reset subtracts the collections inside it.
        self.gc_total_at_reset_s = self.gc_total_s
        self.worst_ex_gc_s = 0.0
        self.gc_count = 0
        if self.profiler is not None:
            self.profiler.long_passes.clear()

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_started
        if took > 0.002:
            end = time.monotonic()
            self.gc_spans.append((end - took, end))
        generation = int(info.get("generation", -1))
        self.gc_worst_s[generation] = max(self.gc_worst_s.get(generation, 0.0), took)
        self.gc_counts[generation] = self.gc_counts.get(generation, 0) + 1
        self.gc_total_s += took
        self.gc_count += 1

    def sample(self) -> None:
        """Sampler thread: while the loop has not ticked for STALL_S, record its stack."""
        stall_cpu: dict[str, float] | None = None
        stall_tick = 0.0
        while True:
            before = time.monotonic()
            if self.stopped.wait(SAMPLE_S):
                return
            self.sampler_late_s = max(self.sampler_late_s, time.monotonic() - before - SAMPLE_S)
            if stall_cpu is not None and self.last_tick != stall_tick:
                # The stall is over: whose CPU did it use?
                length = self.last_tick - stall_tick
                if length > self.worst_stall.get("length_ms", 0) / 1000:
                    after = _thread_cpu()
                    self.worst_stall = {
                        "length_ms": round(length * 1000, 1),
                        "cpu_ms_by_thread": {
                            name: round((after[name] - stall_cpu.get(name, 0.0)) * 1000)
                            for name in after
                            if after[name] - stall_cpu.get(name, 0.0) > 0
                        },
                        "process_cpu_ms": round(
                            (sum(after.values()) - sum(stall_cpu.values())) * 1000
                        ),
                    }
                stall_cpu = None
            if time.monotonic() - self.last_tick < STALL_S:
                continue
            if stall_cpu is None:
                stall_cpu = _thread_cpu()
                stall_tick = self.last_tick
            frame = sys._current_frames().get(self.loop_thread)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)[-STACK_DEPTH:]
            key = tuple(
                f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.lineno} {f.name}" for f in stack
            )
            self.stall_stacks[key] += 1

    async def run(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            late = now - before - TICK_S
            self.worst_s = max(self.worst_s, late)
            if late > self.worst_ex_gc_s:
                # The same stall without the collections (in any thread) that overlapped it.
                in_gc = sum(
                    max(0.0, min(end, now) - max(start, before)) for start, end in self.gc_spans
                )
                self.worst_ex_gc_s = max(self.worst_ex_gc_s, late - in_gc)
            if late > 0.05:
                self.stalls_over_50ms += 1

    def report(self) -> dict[str, Any]:
        return {
            "max_stall_ms": round(self.worst_s * 1000, 1),
            "stalls_over_50ms": self.stalls_over_50ms,
            "state_writes": self.state_writes,
            "seconds": round(time.monotonic() - self.since, 2),
            "sampler_late_ms": round(self.sampler_late_s * 1000, 1),
            "worst_stall": self.worst_stall,
            "gc_worst_ms": {g: round(t * 1000, 1) for g, t in sorted(self.gc_worst_s.items())},
            "gc_total_ms": round((self.gc_total_s - self.gc_total_at_reset_s) * 1000, 1),
            "gc_count": self.gc_count,
            "gc_counts": {g: n for g, n in sorted(self.gc_counts.items())},
            "max_stall_ex_gc_ms": round(self.worst_ex_gc_s * 1000, 1),
            "long_passes": self.profiler.report() if self.profiler else [],
            "stall_stacks": [
                {"samples": n, "stack": list(stack)}
                for stack, n in self.stall_stacks.most_common(8)
            ],
        }


class IterationProfiler:
    """Times each pass of the event loop and, inside long passes, each callback by name: a
    stall is either one slow callback or a pass with thousands of quick ones."""

    def __init__(self, loop: asyncio.AbstractEventLoop, monitor: Monitor) -> None:
        self.long_passes: list[dict[str, Any]] = []

        self._times: collections.Counter[str] = collections.Counter()
        self._counts: collections.Counter[str] = collections.Counter()
        run_once = loop._run_once  # type: ignore[attr-defined]
        handle_run = asyncio.events.Handle._run
        profiler = self

        def timed_pass() -> None:
            profiler._times.clear()
            profiler._counts.clear()
            started = time.perf_counter()
            gc_before = monitor.gc_total_s
            run_once()
            took = time.perf_counter() - started
            if took > 0.05:
                profiler.long_passes.append(
                    {
                        "ms": round(took * 1000, 1),
                        "gc_ms": round((monitor.gc_total_s - gc_before) * 1000, 1),
                        "callbacks": sum(profiler._counts.values()),
                        "by_callback": [
                            [name, round(t * 1000, 1), profiler._counts[name]]
                            for name, t in profiler._times.most_common(6)
                        ],
                    }
                )
                del profiler.long_passes[:-50]

        def timed_handle(handle: asyncio.events.Handle) -> None:
            started = time.perf_counter()
            handle_run(handle)
            cb = handle._callback  # type: ignore[attr-defined]
            task = getattr(cb, "__self__", None)
            if isinstance(task, asyncio.Task):
                coro = task.get_coro()
                name = getattr(coro, "__qualname__", repr(coro))
            else:
                name = getattr(cb, "__qualname__", repr(cb))
            profiler._times[name] += time.perf_counter() - started
            profiler._counts[name] += 1

        loop._run_once = timed_pass  # type: ignore[attr-defined]
        asyncio.events.Handle._run = timed_handle  # type: ignore[method-assign]

    def report(self) -> list[dict[str, Any]]:
        return sorted(self.long_passes, key=lambda p: -p["ms"])[:8]


class HeapView(HomeAssistantView):
    """GET: a full collection's duration and the heap's object count by type (slow)."""

    url = "/api/loop_monitor/heap"
    name = "api:loop_monitor:heap"

    def __init__(self) -> None:
        self.first: tracemalloc.Snapshot | None = None

    async def get(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        gc.collect()
        full_gc_ms = (time.perf_counter() - started) * 1000
        objects = gc.get_objects()
        by_type = collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in objects
        )
        rss_mb = _rss_mb()
        trimmed_mb = rss_mb
        with contextlib.suppress(OSError, AttributeError):
            # Memory glibc holds on to after transient peaks, given back to the system.
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            trimmed_mb = _rss_mb()
        report = {
            "rss_mb": round(rss_mb, 1),
            "rss_after_malloc_trim_mb": round(trimmed_mb, 1),
            "full_gc_ms": round(full_gc_ms, 1),
            "tracked_objects": len(objects),
            "by_type": by_type.most_common(40),
        }
        del objects
        if tracemalloc.is_tracing():
            # The first call is the baseline; later ones list what grew since, by file.
            snapshot = tracemalloc.take_snapshot()
            if self.first is None:
                self.first = snapshot
            else:
                grown = snapshot.compare_to(self.first, "filename")
                report["grown_mb"] = round(sum(s.size_diff for s in grown) / 2**20, 1)
                report["grown_in_integration_mb"] = round(
                    sum(s.size_diff for s in grown if "/net_stabilization/" in str(s.traceback))
                    / 2**20,
                    1,
                )
                report["grown_by_file"] = [
                    [str(stat.traceback), round(stat.size_diff / 2**20, 2), stat.count_diff]
                    for stat in grown[:40]
                ]
        return self.json(report)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each of this process's threads, by name (the loop's is "loop")."""
    seconds: dict[str, float] = {}
    me = str(os.getpid())
    for task in os.scandir("/proc/self/task"):
        try:
            with open(f"{task.path}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"{task.path}/comm") as f:
                name = "loop" if task.name == me else f.read().strip()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        seconds[name] = seconds.get(name, 0.0) + cpu
    return seconds


class MonitorView(HomeAssistantView):
    url = "/api/loop_monitor"
    name = "api:loop_monitor"

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    async def get(self, request: web.Request) -> web.Response:
        return self.json(self.monitor.report())

    async def post(self, request: web.Request) -> web.Response:
        report = self.monitor.report()
        self.monitor.reset()
        return self.json(report)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    monitor = Monitor()

    @callback
    def count(event: Event) -> None:
        monitor.state_writes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, count)
    task = hass.async_create_background_task(monitor.run(), "loop monitor")
    gc.callbacks.append(monitor.on_gc)
    monitor.profiler = IterationProfiler(hass.loop, monitor)
    threading.Thread(target=monitor.sample, name="stall sampler", daemon=True).start()

    async def stop(event: Event) -> None:
        monitor.stopped.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, stop)
    hass.http.register_view(MonitorView(monitor))
    hass.http.register_view(HeapView())
    return True
