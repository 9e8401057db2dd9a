"""The performance of a dispatch, measured the way an aggregator settles it.

Baseline: the fleet's mean draw over the `BASELINE_WINDOW_S` (15 minutes) before the dispatch
began, a "meter before" baseline as used for short events by demand-response programmes. Against
it, for every dispatch (an OpenADR event or an EMS activation alike):

- requested change: target - baseline; delivered change: mean draw during the dispatch - baseline;
- response time: from the start until the draw first covers 90 % of the requested change;
- energy shifted: the integral of (draw - baseline) over the dispatch, in kWh (negative: shed);
- compliance: delivered / requested change (1.0 is exact; None when nothing was requested);
- error: the mean |draw - target| after the response.

Power is taken as held between samples (the fleet is polled every few seconds). Times are
Unix seconds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

BASELINE_WINDOW_S = 900.0
RESPONSE_SHARE = 0.9
_KEEP_S = 6 * 3600.0  # history kept for baselines and interval reports


class PowerHistory:
    """The fleet's draw over the last hours, sample by sample."""

    def __init__(self, keep_s: float = _KEEP_S) -> None:
        self._samples: deque[tuple[float, float]] = deque()
        self._keep_s = keep_s

    def add(self, t: float, kw: float) -> None:
        """A reading at `t` (older ones beyond the kept span are dropped)."""
        if not math.isfinite(kw):
            return
        if self._samples and t < self._samples[-1][0]:
            return  # time never goes back
        self._samples.append((t, kw))
        while self._samples and self._samples[0][0] < t - self._keep_s:
            self._samples.popleft()

    @property
    def latest(self) -> float | None:
        """The last reading."""
        return self._samples[-1][1] if self._samples else None

    def energy_kwh(self, start: float, end: float) -> float | None:
        """Energy drawn over [start, end], each reading held until the next; None without a
        reading in or before the span."""
        if self._samples and not math.isfinite(end):
            end = self._samples[-1][0]  # "until now": up to the last reading
        if end <= start:
            return 0.0
        total = 0.0
        covered = 0.0
        samples = list(self._samples)
        for index, (t, kw) in enumerate(samples):
            until = samples[index + 1][0] if index + 1 < len(samples) else end
            lo, hi = max(t, start), min(until, end)
            if hi > lo:
                total += kw * (hi - lo)
                covered += hi - lo
        if covered <= 0:
            return None
        # A span partly before the first reading counts at the mean of what was seen.
        return total / covered * (end - start) / 3600.0

    def mean_kw(self, start: float, end: float) -> float | None:
        """The mean draw over [start, end]."""
        if self._samples and not math.isfinite(end):
            end = self._samples[-1][0]
        energy = self.energy_kwh(start, end)
        if energy is None or end <= start:
            return self.latest if energy is not None else None
        return energy * 3600.0 / (end - start)


@dataclass(frozen=True, slots=True)
class Performance:
    """What one dispatch delivered."""

    dispatch_id: str
    source: str  # "openadr", "ems", ...
    started_at: float
    ended_at: float | None  # None while it runs
    baseline_kw: float
    target_kw: float
    mean_kw: float | None
    requested_kw: float  # target - baseline
    delivered_kw: float | None  # mean - baseline
    response_s: float | None  # to 90 % of the requested change; None: not (yet) reached
    energy_shifted_kwh: float
    compliance: float | None
    error_kw: float | None

    def as_json(self) -> dict[str, object]:
        """The figures as JSON types, rounded for people."""

        def r(value: float | None, digits: int = 3) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "dispatchId": self.dispatch_id,
            "source": self.source,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
            "baselineKw": r(self.baseline_kw),
            "targetKw": r(self.target_kw),
            "meanKw": r(self.mean_kw),
            "requestedKw": r(self.requested_kw),
            "deliveredKw": r(self.delivered_kw),
            "responseS": r(self.response_s, 1),
            "energyShiftedKwh": r(self.energy_shifted_kwh, 4),
            "compliance": r(self.compliance),
            "errorKw": r(self.error_kw),
        }


class DispatchMeter:
    """Measures one dispatch from its start, sample by sample."""

    def __init__(
        self,
        dispatch_id: str,
        source: str,
        started_at: float,
        target_kw: float,
        history: PowerHistory,
        *,
        baseline_window_s: float = BASELINE_WINDOW_S,
    ) -> None:
        """The baseline is taken from `history` at once (what came before the start)."""
        self.dispatch_id = dispatch_id
        self.source = source
        self.started_at = started_at
        self.target_kw = target_kw
        baseline = history.mean_kw(started_at - baseline_window_s, started_at)
        self.baseline_kw = baseline if baseline is not None else (history.latest or 0.0)
        self._last: tuple[float, float] | None = None
        self._energy_delta_kwh = 0.0
        self._energy_kwh = 0.0
        self._seconds = 0.0
        self._response_s: float | None = None
        self._error_sum = 0.0
        self._error_s = 0.0
        self.ended_at: float | None = None

    def retarget(self, target_kw: float) -> None:
        """The dispatch asks for another draw from now on (a new interval)."""
        self.target_kw = target_kw

    def sample(self, t: float, kw: float) -> None:
        """A reading during the dispatch."""
        if not math.isfinite(kw) or t < self.started_at:
            return
        if self._last is not None:
            t0, kw0 = self._last
            dt = t - t0
            if dt > 0:
                self._energy_kwh += kw0 * dt / 3600.0
                self._energy_delta_kwh += (kw0 - self.baseline_kw) * dt / 3600.0
                self._seconds += dt
                if self._response_s is not None:
                    self._error_sum += abs(kw0 - self.target_kw) * dt
                    self._error_s += dt
        requested = self.target_kw - self.baseline_kw
        if self._response_s is None and (
            abs(requested) < 1e-9 or (kw - self.baseline_kw) / requested >= RESPONSE_SHARE
        ):
            self._response_s = t - self.started_at
        self._last = (t, kw)

    def end(self, t: float) -> Performance:
        """Close the dispatch at `t`; its figures."""
        if self._last is not None:
            self.sample(t, self._last[1])
        self.ended_at = t
        return self.performance()

    def performance(self) -> Performance:
        """The figures so far."""
        mean = self._energy_kwh * 3600.0 / self._seconds if self._seconds > 0 else None
        requested = self.target_kw - self.baseline_kw
        delivered = None if mean is None else mean - self.baseline_kw
        compliance = None
        if delivered is not None and abs(requested) >= 1e-3:
            compliance = max(0.0, delivered / requested)
        return Performance(
            dispatch_id=self.dispatch_id,
            source=self.source,
            started_at=self.started_at,
            ended_at=self.ended_at,
            baseline_kw=self.baseline_kw,
            target_kw=self.target_kw,
            mean_kw=mean,
            requested_kw=requested,
            delivered_kw=delivered,
            response_s=self._response_s,
            energy_shifted_kwh=self._energy_delta_kwh,
            compliance=compliance,
            error_kw=self._error_sum / self._error_s if self._error_s > 0 else None,
        )
