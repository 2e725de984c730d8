"""Measured heating scans as the fit sees them: curves on any grid, their glass and liquid lines
(the paper's Eq. 3), the checks before a fit, and the fit's result.

:class:`Curves` holds heating scans on an increasing temperature grid (any spacing, covering
only the transition).  Raw Cp or heat flow becomes Cp^N = (Cp − glass)/(liquid − glass) with
straight glass and liquid lines chosen per scan below and above the transition (:func:`normalize_curves`);
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
from .baselines import GUARANTEED, BaselineSettings, compare_steps, scan_baselines
from .classical import check_scans, scans_on_grid
from .network import NetworkEstimator, fit_scans

@dataclass
class Curves:
    """Heating scans read from a file: T_C (n_T,) increasing; values (n_scans, n_T); the cooling
    rate of each scan (K/min); the column names."""

    T_C: np.ndarray
    values: np.ndarray
    cooling_rates_K_per_min: np.ndarray
    columns: list[str]
    baselines: dict = field(default_factory=dict)
    #: the scans of the history the sample followed, (params, lag s) -> (n_scans, n_T), when it is
    #: known (an export); None: the constant-rate cycles at the cooling and heating rates
    history_model: object = None
    history: str = ""


def normalize_curves(curves: Curves, glass_range_C=None, liquid_range_C=None,
                     settings: BaselineSettings = GUARANTEED) -> Curves:
    """Raw Cp (or heat flow) -> Cp^N with straight glass and liquid lines (Eq. 3), chosen and
    checked per scan by :func:`tnmlib.estimation.baselines.scan_baselines` with
    ``settings.for_fit()`` (given ranges, °C, are used for every scan).  A scan that cannot be
    normalised, or that is flagged (a liquid that bends, a Cp step off the others' median),
    stops the call with one line naming its column and the reason.  Each scan's entry in
    ``baselines["per_scan"]`` also says (``normalised_alone``) whether the guaranteed
    normalisation (``settings``) holds for it: "yes", or why not."""
    T, raw = curves.T_C, curves.values
    found = [scan_baselines(T, y, settings.for_fit(), glass_range_C, liquid_range_C) for y in raw]
    compare_steps(found, settings.for_fit())
    for column, baseline in zip(curves.columns, found):
        if baseline.error is not None:
            raise TNMInputError(f"scan {column}: {baseline.error}")
        if baseline.flags:
            raise TNMInputError(f"scan {column}: {'; '.join(baseline.flags)} (leave it out of the file)")
    alone = [scan_baselines(T, y, settings, glass_range_C, liquid_range_C) for y in raw]
    # the fit sees only where every scan's lines were checked
    fit_range = (max(b.glass_range_C[0] for b in found), min(b.liquid_range_C[1] for b in found))
    keep = (T >= fit_range[0]) & (T <= fit_range[1])
    cp_n = np.array([b.cp_n for b in found])[:, keep]
    baselines = {"per_scan": {column: {**b.as_dict(), "normalised_alone": a.error or "; ".join(a.flags) or "yes"}
                              for column, b, a in zip(curves.columns, found, alone)},
                 "fit_range_C": [float(v) for v in fit_range]}
    return Curves(T[keep], cp_n, curves.cooling_rates_K_per_min, curves.columns, baselines)


def renormalize(curves: Curves, baselines: dict) -> Curves:
    """Apply stored lines (the ``baselines`` a fit wrote: ``per_scan`` → glass_line, liquid_line)
    to raw curves again, e.g. to draw a fit."""
    per_scan = baselines["per_scan"]
    lo, hi = baselines["fit_range_C"]
    keep = (curves.T_C >= lo) & (curves.T_C <= hi)
    T = curves.T_C[keep]
    values = np.empty((len(curves.columns), T.size))
    for k, column in enumerate(curves.columns):
        g, l = per_scan[column]["glass_line"], per_scan[column]["liquid_line"]
        values[k] = (curves.values[k, keep] - np.polyval(g, T)) / (np.polyval(l, T) - np.polyval(g, T))
    return Curves(T, values, curves.cooling_rates_K_per_min, curves.columns, baselines)


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
               refine: bool = True, lag_s: float = 0.0, fit_lag: bool = False,
               free_lines: bool = False, start_params: np.ndarray | None = None,
               profile: bool = False) -> tuple[dict, np.ndarray, Curves]:
    """Fit the curves; returns the JSON-ready result, the model's scans on the data's grid and the
    curves as the fit saw them (with ``free_lines``, the data normalised by the refined lines).
    Keys: the parameters under their display keys (dh_kJ_per_mol, ln_A, x, beta), each with
    ``<key>_stderr`` (null for a parameter in ``not_determined``: one the data do not fix); T_ref_C; residual_rms; correlation; lag_s; status; method; start; seconds;
    the program; version; with ``free_lines`` also ``refined_lines``.  ``start_params`` (dh J/mol,
    ln A, x, β): start there instead of the network's or the practitioner's start.  ``profile``:
    ``profile_interval`` holds Δh*'s and ln A's profile-likelihood intervals (±2σ) where the two
    are correlated beyond classical.PROFILE_CORRELATION (else null)."""
    check_curves(curves)
    gap = line_gaps(curves) if free_lines else None
    estimate = fit_scans(curves.T_C, curves.values, curves.cooling_rates_K_per_min, heating_rate_K_per_min,
                         network=network, refine=refine, lag_s=lag_s, fit_lag=fit_lag,
                         free_lines=free_lines and refine, model=curves.history_model, line_gap=gap,
                         start_params=start_params, profile=profile)
    if not np.all(np.isfinite(estimate.params)):
        raise TNMInputError(f"the fit failed ({estimate.status}): {estimate.message}")
    result: dict = {}
    stderr = estimate.extra.get("stderr")
    for k, parameter in enumerate(PARAMETERS):
        result[parameter.display_key] = float(parameter.to_display(estimate.params[k]))
        result[f"{parameter.display_key}_stderr"] = (float(parameter.to_display(stderr[k]))
                                                     if stderr and np.isfinite(stderr[k]) else None)
    names = [p.display_key for p in PARAMETERS] + (["lag_s"] if fit_lag else [])
    # a parameter the data do not fix has no standard error (null), never a small one
    result["not_determined"] = [names[k] for k in estimate.extra.get("not_determined", []) if k < len(names)]
    profiled = estimate.extra.get("profile")
    result["profile_interval"] = None if profiled is None else {
        **{p.display_key: [None if v is None else float(p.to_display(v)) for v in profiled[p.name]]
           for p in PARAMETERS if p.name in profiled},
        "method": profiled["method"]}
    model = model_curves(curves, estimate.params, heating_rate_K_per_min, estimate.extra.get("lag_s", lag_s))
    refined = None
    if "lines" in estimate.extra:
        curves, refined = refined_curves(curves, estimate.extra["lines"], estimate.extra["line_t"], gap)
    residual = model - curves.values
    result.update({
        "T_ref_C": estimate.extra.get("t_ref_C"),
        "T_ref_definition": "temperature where the equilibrium relaxation time A·exp(Δh*/(R·T)) is 100 s",
        "residual_rms": float(np.sqrt(np.mean(residual ** 2))),
        "correlation": ({"parameters": names, "matrix": _finite(estimate.extra["correlation"])}
                        if "correlation" in estimate.extra else None),
        "lag_s": float(estimate.extra.get("lag_s", lag_s)),
        "lag_fitted": bool(fit_lag and refine),
        "lag_s_stderr": float(stderr[4]) if (fit_lag and stderr and np.isfinite(stderr[4])) else None,
        "status": estimate.status,
        "method": ("network" if str(estimate.extra.get("start")).startswith("network")
                   else "given start" if estimate.extra.get("start") == "given"
                   else "practitioner start (Moynihan, x = β = 0.5)")
                  + (", then the fit with the provisional lines, then the lines refined with the model"
                     if "provisional_lines_fit" in estimate.extra else "")
                  + (" + bounded least squares on the TNM simulator" if refine else ", not refined"),
        "start_decision": _start_decision(curves, network, heating_rate_K_per_min),
        "start": dict(zip([p.display_key for p in PARAMETERS],
                          [float(p.to_display(v)) for p, v in zip(PARAMETERS, estimate.extra.get("start_params", estimate.params))])),
        "seconds": estimate.seconds,
        "cooling_rates_K_per_min": curves.cooling_rates_K_per_min.tolist(),
        "heating_rate_K_per_min": float(heating_rate_K_per_min),
        "columns": curves.columns,
        "n_temperatures": int(curves.T_C.size),
        "T_range_C": [float(curves.T_C[0]), float(curves.T_C[-1])],
        "baselines": curves.baselines or None,
        "refined_lines": refined,
        "provisional_lines_fit": _provisional(estimate.extra.get("provisional_lines_fit")),
        "history": curves.history or (f"constant-rate cycles: cooled at the rates above, heated at "
                                      f"{heating_rate_K_per_min:g} K/min"),
        "tnmlib_version": __version__,
    })
    return result, model, curves


def _start_decision(curves: Curves, network: NetworkEstimator | None, heating_rate_K_per_min: float) -> str:
    """Why the fit started where it did (the network reads only the histories it was trained on)."""
    if network is None:
        return "practitioner's start: no network given"
    if curves.history_model is not None:
        return ("practitioner's start: the network was trained on constant-rate cycles at its own cooling rates; "
                "this run's history is the one measured")
    if not network.matches(curves.cooling_rates_K_per_min, heating_rate_K_per_min):
        return "practitioner's start: the network was trained for other cooling or heating rates"
    return "network: the scans follow the constant-rate cycles it was trained on"


def _provisional(fit: dict | None) -> dict | None:
    """The first stage of a fit with refined lines (parameters with the provisional lines), in
    display units, for the JSON."""
    if fit is None:
        return None
    out = {p.display_key: float(p.to_display(v)) for p, v in zip(PARAMETERS, fit["params"])}
    if fit.get("stderr"):
        out.update({f"{p.display_key}_stderr": float(p.to_display(v)) if np.isfinite(v) else None
                    for p, v in zip(PARAMETERS, fit["stderr"])})
    out.update(lag_s=float(fit["lag_s"]), residual_rms=fit["residual_rms"])
    return out


def line_gaps(curves: Curves) -> np.ndarray | None:
    """Per scan, the provisional lines' gap (liquid − glass line) on the curves' temperatures
    relative to its mean (n_scans, n_T); None where the curves carry no lines (Cp^N as given)."""
    per_scan = (curves.baselines or {}).get("per_scan") or {}
    gaps = []
    for column in curves.columns:
        entry = per_scan.get(column) or per_scan.get(column.removeprefix("segment "))
        if not entry or entry.get("glass_line") is None or entry.get("liquid_line") is None:
            return None
        gap = np.polyval(entry["liquid_line"], curves.T_C) - np.polyval(entry["glass_line"], curves.T_C)
        if not np.all(gap > 0):
            return None
        gaps.append(gap / gap.mean())
    return np.array(gaps)


def refined_curves(curves: Curves, lines, line_t, gap: np.ndarray | None = None) -> tuple[Curves, dict]:
    """The data normalised by the lines the fit refined: (y·g − α)/(β − α) with α = a₀ + a₁t,
    β = b₀ + b₁t and g the provisional lines' relative gap (:func:`line_gaps`; 1 without it) per
    scan (:func:`tnmlib.estimation.classical.least_squares_fit`); and the JSON that describes them."""
    t = (curves.T_C - line_t[0]) / line_t[1]
    values = np.empty_like(curves.values)
    for k, (a0, a1, b0, b1) in enumerate(lines):
        alpha, beta = a0 + a1 * t, b0 + b1 * t
        values[k] = (curves.values[k] * (1.0 if gap is None else gap[k]) - alpha) / (beta - alpha)
    described = {
        "definition": "per scan, the provisional Cp^N y times the provisional lines' gap relative to its mean, g, was "
                      "fitted as (a0 + a1 t)(1 - N) + (b0 + b1 t) N with N the model and t = (T - T_mid)/half_span "
                      "(g = 1 when the curves carry no lines); (0, 0, 1, 0) leaves the provisional lines as they were",
        "relative_gap": gap is not None,
        "T_mid_C": float(line_t[0]), "half_span_K": float(line_t[1]),
        "per_scan": {column: [float(v) for v in coefs] for column, coefs in zip(curves.columns, lines)}}
    return Curves(curves.T_C, values, curves.cooling_rates_K_per_min, curves.columns, curves.baselines,
                  curves.history_model, curves.history), described


def _finite(matrix) -> list:
    return [[float(v) if math.isfinite(v) else None for v in row] for row in matrix]


def model_curves(curves: Curves, params: np.ndarray, heating_rate_K_per_min: float, lag_s: float = 0.0) -> np.ndarray:
    """The simulated scans (n_scans, n_T) of ``params`` at the data's temperatures, exactly as the
    fit compares them with the data (:func:`tnmlib.estimation.classical.scans_on_grid`; lag ``lag_s`` s)."""
    if curves.history_model is not None:
        return curves.history_model(params, lag_s)
    return scans_on_grid(curves.T_C, curves.cooling_rates_K_per_min, heating_rate_K_per_min)(params, lag_s)
