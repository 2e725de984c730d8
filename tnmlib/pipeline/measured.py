"""Measured heating scans: a CSV of curves in, TNM parameters with uncertainties out (``tnm fit``).

The CSV holds a ``T_C`` column and one column per heating scan.  A column named ``cp_q<rate>``
(or any name ending in ``_q<rate>``) carries its cooling rate in K/min; otherwise the rates are
given.  Rows may come in any order and on any grid (uneven, covering only the transition);
they are sorted by temperature, and a temperature may appear only once.  Columns are Cp^N, or,
with ``normalize``, raw Cp or heat flow: straight glass and liquid lines are fitted below and
above the transition and each scan becomes (Cp − glass)/(liquid − glass) (the paper's Eq. 3).
"""
from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..classical import _check_scans, scans_on_grid
from ..errors import TNMInputError
from ..estimator import NetworkEstimator, fit_scans
from ..instrument import instrument_lag
from ..study.parameters import PARAMETERS
from ..version import __version__

TEMPERATURE_COLUMN = "T_C"
_RATE_IN_NAME = re.compile(r"_q([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$")
#: Fewest rows of a usable file, and fewest points in a fitted baseline range.
MIN_ROWS, MIN_BASELINE_POINTS = 8, 4
#: Largest file ``tnm fit`` reads (bytes): measured curves are thousands of rows, not millions.
MAX_FILE_BYTES = 50_000_000


@dataclass
class Curves:
    """Heating scans read from a file: T_C (n_T,) increasing; values (n_scans, n_T); the cooling
    rate of each scan (K/min); the column names."""

    T_C: np.ndarray
    values: np.ndarray
    cooling_rates_K_per_min: np.ndarray
    columns: list[str]
    baselines: dict = field(default_factory=dict)


def _number(text: str, column: str, row: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TNMInputError(f"row {row}, column {column!r}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise TNMInputError(f"row {row}, column {column!r}: {text.strip()!r} is not a finite number")
    return value


def read_curves_csv(path: str | Path, cooling_rates_K_per_min=None) -> Curves:
    """Read a curves CSV (module docstring).  ``cooling_rates_K_per_min``: one per scan column, in
    column order; required unless every column name carries its rate, and checked against them
    when both are given.  Raises TNMInputError with a one-line reason for any malformed file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TNMInputError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; is it a curves CSV?")
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and not row[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TNMInputError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise TNMInputError(f"{path}: the file is empty")
    header = [name.strip() for name in rows[0]]
    if TEMPERATURE_COLUMN not in header:
        raise TNMInputError(f"{path}: no {TEMPERATURE_COLUMN!r} column (the header is {','.join(header)[:200]!r})")
    if len(set(header)) != len(header) or any(not name for name in header):
        raise TNMInputError(f"{path}: column names must be unique and not empty")
    scan_columns = [name for name in header if name != TEMPERATURE_COLUMN]
    if len(scan_columns) < 2:
        raise TNMInputError(f"{path}: need at least 2 heating scans (columns besides {TEMPERATURE_COLUMN}), "
                            f"got {len(scan_columns)}")
    body = rows[1:]
    if len(body) < MIN_ROWS:
        raise TNMInputError(f"{path}: need at least {MIN_ROWS} rows of data, got {len(body)}")
    table = np.empty((len(body), len(header)))
    for r, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise TNMInputError(f"{path}: row {r} has {len(row)} fields, the header {len(header)}")
        table[r - 2] = [_number(text, name, r) for text, name in zip(row, header)]
    rates = _rates(scan_columns, cooling_rates_K_per_min, path)
    T = table[:, header.index(TEMPERATURE_COLUMN)]
    order = np.argsort(T, kind="stable")
    T = T[order]
    repeated = np.nonzero(np.diff(T) <= 0)[0]
    if repeated.size:
        raise TNMInputError(f"{path}: the temperature {T[repeated[0]]:g} °C appears more than once "
                            f"({repeated.size} repeats): one row per temperature")
    values = table[order][:, [header.index(name) for name in scan_columns]].T
    return Curves(T, values, rates, scan_columns)


def _rates(columns: list[str], given, path: Path) -> np.ndarray:
    matches = [_RATE_IN_NAME.search(name) for name in columns]
    named = [float(m.group(1)) for m in matches if m]
    if 0 < len(named) < len(columns):
        raise TNMInputError(f"{path}: some columns carry a rate (_q<rate>) and some do not: {', '.join(columns)}")
    if given is not None:
        given = [float(q) for q in given]
        if len(given) != len(columns):
            raise TNMInputError(f"{path}: {len(given)} cooling rates for {len(columns)} scan columns")
        if named and not np.allclose(named, given, rtol=1e-9):
            raise TNMInputError(f"{path}: the cooling rates {given} differ from those in the column names {named}")
        rates = np.array(given)
    elif named:
        rates = np.array(named)
    else:
        raise TNMInputError(f"{path}: the column names carry no rates (_q<rate>); give --cooling-rates")
    if np.any(~np.isfinite(rates)) or np.any(rates <= 0):
        raise TNMInputError(f"{path}: cooling rates must be positive, got {rates.tolist()}")
    if np.unique(rates).size != rates.size:
        raise TNMInputError(f"{path}: every scan needs its own cooling rate, got {rates.tolist()}")
    return rates


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
    problem = _check_scans(curves.values, curves.T_C, curves.cooling_rates_K_per_min)
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
    fit compares them with the data (:func:`tnmlib.classical.scans_on_grid`; lag ``lag_s`` s)."""
    return scans_on_grid(curves.T_C, curves.cooling_rates_K_per_min, heating_rate_K_per_min)(params, lag_s)


# ---- example measurements of literature-like glasses (the check of tnm fit, and a demo) ------
#: The kinds of example file: Cp^N as simulated; Cp^N with 1 % noise and a 3 s lag on an uneven
#: grid in shuffled rows; raw Cp (J/(g K)) with sloped glass and liquid lines and 0.5 % noise.
EXAMPLE_KINDS = ("clean", "noisy-lag", "raw")
EXAMPLE_NOISE_FRACTION, EXAMPLE_LAG_S = 0.01, 3.0


def example_curves(params: np.ndarray, kind: str, seed: int = 0, n_points: int = 400) -> tuple[np.ndarray, dict]:
    """Heating scans of one parameter set (dh J/mol, ln A, x, β) as a measurement of ``kind``
    (:data:`EXAMPLE_KINDS`) would record them over the transition region: (T_C (n_T,), {column
    name: values}) in row order, the paper's six cooling rates, heating at 10 K/min."""
    from ..instrument import add_noise
    from ..physics.transition import simulate_transition_scans

    if kind not in EXAMPLE_KINDS:
        raise TNMInputError(f"kind must be one of {', '.join(EXAMPLE_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    scans = simulate_transition_scans(np.asarray(params, dtype=float)[None], n_points=n_points)
    T, cp, step = scans.T_C(0), scans.cp[0], float(scans.step_K[0])
    rates = [0.5, 1, 2, 5, 10, 20]
    if kind == "clean":
        return T, {f"cp_q{q:g}": cp[k] for k, q in enumerate(rates)}
    if kind == "noisy-lag":
        cp = add_noise(instrument_lag(cp, EXAMPLE_LAG_S, step, 10.0), EXAMPLE_NOISE_FRACTION, rng)
        keep = np.sort(rng.choice(T.size, int(0.6 * T.size), replace=False))
        order = rng.permutation(keep.size)
        centres = T[keep] - 0.5 * step  # a recorded point: the value at the middle of its bin
        return centres[order], {f"cp_q{q:g}": cp[k, keep][order] for k, q in enumerate(rates)}
    tg = float(np.mean(scans.tf_prime_C[0]))
    glass = 0.30 + 0.0008 * (T - tg)
    liquid = 0.42 + 0.0003 * (T - tg)
    raw = glass + (liquid - glass) * cp + rng.normal(0.0, 0.005 * 0.12, cp.shape)
    return T, {f"cp_J_per_gK_q{q:g}": raw[k] for k, q in enumerate(rates)}


def write_curves_csv(path: str | Path, T_C: np.ndarray, columns: dict) -> None:
    """Write T_C and the given columns as a CSV (the layout tnm fit reads)."""
    table = np.column_stack([T_C, *columns.values()])
    np.savetxt(path, table, delimiter=",", header=",".join([TEMPERATURE_COLUMN, *columns]), comments="", fmt="%.10g")


def literature_fit_table(fits_dir: str | Path) -> "pandas.DataFrame":
    """The results of ``tnm fit`` on the example files of every literature-like glass and kind in
    ``fits_dir`` (``<glass>-<kind>.json``, as ``make fits`` writes them) beside the truth: per
    (glass, kind) and parameter the true value, the fit, its standard error and the error in
    standard errors; plus the fitted lag, the residual and the fit's seconds."""
    import pandas as pd

    from ..study.design import LITERATURE_GLASSES

    rows = []
    for glass, truth in LITERATURE_GLASSES.items():
        for kind in EXAMPLE_KINDS:
            path = Path(fits_dir) / f"{glass}-{kind}.json"
            if not path.is_file():
                raise TNMInputError(f"no fit result at {path}: run make fits")
            result = json.loads(path.read_text())
            for k, parameter in enumerate(PARAMETERS):
                key = parameter.display_key
                true = float(parameter.to_display(truth[k]))
                stderr = result.get(f"{key}_stderr")
                rows.append({"glass": glass, "kind": kind, "parameter": parameter.axis_label, "true": true,
                             "fitted": result[key], "stderr": stderr,
                             "error / stderr": (result[key] - true) / stderr if stderr else np.nan,
                             "lag (s)": result["lag_s"], "residual rms": result["residual_rms"],
                             "fit (s)": result["seconds"]})
    return pd.DataFrame(rows).set_index(["glass", "kind", "parameter"])


def fit_overlay(csv_path: str | Path, json_path: str | Path) -> tuple[Curves, np.ndarray, dict]:
    """Curves (Cp^N, normalised as the fit did), the fitted model's scans on their temperatures and
    the result, from a CSV and the JSON ``tnm fit`` wrote for it (for :func:`tnmlib.plots.fit_figure`)."""
    result = json.loads(Path(json_path).read_text())
    curves = read_curves_csv(csv_path, result["cooling_rates_K_per_min"])
    if result.get("baselines"):
        curves = normalize_curves(curves, result["baselines"]["glass_range_C"], result["baselines"]["liquid_range_C"])
    params = np.array([p.units_per_display * result[p.display_key] for p in PARAMETERS])
    return curves, model_curves(curves, params, result["heating_rate_K_per_min"], result["lag_s"]), result
