"""Tables and statistics over evaluation results (pure functions of xarray Datasets made by
:func:`tnmlib.pipeline.evaluate.evaluate_model`): shares under the paper's thresholds, left-out
samples, rank correlations with peak descriptors, per-cell means and the paper's observations."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import xarray as xr

from ..physics.descriptors import transition_width_K
from ..study.design import CP_MAX_LIMIT, THRESHOLDS
from ..study.parameters import BY_NAME, PARAMETER_NAMES, PARAMETERS
from . import metrics

#: What "learns" means here: a model's MAE over the constant predictor's at most this (issue 10).
MAE_RATIO_TARGETS = {"dh": 0.8, "ln_A": 0.8, "x": 0.5, "beta": 0.5}
#: A grid resolves a subset when it puts at least this many points across its median transition width.
MIN_POINTS_ACROSS_WIDTH = 5.0

#: Every pair of parameters, in the order of :data:`PARAMETER_NAMES` (the pair SSEs of Eq. 14).
PAIRS = list(combinations(PARAMETER_NAMES, 2))


def shares(ds: xr.Dataset, predictor: str = "model") -> dict:
    """Share (%) of kept test samples under each of the study's thresholds, keyed by label.

    ``predictor``: "model" (the network's errors) or "constant" (the median of the training split)."""
    kept = ds["kept"].values
    prefix = "ae_" if predictor == "model" else "ae_constant_"
    return {t.label: round(100 * metrics.share_below(ds[f"{prefix}{t.parameter}"].values[kept], t.below_stored_units), 1)
            for t in THRESHOLDS}


def share_table(results: dict) -> "pandas.DataFrame":
    """Share (%) of kept test samples under each threshold, per model (columns), for the network
    and for the constant predictor (two rows per threshold), next to the paper's."""
    import pandas as pd

    model = {name: shares(ds) for name, ds in results.items()}
    constant = {name: shares(ds, "constant") for name, ds in results.items()}
    rows = []
    for t in THRESHOLDS:
        rows.append({"threshold": t.label, "predictor": "MCNN", "paper": t.paper,
                     **{name: model[name][t.label] for name in results}})
        rows.append({"threshold": t.label, "predictor": "constant", "paper": "",
                     **{name: constant[name][t.label] for name in results}})
    return pd.DataFrame(rows).set_index(["threshold", "predictor"])


def mae(ds: xr.Dataset, predictor: str = "model") -> dict:
    """MAE over the kept test samples per parameter, display units, keyed by display key
    (dh_kJ_per_mol, ln_A, x, beta)."""
    kept = ds["kept"].values
    prefix = "ae_" if predictor == "model" else "ae_constant_"
    return {p.display_key: float(np.mean(ds[f"{prefix}{p.name}"].values[kept]) / p.units_per_display)
            if kept.any() else float("nan") for p in PARAMETERS}


def points_across_width(ds: xr.Dataset) -> float:
    """Grid points across the median transition width R·Tg²/Δh* of the samples (Tg: peak temperature)."""
    width = transition_width_K(ds["true_dh"].values, ds["T_peak_C"].values)
    return float(np.nanmedian(width) / float(ds.attrs["grid_step_K"]))


def mae_table(results: dict) -> "pandas.DataFrame":
    """Per model and parameter: MAE of the network and of the constant predictor (display units),
    their ratio, the ratio the study asks for, and whether the grid resolves the subset."""
    import pandas as pd

    rows = []
    for name, ds in results.items():
        model, constant = mae(ds), mae(ds, "constant")
        points = points_across_width(ds)
        for p in PARAMETERS:
            ratio = model[p.display_key] / constant[p.display_key] if constant[p.display_key] > 0 else float("nan")
            rows.append({"model": name, "parameter": p.label, "units": p.display_units,
                         "MAE": round(model[p.display_key], 4), "MAE constant": round(constant[p.display_key], 4),
                         "ratio": round(ratio, 3), "target ratio": f"<= {MAE_RATIO_TARGETS[p.name]:g}",
                         "meets target": bool(ratio <= MAE_RATIO_TARGETS[p.name]),
                         "grid points across width": round(points, 1),
                         "resolved": points >= MIN_POINTS_ACROSS_WIDTH})
    return pd.DataFrame(rows).set_index(["model", "parameter"])


def summary(results: dict) -> dict:
    """The machine-readable results of a build (``reports/<profile>/summary.json``): per model,
    MAE of the network and of the constant predictor (display units), shares (%) under the
    study's thresholds for both, left-out samples, and whether the grid resolves the subset."""
    models = {}
    for name, ds in results.items():
        points = points_across_width(ds)
        models[name] = {
            "subset": str(ds.attrs.get("subset", "")),
            "mae": mae(ds), "mae_constant": mae(ds, "constant"),
            "shares": {t.key: v for t, v in zip(THRESHOLDS, shares(ds).values())},
            "shares_constant": {t.key: v for t, v in zip(THRESHOLDS, shares(ds, "constant").values())},
            "test_samples": int(ds.sizes["test_sample"]),
            "left_out": int((~ds["kept"].values).sum()),
            "grid_step_K": float(ds.attrs["grid_step_K"]),
            "points_across_median_width": round(points, 2),
            "resolved": bool(points >= MIN_POINTS_ACROSS_WIDTH),
        }
    return {"thresholds": {t.key: {"parameter": t.parameter, "below": t.below,
                                                          "units": BY_NAME[t.parameter].display_units}
                           for t in THRESHOLDS},
            "mae_ratio_targets": MAE_RATIO_TARGETS, "cp_max_limit": CP_MAX_LIMIT, "models": models}


def ratio_table(summary_dict: dict) -> "pandas.DataFrame":
    """From a summary (:func:`summary`): per model, each parameter's MAE over the constant
    predictor's, the parameters that miss their target ratio ("" if none), the grid points across
    the median transition width and whether the grid resolves the subset."""
    import pandas as pd

    rows = []
    for name, m in summary_dict["models"].items():
        ratios = {p.label: m["mae"][p.display_key] / m["mae_constant"][p.display_key] for p in PARAMETERS}
        misses = [p.label for p in PARAMETERS if not ratios[p.label] <= MAE_RATIO_TARGETS[p.name]]
        rows.append({"model": name, **{k: round(v, 3) for k, v in ratios.items()}, "misses target": ", ".join(misses),
                     "points across width": m["points_across_median_width"], "grid resolves subset": m["resolved"]})
    return pd.DataFrame(rows).set_index("model")


def resolution_table(widths_K: dict, steps_K: dict) -> "pandas.DataFrame":
    """Grid points across the median transition width of each subset, for each named grid step.

    widths_K: subset -> per-sample widths R·Tg²/Δh* (K); steps_K: column label -> {subset: step K}."""
    import pandas as pd

    rows = []
    for subset, widths in widths_K.items():
        median = float(np.median(widths))
        row = {"subset": subset, "median width (K)": round(median, 3),
               "narrowest (K)": round(float(np.min(widths)), 3)}
        for label, by_subset in steps_K.items():
            row[label] = round(median / by_subset[subset], 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("subset")


def exclusion_table(results: dict) -> "pandas.DataFrame":
    """Test samples per model, and how many the Cp_max > 6 rule leaves out."""
    import pandas as pd

    return pd.DataFrame([{"model": name, "test samples": int(ds.sizes["test_sample"]),
                          f"left out (Cp_max > {CP_MAX_LIMIT:g})": int((~ds["kept"].values).sum()),
                          "left out (%)": round(100 * float((~ds["kept"].values).mean()), 2)}
                         for name, ds in results.items()]).set_index("model")


def descriptor_correlations(results: dict) -> "pandas.DataFrame":
    """Spearman rank correlation of each parameter's AE with the peak descriptors (kept samples)."""
    import pandas as pd
    from scipy.stats import spearmanr

    rows = []
    for name, ds in results.items():
        kept = ds["kept"].values & np.isfinite(ds["dT_hw"].values)
        descriptors = {"Cp_max": ds["cp_max"].values[kept], "ΔT_hw": ds["dT_hw"].values[kept]}
        descriptors["Cp_max/ΔT_hw"] = descriptors["Cp_max"] / np.where(descriptors["ΔT_hw"] > 0, descriptors["ΔT_hw"], np.nan)
        for parameter in PARAMETER_NAMES:
            row = {"model": name, "parameter": parameter}
            for label, values in descriptors.items():
                ok = np.isfinite(values)
                row[label] = round(float(spearmanr(ds[f"ae_{parameter}"].values[kept][ok], values[ok])[0]), 2) if ok.sum() > 2 else np.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "parameter"])


def cell_means(ds: xr.Dataset, a: str, b: str, variable: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``variable`` over kept samples in each grid cell of parameters (a, b).

    a, b: "dh", "ln_A", "x" or "beta" (cells are the grid indices).  Returns 2-D arrays
    (a value, b value, mean) over the cells that occur; empty cells are NaN.
    """
    index = {"dh": "i_dh", "ln_A": "j_ln_a", "x": "k_x", "beta": "l_beta"}
    kept = ds["kept"].values
    ia, ib = ds[index[a]].values[kept], ds[index[b]].values[kept]
    ua, ub = np.unique(ia), np.unique(ib)
    pa, pb = np.searchsorted(ua, ia), np.searchsorted(ub, ib)
    sums = np.zeros((ua.size, ub.size))
    counts = np.zeros((ua.size, ub.size))
    np.add.at(sums, (pa, pb), ds[variable].values[kept])
    np.add.at(counts, (pa, pb), 1)
    va, vb = np.full(sums.shape, np.nan), np.full(sums.shape, np.nan)
    true_a, true_b = ds[f"true_{a}"].values[kept], ds[f"true_{b}"].values[kept]
    va[pa, pb], vb[pa, pb] = true_a, true_b
    with np.errstate(invalid="ignore"):
        return va, vb, np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def paper_observations(ds: xr.Dataset) -> "pandas.DataFrame":
    """The paper's Section 3.3 observations on the G model, each measured on our results."""
    import pandas as pd

    kept = ds["kept"].values
    dh = ds["true_dh"].values[kept]
    x, beta = ds["true_x"].values[kept], ds["true_beta"].values[kept]
    sse_sig, sse4 = ds["sse_signals"].values[kept], ds["sse_parameters"].values[kept]
    sse_xb, sse_dl = ds["sse_x_beta"].values[kept], ds["sse_dh_ln_A"].values[kept]
    low_dh = dh <= np.median(dh)
    corner = (x >= 0.8) & (beta <= 0.4)
    _, _, quartet = cell_means(ds, "dh", "ln_A", "sse_parameters")
    _, _, pair = cell_means(ds, "dh", "ln_A", "sse_dh_ln_A")
    ok = np.isfinite(quartet) & np.isfinite(pair)
    rows = [
        ("The SSE of the signals is highest at low Δh* (broad transitions)",
         "mean SSE of signals, lower half of Δh* / upper half", sse_sig[low_dh].mean() / sse_sig[~low_dh].mean(), "> 1"),
        ("The quartet SSE is about ten times the (x, β) pair SSE",
         "mean SSE (4 parameters) / mean SSE (x, β)", sse4.mean() / sse_xb.mean(), "~ 10 (we accept 3 to 30)"),
        ("x and β are hardest to read at high x and low β (low Cp_max)",
         "mean SSE (x, β) at x >= 0.8, β <= 0.4 / elsewhere",
         sse_xb[corner].mean() / sse_xb[~corner].mean() if corner.any() else np.nan, "> 1"),
        ("Δh* and ln A dominate the parameter SSE (similar surfaces)",
         "correlation of cell means: SSE (4) vs SSE (Δh*, ln A)",
         float(np.corrcoef(quartet[ok], pair[ok])[0, 1]) if ok.sum() > 2 else np.nan, "close to 1"),
    ]
    table = pd.DataFrame(rows, columns=["paper's observation", "our measure", "value", "paper implies"])
    holds = []
    for value, expected in zip(table["value"], table["paper implies"]):
        if not np.isfinite(value):
            holds.append("not testable")
        elif expected == "> 1":
            holds.append("holds" if value > 1 else "does not hold")
        elif expected.startswith("~ 10"):
            holds.append("holds" if 3 <= value <= 30 else "does not hold")
        else:
            holds.append("holds" if value > 0.8 else "does not hold")
    table["here"] = holds
    table["value"] = table["value"].round(3)
    return table


def comparison_table(ds: xr.Dataset, least_squares_subsample: bool = False,
                     copy_dim: str = "distortion") -> "pandas.DataFrame":
    """From a comparison file (:func:`tnmlib.pipeline.compare.compare_estimators`): per distortion
    and method, the samples it ran on (kept samples only), failures (%: any status but "ok"),
    mean seconds per sample and the share (%) under each of the study's thresholds.

    A failed estimate counts as a miss; a parameter the method does not estimate (Moynihan's
    ln A, x, β) has no share (NaN).  ``least_squares_subsample``: every method on the samples
    least squares ran on, so all rows compare the same samples.  ``copy_dim``: the name of the
    copies' dimension ("distortion" in a comparison, "copy" in a whole-space assessment).
    """
    import pandas as pd

    rows = []
    mask = ds["kept"].values.astype(bool)
    if least_squares_subsample:
        mask &= ds["least_squares_subsample"].values.astype(bool)
    true = ds["true"].values
    for d, distortion in enumerate(ds[copy_dim].values):
        for m, method in enumerate(ds["estimator"].values):
            status = ds["status"].values[d, m]
            ran = mask & (status >= 0)
            if not ran.any():
                continue
            ok = status[ran] == 0
            errors = np.abs(ds["estimate"].values[d, m][ran] - true[ran])
            row = {copy_dim: str(distortion), "estimator": str(method), "samples": int(ran.sum()),
                   "failures (%)": round(100 * float(np.mean(~ok)), 1),
                   "s/sample": float(np.mean(ds["seconds"].values[d, m][ran]))}
            for t in THRESHOLDS:
                column = errors[:, PARAMETER_NAMES.index(t.parameter)]
                estimated = np.isfinite(column[ok]).any() if ok.any() else True
                hit = ok & np.isfinite(column) & (column < t.below_stored_units)
                row[t.label] = round(100 * float(np.mean(hit)), 1) if estimated else np.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index([copy_dim, "estimator"])


def coverage_table(ds: xr.Dataset, z: float = 2.0) -> "pandas.DataFrame":
    """From a whole-space assessment (:func:`tnmlib.pipeline.assess.assess_estimator`): per copy
    and estimator that reports standard errors, the share (%) of the kept samples it was run on
    whose truth lies within ``z`` standard errors, per parameter — a failed fit, one that ends on
    a bound and a parameter reported as not determined count as misses — and the samples counted."""
    import pandas as pd

    rows = []
    kept = ds["kept"].values.astype(bool)
    true = ds["true"].values
    for c, copy in enumerate(ds["copy"].values):
        for m, method in enumerate(ds["estimator"].values):
            stderr = ds["stderr"].values[c, m]
            status = ds["status"].values[c, m]
            run = kept & (status >= 0)  # codes index the statuses; a skipped sample has a negative one
            if not np.any(run & np.any(np.isfinite(stderr), axis=1)):
                continue  # an estimator without standard errors
            with np.errstate(invalid="ignore"):
                inside = ((np.abs(ds["estimate"].values[c, m][run] - true[run]) <= z * stderr[run])
                          & (status[run] == 0)[:, None])
            row = {"copy": str(copy), "estimator": str(method), "samples": int(run.sum())}
            row.update({f"{BY_NAME[name].label} within {z:g} stderr (%)": round(100 * float(np.mean(inside[:, k])), 1)
                        for k, name in enumerate(PARAMETER_NAMES)})
            rows.append(row)
    return pd.DataFrame(rows).set_index(["copy", "estimator"])


def comparison_summary(ds: xr.Dataset) -> dict:
    """The comparison's rows for ``summary.json``: {"all kept samples" | "least-squares subsample":
    {distortion: {method: {samples, failures_percent, seconds_per_sample, shares {parameter_below: %}}}}}."""
    keys = {t.label: t.key for t in THRESHOLDS}
    result = {}
    for name, subsample in (("all kept samples", False), ("least-squares subsample", True)):
        table = comparison_table(ds, subsample)
        block = {}
        for (distortion, method), row in table.iterrows():
            block.setdefault(distortion, {})[method] = {
                "samples": int(row["samples"]), "failures_percent": float(row["failures (%)"]),
                "seconds_per_sample": float(row["s/sample"]),
                "shares": {key: (None if np.isnan(row[label]) else float(row[label])) for label, key in keys.items()}}
        result[name] = block
    return result


def comparison_value(table: "pandas.DataFrame", distortion: str, estimator: str, column: str) -> float:
    """One entry of :func:`comparison_table`; NaN where the estimator has no row for that copy."""
    try:
        return float(table.loc[(distortion, estimator), column])
    except KeyError:
        return float("nan")


def comparison_gain(table: "pandas.DataFrame", column: str, base: str, other: str) -> "pandas.Series":
    """Per distortion: ``column`` of estimator ``other`` minus that of ``base`` (e.g. G-aug's share
    minus G's); empty if either is missing."""
    import pandas as pd

    estimators = set(table.index.get_level_values("estimator"))
    if not {base, other} <= estimators:
        return pd.Series(dtype=float)
    return table.xs(other, level="estimator")[column] - table.xs(base, level="estimator")[column]


def independent_shares(ds: xr.Dataset, z: float = 2.0) -> "pandas.DataFrame":
    """From an independent assessment (:func:`tnmlib.pipeline.independent.assess_independent`):
    per kind, estimator and measure, the hits, the kept samples it ran on (trials), the share (%)
    and its 95 % Wilson interval (%).  Measures: "failures" (any status but "ok"); each of the
    study's thresholds (a failure is a miss); for estimators with standard errors, "<parameter>
    within z stderr" (coverage: a failure, a fit on a bound and a parameter not determined are
    misses); and for the network alone, "<threshold> fixed by refinement" (its miss that the
    refined estimate turns into a hit; trials: all samples) — how often the start needs the fit —
    and "<threshold> lost by refinement" (its hit that the refined estimate misses)."""
    import pandas as pd

    kept = ds["kept"].values.astype(bool)
    true = ds["true"].values
    estimators = [str(m) for m in ds["estimator"].values]
    rows = []

    def add(kind, method, measure, hit):
        hits, trials = int(np.sum(hit)), int(hit.size)
        lo, hi = metrics.wilson_interval(hits, trials)
        rows.append({"kind": kind, "estimator": method, "measure": measure, "hits": hits, "trials": trials,
                     "share (%)": 100.0 * hits / trials if trials else np.nan,
                     "lower (%)": 100.0 * lo, "upper (%)": 100.0 * hi})

    for c, kind in enumerate(ds["kind"].values):
        hits_of = {}
        for m, method in enumerate(estimators):
            status = ds["status"].values[c, m]
            ran = kept & (status >= 0)
            if not ran.any():
                continue
            ok = status[ran] == 0
            errors = np.abs(ds["estimate"].values[c, m][ran] - true[ran])
            add(str(kind), method, "failures", ~ok)
            for t in THRESHOLDS:
                with np.errstate(invalid="ignore"):
                    hit = ok & (errors[:, PARAMETER_NAMES.index(t.parameter)] < t.below_stored_units)
                hits_of[method, t.label] = (ran, hit)
                add(str(kind), method, t.label, hit)
            stderr = ds["stderr"].values[c, m][ran]
            if np.any(np.isfinite(stderr)):
                with np.errstate(invalid="ignore"):
                    inside = (errors <= z * stderr) & ok[:, None]
                for k, name in enumerate(PARAMETER_NAMES):
                    add(str(kind), method, f"{BY_NAME[name].label} within {z:g} stderr", inside[:, k])
        if len(estimators) >= 2:
            start, refined = estimators[-2], estimators[-1]
            for t in THRESHOLDS:
                if (start, t.label) in hits_of and (refined, t.label) in hits_of:
                    ran_s, hit_s = hits_of[start, t.label]
                    ran_r, hit_r = hits_of[refined, t.label]
                    both = ran_s & ran_r
                    start_hit = np.zeros(ran_s.size, bool)
                    start_hit[ran_s] = hit_s
                    refined_hit = np.zeros(ran_r.size, bool)
                    refined_hit[ran_r] = hit_r
                    add(str(kind), start, f"{t.label} fixed by refinement", (~start_hit & refined_hit)[both])
                    add(str(kind), start, f"{t.label} lost by refinement", (start_hit & ~refined_hit)[both])
    return pd.DataFrame(rows).set_index(["kind", "estimator", "measure"])


def independent_table(ds: xr.Dataset, z: float = 2.0) -> "pandas.DataFrame":
    """:func:`independent_shares` for reading: one row per measure (the first: the samples), one
    column per kind and estimator, each cell "share [lower, upper]" (%)."""
    shares = independent_shares(ds, z)
    cells = shares.apply(lambda r: f"{r['share (%)']:.1f} [{r['lower (%)']:.1f}, {r['upper (%)']:.1f}]", axis=1)
    columns = list(dict.fromkeys(zip(shares.index.get_level_values("kind"), shares.index.get_level_values("estimator"))))
    measures = list(dict.fromkeys(shares.index.get_level_values("measure")))
    table = cells.unstack(["kind", "estimator"]).reindex(index=measures, columns=columns)
    samples = shares.xs("failures", level="measure")["trials"].astype(str)
    table.loc["samples"] = [samples.get(c, "") for c in columns]
    table = table.reindex(["samples"] + measures)
    table.columns.names = ["kind", "estimator"]
    return table.fillna("")
