"""An in-memory S9 that implements the `MinerDriver` protocol on a manual clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from custom_components.net_stabilization.core.fleet.clock import ManualClock
from custom_components.net_stabilization.core.miners.base import (
    Capabilities,
    MinerIdentity,
    MinerReading,
    MinerUnreachableError,
    MiningState,
)
from custom_components.net_stabilization.core.power_curve import S9_CURVE

BOOT_S = 60.0
RAMP_S = 80.0


@dataclass
class FakeMiner:
    """One fake S9: sleeping → (wake) booting → ramping → mining; sleep acts at once."""

    clock: ManualClock
    index: int
    state: str = "sleeping"  # sleeping | booting | ramping | mining | stopped | off
    mhz: float = 650.0
    chip_temp_c: float = 75.0
    never_starts: bool = False  # accepts a wake, never hashes (seen on real fleets)
    unreachable: bool = False  # every call fails
    ignores_sleep: bool = False
    fail_reads: int = 0  # the next N reads fail
    since: float = 0.0
    calls: list[str] = field(default_factory=list)
    can_sleep: bool = True
    frequency_control: bool = True  # firmware can set the frequency (with `can_sleep`)
    power_factor: float = 1.0  # this unit's draw over the curve's while hashing

    # --- MinerDriver --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return f"10.0.0.{self.index + 1}"

    @property
    def kind(self) -> str:
        return "vnish_s9" if self.can_sleep else "stock_s9"

    @property
    def identity(self) -> MinerIdentity:
        return MinerIdentity(
            mac=f"AA:BB:CC:00:{self.index // 256:02X}:{self.index % 256:02X}",
            host=self.host,
            model="Antminer S9",
            firmware="Vnish 3.9.0",
            firmware_version="3.9.0",
        )

    @property
    def mac(self) -> str:
        return self.identity.mac

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            can_sleep=self.can_sleep,
            can_set_frequency=self.can_sleep and self.frequency_control,
            min_mhz=S9_CURVE.min_mhz,
            max_mhz=S9_CURVE.max_mhz,
            nominal_mhz=S9_CURVE.nominal_mhz,
            nominal_w=S9_CURVE.nominal_w,
            max_w=S9_CURVE.max_w,
            standby_w=S9_CURVE.standby_w,
        )

    async def identify(self) -> MinerIdentity:
        return self.identity

    async def read(self) -> MinerReading:
        self._advance()
        self.calls.append("read")
        if self.unreachable or self.state in ("off", "booting"):
            raise MinerUnreachableError(f"{self.host}: refused")
        if self.fail_reads:
            self.fail_reads -= 1
            raise MinerUnreachableError(f"{self.host}: timeout")
        if self.state in ("sleeping", "stopped"):
            return MinerReading(online=True, state=MiningState.SLEEPING, power_w=50.0)
        share = self._ramp_share()
        full_ths = S9_CURVE.hashrate_ths(self.mhz)
        return MinerReading(
            online=True,
            state=MiningState.MINING if share >= 0.75 else MiningState.STARTING,
            hashrate_ths=full_ths * share,
            frequency_mhz=self.mhz,
            chip_temp_c=self.chip_temp_c,
            power_w=self.power_w,
            uptime_s=int(self.clock.monotonic() - self.since),
        )

    async def sleep(self) -> None:
        self._command("sleep")
        # Vnish pipes the sleep into the mining software's API: unheard while it is not up.
        if not self.ignores_sleep and self.state in ("ramping", "mining"):
            self._enter("sleeping")

    async def stop_mining(self) -> None:
        self._command("stop")
        if self.state in ("ramping", "mining", "sleeping"):
            self._enter("stopped")

    async def wake(self) -> None:
        self._command("wake")
        self._enter("booting")

    async def restart_mining(self) -> None:
        self._command("restart")
        if self.state in ("stopped", "sleeping"):
            self._enter("ramping")

    async def apply_setting(self, mhz: float) -> None:
        self._command(f"set_frequency {mhz:g}")
        self.mhz = float(round(mhz))
        if self.state in ("mining", "ramping"):
            self._enter("ramping")

    async def reboot(self) -> None:
        self._command("reboot")
        self._enter("booting")

    # --- ground truth -------------------------------------------------------------------------

    @property
    def power_w(self) -> float:
        self._advance()
        match self.state:
            case "off":
                return 0.0
            case "booting":
                return 100.0
            case "ramping" | "mining":
                full = self.power_factor * S9_CURVE.power_w(self.mhz)
                return 130.0 + (full - 130.0) * self._ramp_share()
            case _:
                return 50.0

    def _ramp_share(self) -> float:
        if self.state == "mining":
            return 1.0
        if self.state != "ramping":
            return 0.0
        return min(1.0, (self.clock.monotonic() - self.since) / RAMP_S)

    def _command(self, name: str) -> None:
        self._advance()
        self.calls.append(name)
        if self.unreachable or self.state in ("off", "booting"):
            raise MinerUnreachableError(f"{self.host}: refused")

    def _enter(self, state: str) -> None:
        self.state = state
        self.since = self.clock.monotonic()

    def _advance(self) -> None:
        now = self.clock.monotonic()
        if self.state == "booting" and now - self.since >= BOOT_S:
            boot_end = self.since + BOOT_S
            if self.never_starts:
                self.state = "stopped"
            else:
                self.state, self.since = "ramping", boot_end
        if self.state == "ramping" and now - self.since >= RAMP_S:
            self.state = "mining"


def fake_fleet(clock: ManualClock, count: int, state: str = "sleeping") -> list[FakeMiner]:
    """`count` fake S9s in the same state."""
    return [FakeMiner(clock, i, state=state) for i in range(count)]
