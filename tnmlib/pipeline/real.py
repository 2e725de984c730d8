"""The chapter "A real measurement": readers of what ``tnm fit EXPORT --hold-out`` wrote, for the book.

:func:`fitted_run` rebuilds what a fit saw (the run, its curves normalised as fitted, the model's
scans); the tables put each run's parameters beside both uncertainties, the held-out scans beside
interpolation, the two runs beside each other, and Δh* beside Moynihan's method on the same scans
and the published values of :data:`tnmlib.study.design.REFERENCE_VALUES`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TNMInputError
from ..estimation.baselines import GUARANTEED
from ..estimation.classical import moynihan_estimate, tf_prime_from_scans
from ..estimation.measured import Curves, line_gaps, model_curves, refined_curves
from ..estimation.runs import PreparedRun
from ..physics.constants import R_J_PER_MOL_K
from ..study.design import REFERENCE_VALUES
from ..study.parameters import PARAMETERS
from .read import read_run

KEYS = [p.display_key for p in PARAMETERS]

if TYPE_CHECKING:
    import pandas


@dataclass
class FittedRun:
    """An export as ``tnm fit`` saw it: the prepared run, the curves (Cp^N as fitted), the model's
    scans on their temperatures (n_scans, n_T) and the JSON result."""

    run: PreparedRun
    curves: Curves
    model: np.ndarray
    result: dict


def load_result(json_path: str | Path) -> dict:
    """The JSON ``tnm fit`` wrote."""
    path = Path(json_path)
    if not path.is_file():
        raise TNMInputError(f"no fit result at {path}: run tnm fit on the export first (make real)")
    return json.loads(path.read_text())


def fitted_run(export_path: str | Path, json_path: str | Path) -> FittedRun:
    """Re-read ``export_path`` as the fit of ``json_path`` did (same scans, history) and simulate
    its model; with refined lines the data are normalised by them, as the fit compared them."""
    result = load_result(json_path)
    scans = [int(k) for k in result["run"]["scans_fitted"]]
    history = "measured" if "program the sample followed" in str(result.get("history")) else "nominal"
    run = read_run(export_path, GUARANTEED, history=history)
    if run.chosen != scans:  # the fit chose its scans by hand
        run = read_run(export_path, GUARANTEED, scans=scans, history=history)
    curves = run.curves
    refined = result.get("refined_lines")
    if refined:
        gap = line_gaps(curves) if refined.get("relative_gap") else None
        lines = [refined["per_scan"][column] for column in curves.columns]
        curves, _ = refined_curves(curves, lines, (refined["T_mid_C"], refined["half_span_K"]), gap)
    params = np.array([p.units_per_display * result[p.display_key] for p in PARAMETERS])
    model = model_curves(curves, params, result["heating_rate_K_per_min"], result["lag_s"])
    return FittedRun(run, curves, model, result)


def parameter_table(results: dict) -> "pandas.DataFrame":
    """Per labelled result (label -> ``tnm fit`` JSON): each parameter with its Jacobian standard
    error and, where the fit held scans out, the leave-one-scan-out (jackknife) spread; T_ref, the
    lag, the residual and the scans fitted."""
    import pandas as pd

    rows = []
    for label, result in results.items():
        jack = (result.get("hold_out") or {}).get("leave_one_out_sd", {})
        row = {"fit": label, "scans": len(result["columns"])}
        for key, p in zip(KEYS, PARAMETERS):
            row[p.axis_label] = result[key]
            row[f"{p.label} stderr"] = result[f"{key}_stderr"]
            row[f"{p.label} jackknife sd"] = jack.get(key, np.nan)
        row.update({"T_ref (°C)": result["T_ref_C"], "lag (s)": result["lag_s"],
                    "residual rms (Cp^N)": result["residual_rms"], "fit (s)": result["seconds"]})
        rows.append(row)
    return pd.DataFrame(rows).set_index("fit")


def hold_out_table(result: dict) -> "pandas.DataFrame":
    """Each scan held out: rms of the model's prediction and of interpolation between its
    neighbours in log q (Cp^N), and which is closer."""
    import pandas as pd

    held = result.get("hold_out")
    if not held:
        raise TNMInputError("the fit was run without --hold-out")
    rows = [{"segment": s["scan"], "cooled at (K/min)": s["cooled_at_K_per_min"], "model rms": s["model_rms"],
             "interpolation rms": s["interpolation_rms"],
             "model / interpolation": s["model_rms"] / s["interpolation_rms"]} for s in held["scans"]]
    return pd.DataFrame(rows).set_index("segment").sort_values("cooled at (K/min)")


def agreement_table(a: dict, b: dict, labels=("run 1", "run 2")) -> "pandas.DataFrame":
    """The two runs' parameters, their difference, and the difference in units of the combined
    uncertainty — the Jacobian standard errors and the jackknife spreads — per parameter."""
    import pandas as pd

    rows = []
    for key, p in zip(KEYS, PARAMETERS):
        diff = a[key] - b[key]
        se = math.hypot(a[f"{key}_stderr"] or np.nan, b[f"{key}_stderr"] or np.nan)
        ja = (a.get("hold_out") or {}).get("leave_one_out_sd", {}).get(key, np.nan)
        jb = (b.get("hold_out") or {}).get("leave_one_out_sd", {}).get(key, np.nan)
        jack = math.hypot(ja, jb)
        rows.append({"parameter": p.axis_label, labels[0]: a[key], labels[1]: b[key], "difference": diff,
                     "/ combined stderr": diff / se, "/ combined jackknife sd": diff / jack})
    return pd.DataFrame(rows).set_index("parameter")


def moynihan_table(fitted: FittedRun) -> tuple["pandas.DataFrame", float]:
    """Moynihan's method on the scans as the fit normalised them: per scan the cooling rate and
    the limiting fictive temperature Tf' (°C, from the scan's area), and Δh* (kJ/mol) from the
    slope of ln q against 1/Tf' (:func:`tnmlib.estimation.classical.moynihan_estimate`; NaN
    where Tf' does not fall with the rate)."""
    import pandas as pd

    curves = fitted.curves
    estimate = moynihan_estimate(curves.values, curves.T_C, curves.cooling_rates_K_per_min)
    tf = estimate.extra.get("tf_prime_C") or tf_prime_from_scans(curves.values, curves.T_C).tolist()
    table = pd.DataFrame({"cooled at (K/min)": curves.cooling_rates_K_per_min, "Tf' (°C)": tf},
                         index=curves.columns).sort_values("cooled at (K/min)")
    return table, float(estimate.params[0] / 1e3)


def reference_table(glass: str = "o-terphenyl") -> "pandas.DataFrame":
    """Published values for ``glass`` (:data:`tnmlib.study.design.REFERENCE_VALUES`), with Δh*
    from the fragility m and T_g where the source gives those: Δh* = ln(10)·m·R·T_g (the
    equilibrium apparent activation energy at T_g, which TNM's Δh* is)."""
    import pandas as pd

    if glass not in REFERENCE_VALUES:
        raise TNMInputError(f"no published values for {glass!r}; known: {', '.join(REFERENCE_VALUES)}")
    rows = []
    for entry in REFERENCE_VALUES[glass]:
        row = {"quantity": entry["quantity"], "value": entry["value"], "source": entry["source"]}
        rows.append(row)
    values = {e["quantity"]: e["value"] for e in REFERENCE_VALUES[glass]}
    if "fragility m" in values and "T_g (K)" in values:
        dh = math.log(10.0) * values["fragility m"] * R_J_PER_MOL_K * values["T_g (K)"] / 1e3
        rows.append({"quantity": "Δh* (kJ/mol) = ln(10)·m·R·T_g", "value": round(dh, 1),
                     "source": "derived from the two rows above"})
    return pd.DataFrame(rows).set_index("quantity")

