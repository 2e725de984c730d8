"""Temperature programs as data: ramps at a rate and isothermal holds, in any sequence.

A :class:`Program` starts in equilibrium at ``start_C`` and runs its segments in order.
:meth:`Program.discretise` turns it into the step history that the simulators read (Eq. 4
of the paper): each ramp becomes jumps of at most ``step_K`` each followed by the hold
|dT|/q, each hold becomes log-spaced sub-holds so that tau follows the relaxing Tf.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from ..errors import TNMInputError
from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
from .constants import ZERO_CELSIUS_K


@dataclass(frozen=True)
class Ramp:
    """Constant-rate ramp to ``to_C`` (°C) at ``rate_K_per_min`` (> 0, either direction)."""

    to_C: float
    rate_K_per_min: float
    label: str = ""


@dataclass(frozen=True)
class Hold:
    """Isothermal hold of ``duration_s`` seconds (> 0)."""

    duration_s: float
    label: str = ""


Segment = Union[Ramp, Hold]


@dataclass(frozen=True)
class History:
    """A discretised program: per step k, temperature after the jump ``T_K`` (K), the jump
    ``dT_K`` (K), the hold after it ``dt_s`` (s), and the index of its program segment."""

    T_K: np.ndarray
    dT_K: np.ndarray
    dt_s: np.ndarray
    segment: np.ndarray

    @property
    def time_s(self) -> np.ndarray:
        """Elapsed time at the end of each step (s)."""
        return np.cumsum(self.dt_s)


@dataclass(frozen=True)
class Program:
    """A temperature program: equilibrium at ``start_C`` (°C), then ``segments`` in order."""

    start_C: float
    segments: tuple[Segment, ...]

    def __post_init__(self):
        if not np.isfinite(self.start_C) or self.start_C <= -ZERO_CELSIUS_K:
            raise TNMInputError(f"program start {self.start_C} °C is not above absolute zero")
        T = self.start_C
        for seg in self.segments:
            if isinstance(seg, Ramp):
                if not (np.isfinite(seg.rate_K_per_min) and seg.rate_K_per_min > 0):
                    raise TNMInputError(f"ramp rate must be positive, got {seg.rate_K_per_min} K/min")
                if not np.isfinite(seg.to_C) or seg.to_C <= -ZERO_CELSIUS_K:
                    raise TNMInputError(f"ramp target {seg.to_C} °C is not above absolute zero")
                T = seg.to_C
            elif isinstance(seg, Hold):
                if not (np.isfinite(seg.duration_s) and seg.duration_s > 0):
                    raise TNMInputError(f"hold duration must be positive, got {seg.duration_s} s")
            else:
                raise TNMInputError(f"unknown program segment {seg!r}")

    def breakpoints(self) -> tuple[np.ndarray, np.ndarray]:
        """(time_s, T_C) at the start, and at the end of every segment, for plotting."""
        t, T = [0.0], [self.start_C]
        for seg in self.segments:
            if isinstance(seg, Ramp):
                t.append(t[-1] + abs(seg.to_C - T[-1]) / (seg.rate_K_per_min / 60.0))
                T.append(seg.to_C)
            else:
                t.append(t[-1] + seg.duration_s)
                T.append(T[-1])
        return np.array(t), np.array(T)

    def discretise(self, step_K: float = 0.1, hold_substeps: int = 60) -> History:
        """Step history with temperature jumps of at most ``step_K`` (K).

        A ramp over dT is cut into n = ceil(|dT|/step_K) equal jumps, each followed by the
        hold |dT|/(n*q).  A hold is cut into ``hold_substeps`` sub-holds whose ends are
        log-spaced from 1e-6 of its duration to its end.
        """
        if not (np.isfinite(step_K) and step_K > 0):
            raise TNMInputError(f"step must be positive, got {step_K} K")
        T_parts, dT_parts, dt_parts, seg_parts = [], [], [], []
        T_now = self.start_C
        for index, seg in enumerate(self.segments):
            if isinstance(seg, Ramp):
                span = seg.to_C - T_now
                n = int(np.ceil(abs(span) / step_K - 1e-9))
                if n == 0:
                    continue
                k = np.arange(1, n + 1)
                T_parts.append(ZERO_CELSIUS_K + T_now + span * k / n)
                dT_parts.append(np.full(n, span / n))
                dt_parts.append(np.full(n, abs(span) / n / (seg.rate_K_per_min / 60.0)))
                T_now = seg.to_C
            else:
                ends = seg.duration_s * np.logspace(-6.0, 0.0, hold_substeps)
                n = ends.size
                T_parts.append(np.full(n, ZERO_CELSIUS_K + T_now))
                dT_parts.append(np.zeros(n))
                dt_parts.append(np.diff(ends, prepend=0.0))
            seg_parts.append(np.full(n, index))
        if not T_parts:
            raise TNMInputError("the program has no steps")
        history = History(np.concatenate(T_parts), np.concatenate(dT_parts),
                          np.concatenate(dt_parts), np.concatenate(seg_parts))
        return history


def chr_program(cycle_min_C: float, cycle_max_C: float,
                cooling_rates_K_per_min: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                heating_rate_K_per_min: float = PAPER_HEATING_RATE_K_PER_MIN) -> Program:
    """The paper's constant-heating-rate cycles (Table 1) between two temperatures (°C).

    Starts in equilibrium at ``cycle_max_C``; for each cooling rate: cool to ``cycle_min_C``,
    then heat back to ``cycle_max_C`` at ``heating_rate_K_per_min``.  One continuous
    history: each cycle remembers the earlier ones.  Segments are labelled
    ``cool q=<rate>`` and ``heat q=<rate>`` (the rate of the cooling before the scan).
    """
    if not cycle_min_C < cycle_max_C:
        raise TNMInputError(f"cycle_min ({cycle_min_C} °C) must be below cycle_max ({cycle_max_C} °C)")
    segments: list[Segment] = []
    for q in cooling_rates_K_per_min:
        segments.append(Ramp(cycle_min_C, q, label=f"cool q={q:g}"))
        segments.append(Ramp(cycle_max_C, heating_rate_K_per_min, label=f"heat q={q:g}"))
    return Program(cycle_max_C, tuple(segments))


def program_from_document(document: dict) -> Program:
    """A :class:`Program` from a plain document (parsed YAML), in either of two layouts:

    - written by hand: ``{start_C: 80, segments: [{ramp: {to_C: 20, rate_K_per_min: 10}},
      {hold: {duration_min: 60}}, ...]}`` (``duration_s`` or ``duration_h`` also accepted);
    - written by ``tnm read --program-out`` (schema "tnmlib thermal program 1"): its ``steps``,
      each a ramp or hold with ``T_start_C``, ``T_end_C``, ``rate_K_per_min`` and ``duration_min``;
      the program starts in equilibrium at the first step's ``T_start_C``.

    Raises TNMInputError naming the first thing it cannot read."""
    if not isinstance(document, dict):
        raise TNMInputError("a program is a mapping with start_C and segments (or steps, as tnm read writes)")
    segments: list[Segment] = []
    if "steps" in document:
        steps = document["steps"]
        if not isinstance(steps, list) or not steps:
            raise TNMInputError("the program's steps must be a non-empty list")
        try:
            start = float(steps[0]["T_start_C"])
            for k, step in enumerate(steps, start=1):
                if step["kind"] == "ramp":
                    if abs(float(step["T_end_C"]) - float(step["T_start_C"])) > 0:
                        segments.append(Ramp(float(step["T_end_C"]), abs(float(step["rate_K_per_min"])),
                                             label=str(step.get("source", ""))))
                elif step["kind"] == "hold":
                    if float(step["duration_min"]) > 0:
                        segments.append(Hold(60.0 * float(step["duration_min"]), label=str(step.get("source", ""))))
                else:
                    raise TNMInputError(f"step {k}: kind {step['kind']!r} is neither ramp nor hold")
        except (KeyError, TypeError, ValueError) as exc:
            raise TNMInputError(f"a step of the program lacks or mangles {exc}") from None
        return Program(start, tuple(segments))
    try:
        start = float(document["start_C"])
        for k, item in enumerate(document["segments"], start=1):
            if not isinstance(item, dict) or len(item) != 1:
                raise TNMInputError(f"segment {k}: write {{ramp: {{...}}}} or {{hold: {{...}}}}")
            (kind, spec), = item.items()
            if kind == "ramp":
                segments.append(Ramp(float(spec["to_C"]), float(spec["rate_K_per_min"])))
            elif kind == "hold":
                unit = next((u for u in ("duration_s", "duration_min", "duration_h") if u in spec), None)
                if unit is None:
                    raise TNMInputError(f"segment {k}: a hold needs duration_s, duration_min or duration_h")
                scale = {"duration_s": 1.0, "duration_min": 60.0, "duration_h": 3600.0}[unit]
                segments.append(Hold(scale * float(spec[unit])))
            else:
                raise TNMInputError(f"segment {k}: {kind!r} is neither ramp nor hold")
    except (KeyError, TypeError, ValueError) as exc:
        raise TNMInputError(f"the program lacks or mangles {exc}") from None
    if not segments:
        raise TNMInputError("the program has no segments")
    return Program(start, tuple(segments))

