"""``tnm fit``: TNM parameters with uncertainties from a curves CSV, and the readers of its results.

:func:`fit_file` reads the curves (:func:`tnmlib.pipeline.scans.read_curves_csv`), normalises raw
Cp when asked (:func:`tnmlib.estimation.measured.normalize_curves`), fits them
(:func:`tnmlib.estimation.measured.fit_result`) and writes the JSON and, optionally, an offline
HTML figure (written by the command line, which sits above the plots).  :func:`literature_fit_table` and :func:`fit_overlay` read what ``make fits`` wrote,
for the book.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TNMInputError
from ..estimation.baselines import GUARANTEED, BaselineSettings
from ..estimation.classical import project_lines
from ..estimation.measured import Curves, fit_result, model_curves, normalize_curves, renormalize
from ..estimation.network import NetworkEstimator
from ..fileutil import atomic_output
from ..study.design import LITERATURE_GLASSES
from ..study.parameters import PARAMETERS
from ..study.protocol import PAPER_HEATING_RATE_K_PER_MIN
from .example import EXAMPLE_KINDS
from .exports import read_export
from .read import read_run, segment_rows
from .scans import read_curves_csv

if TYPE_CHECKING:
    from ..estimation.runs import PreparedRun


def fit_file(curves_path: str | Path, out_path: str | Path, *, cooling_rates_K_per_min=None,
             heating_rate_K_per_min: float | None = None, normalize: bool = False, glass_range_C=None,
             liquid_range_C=None, network_path: str | Path | None = None, refine: bool = True, lag_s: float = 0.0,
             fit_lag: bool | None = False, settings: BaselineSettings = GUARANTEED, scans=None,
             include_flagged: bool = False, settling_s: float | None = None,
             refine_lines: bool | None = None, history: str = "measured",
             hold_out_scans: bool = False, profile: bool = True) -> tuple[dict, Curves, np.ndarray, "PreparedRun | None"]:
    """Fit the heating scans in ``curves_path`` — a vendor export (:mod:`tnmlib.pipeline.exports`)
    or a curves CSV — and write the result to ``out_path`` (.json); returns the result, the curves
    as fitted (Cp^N), the model's scans on their temperatures (n_scans, n_T) and, for an export,
    the prepared run (None for a CSV).

    For an export, the scans, their normalisation and cooling rates come from the run
    (:func:`tnmlib.pipeline.read.read_run`; ``scans``, ``include_flagged``, ``settings``,
    ``settling_s``), the heating rate from the measured temperature; ``cooling_rates_K_per_min``,
    ``normalize`` and the ranges are for CSVs only.  ``settings``: the guaranteed normalisation's
    (:mod:`tnmlib.estimation.baselines`); the fit's lines use ``settings.for_fit()``, and each
    scan's JSON entry says whether the guaranteed one holds too.  ``refine_lines``: refine each
    scan's lines with the model (variable projection; see
    :func:`tnmlib.estimation.classical.least_squares_fit`), from the fit with the provisional
    lines, whose parameters the JSON keeps as ``provisional_lines_fit``; None: yes for an export
    (on independent synthetic exports the provisional lines bias x and β by more than 0.02 in
    nine runs of ten, the refined ones recover them), no for a CSV.  ``history`` (exports): "measured"
    simulates the program the sample followed, "nominal" constant-rate cycles.  ``fit_lag``
    None: decide — fitted for an export (unless ``lag_s`` is given or ``refine`` is off), not for
    a CSV; the JSON's ``lag_decision`` says which and why.  ``profile``: the ridge's
    profile-likelihood intervals (``profile_interval``; a few seconds more where Δh* and ln A are
    correlated beyond 0.99)."""
    run = None
    measurement = read_export(curves_path)
    if measurement is not None:
        if cooling_rates_K_per_min is not None or normalize or glass_range_C or liquid_range_C:
            raise TNMInputError("--cooling-rates, --normalize and the ranges are for curves CSVs: an export's "
                                "rates come from its measured temperature and every scan is normalised")
        run = read_run(curves_path, settings, scans=scans, include_flagged=include_flagged, settling_s=settling_s,
                       history=history, measurement=measurement)
        if run.curves is None:
            raise TNMInputError(f"{curves_path}: {len(run.chosen)} heating scan(s) can be fitted, need 2 "
                                "(tnm read shows why the others cannot)")
        curves, heating_rate_K_per_min = run.curves, run.heating_rate_K_per_min
    else:
        if scans is not None or include_flagged or hold_out_scans:
            raise TNMInputError("--scans, --include-flagged and --hold-out are for instrument exports, not curves CSVs")
        curves = read_curves_csv(curves_path, cooling_rates_K_per_min)
        if normalize:
            curves = normalize_curves(curves, glass_range_C, liquid_range_C, settings=settings)
        heating_rate_K_per_min = heating_rate_K_per_min or PAPER_HEATING_RATE_K_PER_MIN
    if fit_lag is None:  # decide: an export's heat flow passed through the sensor; a known lag or a CSV, not
        fit_lag = run is not None and refine and lag_s == 0.0
        lag_decision = ("fitted: an instrument export's heat flow passed through the sensor's time constant"
                        if fit_lag else "not fitted: " + ("a curves CSV" if run is None else
                                                          "--lag-s gave it" if lag_s else "--no-refine"))
    else:
        lag_decision = "fitted (--fit-lag)" if fit_lag else ("given (--lag-s)" if lag_s else "not fitted (--no-fit-lag or default)")
    network = NetworkEstimator.load(network_path)
    if refine_lines is None:
        refine_lines = run is not None and refine
    if refine_lines and not (run is not None or normalize):
        raise TNMInputError("--refine-lines needs lines to refine: an export, or a CSV with --normalize")
    result, model, curves = fit_result(curves, heating_rate_K_per_min, network, refine=refine, lag_s=lag_s,
                                       fit_lag=fit_lag, free_lines=refine_lines, profile=profile and refine)
    if run is not None:
        result["run"] = {"format": run.measurement.format, "sample": run.measurement.sample,
                         "sample_mass_mg": run.measurement.sample_mass_mg, "exotherm": run.measurement.exotherm,
                         "notes": run.measurement.notes, "segments": segment_rows(run),
                         "scans_fitted": run.chosen,
                         "baselines": {str(k): b.as_dict() for k, b in run.baselines.items()},
                         "cp_source": {str(k): v.get("cp_source") for k, v in run.scan_info.items()},
                         "normalised_alone": {str(k): v.get("alone") for k, v in run.scan_info.items()},
                         "startup_end_C": {str(k): v.get("startup_end_C") for k, v in run.scan_info.items()}}
    result["lag_decision"] = lag_decision
    if hold_out_scans:
        result["hold_out"] = hold_out(run, result, network, lag_s=lag_s, fit_lag=fit_lag, refine_lines=refine_lines)
    result["input"] = str(curves_path)
    result["network"] = str(network_path) if network_path else "shipped with tnmlib"
    with atomic_output(Path(out_path)) as tmp:
        tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result, curves, model, run


def hold_out(run: "PreparedRun", result: dict, network: NetworkEstimator | None = None, *, lag_s: float = 0.0,
             fit_lag: bool = False, refine_lines: bool = False) -> dict:
    """Each chosen scan left out in turn: the others fitted along their history (from the all-scan
    fit), the left-out scan predicted along its own, its rms beside the trivial baseline —
    interpolation linear in log q between the nearest cooling rates on either side, and at the
    ends the nearest scan itself (extrapolating from two close rates would blow up) — and the
    leave-one-scan-out (jackknife) standard deviation of every parameter.  A parameter whose
    standard error without some scan is more than :data:`UNDETERMINED_FACTOR` times the all-scan
    one is listed under ``not_determined_without`` for that scan: the other scans cannot fix it,
    the fit without it stays near its start, and the jackknife understates its spread.  ``result``:
    the all-scan fit.  With ``refine_lines`` the fits refine their
    scans' lines, and the left-out scan's lines are refitted to each prediction alike (four
    linear coefficients, :func:`_rms_with_own_lines`), so neither prediction is judged by lines
    that the other was not given."""
    from ..estimation.measured import fit_result, line_gaps

    curves = run.curves
    gaps = line_gaps(curves)
    all_scans = np.array([q.units_per_display * result[q.display_key] for q in PARAMETERS])
    n = len(run.chosen)
    log_q = np.log(curves.cooling_rates_K_per_min)
    rows, params = [], []
    for j in range(n):
        others = [k for k in range(n) if k != j]
        # from the all-scan fit: without one scan the rest may not fix a start of their own (three
        # scans cooled at one rate give Moynihan no slope), and the spread must show it
        fitted, _, _ = fit_result(run.subset_curves(others), run.heating_rate_K_per_min, network,
                                  lag_s=result["lag_s"] if fit_lag else lag_s, fit_lag=fit_lag,
                                  free_lines=refine_lines, start_params=all_scans)
        p = np.array([q.units_per_display * fitted[q.display_key] for q in PARAMETERS])
        params.append([fitted[q.display_key] for q in PARAMETERS])
        predicted = model_curves(run.subset_curves([j]), p, run.heating_rate_K_per_min, fitted["lag_s"])[0]
        interpolated = _interpolated(log_q[others], curves.values[others], log_q[j])
        data = curves.values[j]
        if refine_lines:
            gap = gaps[j] if gaps is not None else None
            model_rms, interpolation_rms = (_rms_with_own_lines(data, predicted, curves.T_C, gap),
                                            _rms_with_own_lines(data, interpolated, curves.T_C, gap))
        else:
            model_rms, interpolation_rms = (float(np.sqrt(np.mean((predicted - data) ** 2))),
                                            float(np.sqrt(np.mean((interpolated - data) ** 2))))
        undetermined = [q.display_key for q in PARAMETERS
                        if not _determined(fitted.get(f"{q.display_key}_stderr"), result.get(f"{q.display_key}_stderr"))]
        rows.append({"scan": curves.columns[j], "cooled_at_K_per_min": float(curves.cooling_rates_K_per_min[j]),
                     "model_rms": model_rms, "interpolation_rms": interpolation_rms,
                     "parameters_without_it": dict(zip([q.display_key for q in PARAMETERS], params[-1])),
                     "stderr_without_it": {q.display_key: fitted.get(f"{q.display_key}_stderr") for q in PARAMETERS},
                     "not_determined_without": undetermined})
    params = np.array(params)
    jackknife = np.sqrt((n - 1) / n * np.sum((params - params.mean(axis=0)) ** 2, axis=0))
    return {"scans": rows,
            "leave_one_out_sd": {q.display_key: float(v) for q, v in zip(PARAMETERS, jackknife)},
            "understated": sorted({key for row in rows for key in row["not_determined_without"]}),
            "definition": "jackknife sd: sqrt((n-1)/n * sum (p_i - mean p)^2) over the fits without scan i; "
                          "interpolation: linear in log q between the neighbouring scans' Cp^N, the nearest "
                          "scan's Cp^N at the ends; understated: parameters the jackknife cannot bound because "
                          f"some scan alone fixes them (standard error without it > {UNDETERMINED_FACTOR:g}x)"}


#: A parameter is not determined without a scan when its standard error grows this many times.
UNDETERMINED_FACTOR = 5.0


def _determined(stderr_without, stderr_all) -> bool:
    if stderr_without is None or not np.isfinite(stderr_without):
        return False
    return stderr_all is None or stderr_without <= UNDETERMINED_FACTOR * stderr_all


def _interpolated(log_q: np.ndarray, values: np.ndarray, target: float) -> np.ndarray:
    """Cp^N at ln q = ``target`` from the scans at ``log_q``: linear between the nearest rates on
    either side, the nearest scan itself outside their range."""
    order = np.argsort(log_q)
    lq, values = log_q[order], values[order]
    right = int(np.searchsorted(lq, target))
    if right == 0:
        return values[0]
    if right == len(lq):
        return values[-1]
    a, b = right - 1, right
    w = (target - lq[a]) / (lq[b] - lq[a]) if lq[b] != lq[a] else 0.5
    return (1 - w) * values[a] + w * values[b]


def _rms_with_own_lines(data: np.ndarray, prediction: np.ndarray, T_C: np.ndarray, gap=None) -> float:
    """rms (Cp^N) of ``data`` against ``prediction`` after the data's own glass and liquid lines are
    refitted to it, as the fit refines them: data·gap ≈ (a₀ + a₁t)(1 − N) + (b₀ + b₁t)N by linear
    least squares (``gap``: the provisional lines' relative gap, 1 if None), the residual
    divided by the refitted step b − a."""
    gap = np.ones_like(data) if gap is None else gap
    t = (T_C - T_C.mean()) / max(np.ptp(T_C) / 2, 1e-9)
    (a0, a1, b0, b1), fitted = project_lines(data, prediction, t, gap)
    residual = (data - fitted) * gap / ((b0 + b1 * t) - (a0 + a1 * t))
    return float(np.sqrt(np.mean(residual ** 2)))


def literature_fit_table(fits_dir: str | Path) -> "pandas.DataFrame":
    """The results of ``tnm fit`` on the example files of every literature-like glass and kind in
    ``fits_dir`` (``<glass>-<kind>.json``, as ``make fits`` writes them) beside the truth: per
    (glass, kind) and parameter the true value, the fit, its standard error and the error in
    standard errors; plus the fitted lag, the residual and the fit's seconds."""
    import pandas as pd

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
        curves = renormalize(curves, result["baselines"])
    params = np.array([p.units_per_display * result[p.display_key] for p in PARAMETERS])
    return curves, model_curves(curves, params, result["heating_rate_K_per_min"], result["lag_s"]), result
