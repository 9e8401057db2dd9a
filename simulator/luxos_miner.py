"""An Antminer S19j Pro on LuxOS: the model, its profiles and the firmware's own state.

The hardware is the shared `ModernMiner`; this adds what LUXminer keeps beside it: the one
API session, the auto-tuning manager (ATM) switch and the profile table, whose watts are the
miner's only power targets (`ModernSpec.levels_w`).

Timings (vendor claims with margin, and assumptions; the driver assumes the same):
* sleep: boards and PSU output off at once, about 30 W left (vendor: ~25 W in under 5 s).
* wakeup: 5 s to power the boards, then a 10 s ramp: full power after 15 s
  (vendor: under 10 s with the fastest steps).
* profile change: 30 s from the old to the new power, hashing throughout (assumption: LuxOS
  steps frequency and voltage while the boards run). With a fleet's `spread`, each miner's own
  way is drawn instead (`timings`): half start the boards again as at a wakeup.
* reboot: 80 s until the API answers again (assumption); a curtailed miner stays curtailed.
* session: ends after 60 s of simulated time without use (vendor: one minute), and at a boot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from random import Random
from typing import Any

from .modern import ModernMiner, ModernSpec

LUXOS = "luxos"
LUXMINER_VERSION = "2025.9.17.022034-7f3c2a1b"
MODEL = "Antminer S19j Pro"
MAC_PREFIX = (0x02, 0x4C, 0x58)  # locally administered, "LX"
SESSION_IDLE_S = 60.0
DEFAULT_PROFILE = "default"
CHIPS_PER_BOARD = 126
POOL_URLS = ("stratum+tcp://stratum.pool.invalid:700", "stratum+tcp://backup.pool.invalid:700")


@dataclass(frozen=True, slots=True)
class Profile:
    """One LuxOS preset: 25 MHz and 0.1 V apart, power estimated by the firmware."""

    name: str
    frequency_mhz: float
    voltage_v: float
    watts: float


# An S19j Pro 104T: 545 MHz and 13.4 V from the EEPROM ("default"), 3070 W; the others scale
# with frequency and the square of the voltage.
PROFILES = (
    Profile("445MHz", 445.0, 13.0, 2360.0),
    Profile("470MHz", 470.0, 13.1, 2530.0),
    Profile("495MHz", 495.0, 13.2, 2700.0),
    Profile("520MHz", 520.0, 13.3, 2880.0),
    Profile(DEFAULT_PROFILE, 545.0, 13.4, 3070.0),
    Profile("570MHz", 570.0, 13.5, 3260.0),
)
PROFILE_BY_NAME = {p.name: p for p in PROFILES}

SPEC = ModernSpec(
    model=MODEL,
    firmware=f"LuxOS {LUXMINER_VERSION}",
    nominal_w=3070.0,
    min_w=PROFILES[0].watts,
    max_w=PROFILES[-1].watts,
    nominal_ths=104.0,
    standby_w=30.0,
    boot_s=80.0,
    start_s=5.0,
    ramp_s=10.0,
    change_s=30.0,
    change_restarts=False,
    levels_w=tuple(p.watts for p in PROFILES),
    pause_survives_reboot=True,
    nominal_mhz=545.0,
)


class LuxosMiner(ModernMiner):
    """A `ModernMiner` with LUXminer's session and ATM state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.atm_enabled = True  # assumption: shipped on, so a profile change must turn it off
        self.logons = 0  # sessions created so far (for tests)
        self._sid = ""
        self._sid_used_at = 0.0
        self._sid_boot = 0.0
        self._sid_counter = 0
        # Undocumented, so varied per miner: how a stale session id is refused, and whether
        # `profileget` without a name describes the active profile.
        quirks = Random(f"{self.serial}:luxos-quirks")
        self.names_stale_session = quirks.random() < 0.5
        self.profileget_without_name = quirks.random() < 0.5

    # ----------------------------------------------------------------- profiles

    @property
    def profile(self) -> Profile:
        """The active profile (the one whose watts are the target)."""
        for profile in PROFILES:
            if profile.watts == self.target_w:
                return profile
        return PROFILE_BY_NAME[DEFAULT_PROFILE]

    def profile_hashrate_ths(self, profile: Profile) -> float:
        """The firmware's hashrate estimate for a profile."""
        return round(self.spec.hashrate_ths(profile.watts), 1)

    @property
    def curtailed(self) -> bool:
        """Asleep by `curtail sleep` (not merely boards that failed to start)."""
        return self.paused_by_user and self.machine_state == "paused"

    # ----------------------------------------------------------------- session

    @property
    def session_id(self) -> str:
        """The active session's id, or "" (what `session` tells anyone who asks)."""
        if not self._sid:
            return ""
        idle = self.clock.now() - self._sid_used_at
        # The session lives in LUXminer's memory: a boot ends it.
        if idle > SESSION_IDLE_S or self._sid_boot != self._booted_at:
            self._sid = ""
        return self._sid

    def logon(self) -> str | None:
        """A new session, or None while another one is active."""
        if self.session_id:
            return None
        self._sid_counter += 1
        digest = hashlib.sha256(f"{self.mac}:{self._sid_counter}".encode()).hexdigest()
        self._sid = digest[:8]
        self._sid_used_at = self.clock.now()
        self._sid_boot = self._booted_at
        self.logons += 1
        return self._sid

    def use_session(self, sid: str) -> bool:
        """Whether `sid` is the active session; using it restarts its idle minute."""
        if not sid or sid != self.session_id:
            return False
        self._sid_used_at = self.clock.now()
        return True

    def end_session(self) -> None:
        """`logoff` or `kill`: no session afterwards."""
        self._sid = ""
