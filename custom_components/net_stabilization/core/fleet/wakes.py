"""What the fleet learns from its own wakes: how often a wake starts mining, and how long a
healthy miner's mining software takes to come up once its web is back after the reboot.

Both serve the control loop. The start rate lets a deficit be planned on expected arrivals
(spare wakes instead of a second round of wakes after each failure); the start delay lets a wake
that will never start be told apart sooner than the configured grace.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WakeLearning:
    """Knobs of `WakeStats`. Defaults suit S9s on Vnish 3.9."""

    # Start rate: recent wakes weigh more (a wake `memory` outcomes ago counts 1/e), and
    # `prior_starts` wakes that all started come first, so a healthy fleet wakes no spares and
    # one failure does not make a fleet look bad.
    memory: float = 100.0
    prior_starts: float = 10.0
    # Start delay: the grace after the web came back is the longest delay of the last
    # `samples` healthy starts plus a margin (the larger of `margin` of it and one poll, as
    # both ends are seen only at polls), learnt once `min_samples` were seen and kept within
    # [`min_grace_s`, the configured grace].
    samples: int = 32
    min_samples: int = 5
    margin: float = 0.25
    min_grace_s: float = 10.0


class WakeStats:
    """Fleet-wide record of wake outcomes and start delays."""

    def __init__(self, learning: WakeLearning | None = None) -> None:
        self._learning = learning or WakeLearning()
        self._starts = 0.0  # faded counts
        self._failures = 0.0
        self._delays: deque[float] = deque(maxlen=self._learning.samples)

    def started(self) -> None:
        """A wake started mining."""
        self._fade()
        self._starts += 1.0

    def failed(self) -> None:
        """A wake did not start mining."""
        self._fade()
        self._failures += 1.0

    def start_delay(self, seconds: float) -> None:
        """A healthy start: seconds from the web seen back to the mining software seen up."""
        if seconds >= 0:
            self._delays.append(seconds)

    @property
    def start_rate(self) -> float:
        """Expected share of wakes that start mining (1.0 until a wake failed)."""
        starts = self._starts + self._learning.prior_starts
        total = starts + self._failures
        return starts / total if total > 0 else 1.0

    def api_grace_s(self, configured_s: float, poll_gap_s: float) -> float:
        """How long a woken miner's web may be up without its mining software before the wake
        is taken for one that will never start."""
        learning = self._learning
        if len(self._delays) < learning.min_samples:
            return configured_s
        longest = max(self._delays)
        learnt = longest + max(learning.margin * longest, poll_gap_s)
        return min(configured_s, max(learning.min_grace_s, learnt))

    def _fade(self) -> None:
        keep = 1.0 - 1.0 / self._learning.memory
        self._starts *= keep
        self._failures *= keep
