"""Measured heating scans as the fit sees them: curves on any grid, their glass and liquid lines
(the paper's Eq. 3), the checks before a fit, and the fit's result.

:class:`Curves` holds heating scans on an increasing temperature grid (any spacing, covering
only the transition).  Raw Cp or heat flow becomes Cp^N = (Cp − glass)/(liquid − glass) with
straight glass and liquid lines fitted below and above the transition (:func:`normalize_curves`);
:func:`fit_result` runs the whole-space estimator (:func:`tnmlib.estimation.network.fit_scans`)
and returns what ``tnm fit`` writes.  Reading and writing files is the pipeline's
(:mod:`tnmlib.pipeline.scans`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import TNMInputError
from ..study.parameters import PARAMETERS
from ..version import __version__
from .classical import check_scans, scans_on_grid
from .network import NetworkEstimator, fit_scans

#: Fewest points in a fitted glass or liquid range.
MIN_BASELINE_POINTS = 4


@dataclass
class Curves:
    """Heating scans read from a file: T_C (n_T,) increasing; values (n_scans, n_T); the cooling
    rate of each scan (K/min); the column names."""

    T_C: np.ndarray
    values: np.ndarray
    cooling_rates_K_per_min: np.ndarray
    columns: list[str]
    baselines: dict = field(default_factory=dict)


def _line(T, y, lo, hi, what: str) -> np.ndarray:
    inside = (T >= lo) & (T <= hi)
    if np.count_nonzero(inside) < MIN_BASELINE_POINTS:
        raise TNMInputError(f"the {what} range [{lo:g}, {hi:g}] °C holds {np.count_nonzero(inside)} points "
                            f"(need {MIN_BASELINE_POINTS})")
    return np.polyfit(T[inside], y[inside], 1)


#: The transition starts where the smoothed Cp^N first exceeds this, and ends where it last
#: differs from 1 by more than this after the peak.
_EDGE_LEVEL = 0.02


def _transition_span(T, cp_n, smooth_points: int) -> tuple[float, float]:
    """Earliest onset and latest settling (:data:`_EDGE_LEVEL`) over the scans (n_scans, n_T)."""
    kernel = np.ones(smooth_points) / smooth_points
    onset, settled = [], []
    for scan in cp_n:
        smooth = np.convolve(np.pad(scan, smooth_points // 2, mode="edge"), kernel, mode="valid")[:T.size]
        risen = np.nonzero(np.abs(smooth) > _EDGE_LEVEL)[0]  # fast-cooled glasses dip below 0 first
        if risen.size == 0:
            raise TNMInputError("no glass transition in range: a scan never rises above its glass line")
        i_peak = int(np.argmax(smooth))
        near = np.nonzero(np.abs(smooth[i_peak:] - 1.0) > _EDGE_LEVEL)[0]
        i_settle = i_peak + (int(near[-1]) + 1 if near.size else 0)
        onset.append(T[risen[0]])
        settled.append(T[min(i_settle, T.size - 1)])
    return min(onset), max(settled)


def normalize_curves(curves: Curves, glass_range_C=None, liquid_range_C=None) -> Curves:
    """Raw Cp (or heat flow) -> Cp^N with straight glass and liquid lines (Eq. 3), fitted in the
    given ranges (°C) or in ranges found below the earliest onset and above the latest settling
    of the transition (Cp^N within 0.02 of the lines), a tenth of the transition's span away from
    it, and never more than the outer 15 %% of the data on either side."""
    T, raw = curves.T_C, curves.values
    span = T[-1] - T[0]
    glass = glass_range_C or (T[0], T[0] + 0.15 * span)
    liquid = liquid_range_C or (T[-1] - 0.15 * span, T[-1])
    for _ in range(3 if glass_range_C is None or liquid_range_C is None else 1):
        cp_n, lines = _apply_lines(T, raw, glass, liquid)
        if glass_range_C is not None and liquid_range_C is not None:
            break
        onset, settled = _transition_span(T, cp_n, max(1, T.size // 100))
        margin = 0.1 * (settled - onset)
        # Only ever shrink the outer ranges: grown towards the transition, a line would take in the
        # start of a fast-cooled glass's dip below zero and tilt, which moves the onset further.
        glass = glass_range_C or (T[0], min(glass[1], onset - margin))
        liquid = liquid_range_C or (max(liquid[0], settled + margin), T[-1])
        if glass[1] <= glass[0] or liquid[1] <= liquid[0]:
            raise TNMInputError(f"the curves hold no glass or no liquid clear of the transition "
                                f"({onset:.1f} .. {settled:.1f} °C): extend the temperature range "
                                "or give --glass-range and --liquid-range")
    cp_n, lines = _apply_lines(T, raw, glass, liquid)
    baselines = {"glass_range_C": [float(v) for v in glass], "liquid_range_C": [float(v) for v in liquid],
                 "glass_lines": lines[0], "liquid_lines": lines[1]}
    return Curves(T, cp_n, curves.cooling_rates_K_per_min, curves.columns, baselines)


def _apply_lines(T, raw, glass, liquid):
    if not (glass[0] < glass[1] < liquid[0] < liquid[1]):
        raise TNMInputError(f"the glass range {list(glass)} must lie below the liquid range {list(liquid)} °C")
    out, glass_lines, liquid_lines = np.empty_like(raw), [], []
    for k, y in enumerate(raw):
        g, l = _line(T, y, *glass, "glass"), _line(T, y, *liquid, "liquid")
        jump = np.polyval(l, T) - np.polyval(g, T)
        mid = np.polyval(l, 0.5 * (glass[1] + liquid[0])) - np.polyval(g, 0.5 * (glass[1] + liquid[0]))
        if not np.all(np.sign(jump) == np.sign(mid)) or mid == 0:
            raise TNMInputError(f"scan {k + 1}: the glass and liquid lines cross inside the data; "
                                "check --glass-range and --liquid-range")
        out[k] = (y - np.polyval(g, T)) / jump
        glass_lines.append([float(v) for v in g])
        liquid_lines.append([float(v) for v in l])
    return out, (glass_lines, liquid_lines)


def check_curves(curves: Curves) -> None:
    """Raise TNMInputError unless the Cp^N curves can be fitted: each scan rises from the glass
    (near 0) to the liquid (near 1) inside the range."""
    problem = check_scans(curves.values, curves.T_C, curves.cooling_rates_K_per_min)
    if problem:
        raise TNMInputError(problem.replace("a scan has no glass transition", "no glass transition in range"))
    edge = max(2, curves.T_C.size // 50)
    start = np.median(curves.values[:, :edge], axis=1)
    end = np.median(curves.values[:, -edge:], axis=1)
    if np.any(np.abs(start) > 0.25) or np.any(np.abs(end - 1.0) > 0.25):
        raise TNMInputError("the curves must start in the glass (Cp^N near 0) and end in the liquid (near 1); "
                            f"they start at {np.round(start, 2).tolist()} and end at {np.round(end, 2).tolist()}: "
                            "are they raw Cp (use --normalize)?")


def fit_result(curves: Curves, heating_rate_K_per_min: float, network: NetworkEstimator | None, *,
               refine: bool = True, lag_s: float = 0.0, fit_lag: bool = False) -> tuple[dict, np.ndarray | None]:
    """Fit the curves; returns the JSON-ready result and the model's scans on the data's grid (None
    when the fit failed).  Keys: the parameters under their display keys (dh_kJ_per_mol, ln_A, x,
    beta), each with ``<key>_stderr``; T_ref_C; residual_rms; correlation; lag_s; status; method;
    start; seconds; the program; version."""
    check_curves(curves)
    estimate = fit_scans(curves.T_C, curves.values, curves.cooling_rates_K_per_min, heating_rate_K_per_min,
                         network=network, refine=refine, lag_s=lag_s, fit_lag=fit_lag)
    if not np.all(np.isfinite(estimate.params)):
        raise TNMInputError(f"the fit failed ({estimate.status}): {estimate.message}")
    result: dict = {}
    stderr = estimate.extra.get("stderr")
    for k, parameter in enumerate(PARAMETERS):
        result[parameter.display_key] = float(parameter.to_display(estimate.params[k]))
        result[f"{parameter.display_key}_stderr"] = (float(parameter.to_display(stderr[k])) if stderr else None)
    names = [p.display_key for p in PARAMETERS] + (["lag_s"] if fit_lag else [])
    model = model_curves(curves, estimate.params, heating_rate_K_per_min, estimate.extra.get("lag_s", lag_s))
    residual = model - curves.values
    result.update({
        "T_ref_C": estimate.extra.get("t_ref_C"),
        "T_ref_definition": "temperature where the equilibrium relaxation time A·exp(Δh*/(R·T)) is 100 s",
        "residual_rms": float(np.sqrt(np.mean(residual ** 2))),
        "correlation": ({"parameters": names, "matrix": _finite(estimate.extra["correlation"])}
                        if "correlation" in estimate.extra else None),
        "lag_s": float(estimate.extra.get("lag_s", lag_s)),
        "lag_fitted": bool(fit_lag and refine),
        "lag_s_stderr": float(stderr[4]) if (fit_lag and stderr) else None,
        "status": estimate.status,
        "method": ("network" if estimate.extra.get("start") == "network" else "practitioner start (Moynihan, x = β = 0.5)")
                  + (" + bounded least squares on the TNM simulator" if refine else ", not refined"),
        "start": dict(zip([p.display_key for p in PARAMETERS],
                          [float(p.to_display(v)) for p, v in zip(PARAMETERS, estimate.extra.get("start_params", estimate.params))])),
        "seconds": estimate.seconds,
        "cooling_rates_K_per_min": curves.cooling_rates_K_per_min.tolist(),
        "heating_rate_K_per_min": float(heating_rate_K_per_min),
        "columns": curves.columns,
        "n_temperatures": int(curves.T_C.size),
        "T_range_C": [float(curves.T_C[0]), float(curves.T_C[-1])],
        "baselines": curves.baselines or None,
        "tnmlib_version": __version__,
    })
    return result, model


def _finite(matrix) -> list:
    return [[float(v) if math.isfinite(v) else None for v in row] for row in matrix]


def model_curves(curves: Curves, params: np.ndarray, heating_rate_K_per_min: float, lag_s: float = 0.0) -> np.ndarray:
    """The simulated scans (n_scans, n_T) of ``params`` at the data's temperatures, exactly as the
    fit compares them with the data (:func:`tnmlib.estimation.classical.scans_on_grid`; lag ``lag_s`` s)."""
    return scans_on_grid(curves.T_C, curves.cooling_rates_K_per_min, heating_rate_K_per_min)(params, lag_s)
