"""State machine and physics of one current-generation miner (S19/S21 class).

Shared by the firmware personalities that run on such hardware (Braiins OS+, LuxOS, Vnish's
REST firmware, plain cgminer monitoring); each personality adds only its wire format and the
timings of its firmware (`ModernSpec`).

Machine states (`machine_state`):
    booting   whole system booting: every port refuses
    paused    hash boards off, control board and ports up (standby draw)
    starting  hash boards initialising after a resume or boot: no hashing yet
    mining    hashing; power moves linearly towards the target during a change
    off       no power (only while the OFFLINE fault is active)

As in the S9 model, transitions fall due in simulated time and are applied lazily at their
exact deadlines by `advance_to`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from . import physics
from .clock import Clock
from .faults import Fault, FaultOptions
from .machine import MinerMachine
from .personality import MinerFactory
from .physics import Variation
from .timings import Plateaus

MODERN_STATES = ("mining", "starting", "paused", "booting", "off")
MODERN_INITIAL_STATES = ("mining", "paused", "booting")
_WEB_DOWN_STATES = frozenset({"booting", "off"})
BOARDS = 3
# Hashrate rises slower than power: an under-powered board runs at a better J/TH.
_HASHRATE_EXPONENT = 0.8
_BOOT_W = 90.0
_INIT_W = 160.0  # boards powered and initialising, not hashing yet
_REF_CHIP_C = 70.0  # hottest chip at nominal power (immersion-free, stock fans)


@dataclass(frozen=True, slots=True)
class ModernSpec:
    """A model on one firmware: what it draws and how fast it moves."""

    model: str  # as the firmware names it, e.g. "Antminer S19j Pro"
    firmware: str  # e.g. "Braiins OS+ 25.07"
    nominal_w: float  # stock power target
    min_w: float  # lowest power target the firmware accepts
    max_w: float  # highest power target the firmware accepts
    nominal_ths: float  # hashrate at the nominal power
    standby_w: float  # hash boards off (paused, curtailed, sleeping)
    boot_s: float = 70.0  # system boot after a reboot or power return
    start_s: float = 30.0  # resume: boards initialising, nothing hashing yet
    ramp_s: float = 20.0  # from initialised boards to the target power
    change_s: float = 15.0  # a new target while mining: time to reach it
    change_restarts: bool = False  # a new target restarts mining (start_s + ramp_s)
    levels_w: tuple[float, ...] = ()  # the only targets accepted (presets); empty: continuous
    pause_survives_reboot: bool = False  # LuxOS curtail sleep does; a pause does not
    nominal_mhz: float = 525.0  # chip frequency at the nominal power (for reports)

    def hashrate_ths(self, power_w: float) -> float:
        """Steady hashrate at a wall power."""
        span = self.nominal_w - self.standby_w
        if power_w <= self.standby_w or span <= 0:
            return 0.0
        return self.nominal_ths * ((power_w - self.standby_w) / span) ** _HASHRATE_EXPONENT

    def clamp(self, watts: float) -> float:
        """The target the firmware really applies for a request of `watts`."""
        if self.levels_w:
            return min(self.levels_w, key=lambda level: (abs(level - watts), level))
        return min(self.max_w, max(self.min_w, watts))


def _through(knots: tuple[tuple[float, float], ...], t: float) -> float:
    """The power at `t` on a ramp through `knots` (time, power), linear between them."""
    for (ta, wa), (tb, wb) in itertools.pairwise(knots):
        if t <= tb:
            return wa if tb <= ta else wa + (wb - wa) * (t - ta) / (tb - ta)
    return knots[-1][1]


def modern_mac(seed: int, index: int, prefix: tuple[int, int, int]) -> str:
    """A locally administered MAC, unique per fleet seed, index and personality prefix."""
    base = int.from_bytes(hashlib.sha256(f"{seed}:modern-mac".encode()).digest()[:3])
    low = (base + index) & 0xFFFFFF
    octets = (*prefix, low >> 16, (low >> 8) & 0xFF, low & 0xFF)
    return ":".join(f"{o:02X}" for o in octets)


class ModernMiner(MinerMachine):
    """One current-generation miner; networking lives in the personality's servers."""

    def __init__(
        self,
        index: int,
        host: str,
        api_port: int,
        web_port: int,
        clock: Clock,
        *,
        spec: ModernSpec,
        kind: str,
        mac_prefix: tuple[int, int, int],
        seed: int = 0,
        password: str = "root",
        jitter: float = 0.1,
        initial_state: str = "mining",
    ) -> None:
        if initial_state not in MODERN_INITIAL_STATES:
            raise ValueError(f"initial_state must be one of {MODERN_INITIAL_STATES}")
        self.spec = spec
        self.kind = kind
        self.index = index
        self.host = host
        self.api_port = api_port
        self.web_port = web_port
        self.clock = clock
        self.password = password
        self.jitter = jitter
        self.mac = modern_mac(seed, index, mac_prefix)
        self.hostname = f"{kind.replace('_', '-')}-{index + 1:04d}"
        self.serial = "YN" + hashlib.sha256(f"{seed}:{index}:{kind}".encode()).hexdigest()[:12]
        self.faults = FaultOptions()
        self.rng = Random(f"{seed}:{index}:{kind}")
        self.variation = Variation.draw(self.rng)
        # Whether this unit's firmware says so while it ramps or holds a step (a tuner
        # tuning, a state word): where the record does not tell, it varies per miner.
        self.words_ramp = Random(f"{self.serial}:ramp-word").random() < 0.5
        self.on_change: Callable[[], None] | None = None
        self.last_error = ""
        self.target_w = spec.nominal_w
        self.paused_by_user = initial_state == "paused"
        self._waiters: list[asyncio.Future[None]] = []
        now = clock.now()
        self._t = now
        self._state = initial_state
        self._deadline: float | None = None
        # The power segment of a change or ramp: from (t0, w0) to (t1, w1), linear, or through
        # the corners of its plateaus when the miner holds steps on the way (`timings`).
        self._seg = (now, self._steady_w(), now, self._steady_w())
        self.plateaus: Plateaus | None = None
        self._knots: tuple[tuple[float, float], ...] = ()
        self._booted_at = now - self.rng.uniform(3600.0, 5 * 86400.0)
        self._mining_since = self._booted_at + spec.boot_s + spec.start_s
        self._hash_th = 0.0
        self._chip_temp = physics.target_chip_temp_c(0.0)
        if initial_state == "booting":
            self._enter("booting", now)
        self._chip_temp = self._target_chip_c(self._power_at(now))

    # ----------------------------------------------------------------- public state

    @property
    def chip_temp_c(self) -> float:
        """Hottest chip."""
        self.advance_to(self.clock.now())
        return self._chip_temp + max(self.variation.chain_temp_offsets)

    @property
    def frequency_mhz(self) -> float:
        """Average chip frequency the boards run at (scales with power, for reports)."""
        power = self.power_w
        if self._state != "mining":
            return 0.0
        share = max(0.0, power - self.spec.standby_w) / (self.spec.nominal_w - self.spec.standby_w)
        return round(self.spec.nominal_mhz * share**0.5, 1)

    @property
    def hashing(self) -> bool:
        """Whether the boards hash."""
        return self.machine_state == "mining"

    @property
    def ramping(self) -> bool:
        """Boards initialising, or power still moving (held steps included) after a start or
        a change of target."""
        state = self.machine_state
        return state == "starting" or (state == "mining" and self.next_deadline is not None)

    @property
    def uptime_s(self) -> int:
        """Seconds since the system booted."""
        return max(0, int(self.clock.now() - self._booted_at))

    @property
    def mining_uptime_s(self) -> int:
        """Seconds since hashing (re)started; 0 when not hashing."""
        if not self.hashing:
            return 0
        return max(0, int(self.clock.now() - self._mining_since))

    @property
    def total_th(self) -> float:
        """TH hashed since the last start (drives share counters)."""
        self.advance_to(self.clock.now())
        return self._hash_th

    def board_chip_temps(self) -> list[float]:
        """Hottest chip per board."""
        self.advance_to(self.clock.now())
        return [self._chip_temp + off for off in self.variation.chain_temp_offsets]

    def board_temps(self) -> list[float]:
        """PCB temperature per board."""
        return [physics.pcb_temp_c(t) for t in self.board_chip_temps()]

    def board_hashrates_ths(self) -> list[float]:
        """Hashrate per board."""
        total = self.hashrate_ths
        return [total / BOARDS] * BOARDS

    def fan_rpms(self) -> list[int]:
        """Four fans, faster when hot."""
        rpm = physics.fan_rpm(self.chip_temp_c, self.hashing, self.variation.fan_offset)
        return [rpm, rpm + 60, rpm - 40, rpm + 20]

    def wanted_listeners(self) -> tuple[bool, bool]:
        """(API open, web open) for the current state, without advancing time."""
        if Fault.OFFLINE in self.faults:
            hung = self.faults.hang and self._state != "off"
            return hung, hung
        up = self._state not in _WEB_DOWN_STATES
        return up, up

    def pause(self) -> bool:
        """Hash boards off at once (standby draw); the control plane stays up."""
        now = self.clock.now()
        self.advance_to(now)
        self.paused_by_user = True
        if self._state in ("mining", "starting"):
            self._enter("paused", now)
            return True
        return False

    def resume(self) -> bool:
        """Boards back on: they initialise, then ramp to the target. False if already on."""
        now = self.clock.now()
        self.advance_to(now)
        self.paused_by_user = False
        if self._state == "paused":
            self._enter("starting", now)
            return True
        return False

    def set_target(self, watts: float) -> float:
        """Apply a power target (clamped or snapped to a level); returns what applies."""
        now = self.clock.now()
        self.advance_to(now)
        applied = self.spec.clamp(watts)
        self.target_w = applied
        if self._state == "mining":
            if self.spec.change_restarts:
                self._enter("starting", now)
            else:
                w0 = self._power_at(now)
                self._ramp(now, w0, self._jittered(self.spec.change_s))
                self._changed()
        return applied

    def reboot(self) -> None:
        """Full system reboot: every port goes down for the boot time."""
        now = self.clock.now()
        self.advance_to(now)
        if self._state != "off":
            self._enter("booting", now)

    # ----------------------------------------------------------------- time

    def _enter(self, state: str, t: float) -> None:
        self._integrate(t)
        self._state = state
        self._deadline = None
        if state == "booting":
            self._booted_at = t
            self._deadline = t + self._jittered(self.spec.boot_s)
        elif state == "starting":
            self._deadline = t + self._jittered(self.spec.start_s)
        elif state == "mining":
            self._mining_since = t
            self._hash_th = 0.0
            start_w = _INIT_W * self.variation.idle
            self._ramp(t, start_w, self._jittered(self.spec.ramp_s))
        self._changed()

    def _ramp(self, t: float, w0: float, rise_s: float) -> None:
        """Move the power from `w0` to the target's, rising for `rise_s` plus any plateaus."""
        w1 = self._steady_w()
        self._knots = self.plateaus.knots(t, w0, w1, rise_s) if self.plateaus else ()
        end = self._knots[-1][0] if self._knots else t + rise_s
        self._seg = (t, w0, end, w1)
        self._deadline = end

    def _on_deadline(self, t: float) -> None:
        if self._state == "booting":
            if self.paused_by_user and self.spec.pause_survives_reboot:
                self._enter("paused", t)
            else:
                self.paused_by_user = False
                self._enter("starting", t)
        elif self._state == "starting":
            if Fault.NEVER_STARTS in self.faults:
                self.last_error = "hash boards did not start"
                self._enter("paused", t)
                return
            self.last_error = ""
            self._enter("mining", t)
        else:
            self._deadline = None  # the end of a ramp or change: steady from here

    # ----------------------------------------------------------------- physics

    def _steady_w(self) -> float:
        standby = self.spec.standby_w * self.variation.idle
        return standby + (self.target_w - self.spec.standby_w) * self.variation.power

    def _power_at(self, t: float) -> float:
        idle = self.variation.idle
        match self._state:
            case "off":
                return 0.0
            case "booting":
                return _BOOT_W * idle
            case "starting":
                return _INIT_W * idle
            case "mining":
                t0, w0, t1, w1 = self._seg
                if t >= t1 or t1 <= t0:
                    return w1
                if self._knots:
                    return _through(self._knots, t)
                return w0 + (w1 - w0) * (t - t0) / (t1 - t0)
            case _:
                return self.spec.standby_w * idle

    def _hashrate_at(self, t: float) -> float:
        if self._state != "mining":
            return 0.0
        watts = self._power_at(t) / self.variation.power
        return self.spec.hashrate_ths(watts) * self.variation.hashrate

    def _target_chip_c(self, power_w: float) -> float:
        rise = (_REF_CHIP_C - physics.AMBIENT_C) * max(0.0, power_w) / self.spec.nominal_w
        if Fault.OVERHEAT in self.faults:
            rise *= physics.OVERHEAT_RISE_FACTOR
        return physics.AMBIENT_C + rise

    def _integrate(self, t1: float) -> None:
        t0 = self._t
        if t1 <= t0:
            return
        t = t0
        while t < t1:
            nxt = min(t1, t + 5.0) if self._state == "mining" else t1
            mid = (t + nxt) / 2
            self._chip_temp = physics.relax(
                self._chip_temp, self._target_chip_c(self._power_at(mid)), nxt - t
            )
            if self._state == "mining":
                self._hash_th += self._hashrate_at(mid) * (nxt - t)
            t = nxt
        self._t = t1


def modern_factory(
    spec: ModernSpec,
    kind: str,
    mac_prefix: tuple[int, int, int],
    *,
    fixed_password: str | None = None,
) -> MinerFactory:
    """A personality's `create` for miners of `spec`: they take the fleet's web password unless
    the firmware has a fixed one."""

    def create(
        index: int,
        host: str,
        api_port: int,
        web_port: int,
        clock: Clock,
        *,
        seed: int,
        password: str,
        jitter: float,
        initial_state: str,
    ) -> ModernMiner:
        return ModernMiner(
            index,
            host,
            api_port,
            web_port,
            clock,
            spec=spec,
            kind=kind,
            mac_prefix=mac_prefix,
            seed=seed,
            password=fixed_password or password,
            jitter=jitter,
            initial_state=initial_state,
        )

    return create
