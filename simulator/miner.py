"""State machine and physics of one simulated Antminer S9 running Vnish 3.9.0.

Machine states (`machine_state`):
    booting     whole system booting: web and API ports refuse, ~100 W
    restarting  bmminer initialising the chains: web up, API refuses
    ramping     bmminer hashing, frequency and power ramping up: API open
    mining      steady state at the configured frequency
    sleeping    Vnish sleep mode: web up, API refuses, ~50 W
    stopped     bmminer not running (killed, or failed to start): web up, API refuses
    off         no power (only while the OFFLINE fault is active)

`state` is the same except that it reads "offline" while the OFFLINE fault is active.
Transitions scheduled in simulated time are applied lazily by `advance_to`, always at
their exact deadline, so jumping a ManualClock far ahead gives the same result as many
small steps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from random import Random

from . import physics
from .clock import Clock
from .faults import Fault, FaultOptions
from .identity import MinerIdentity
from .machine import MinerMachine
from .physics import CHAINS, Variation
from .vnish_conf import (
    BmminerSettings,
    ConfigError,
    default_custom_fields,
    parse_custom_form,
    render_config,
)

_LOGGER = logging.getLogger(__name__)

MACHINE_STATES = ("mining", "ramping", "sleeping", "stopped", "booting", "restarting", "off")
INITIAL_STATES = ("mining", "sleeping", "stopped", "booting")
_BMMINER_STATES = frozenset({"mining", "ramping", "restarting"})
_WEB_DOWN_STATES = frozenset({"booting", "off"})
# Temperatures are integrated in steps no longer than this while power changes (ramp).
_MAX_THERMAL_STEP_S = 5.0
_SHARE_DIFFICULTY = 65536


class SimulatedMiner(MinerMachine):
    """One Antminer S9 on Vnish 3.9.0; networking lives in `listener.MinerEndpoints`."""

    def __init__(
        self,
        index: int,
        host: str,
        api_port: int,
        web_port: int,
        clock: Clock,
        *,
        seed: int = 0,
        password: str = "root",
        stats_brace_bug: bool = True,
        boot_time_s: float = 60.0,
        ramp_time_s: float = 80.0,
        restart_time_s: float = 8.0,
        jitter: float = 0.2,
        initial_state: str = "mining",
        stopped_w: float | None = None,
    ) -> None:
        if initial_state not in INITIAL_STATES:
            raise ValueError(f"initial_state must be one of {INITIAL_STATES}")
        self.index = index
        self.host = host
        self.api_port = api_port
        self.web_port = web_port
        self.clock = clock
        self.password = password
        self.stats_brace_bug = stats_brace_bug
        self.boot_time_s = boot_time_s
        self.ramp_time_s = ramp_time_s
        self.restart_time_s = restart_time_s
        self.jitter = jitter
        # What it draws with bmminer stopped (hash boards powered, not hashing). Not measured
        # on real S9s: the same as sleep mode unless a test or benchmark says otherwise.
        self.stopped_w = physics.IDLE_W if stopped_w is None else stopped_w
        self.identity = MinerIdentity.create(seed, index)
        self.faults = FaultOptions()
        self.rng = Random(f"{seed}:{index}")
        self.variation = Variation.draw(self.rng)
        self.config_text = render_config(
            list(default_custom_fields(self.identity.hostname).values())
        )
        self.deploy_configs: dict[str, str] = {}
        self.last_error = ""
        self.voltage_override: int | None = None
        self.settings = BmminerSettings.from_config(self.config_text)
        self.on_change: Callable[[], None] | None = None
        self._waiters: list[asyncio.Future[None]] = []

        now = clock.now()
        self._t = now
        self._state = initial_state
        self._deadline: float | None = None
        self._ramp_start = now
        self._ramp_end = now
        self._hash_gh = 0.0  # GH hashed since bmminer started (drives share counters)
        # Pretend the miner has been up for a while so uptime/Elapsed look real.
        self._booted_at = now - self.rng.uniform(3600.0, 5 * 86400.0)
        self._bmminer_started = self._booted_at + 70.0
        if initial_state == "mining":
            self._ramp_start = self._ramp_end = self._bmminer_started
            self._hash_gh = self._full_hashrate_ths() * 1000.0 * (now - self._bmminer_started)
        elif initial_state == "booting":
            self._enter("booting", now)
        self._chip_temp = physics.target_chip_temp_c(self._power_at(now))

    # ----------------------------------------------------------------- public state

    @property
    def mac(self) -> str:
        """MAC address of eth0."""
        return self.identity.mac

    @property
    def hostname(self) -> str:
        """Configured hostname."""
        return self.identity.hostname

    @property
    def chip_temp_c(self) -> float:
        """Hottest chip temperature across the working chains."""
        self.advance_to(self.clock.now())
        temps = [t for t in self.chain_chip_temps() if t > 0]
        return max(temps) if temps else self._chip_temp

    @property
    def frequency_mhz(self) -> float:
        """Average frequency bmminer runs (or last ran) the chains at."""
        return sum(self.settings.chain_freqs) / len(CHAINS)

    @property
    def api_up(self) -> bool:
        """Whether port 4028 should accept connections."""
        self.advance_to(self.clock.now())
        return self.wanted_listeners()[0]

    @property
    def web_up(self) -> bool:
        """Whether the web port should accept connections."""
        self.advance_to(self.clock.now())
        return self.wanted_listeners()[1]

    def wanted_listeners(self) -> tuple[bool, bool]:
        """(API open, web open) for the current state, without advancing time.

        Safe to call from inside a transition, unlike the properties above.
        """
        machine = self._state
        if Fault.OFFLINE in self.faults:
            hung = self.faults.hang and machine != "off"
            return hung, hung
        return machine in ("ramping", "mining"), machine not in _WEB_DOWN_STATES

    @property
    def bmminer_running(self) -> bool:
        """Whether the bmminer process is alive (its API can answer)."""
        return self.machine_state in ("ramping", "mining")

    @property
    def elapsed_s(self) -> int:
        """Seconds since bmminer started hashing (cgminer `Elapsed`)."""
        return max(0, int(self.clock.now() - self._bmminer_started))

    @property
    def uptime_s(self) -> int:
        """Seconds since the system booted."""
        return max(0, int(self.clock.now() - self._booted_at))

    @property
    def accepted_shares(self) -> int:
        """Shares accepted by the pool since bmminer started."""
        self.advance_to(self.clock.now())
        return int(self._hash_gh * 1e9 / (_SHARE_DIFFICULTY * 2**32))

    @property
    def average_ghs(self) -> float:
        """Average hashrate since bmminer started (cgminer `GHS av`)."""
        elapsed = self.clock.now() - self._bmminer_started
        return self._hash_gh / elapsed if elapsed > 1 else 0.0

    def live_chains(self) -> tuple[bool, bool, bool]:
        """Which of chains 6, 7, 8 hash (a dead board does not)."""
        dead = self.faults.dead_chain if Fault.DEAD_BOARD in self.faults else None
        return (dead != CHAINS[0], dead != CHAINS[1], dead != CHAINS[2])

    def chain_chip_temps(self) -> list[float]:
        """Chip temperature per chain; a dead board reads 0."""
        return [
            self._chip_temp + off if ok else 0.0
            for off, ok in zip(self.variation.chain_temp_offsets, self.live_chains(), strict=True)
        ]

    def chain_voltages(self) -> tuple[int, int, int]:
        """Chain voltages in 10 mV units, including a live `volt|N` override."""
        if self.voltage_override is not None:
            v = self.voltage_override
            return (v, v, v)
        return self.settings.chain_volts

    def ramp_fraction(self) -> float:
        """How far the frequency ramp has progressed (1.0 when mining)."""
        return self._ramp_fraction(self.clock.now())

    # ----------------------------------------------------------------- faults

    def _set_dead_chain(self, chain: int) -> None:
        if chain not in CHAINS:
            raise ValueError(f"dead_chain must be one of {CHAINS}")
        self.faults.dead_chain = chain

    # ----------------------------------------------------------------- actions

    def sleep(self) -> bool:
        """Vnish sleep mode: hash boards off at once, API closed."""
        now = self.clock.now()
        self.advance_to(now)
        if self._state in _BMMINER_STATES or self._state == "stopped":
            self._enter("sleeping", now)
            return True
        return False

    def stop_bmminer(self) -> None:
        """Kill bmminer; the stoptrigger keeps it from being respawned."""
        now = self.clock.now()
        self.advance_to(now)
        if self._state in _BMMINER_STATES or self._state == "sleeping":
            self._enter("stopped", now)

    def restart_bmminer(self) -> None:
        """`bmminer.sh restart`: API down while the chains re-initialise, then a ramp."""
        now = self.clock.now()
        self.advance_to(now)
        if self._state in _BMMINER_STATES or self._state in ("sleeping", "stopped"):
            self._enter("restarting", now)

    def reboot(self) -> None:
        """Full system reboot: web and API go down for the boot time."""
        now = self.clock.now()
        self.advance_to(now)
        if self._state != "off":
            self._enter("booting", now)

    def apply_custom_conf(self, body: str) -> None:
        """set_miner_conf_custom.cgi: positional parse, rewrite config, maybe restart."""
        slots = parse_custom_form(body)
        presave = slots[36]
        text = render_config(slots)
        if presave == "2":
            # Presave 2 stores a deploy profile under its name and touches nothing else.
            self.deploy_configs[slots[37]] = text
            return
        self.config_text = text
        if presave != "1":
            self.restart_bmminer()

    def set_live_voltage(self, voltage: int) -> None:
        """`volt|N`: change chain voltage without a restart."""
        self.voltage_override = voltage

    # ----------------------------------------------------------------- time

    def _enter(self, state: str, t: float) -> None:
        """Switch state at simulated time `t` and schedule the follow-up transition."""
        self._integrate(t)
        self._state = state
        self._deadline = None
        if state == "booting":
            self._booted_at = t
            self.voltage_override = None
            self._deadline = t + self._jittered(self.boot_time_s)
        elif state == "restarting":
            self._deadline = t + self._jittered(self.restart_time_s)
        elif state == "ramping":
            self._bmminer_started = t
            self._hash_gh = 0.0
            self._ramp_start = t
            self._ramp_end = t + self._jittered(self.ramp_time_s)
            self._deadline = self._ramp_end
        self._changed()

    def _on_deadline(self, t: float) -> None:
        if self._state == "booting":
            # Vnish starts bmminer after boot (sleep and stoptrigger do not survive a reboot).
            self._enter("restarting", t)
        elif self._state == "restarting":
            if Fault.NEVER_STARTS in self.faults:
                self.last_error = "bmminer did not start"
                self._enter("stopped", t)
                return
            try:
                self.settings = BmminerSettings.from_config(self.config_text)
            except ConfigError as err:
                self.last_error = str(err)
                _LOGGER.debug("%s: %s", self.hostname, err)
                self._enter("stopped", t)
                return
            self.last_error = ""
            self._enter("ramping", t)
        elif self._state == "ramping":
            self._enter("mining", t)
        else:
            self._deadline = None

    # ----------------------------------------------------------------- physics

    def _full_power_w(self) -> float:
        return physics.full_power_w(self.settings.chain_freqs, self.live_chains(), self.variation)

    def _full_hashrate_ths(self) -> float:
        return physics.full_hashrate_ths(
            self.settings.chain_freqs, self.live_chains(), self.variation
        )

    def _ramp_fraction(self, t: float) -> float:
        if self._state == "mining":
            return 1.0
        if self._state != "ramping":
            return 0.0
        span = self._ramp_end - self._ramp_start
        return 1.0 if span <= 0 else min(1.0, max(0.0, (t - self._ramp_start) / span))

    def _power_at(self, t: float) -> float:
        idle = self.variation.idle
        match self._state:
            case "off":
                return 0.0
            case "booting":
                return physics.BOOT_W * idle
            case "restarting":
                return physics.CHAIN_INIT_W * idle
            case "ramping" | "mining":
                start = physics.CHAIN_INIT_W * idle
                return start + (self._full_power_w() - start) * self._ramp_fraction(t)
            case "stopped":
                return self.stopped_w * idle
            case _:
                return physics.IDLE_W * idle

    def _hashrate_at(self, t: float) -> float:
        if self._state not in ("ramping", "mining"):
            return 0.0
        return self._full_hashrate_ths() * self._ramp_fraction(t)

    def _integrate(self, t1: float) -> None:
        """Advance temperatures and the hash counter from the last time to `t1`."""
        t0 = self._t
        if t1 <= t0:
            return
        overheat = Fault.OVERHEAT in self.faults
        step = _MAX_THERMAL_STEP_S if self._state == "ramping" else t1 - t0
        t = t0
        while t < t1:
            nxt = min(t1, t + step)
            p_mid = self._power_at((t + nxt) / 2)
            target = physics.target_chip_temp_c(p_mid, overheat)
            self._chip_temp = physics.relax(self._chip_temp, target, nxt - t)
            if self._state in ("ramping", "mining"):
                # Hashrate is linear within a step, so the midpoint rule is exact.
                self._hash_gh += self._hashrate_at((t + nxt) / 2) * 1000.0 * (nxt - t)
            t = nxt
        self._t = t1
