"""A DSC run as an instrument exported it, and what the sample actually did.

Readers of vendor exports (:mod:`tnmlib.pipeline.exports`) turn a file into a :class:`Measurement`:
its segments (rows of time, measured sample temperature, heat flow and, where the export has one, a
heat-capacity column) in the units used here — minutes, °C, W/g with endothermic heat flow
positive, J/(g·K) — and the programmed title of each segment.  Everything after that is physics
and bookkeeping, and lives here:

- :func:`thermal_history` classifies each segment from its *measured* temperature (heating,
  cooling, isothermal), measures the rate the sample followed (which on fast coolings is far from
  the programmed one), bridges the gaps where data were off by the programmed step, and pairs
  each heating scan with the history before it;
- :func:`heating_scan_cp` gives a heating scan's Cp (J/(g·K)) from the heat flow and the measured
  heating rate, or from the export's heat-capacity column where that column can be trusted, with
  the start-up transient left out.

The schema of the program it writes (``tnm read --program-out``) is :data:`PROGRAM_SCHEMA`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import TNMInputError

#: |rate| below this (K/min) is a hold.
HOLD_RATE_K_PER_MIN = 0.05
#: A ramp must traverse at least this many kelvin to count as heating or cooling.
MIN_RAMP_SPAN_K = 2.0
#: Seconds after the measured rate has settled that the heat flow still needs (the instrument's
#: settling); the default of :func:`heating_scan_cp` and ``tnm read/fit --settling-s``.
SETTLING_S = 20.0
#: A data gap longer than this many median sampling intervals (and 0.05 min) is a gap.
GAP_INTERVALS = 5.0
#: Fewest rows of a heating scan worth reading.
MIN_SCAN_ROWS = 20

_RAMP_TITLE = re.compile(r"ramp\s+([-+]?[0-9]*[.,]?[0-9]+)\s*(?:°|deg)?\s*(C|K)\s*/\s*min\s+to\s+"
                         r"([-+]?[0-9]*[.,]?[0-9]+)", re.IGNORECASE)
_HOLD_TITLE = re.compile(r"(isothermal|equilibrate|hold)", re.IGNORECASE)


@dataclass
class Segment:
    """One segment of a run, in the units used here.

    ``time_min``, ``T_C`` (measured sample temperature), ``heat_flow_W_per_g`` (endothermic
    positive) and ``cp_J_per_gK`` (the export's heat-capacity column, NaN where absent) are arrays
    of one length (n_rows,), NaN where a row lacks the value.  ``title`` is the programmed step
    as the export names it ("Ramp 10.00 °C/min to 0.00 °C"), or "" where it names none."""

    index: int
    title: str
    time_min: np.ndarray
    T_C: np.ndarray
    heat_flow_W_per_g: np.ndarray
    cp_J_per_gK: np.ndarray | None = None

    @property
    def nominal(self) -> dict:
        """The programmed step read from the title: kind ("ramp", "hold" or None), rate (K/min,
        unsigned) and end temperature (°C) of a ramp."""
        match = _RAMP_TITLE.search(self.title)
        if match:
            return {"kind": "ramp", "rate_K_per_min": float(match.group(1).replace(",", ".")),
                    "end_C": float(match.group(3).replace(",", "."))}
        if _HOLD_TITLE.search(self.title):
            return {"kind": "hold", "rate_K_per_min": 0.0, "end_C": None}
        return {"kind": None, "rate_K_per_min": None, "end_C": None}


@dataclass
class Measurement:
    """A run read from an export: its format, sample, segments and the reader's notes (every
    decision the reader made that a user should know, e.g. a unit converted)."""

    source: str
    format: str
    sample: str
    sample_mass_mg: float | None
    exotherm: str | None
    segments: list[Segment]
    procedure: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Step:
    """One step of the thermal history: a ramp or hold the sample followed (``source`` "measured")
    or a bridge over a gap where data were off ("bridged: ..."), in °C, K/min and min."""

    kind: str
    T_start_C: float
    T_end_C: float
    rate_K_per_min: float
    duration_min: float
    source: str
    segment: int | None = None


@dataclass
class SegmentSummary:
    """A row of ``tnm read``'s table: a segment as programmed and as the sample followed it."""

    index: int
    title: str
    kind: str
    nominal_rate_K_per_min: float | None
    achieved_rate_K_per_min: float
    T_start_C: float
    T_end_C: float
    points: int
    cooled_at_K_per_min: float | None = None
    fit: bool = False
    reason: str = ""


def _finite_rows(segment: Segment) -> np.ndarray:
    return np.isfinite(segment.time_min) & np.isfinite(segment.T_C)


def achieved_rate(segment: Segment) -> float:
    """The rate (K/min, signed) the sample followed: the least-squares slope of measured
    temperature against time over the segment's middle (its first 15 % and last 5 % in time left
    out, where the instrument starts and stops the ramp)."""
    ok = _finite_rows(segment)
    t, T = segment.time_min[ok], segment.T_C[ok]
    if t.size < 3 or np.ptp(t) <= 0:
        return 0.0
    keep = (t >= t[0] + 0.15 * np.ptp(t)) & (t <= t[-1] - 0.05 * np.ptp(t))
    if np.count_nonzero(keep) < 3:
        keep = np.ones_like(t, dtype=bool)
    return float(np.polyfit(t[keep], T[keep], 1)[0])


def segment_kind(segment: Segment) -> str:
    """"heating", "cooling" or "isothermal", from the measured temperature."""
    ok = _finite_rows(segment)
    rate = achieved_rate(segment)
    span = float(np.ptp(segment.T_C[ok])) if np.any(ok) else 0.0
    if abs(rate) < HOLD_RATE_K_PER_MIN or span < MIN_RAMP_SPAN_K:
        return "isothermal"
    return "heating" if rate > 0 else "cooling"


def _ends(segment: Segment) -> tuple[float, float, float, float]:
    ok = _finite_rows(segment)
    t, T = segment.time_min[ok], segment.T_C[ok]
    return float(t[0]), float(T[0]), float(t[-1]), float(T[-1])


def _sampling_min(segment: Segment) -> float:
    t = segment.time_min[_finite_rows(segment)]
    steps = np.diff(t)
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 0.0


def thermal_history(measurement: Measurement) -> tuple[list[Step], list[SegmentSummary]]:
    """The program the sample followed and a summary of each segment.

    Each segment with data becomes a ramp at its achieved rate or a hold; a gap in time between
    two segments (data off) is bridged by the programmed step: the sample goes on at the last
    segment's rate towards its programmed end temperature, then holds there, and is taken to
    the next segment's first measured temperature at the rate that the remaining time allows.
    In the summary, each heating scan carries the achieved rate of the last cooling before it
    (``cooled_at_K_per_min``, positive), None where no cooling precedes it in the file."""
    segments = [s for s in measurement.segments if np.count_nonzero(_finite_rows(s)) >= 2]
    if not segments:
        raise TNMInputError(f"{measurement.source}: no segment holds two rows of time and temperature")
    steps: list[Step] = []
    summaries: list[SegmentSummary] = []
    last_cooling: float | None = None
    previous: Segment | None = None
    for segment in segments:
        t0, T0, t1, T1 = _ends(segment)
        if previous is not None:
            steps.extend(_bridge(previous, t0, T0))
        kind = segment_kind(segment)
        rate = achieved_rate(segment) if kind != "isothermal" else 0.0
        steps.append(Step("ramp" if kind != "isothermal" else "hold", T0, T1, rate, t1 - t0, "measured",
                          segment.index))
        summary = SegmentSummary(segment.index, segment.title, kind, segment.nominal["rate_K_per_min"], rate,
                                 T0, T1, int(np.count_nonzero(_finite_rows(segment))))
        if kind == "heating":
            summary.cooled_at_K_per_min = last_cooling
        elif kind == "cooling":
            last_cooling = -rate
        summaries.append(summary)
        previous = segment
    return steps, summaries


def _bridge(previous: Segment, t_next: float, T_next: float) -> list[Step]:
    """Steps over the time between ``previous``'s last row and the next segment's first."""
    _, _, t_end, T_end = _ends(previous)
    gap = t_next - t_end
    if gap < -1e-9:
        raise TNMInputError(f"segment {previous.index + 1} starts at {t_next:g} min, before segment "
                            f"{previous.index} ends ({t_end:g} min): the time column must increase")
    if gap <= max(GAP_INTERVALS * _sampling_min(previous), 0.05):
        return []
    out: list[Step] = []
    nominal = previous.nominal
    rate = achieved_rate(previous) if segment_kind(previous) != "isothermal" else 0.0
    target = nominal["end_C"]
    T, left = T_end, gap
    if target is not None and rate != 0 and (target - T) * rate > 0:
        # the sample goes on towards the programmed end at the rate it was following
        needed = (target - T) / rate
        if needed < left:
            out.append(Step("ramp", T, target, rate, needed, "bridged: programmed ramp continued while data were off"))
            T, left = target, left - needed
    if abs(T_next - T) < MIN_RAMP_SPAN_K / 4:
        out.append(Step("hold", T, T_next, 0.0, left, "bridged: hold while data were off"))
    else:
        out.append(Step("ramp", T, T_next, (T_next - T) / left, left,
                        "bridged: reaches the next segment's first temperature in the time data were off"))
    return out


def heating_scan_cp(segment: Segment, settling_s: float = SETTLING_S) -> tuple[np.ndarray, np.ndarray, dict]:
    """A heating scan's measured temperature (°C, increasing) and Cp (J/(g·K)), its start-up left out.

    The start-up ends where the measured rate first stays within 10 % of the achieved rate, plus
    ``settling_s`` s for the heat flow to settle.  Cp is the export's heat-capacity column where
    that column is finite and positive on every kept row, else heat flow / measured heating rate.
    Returns T_C, cp and a dict: rate_K_per_min, startup_end_C, cp_source."""
    ok = _finite_rows(segment) & np.isfinite(segment.heat_flow_W_per_g)
    t, T, hf = segment.time_min[ok], segment.T_C[ok], segment.heat_flow_W_per_g[ok]
    if t.size < MIN_SCAN_ROWS:
        raise TNMInputError(f"segment {segment.index}: {t.size} rows with time, temperature and heat flow "
                            f"(need {MIN_SCAN_ROWS})")
    rate = achieved_rate(segment)
    if rate <= 0:
        raise TNMInputError(f"segment {segment.index} is not a heating scan (achieved rate {rate:.3g} K/min)")
    local = np.gradient(T, t) if np.all(np.diff(t) > 0) else np.full_like(T, rate)
    # a rolling median over ~3 s of rows keeps one noisy row from ending the start-up early
    window = max(1, int(round(0.05 / max(_sampling_min(segment), 1e-6))))
    steady = np.abs(_rolling_median(local, window) - rate) <= 0.1 * rate
    settled_at = int(np.argmax(steady)) if np.any(steady) else t.size
    keep = t >= (t[settled_at] if settled_at < t.size else math.inf) + settling_s / 60.0
    # rows after the scan turns (the instrument stops the ramp) leave too
    keep &= T <= np.maximum.accumulate(T)
    if np.count_nonzero(keep) < MIN_SCAN_ROWS:
        raise TNMInputError(f"segment {segment.index}: fewer than {MIN_SCAN_ROWS} rows after the start-up "
                            f"transient ({settling_s:g} s settling)")
    startup_end_C = float(T[keep][0])
    cp_column = segment.cp_J_per_gK[ok][keep] if segment.cp_J_per_gK is not None else None
    T, hf = T[keep], hf[keep]
    if cp_column is not None and np.all(np.isfinite(cp_column)) and np.all(cp_column > 0):
        cp, source = cp_column, "heat-capacity column"
    else:
        cp, source = hf / (rate / 60.0), "heat flow / measured heating rate"
    order = np.argsort(T, kind="stable")
    T, cp = T[order], cp[order]
    unique = np.concatenate([[True], np.diff(T) > 0])
    return T[unique], cp[unique], {"rate_K_per_min": rate, "startup_end_C": startup_end_C, "cp_source": source}


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1:
        return values
    padded = np.pad(values, window // 2, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * (window // 2) + 1)
    return np.median(view, axis=1)


#: What ``tnm read --program-out`` writes (YAML): the history the sample followed.
PROGRAM_SCHEMA = {
    "source": "the export read",
    "format": "the export's format",
    "sample": "sample name", "sample_mass_mg": "sample mass (mg) or null",
    "steps": "list, in time order, of {kind: ramp|hold, T_start_C, T_end_C, rate_K_per_min (signed; "
             "0 for a hold), duration_min, source: measured | bridged: <how>, segment: the export's "
             "segment number or null for a bridge}",
    "heating_scans": "list of {segment, cooled_at_K_per_min, heating_rate_K_per_min, fit: bool, reason}",
}


def program_document(measurement: Measurement, steps: list[Step], summaries: list[SegmentSummary]) -> dict:
    """The history as a plain document (:data:`PROGRAM_SCHEMA`)."""
    return {
        "schema": "tnmlib thermal program 1",
        "source": measurement.source, "format": measurement.format, "sample": measurement.sample,
        "sample_mass_mg": measurement.sample_mass_mg,
        "steps": [{"kind": s.kind, "T_start_C": round(s.T_start_C, 4), "T_end_C": round(s.T_end_C, 4),
                   "rate_K_per_min": round(s.rate_K_per_min, 5), "duration_min": round(s.duration_min, 5),
                   "source": s.source, "segment": s.segment} for s in steps],
        "heating_scans": [{"segment": r.index, "cooled_at_K_per_min": r.cooled_at_K_per_min,
                           "heating_rate_K_per_min": round(r.achieved_rate_K_per_min, 5), "fit": r.fit,
                           "reason": r.reason} for r in summaries if r.kind == "heating"],
    }
