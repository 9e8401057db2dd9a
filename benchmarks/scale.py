#!/usr/bin/env python3
"""Scale benchmark: a real Home Assistant with the integration against 1,000 simulated S9.

Run through the dispatcher (PYTHONPATH and the open-file limit are set there):

    scripts/bench scale [--miners 1000] [--runs 3] [--polls 6] [--status-requests 1000]

Each run starts from scratch in `.bench/scale/` (git-ignored):

1. the simulator (`python -m simulator`, miners asleep, time scale 10 so a wake takes ~15 s) on
   one loopback address per miner (`127.0.4.0/22` by default), API 4028, web 8080;
2. Home Assistant 2026.11 from the demo's virtualenv (`scripts/demo --venv-only` creates or
   reuses it) on a free port with its own configuration folder: the demo's lean integrations
   plus the recorder, the benchmark-only `loop_monitor` component (event-loop stalls and state
   writes) and debug logging of the coordinator ("Finished fetching ... in X seconds");
3. provisioning as in the demo (onboarding, long-lived token); Home Assistant's RSS is read
   *before* the config entry exists, then the entry is created over the config flow and, once
   the fleet is polling steadily, the RSS is read again: the difference is the integration's
   memory (code, 1,000 drivers, ~12,000 entity registry entries and ~9,000 states);
4. measurements, in this order:
   - quiet polls: poll wall time (coordinator log), CPU of the Home Assistant process per poll
     (/proc/<pid>/stat), state writes per poll and the longest loop stall (loop_monitor);
   - EMS status latency: sequential GET /api/status with the token from a separate process
     (http.client, one keep-alive connection) while the fleet keeps polling;
   - full-fleet activation (the rated power from /api/status): response time, the time until
     the simulator has seen a wake on every miner (admin endpoint: no miner still asleep),
     and the longest loop stall from the request until two seconds after that;
   - when the fleet mines: deactivation, likewise until every miner sleeps.

Stalls are explained, not just measured: loop_monitor also records the garbage collector
(longest collection per phase, full collections; a full one walks Home Assistant's whole heap
while holding the GIL), the longest stall with the overlapping collections taken out (what the
code on the loop costs by itself), the callbacks inside every pass over 50 ms and the loop's
stack while it stalls (`.bench/scale/logs/stalls-*.json`), and, before and after the
integration, the tracked objects by type, a full collection's duration and the RSS once glibc
has returned what it kept from transient peaks (`heap-*.json`; with `--tracemalloc` also the
memory by source file).

Progress goes to stderr; the last stdout line is one JSON document with every run's figures,
the medians over the runs and whether each target is met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import aiohttp

from demo.provision import Provisioner

ROOT = Path(__file__).resolve().parent.parent

DEMO_VENV = ROOT / ".demo" / "venv"
BENCH = ROOT / ".bench" / "scale"
DOMAIN = "net_stabilization"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
POLL_LINE = re.compile(
    r"Finished fetching net_stabilization data in ([0-9.]+) seconds \(success: (\w+)\)"
)
TARGETS = {
    "poll_cycle_s": 2.0,
    "status_p99_ms": 50.0,
    "activate_response_ms": 200.0,
    "deactivate_response_ms": 200.0,
    "activate_all_sent_s": 2.0,
    "deactivate_all_sent_s": 2.0,
    "max_stall_polling_ms": 100.0,
    "max_stall_activate_ms": 100.0,
    "max_stall_deactivate_ms": 100.0,
    "rss_overhead_mb": 150.0,
}

# The status client: its own process, so that its work never competes with the measurement
# inside Home Assistant's event loop (only for the CPU, which the machine shares anyway).
STATUS_CLIENT = textwrap.dedent(
    """
    import http.client, json, sys, time
    host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    count, gap = int(sys.argv[4]), float(sys.argv[5])
    headers = {"Authorization": "Bearer " + token}
    conn = http.client.HTTPConnection(host, port, timeout=30)
    lat, errors = [], 0
    for _ in range(count):
        t0 = time.perf_counter()
        conn.request("GET", "/api/status", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        lat.append(time.perf_counter() - t0)
        if resp.status != 200 or b"ratedPowerInKw" not in body:
            errors += 1
        if gap:
            time.sleep(gap)
    print(json.dumps({"latencies_s": lat, "errors": errors}))
    """
)


def log(message: str) -> None:
    """Progress to stderr."""
    print(f"bench scale: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread: the event loop's ("main", the process's own id) and the others
    by name (the recorder's thread is "Recorder")."""
    seconds: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "main" if task.name == str(pid) else comm
        seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return seconds


def rss_mb(pid: int) -> float:
    """Resident set size in MiB."""
    resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident * PAGE_SIZE / 2**20


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def configuration_yaml() -> str:
    """The benchmark's Home Assistant configuration (the demo's, minus dashboards)."""
    return textwrap.dedent(
        """\
        # Generated by the scale benchmark on every run.
        homeassistant:
          name: Net Stabilization scale benchmark
          unit_system: metric
          time_zone: UTC
          country: DE
          currency: EUR
          latitude: 52.52
          longitude: 13.40
          elevation: 34
        frontend:
        config:
        history:
        logbook:
        recorder:
          purge_keep_days: 1
        ffmpeg:
          ffmpeg_bin: /bin/true
        loop_monitor:
        logger:
          default: warning
          logs:
            custom_components.net_stabilization: debug
            custom_components.net_stabilization.core: info
            homeassistant.components.http.ban: warning
            homeassistant.components.camera.img_util: critical
        """
    )


class Run:
    """One run: simulator, Home Assistant, provisioning, measurements, teardown."""

    def __init__(self, args: argparse.Namespace, index: int) -> None:
        self.args = args
        self.index = index
        self.dir = BENCH
        self.config = self.dir / "config"
        self.logs = self.dir / "logs"
        self.stall_reports = 0
        self.ha_port = free_port()
        self.admin_port = free_port()
        self.url = f"http://127.0.0.1:{self.ha_port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}/"
        self.sim: subprocess.Popen[bytes] | None = None
        self.ha: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.log_offset = 0
        self.session: aiohttp.ClientSession | None = None
        self.result: dict[str, Any] = {"run": index}

    # -- set-up ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """A fresh configuration folder."""
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.config / "custom_components").mkdir(parents=True)
        self.logs.mkdir(parents=True)
        components = self.config / "custom_components"
        (components / DOMAIN).symlink_to(ROOT / "custom_components" / DOMAIN)
        (components / "loop_monitor").symlink_to(ROOT / "benchmarks" / "loop_monitor")
        (self.config / "configuration.yaml").write_text(configuration_yaml())
        subprocess.run(
            [
                str(DEMO_VENV / "bin" / "python"),
                "-m",
                "demo.http_store",
                str(self.config),
                str(self.ha_port),
                "127.0.0.1",
            ],
            check=True,
        )

    def start_simulator(self) -> None:
        """Start the simulated fleet and wait for READY."""
        args = self.args
        out = (self.logs / "simulator.log").open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator",
                "--count",
                str(args.miners),
                "--network",
                args.network,
                "--api-port",
                "4028",
                "--web-port",
                "8080",
                "--admin-port",
                str(self.admin_port),
                "--time-scale",
                str(args.time_scale),
                "--initial-state",
                "sleeping",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = (self.logs / "simulator.log").read_text(errors="replace")
            if "READY" in text:
                log(text.strip().splitlines()[-1])
                return
            if self.sim.poll() is not None:
                raise RuntimeError(f"the simulator exited: {text[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError("the simulator is not ready after 120 s")

    def start_ha(self) -> None:
        """Start Home Assistant from the demo's virtualenv."""
        out = (self.logs / "hass.console.log").open("wb")
        # Without the dispatcher's PYTHONPATH: with the repository on the path, the package
        # `custom_components` would be the repository's, and loop_monitor would not be found.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if self.args.tracemalloc:
            env["PYTHONTRACEMALLOC"] = "1"  # heap-with.json then lists allocations by file
        self.ha = subprocess.Popen(
            [str(DEMO_VENV / "bin" / "hass"), "--config", str(self.config), "--skip-pip"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            env=env,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop Home Assistant, then the simulator."""
        for proc, grace in ((self.ha, 60), (self.sim, 20)):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                log(f"process {proc.pid} did not stop; killing it")
                proc.kill()
                proc.wait()

    @property
    def ha_pid(self) -> int:
        assert self.ha is not None
        return self.ha.pid

    # -- helpers --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get_json(self, path: str) -> Any:
        assert self.session is not None
        async with self.session.get(f"{self.url}{path}", headers=self._headers()) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def monitor(self, reset: bool = False) -> dict[str, Any]:
        """loop_monitor's report (POST also resets it)."""
        assert self.session is not None
        method = "POST" if reset else "GET"
        async with self.session.request(
            method, f"{self.url}/api/loop_monitor", headers=self._headers()
        ) as resp:
            resp.raise_for_status()
            report = dict(await resp.json())
        # Where the loop stood while it stalled: kept in the logs, not in the figures.
        stacks = report.pop("stall_stacks", [])
        passes = report.pop("long_passes", [])
        if (stacks or passes) and not reset:
            self.stall_reports += 1
            out = self.logs / f"stalls-{self.stall_reports}.json"
            out.write_text(json.dumps({"long_passes": passes, "stacks": stacks}, indent=1))
            log(f"stall stacks: {out}")
        return report

    async def heap(self, phase: str) -> None:
        """A full garbage collection's duration and the tracked objects: the collector holds the
        GIL throughout, so its full passes are the event loop's longest stalls."""
        report = await self.get_json("/api/loop_monitor/heap")
        (self.logs / f"heap-{phase}.json").write_text(json.dumps(report, indent=1))
        self.result[f"full_gc_ms_{phase}"] = report["full_gc_ms"]
        self.result[f"tracked_objects_{phase}"] = report["tracked_objects"]
        self.result[f"rss_mb_{phase}_trimmed"] = report.get("rss_after_malloc_trim_mb")
        if phase == "with" and self.result.get("rss_mb_without_trimmed") is not None:
            # The same difference once glibc has returned what it kept from transient peaks.
            self.result["rss_overhead_trimmed_mb"] = round(
                report["rss_after_malloc_trim_mb"] - self.result["rss_mb_without_trimmed"], 1
            )
        log(f"heap {phase}: {report['tracked_objects']} objects, full GC {report['full_gc_ms']} ms")

    async def admin_states(self) -> dict[str, int]:
        """The simulator's ground truth: how many miners are in each machine state. Asked of
        the counts-only endpoint: polled every 20 ms while miners are told, the full index
        would cost the simulator about as much as the miners' own replies."""
        assert self.session is not None
        for attempt in range(10):
            try:
                async with self.session.get(f"{self.admin_url}machine-states") as resp:
                    data = await resp.json()
                break
            except aiohttp.ClientError as err:
                if attempt == 9:
                    raise
                log(f"simulator admin: {err}; again")
                await asyncio.sleep(0.2)
        counts: dict[str, int] = data["machine_states"]
        return counts

    def poll_times(self) -> list[float]:
        """Poll durations logged since the last call."""
        path = self.config / "home-assistant.log"
        if not path.exists():
            return []
        with path.open("rb") as f:
            f.seek(self.log_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.log_offset += end
        return [
            float(m.group(1))
            for m in POLL_LINE.finditer(data[:end].decode(errors="replace"))
            if m.group(2) == "True"
        ]

    async def wait_polls(self, count: int, limit_s: float) -> list[float]:
        """Wait until `count` more polls were logged; their durations."""
        seen: list[float] = []
        deadline = time.monotonic() + limit_s
        while len(seen) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(seen)} of {count} polls in {limit_s:.0f} s")
            await asyncio.sleep(0.05)
            seen.extend(self.poll_times())
        return seen

    async def entity_counts(self) -> dict[str, int]:
        """Registry entries of the integration, enabled ones, and their states."""
        assert self.session is not None
        entries = await self.ws({"type": "config/entity_registry/list"})
        mine = [e for e in entries if e.get("platform") == DOMAIN]
        enabled = {e["entity_id"] for e in mine if not e.get("disabled_by")}
        states = await self.get_json("/api/states")
        with_state = sum(1 for s in states if s["entity_id"] in enabled)
        devices = await self.ws({"type": "config/device_registry/list"})
        entry_ids = {e.get("config_entry_id") for e in mine}
        return {
            "entities_registered": len(mine),
            "entities_enabled": len(enabled),
            "entity_states": with_state,
            "states_total": len(states),
            "devices": sum(1 for d in devices if entry_ids & set(d.get("config_entries", []))),
        }

    async def ws(self, message: dict[str, Any]) -> Any:
        """One websocket command with the long-lived token."""
        assert self.session is not None
        async with self.session.ws_connect(f"{self.url}/api/websocket", max_msg_size=0) as sock:
            await sock.receive_json()
            await sock.send_json({"type": "auth", "access_token": self.token})
            auth = await sock.receive_json()
            if auth.get("type") != "auth_ok":
                raise RuntimeError(f"websocket auth failed: {auth}")
            await sock.send_json({"id": 1, **message})
            while True:
                reply = await sock.receive_json()
                if reply.get("id") == 1 and reply.get("type") == "result":
                    if not reply.get("success"):
                        raise RuntimeError(f"websocket {message['type']}: {reply.get('error')}")
                    return reply.get("result")

    async def settle_rss(self, seconds: float) -> float:
        """RSS after `seconds` of settling (the highest reading of the last few)."""
        await asyncio.sleep(seconds)
        readings = []
        for _ in range(5):
            readings.append(rss_mb(self.ha_pid))
            await asyncio.sleep(0.4)
        return max(readings)

    # -- phases ---------------------------------------------------------------------------

    async def provision(self) -> None:
        """Onboarding and token; RSS without the integration; the config entry; RSS with it."""
        assert self.session is not None
        args = argparse.Namespace(
            url=self.url,
            state=str(self.dir),
            networks=self.args.network,
            hosts="",
            miner_username="root",
            miner_password="root",
            api_port=4028,
            web_port=8080,
            power_mode="on_off",
            miner_entities=not self.args.no_miner_entities,
            timeout=300.0,
            scan_timeout=600.0,
        )
        prov = Provisioner(self.session, args)
        username, password = prov.credentials()
        await prov.wait_http(300)
        access = await prov.onboard(username, password)
        await prov.ensure_token(username, password, access)
        await prov.wait_running(300)
        assert prov.token is not None
        self.token = prov.token
        await prov.remove_onboarding_leftovers()
        self.result["rss_mb_without"] = round(await self.settle_rss(10), 1)
        log(f"RSS without the integration: {self.result['rss_mb_without']} MB")
        await self.heap("without")
        started = time.monotonic()
        await prov.create_entry()
        status = await prov.wait_loaded(600)
        self.result["setup_s"] = round(time.monotonic() - started, 1)
        log(f"entry loaded in {self.result['setup_s']} s: {status}")

    @contextlib.asynccontextmanager
    async def profiled(self, phase: str) -> Any:
        """py-spy (collapsed stacks, all threads) while a phase runs, with --profile."""
        py_spy = DEMO_VENV / "bin" / "py-spy"
        if not self.args.profile:
            yield
            return
        out = self.logs / f"profile-{phase}.txt"
        proc = await asyncio.create_subprocess_exec(
            str(py_spy),
            "record",
            "--pid",
            str(self.ha_pid),
            "--rate",
            "250",
            "--format",
            "raw",
            "--threads",
            "--nonblocking",
            "-o",
            str(out),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await asyncio.sleep(1.0)
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            await proc.wait()
            log(f"profile of {phase}: {out}")

    async def wait_recorder_idle(self, limit_s: float) -> None:
        """Until the recorder has written the ~9,000 states of the new entities: its queue is
        empty and its thread used under 5 % of a core for two seconds."""
        started = time.monotonic()
        while True:
            info = await self.ws({"type": "recorder/info"})
            before = thread_cpu(self.ha_pid).get("Recorder", 0.0)
            await asyncio.sleep(2)
            busy = (thread_cpu(self.ha_pid).get("Recorder", 0.0) - before) / 2
            if info.get("backlog", 0) == 0 and busy < 0.05:
                break
            if time.monotonic() - started > limit_s:
                log(f"the recorder is still busy after {limit_s:.0f} s: {info}, {busy:.0%}")
                break
        self.result["recorder_catch_up_s"] = round(time.monotonic() - started, 1)
        log(f"recorder idle after {self.result['recorder_catch_up_s']} s")

    async def quiet_polls(self) -> None:
        """Polls without commands: wall time, CPU, state writes, loop stalls."""
        polls = self.args.polls
        # Steady state first: entities written once, recorder caught up.
        await self.wait_polls(3, 120)
        self.result["rss_mb_with"] = round(await self.settle_rss(0), 1)
        self.result["rss_overhead_mb"] = round(
            self.result["rss_mb_with"] - self.result["rss_mb_without"], 1
        )
        self.result.update(await self.entity_counts())
        await self.wait_recorder_idle(300)
        await self.heap("with")
        await self.wait_polls(1, 60)
        async with self.profiled("polls"):
            await self.monitor(reset=True)
            cpu0 = cpu_seconds(self.ha_pid)
            threads0 = thread_cpu(self.ha_pid)
            wall0 = time.monotonic()
            durations = await self.wait_polls(polls, polls * 15 + 30)
            cpu1 = cpu_seconds(self.ha_pid)
            threads1 = thread_cpu(self.ha_pid)
            wall1 = time.monotonic()
            report = await self.monitor()
        per_thread = {
            name: round((threads1[name] - threads0.get(name, 0.0)) / len(durations), 3)
            for name in threads1
            if threads1[name] - threads0.get(name, 0.0) > 0.005 * len(durations)
        }
        self.result.update(
            poll_cycle_s=round(statistics.median(durations), 3),
            poll_cycle_max_s=round(max(durations), 3),
            poll_cycles=[round(d, 3) for d in durations],
            cpu_s_per_poll=round((cpu1 - cpu0) / len(durations), 3),
            cpu_share=round((cpu1 - cpu0) / (wall1 - wall0), 3),
            cpu_s_per_poll_by_thread=per_thread,
            state_writes_per_poll=round(report["state_writes"] / len(durations), 1),
            max_stall_polling_ms=report["max_stall_ms"],
            stalls_over_50ms_polling=report["stalls_over_50ms"],
            **gc_figures("polling", report),
        )
        log(
            f"polls {self.result['poll_cycles']} s, CPU {self.result['cpu_s_per_poll']} s/poll, "
            f"writes {self.result['state_writes_per_poll']}/poll, stall {report}"
        )

    async def status_latency(self) -> None:
        """Sequential EMS status requests from a separate process while polling runs."""
        await self.monitor(reset=True)
        self.poll_times()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            STATUS_CLIENT,
            "127.0.0.1",
            str(self.ha_port),
            self.token,
            str(self.args.status_requests),
            str(self.args.status_gap_ms / 1000),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        data = json.loads(out)
        lat_ms = [x * 1000 for x in data["latencies_s"]]
        polls = self.poll_times()
        report = await self.monitor()
        self.result.update(
            status_requests=len(lat_ms),
            status_errors=data["errors"],
            status_p50_ms=round(percentile(lat_ms, 50), 2),
            status_p99_ms=round(percentile(lat_ms, 99), 2),
            status_max_ms=round(max(lat_ms), 2),
            status_polls_during=len(polls),
            max_stall_status_ms=report["max_stall_ms"],
            **gc_figures("status", report),
        )
        log(
            f"status p50 {self.result['status_p50_ms']} ms, p99 {self.result['status_p99_ms']} "
            f"ms, max {self.result['status_max_ms']} ms over {len(polls)} polls"
        )

    async def command(self, name: str, body: dict[str, Any] | None, done_state: str) -> None:
        """One EMS command: response time, time until every miner acted, loop stall."""
        assert self.session is not None
        await self.monitor(reset=True)
        assert self.sim is not None
        cpu0 = self._command_cpu()
        sent = time.monotonic()
        async with self.session.post(
            f"{self.url}/api/{name}", headers=self._headers(), json=body
        ) as resp:
            reply = await resp.json()
            answered = time.monotonic()
        if resp.status != 200 or not reply.get("accepted"):
            raise RuntimeError(f"{name} refused: HTTP {resp.status} {reply}")
        log(f"{name}: {reply['message']} in {(answered - sent) * 1000:.1f} ms")
        # The simulator answers once every miner acted: it looks again only at the miners
        # that had not (polling its counts would cost it a pass over the fleet every time).
        until = "all" if done_state == "sleeping" else "none"
        wait = f"{self.admin_url}machine-states/wait?state=sleeping&until={until}&timeout_s=60"
        async with self.session.get(wait) as resp:
            waited = await resp.json()
        all_sent = time.monotonic()
        cpu1 = self._command_cpu()
        if not waited["done"]:
            counts = await self.admin_states()
            raise RuntimeError(f"{name}: miners still not all there after 60 s: {counts}")
        await asyncio.sleep(2.5)  # the refresh after the command (1.5 s) is part of it
        report = await self.monitor()
        self.result.update(
            {
                f"{name}_response_ms": round((answered - sent) * 1000, 1),
                f"{name}_all_sent_s": round(all_sent - sent, 2),
                # CPU seconds from the request until every miner was told: Home Assistant's
                # event loop, the whole Home Assistant process and the simulator (the machine
                # is shared, so these say more than wall time about what changed).
                **{
                    f"{name}_cpu_{part}_s": round(cpu1[part] - cpu0[part], 3)
                    for part in ("ha_loop", "ha", "sim")
                },
                f"max_stall_{name}_ms": report["max_stall_ms"],
                f"state_writes_{name}": report["state_writes"],
                **gc_figures(name, report),
            }
        )
        log(f"{name}: all miners in {all_sent - sent:.2f} s, loop {report}")

    def _command_cpu(self) -> dict[str, float]:
        """CPU seconds so far of Home Assistant's loop thread, its process and the simulator."""
        assert self.sim is not None
        return {
            "ha_loop": thread_cpu(self.ha_pid).get("main", 0.0),
            "ha": cpu_seconds(self.ha_pid),
            "sim": cpu_seconds(self.sim.pid),
        }

    async def wait_mining(self, limit_s: float) -> None:
        """Until every miner mines (ground truth) and the integration has polled after that."""
        deadline = time.monotonic() + limit_s
        while True:
            counts = await self.admin_states()
            if counts.get("mining", 0) >= self.args.miners:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the fleet is not mining after {limit_s:.0f} s: {counts}")
            await asyncio.sleep(1)
        self.poll_times()
        await self.wait_polls(2, 60)

    async def mining_polls(self) -> None:
        """Polls of a mining fleet without commands: what the recorder gets in steady state
        (power, hashrate and temperature move a little on every poll)."""
        polls = 3
        await self.monitor(reset=True)
        cpu0 = cpu_seconds(self.ha_pid)
        durations = await self.wait_polls(polls, polls * 15 + 30)
        cpu1 = cpu_seconds(self.ha_pid)
        report = await self.monitor()
        self.result.update(
            mining_poll_cycle_s=round(statistics.median(durations), 3),
            mining_cpu_s_per_poll=round((cpu1 - cpu0) / polls, 3),
            mining_state_writes_per_poll=round(report["state_writes"] / polls, 1),
            max_stall_mining_polls_ms=report["max_stall_ms"],
            **gc_figures("mining_polls", report),
        )
        log(f"mining fleet: polls {durations} s, loop {report}")

    async def measure(self) -> dict[str, Any]:
        """Everything, in order."""
        timeout = aiohttp.ClientTimeout(total=300)
        connector = aiohttp.TCPConnector(limit=10)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as self.session:
            await self.provision()
            await self.quiet_polls()
            await self.status_latency()
            status = await self.get_json("/api/status")
            rated = float(status["ratedPowerInKw"])
            self.result["rated_kw"] = rated
            async with self.profiled("activate"):
                await self.command("activate", {"activationPowerInKw": rated}, "awake")
            await self.wait_mining(180)
            await self.mining_polls()
            async with self.profiled("deactivate"):
                await self.command("deactivate", None, "sleeping")
            self.result["rss_mb_end"] = round(rss_mb(self.ha_pid), 1)
        return self.result

    def execute(self) -> dict[str, Any]:
        """Set up, measure, tear down."""
        self.prepare()
        try:
            log(f"run {self.index}: simulator with {self.args.miners} miners")
            self.start_simulator()
            log(f"run {self.index}: Home Assistant on {self.url}")
            self.start_ha()
            return asyncio.run(self.measure())
        finally:
            self.stop()


def gc_figures(phase: str, report: dict[str, Any]) -> dict[str, Any]:
    """What of a phase's stalls was the garbage collector: its longest collection (a full one
    walks Home Assistant's whole heap while holding the GIL) and the longest stall with the
    collections that overlapped it taken out, which is what the code on the loop (and threads
    competing for the GIL) cost by themselves."""
    collections = report.get("gc_worst_ms") or {}
    return {
        f"longest_gc_{phase}_ms": max(collections.values(), default=0.0),
        f"full_gcs_{phase}": (report.get("gc_counts") or {}).get("2", 0),
        f"max_stall_ex_gc_{phase}_ms": report.get("max_stall_ex_gc_ms"),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of every number over the runs, and the targets."""
    medians: dict[str, Any] = {}
    for key, value in runs[0].items():
        if key == "run" or not isinstance(value, int | float) or isinstance(value, bool):
            continue
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        medians[key] = round(statistics.median(values), 3)
    targets = {
        key: {"target": limit, "median": medians.get(key), "met": medians.get(key, 1e9) <= limit}
        for key, limit in TARGETS.items()
    }
    return {"medians": medians, "targets": targets}


def main() -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--miners", type=int, default=1000)
    p.add_argument("--network", default="127.0.4.0/22")
    p.add_argument("--time-scale", type=float, default=10.0)
    p.add_argument("--runs", type=int, default=1, help="fresh set-ups; medians over them")
    p.add_argument("--polls", type=int, default=6, help="quiet polls measured")
    p.add_argument("--status-requests", type=int, default=1000)
    p.add_argument(
        "--profile",
        action="store_true",
        help="record py-spy profiles (.bench/scale/logs/profile-*.txt; pip install py-spy "
        "into .demo/venv); slows Home Assistant down, so not for the figures",
    )
    p.add_argument(
        "--no-miner-entities",
        action="store_true",
        help="run the fleet without per-miner devices and entities (the option for large fleets)",
    )
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace allocations in Home Assistant; heap-with.json then shows what the "
        "integration's memory is, by file (slow, so not for the figures)",
    )
    p.add_argument("--status-gap-ms", type=float, default=10.0, help="pause between requests")
    args = p.parse_args()

    subprocess.run([str(ROOT / "scripts" / "demo"), "--venv-only"], check=True)
    runs = []
    for index in range(1, args.runs + 1):
        started = time.monotonic()
        result = Run(args, index).execute()
        result["run_s"] = round(time.monotonic() - started, 1)
        log(f"run {index}: {json.dumps(result)}")
        runs.append(result)
    summary = {"miners": args.miners, "runs": runs, **summarise(runs)}
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
