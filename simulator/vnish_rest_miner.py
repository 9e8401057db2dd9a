"""An Antminer S19j Pro on Vnish's REST firmware (AnthillOS web UI): the model behind
`vnish_rest_web` and `vnish_rest_api`.

`ModernMiner` has one standby state (`paused`); this firmware tells a pause from a stop (the
web UI and `summary` name both), refuses a pause while the boards initialise, refuses a resume
of a stopped miner (it wants a start), keeps login tokens in memory and silently ignores a
preset it cannot apply. `VnishRestMiner` adds exactly that on top of the shared model.

Sources: pyasic 0.79 (`web/vnish.py`: the token from `unlock` sent raw in `Authorization` for
most endpoints, as `Bearer <token>` for `system/*`; the settings reply being the same whether
the preset took; tuned presets only); a real 1.2.1 unit answered pyasic's raw token. A token
is therefore accepted in both forms. Some builds want an API key (`x-api-key`) for sensitive
writes (`settings`, `system/reboot`); a miner given `api_key` refuses those writes without it
(403 and `{"err"}`: assumed, nothing shows the reply).

Whether a preset change restarts mining is not documented: it varies per miner (seeded).
A miner that restarts initialises its boards again; one that does not moves its power while
hashing, over `change_s`. The state word while the boards initialise is "initializing"; while
the power still moves to the preset's, some miners say "auto-tuning", the others "mining"
(seeded: pyasic names only the idle words "stopped", "shutting-down" and "failure", and no
public capture shows which word a ramp gets).

Timings (assumptions, not measured): boot 70 s; a resume or start initialises the boards for
45 s, then ramps for 30 s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from random import Random

from .clock import Clock
from .modern import ModernMiner, ModernSpec

FIRMWARE_VERSION = "1.2.6"
CGMINER_VERSION = "4.11.1"
MODEL = "Antminer S19j Pro"
MODEL_ID = "s19jpro"
MINER_TYPE = f"{MODEL} (Vnish {FIRMWARE_VERSION})"
CHIPS_PER_BOARD = 126
# Locally administered ("V", "R"): never a real vendor's prefix.
MAC_PREFIX = (0x02, 0x56, 0x52)
NOMINAL_PRESET_W = 2950.0
# (watts, tuned): the overclocked ends and the lowest one were never autotuned.
PRESETS: tuple[tuple[float, bool], ...] = (
    (1100.0, False),
    (1300.0, True),
    (1500.0, True),
    (1700.0, True),
    (1900.0, True),
    (2100.0, True),
    (2350.0, True),
    (2620.0, True),
    (2950.0, True),
    (3200.0, True),
    (3350.0, False),
    (3600.0, False),
)
TUNED_W = tuple(w for w, tuned in PRESETS if tuned)

SPEC = ModernSpec(
    model=MODEL,
    firmware=f"Vnish {FIRMWARE_VERSION}",
    nominal_w=NOMINAL_PRESET_W,
    min_w=TUNED_W[0],
    max_w=TUNED_W[-1],
    nominal_ths=100.0,  # 29.5 J/TH, the model's stock efficiency
    standby_w=30.0,
    boot_s=70.0,
    start_s=45.0,
    ramp_s=30.0,
    change_restarts=True,
    levels_w=TUNED_W,
    nominal_mhz=525.0,
)

# What the firmware answers when cgminer cannot switch (the texts of the API documentation).
PAUSE_REFUSED = "CGMiner err: Cgminer error failed-to-activate-pause-mode "
RESUME_REFUSED = "CGMiner err: Cgminer error failed-to-activate-resume-mode "


@dataclass(frozen=True, slots=True)
class SimPreset:
    """One entry of `autotune/presets`."""

    name: str
    watts: float
    tuned: bool
    ths: float


def preset_table(spec: ModernSpec = SPEC) -> tuple[SimPreset, ...]:
    """The presets with the hashrate their text announces."""
    return tuple(
        SimPreset(f"{w:.0f}", w, tuned, round(spec.hashrate_ths(w))) for w, tuned in PRESETS
    )


class VnishRestMiner(ModernMiner):
    """The shared S19-class model plus this firmware's pause/stop, logins and presets."""

    def __init__(
        self,
        index: int,
        host: str,
        api_port: int,
        web_port: int,
        clock: Clock,
        *,
        kind: str,
        seed: int = 0,
        password: str = "root",
        jitter: float = 0.1,
        initial_state: str = "mining",
    ) -> None:
        self.state_since = clock.now()
        super().__init__(
            index,
            host,
            api_port,
            web_port,
            clock,
            spec=SPEC,
            kind=kind,
            mac_prefix=MAC_PREFIX,
            seed=seed,
            password=password,
            jitter=jitter,
            initial_state=initial_state,
        )
        # Undocumented, so varied per miner: whether a new preset restarts mining.
        quirks = Random(f"{self.serial}:vnish-quirks")
        self.spec = replace(SPEC, change_restarts=quirks.random() < 0.5)
        self.presets = {p.name: p for p in preset_table(SPEC)}
        self.preset = f"{NOMINAL_PRESET_W:.0f}"
        self.stopped = False  # stopped rather than paused: a resume is refused
        self.tokens: set[str] = set()
        self.unlocks = 0
        self.api_key: str | None = None  # set: sensitive writes need it in `x-api-key`
        # Tests: the firmware takes a settings write and silently keeps the old preset.
        self.ignore_preset_writes = False
        self.settings_writes = 0

    # ----------------------------------------------------------------- what the API shows

    @property
    def firmware_state(self) -> str:
        """`miner_status.miner_state` as the firmware words it."""
        state = self.machine_state
        if state == "mining":
            # Whether the firmware words the ramp to a preset's power is not documented: some
            # miners say auto-tuning on the way (`words_ramp`), the others mining throughout.
            return "auto-tuning" if self.words_ramp and self.ramping else "mining"
        if state == "starting":
            return "initializing"
        if state == "paused":
            if self.last_error and not self.paused_by_user:
                return "failure"
            return "stopped" if self.stopped else "paused"
        return state  # booting or off: nothing is served then

    @property
    def state_time_s(self) -> int:
        """Seconds in the current state (`miner_state_time`)."""
        if self.hashing:
            return self.mining_uptime_s
        return max(0, int(self.clock.now() - self.state_since))

    # ----------------------------------------------------------------- logins

    def unlock(self, password: object) -> str | None:
        """A new token for the right password, None otherwise."""
        if password != self.effective_password:
            return None
        self.unlocks += 1
        token = hashlib.sha256(f"{self.mac}:{self.unlocks}".encode()).hexdigest()[:32]
        self.tokens.add(token)
        return token

    def token_valid(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries a live token, raw or as `Bearer <token>`."""
        if authorization is None:
            return False
        return authorization.removeprefix("Bearer ") in self.tokens

    def api_key_valid(self, key: str | None) -> bool:
        """Whether a sensitive write may proceed: no key configured, or the right one."""
        return self.api_key is None or key == self.api_key

    def forget_tokens(self) -> None:
        """Tokens live in memory only; a restart of the web service loses them."""
        self.tokens.clear()

    # ----------------------------------------------------------------- actions

    def fw_pause(self) -> str | None:
        """`mining/pause`: None on success, else the firmware's refusal."""
        if self.machine_state == "starting":
            return PAUSE_REFUSED  # cgminer is not up yet
        self.pause()
        return None

    def fw_stop(self) -> str | None:
        """`mining/stop`: holds in every state, also while the boards initialise."""
        self.pause()
        self.stopped = True
        return None

    def fw_resume(self) -> str | None:
        """`mining/resume`: continues a pause; a stopped miner needs a start."""
        if self.machine_state == "paused" and self.stopped:
            return RESUME_REFUSED
        self.resume()
        return None

    def fw_start(self) -> str | None:
        """`mining/start`."""
        self.stopped = False
        self.resume()
        return None

    def fw_restart(self) -> str | None:
        """`mining/restart`: the boards initialise again."""
        self.stopped = False
        self.pause()
        self.resume()
        return None

    def fw_reboot(self) -> None:
        """`system/reboot`: ports down for the boot; memory (tokens, a stop) is lost."""
        self.stopped = False
        self.forget_tokens()
        self.reboot()

    def apply_preset(self, name: object) -> None:
        """A settings write naming a preset; anything but a tuned one is silently ignored."""
        self.settings_writes += 1
        preset = self.presets.get(name) if isinstance(name, str) else None
        if preset is None or not preset.tuned or self.ignore_preset_writes:
            return
        self.preset = preset.name
        self.set_target(preset.watts)

    # ----------------------------------------------------------------- model hooks

    def _enter(self, state: str, t: float) -> None:
        self.state_since = t
        super()._enter(state, t)
