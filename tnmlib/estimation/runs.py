"""From a measured run to curves a fit can take: which heating scans, normalised how, after which
cooling.

:func:`prepare_run` takes a :class:`~tnmlib.estimation.measurement.Measurement`, finds the
history (:func:`~tnmlib.estimation.measurement.thermal_history`), gives each heating scan its
Cp with the start-up left out, chooses and checks its glass and liquid lines
(:mod:`tnmlib.estimation.baselines`), decides which scans can be fitted and says why not for the
others, and puts the chosen scans' Cp^N on one uniform temperature grid with the rate each was
cooled at through its glass transition.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TNMInputError
from ..physics.instrument import instrument_lag
from ..physics.program import Hold, Program, Ramp
from ..physics.simulate import program_lattice, program_scans
from .baselines import GUARANTEED, BaselineSettings, ScanBaseline, compare_steps, scan_baselines
from .measured import Curves
from .measurement import (SETTLING_S, Measurement, SegmentSummary, Step, achieved_rate, heating_scan_cp,
                          thermal_history)

#: Spacing (K) of the grid the chosen scans are averaged onto for the fit.
GRID_STEP_K = 0.5
#: Heating scans whose achieved rates differ by more than this fraction cannot share one fit.
HEATING_RATE_TOLERANCE = 0.05


@dataclass
class PreparedRun:
    """What ``tnm read`` shows and ``tnm fit`` fits: the history, one summary per segment (with
    ``fit`` and ``reason`` set for heating scans), each heating scan's provisional lines (which the
    fit takes, :meth:`~tnmlib.estimation.baselines.BaselineSettings.for_fit`), ``scan_info``
    (rate, start-up end, Cp source, and ``alone``: "yes" when the guaranteed normalisation
    holds too, else why not), and the chosen scans as Curves (provisional Cp^N; None when fewer than two can be
    fitted)."""

    measurement: Measurement
    steps: list[Step]
    summaries: list[SegmentSummary]
    baselines: dict[int, ScanBaseline]
    scan_info: dict[int, dict]
    curves: Curves | None
    heating_rate_K_per_min: float | None
    transition_window_C: tuple[float, float] | None
    #: with the measured history: the program and each chosen scan's ramp in it
    program: Program | None = None
    ramp_of: dict[int, int] | None = None

    def subset_curves(self, keep: list[int]) -> Curves:
        """The chosen scans at positions ``keep`` (into :attr:`chosen`) as Curves with their own
        history model (the same program; only those scans simulated)."""
        c = self.curves
        out = Curves(c.T_C, c.values[keep], c.cooling_rates_K_per_min[keep], [c.columns[k] for k in keep],
                     c.baselines, None, c.history)
        if self.program is not None:
            out.history_model = history_model(self.program, [self.ramp_of[self.chosen[k]] for k in keep], c.T_C,
                                              float(c.T_C[1] - c.T_C[0]), self.heating_rate_K_per_min,
                                              [self.scan_info[self.chosen[k]]["T_C"] for k in keep])
        return out

    @property
    def chosen(self) -> list[int]:
        return [s.index for s in self.summaries if s.kind == "heating" and s.fit]


#: How tnm fit simulates an export: the program the sample followed, or constant-rate cycles.
HISTORIES = ("measured", "nominal")


def history_program(steps: list[Step], liquid_C: float) -> tuple[Program, dict[int, int]]:
    """The history as a :class:`~tnmlib.physics.program.Program` — ramps at their achieved rates,
    holds, bridges — from the first cooling that starts in the liquid (above ``liquid_C``, °C),
    where the sample is in equilibrium whatever it did before; and, for each export segment that
    became a ramp, its index among the program's segments."""
    first = next((k for k, st in enumerate(steps)
                  if st.kind == "ramp" and st.rate_K_per_min < 0 and st.T_start_C > liquid_C), None)
    if first is None:
        raise TNMInputError(f"no cooling starts in the liquid (above {liquid_C:.1f} °C): the history is unknown")
    steps = steps[first:]
    segments, index = [], {}
    for step in steps:
        if step.kind == "ramp" and abs(step.T_end_C - step.T_start_C) > 1e-9 and abs(step.rate_K_per_min) > 0:
            if step.segment is not None:
                index[step.segment] = len(segments)
            segments.append(Ramp(step.T_end_C, abs(step.rate_K_per_min), label=step.source))
        elif step.duration_min > 0 and step.kind == "hold":
            segments.append(Hold(60.0 * step.duration_min, label=step.source))
    return Program(steps[0].T_start_C, tuple(segments)), index


#: The model is simulated this much finer than the fit's grid (at most 0.1 K), then sampled at the
#: scans' rows and binned exactly as the data were (:func:`bin_rows`).
MODEL_SUBSTEPS = 5


def bin_rows(T_rows: np.ndarray, values: np.ndarray, grid: np.ndarray, step_K: float) -> np.ndarray:
    """Averages over the bins (g − step, g] of ``grid`` of the piecewise-linear curve through the
    rows (T_rows increasing, °C): the integral of the interpolant over each bin / step."""
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (values[1:] + values[:-1]) * np.diff(T_rows))])
    return (np.interp(grid, T_rows, integral) - np.interp(grid - step_K, T_rows, integral)) / step_K


def history_model(program: Program, ramps: list[int], T_C: np.ndarray, step_K: float, heating_rate_K_per_min: float,
                  rows: list[np.ndarray] | None = None):
    """The function (params, lag s) -> Cp^N (n_scans, n_T) of the heating ramps ``ramps`` of
    ``program`` on the uniform grid ``T_C`` (:func:`tnmlib.physics.simulate.program_scans`), through
    a first-order instrument lag.  With ``rows`` (each scan's row temperatures, °C) the model sees
    what the data went through: simulated on a grid :data:`MODEL_SUBSTEPS` times finer, read at
    the rows and binned by :func:`bin_rows` — where rows are sparse against a sharp peak, the
    binned rows miss its top, and so must the model."""
    if rows is None:
        frozen = _FrozenProgram(program, ramps, T_C, step_K)

        def model(params, lag_s: float = 0.0) -> np.ndarray:
            scans = frozen(params)
            return instrument_lag(scans, lag_s, step_K, heating_rate_K_per_min) if lag_s > 0 else scans
        model.freeze = frozen.freeze
        return model
    fine_step = min(0.1, step_K / MODEL_SUBSTEPS)
    # rows a little beyond the grid's ends enter its end bins' interpolants: simulate over them too
    lo = max(float(T_C[0]) - step_K - 1.0, max(float(r[0]) for r in rows))
    hi = min(float(T_C[-1]) + 1.0, min(float(r[-1]) for r in rows))
    fine = lo + fine_step * np.arange(1, int(np.floor((hi - lo) / fine_step)) + 1)
    centres = fine - 0.5 * fine_step
    # rows beyond the fine grid take its end values (glass or liquid there); only the rows next to
    # the grid's ends enter a bin's interpolant
    near = [r[(r >= T_C[0] - step_K - 2.0) & (r <= T_C[-1] + 2.0)] for r in rows]

    frozen = _FrozenProgram(program, ramps, fine, fine_step)

    def sampled(params, lag_s: float = 0.0) -> np.ndarray:
        scans = frozen(params)
        if lag_s > 0:
            scans = instrument_lag(scans, lag_s, fine_step, heating_rate_K_per_min)
        return np.array([bin_rows(r, np.interp(r, centres, scan), T_C, step_K) for r, scan in zip(near, scans)])
    sampled.freeze = frozen.freeze
    return sampled


class _FrozenProgram:
    """:func:`program_scans` with its internal steps recorded by :meth:`freeze` (or the first
    call) and replayed: the scans are a smooth function of the parameters (for fits)."""

    def __init__(self, program: Program, ramps: list[int], T_C: np.ndarray, step_K: float):
        self.program, self.ramps, self.T_C, self.step_K = program, ramps, T_C, step_K
        self.lattice: np.ndarray | None = None

    def freeze(self, params, final: bool = True) -> None:
        """Record the internal steps the adaptive march takes at ``params`` (dh J/mol, ln A, x, β);
        ``final`` is for the fit's protocol (the march has no coarser early steps)."""
        self.lattice = program_lattice(self.program, params, self.ramps, self.T_C, self.step_K)

    def __call__(self, params) -> np.ndarray:
        if self.lattice is None:
            self.freeze(params)
        return program_scans(self.program, params, self.ramps, self.T_C, self.step_K, lattice=self.lattice)


def _rate_through(segment, lo_C: float, hi_C: float) -> tuple[float, str]:
    """Cooling rate (K/min, positive) of a segment through [lo_C, hi_C] °C; where its data end
    above that window (data off), the rate over its last quarter of rows."""
    ok = np.isfinite(segment.time_min) & np.isfinite(segment.T_C)
    t, T = segment.time_min[ok], segment.T_C[ok]
    inside = (T >= lo_C) & (T <= hi_C)
    if np.count_nonzero(inside) >= 3 and np.ptp(t[inside]) > 0:
        return float(-np.polyfit(t[inside], T[inside], 1)[0]), "through the transition"
    last = slice(max(0, int(0.75 * t.size)), t.size)
    if t[last].size >= 3 and np.ptp(t[last]) > 0 and T[-1] > hi_C:
        return float(-np.polyfit(t[last], T[last], 1)[0]), "over its last rows (data end above the transition)"
    return -achieved_rate(segment), "over the segment"


def prepare_run(measurement: Measurement, settings: BaselineSettings = GUARANTEED, *,
                scans: list[int] | None = None, include_flagged: bool = False,
                settling_s: float = SETTLING_S, grid_step_K: float = GRID_STEP_K,
                history: str = "measured") -> PreparedRun:
    """Read the run as described in the module docstring.  ``scans``: the heating scans (segment
    numbers) to fit — each must be a heating scan with a cooling before it and normalisable, or
    the call stops with the reason; default: every scan that passes all checks (flagged ones too
    with ``include_flagged``).  ``history``: "measured" fits along the program the sample followed
    (:func:`history_program`), "nominal" along constant-rate cycles at the paired cooling rates."""
    if history not in HISTORIES:
        raise TNMInputError(f"history must be one of {', '.join(HISTORIES)}, got {history!r}")
    steps, summaries = thermal_history(measurement)
    by_index = {s.index: s for s in measurement.segments}
    heating = [s for s in summaries if s.kind == "heating"]
    if not heating:
        raise TNMInputError(f"{measurement.source}: no heating scan (every segment cools or holds)")
    if scans is not None:
        unknown = [k for k in scans if k not in {s.index for s in heating}]
        if unknown:
            raise TNMInputError(f"--scans {','.join(map(str, unknown))}: not heating scans of this run "
                                f"(heating scans: {','.join(str(s.index) for s in heating)})")
    baselines: dict[int, ScanBaseline] = {}
    info: dict[int, dict] = {}
    for summary in heating:
        segment = by_index[summary.index]
        try:
            T, cp, info[summary.index] = heating_scan_cp(segment, settling_s)
        except TNMInputError as exc:
            baselines[summary.index] = ScanBaseline(error=str(exc).split(": ", 1)[-1])
            continue
        # the fit takes a practitioner's lines; whether the guaranteed normalisation holds is reported
        baselines[summary.index] = scan_baselines(T, cp, settings.for_fit())
        alone = scan_baselines(T, cp, settings)
        info[summary.index].update(T_C=T, cp=cp, alone=alone.error or "; ".join(alone.flags) or "yes")
    candidates = [s for s in heating if s.cooled_at_K_per_min is not None]
    compare_steps([baselines[s.index] for s in candidates], settings.for_fit())
    windows = [baselines[s.index].transition_C for s in candidates if baselines[s.index].error is None]
    window = (float(np.median([w[0] for w in windows])), float(np.median([w[1] for w in windows]))) if windows else None
    _cooling_rates(measurement, summaries, window)
    for summary in heating:
        summary.fit, summary.reason = _verdict(summary, baselines[summary.index], include_flagged)
    if scans is not None:
        for summary in heating:
            if summary.index in scans:
                b = baselines[summary.index]
                if summary.cooled_at_K_per_min is None or b.error is not None:
                    raise TNMInputError(f"scan {summary.index} (segment {summary.index}) cannot be fitted: "
                                        f"{summary.reason}")
                summary.fit, summary.reason = True, ("chosen with --scans" + (f" despite: {'; '.join(b.flags)}"
                                                                              if b.flags else ""))
            elif summary.fit:
                summary.fit, summary.reason = False, "not among --scans"
    chosen = [s for s in heating if s.fit]
    heating_rate = None
    if chosen:
        rates = np.array([info[s.index]["rate_K_per_min"] for s in chosen])
        heating_rate = float(np.mean(rates))
        if np.ptp(rates) > HEATING_RATE_TOLERANCE * heating_rate:
            raise TNMInputError(f"the chosen scans were heated at {np.round(rates, 2).tolist()} K/min: one fit needs "
                                "one heating rate (choose scans with --scans)")
    curves = _curves(chosen, baselines, info, grid_step_K) if len(chosen) >= 2 else None
    program = index = None
    if curves is not None and history == "measured":
        program, index = history_program(steps, window[1])
        curves.history_model = history_model(program, [index[s.index] for s in chosen], curves.T_C, grid_step_K,
                                             heating_rate, [info[s.index]["T_C"] for s in chosen])
        curves.history = (f"the program the sample followed ({len(program.segments)} ramps and holds from "
                          f"{program.start_C:.1f} °C, achieved rates, gaps bridged), followed in the continuous limit")
    return PreparedRun(measurement, steps, summaries, baselines, info, curves, heating_rate, window, program, index)


def _cooling_rates(measurement: Measurement, summaries: list[SegmentSummary], window) -> None:
    """Set each heating scan's ``cooled_at_K_per_min`` to the rate of the last cooling before it
    that passed through the transition window (°C), measured there."""
    by_index = {s.index: s for s in measurement.segments}
    last = None
    for summary in summaries:
        if summary.kind == "cooling":
            segment = by_index[summary.index]
            if window is None:
                last = (summary, -summary.achieved_rate_K_per_min, "over the segment")
            elif summary.T_start_C > window[1] and min(summary.T_end_C, _programmed_end(segment)) < window[1]:
                rate, how = _rate_through(segment, window[0], window[1])
                last = (summary, rate, how)
                summary.cooled_at_K_per_min = rate
                summary.reason = f"{rate:.2f} K/min {how}"
        elif summary.kind == "heating":
            summary.cooled_at_K_per_min = last[1] if last else None
            if summary.T_start_C > (window[0] if window else -np.inf):
                summary.cooled_at_K_per_min = None  # it starts inside or above the transition
            last = None if summary.T_end_C > (window[1] if window else np.inf) else last


def _programmed_end(segment) -> float:
    end = segment.nominal["end_C"]
    return np.inf if end is None else end


def _verdict(summary: SegmentSummary, baseline: ScanBaseline, include_flagged: bool) -> tuple[bool, str]:
    if summary.cooled_at_K_per_min is None:
        return False, "no cooling through the transition before it in the file: its history is unknown"
    if baseline.error is not None:
        return False, baseline.error
    if baseline.flags and not include_flagged:
        return False, "; ".join(baseline.flags) + " (--include-flagged fits it)"
    return True, ("; ".join(baseline.flags) + " (included)") if baseline.flags else "ok"


def _curves(chosen, baselines, info, grid_step_K) -> Curves:
    """The chosen scans' Cp^N averaged over bins (T − step, T] of a uniform grid from the highest
    start of their glass ranges to the lowest end of their liquid ranges: where every scan's
    lines were checked (beyond them a glass curves, a liquid may crystallise).  A bin's value is
    the integral of the rows' piecewise-linear interpolant over it divided by the step — what the
    model's bin averages are — not the mean of the rows that fall in it, which is off by the
    slope times the rows' offset from the bin's centre where rows are sparse (a 0.25 K row
    spacing misplaces a tall peak by tenths of Cp^N)."""
    lo = max(float(baselines[s.index].glass_range_C[0]) for s in chosen)
    hi = min(float(baselines[s.index].liquid_range_C[1]) for s in chosen)
    grid = lo + grid_step_K * np.arange(1, int(np.floor((hi - lo) / grid_step_K)) + 1)
    if grid.size < 8:
        raise TNMInputError(f"the chosen scans share only {hi - lo:.1f} K of temperature: too little to fit")
    values = np.empty((len(chosen), grid.size))
    for k, s in enumerate(chosen):
        values[k] = bin_rows(info[s.index]["T_C"], baselines[s.index].cp_n, grid, grid_step_K)
    rates = np.array([s.cooled_at_K_per_min for s in chosen])
    return Curves(grid, values, rates, [f"segment {s.index}" for s in chosen],
                  {"per_scan": {str(s.index): baselines[s.index].as_dict() for s in chosen}})
