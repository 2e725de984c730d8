"""Plotly figures of the study, and an offline display helper for notebooks and the book.

Figures carry units in every axis title.  :func:`show` emits a Plotly figure as a MIME
bundle: the Plotly JSON (rendered natively by JupyterLab) and an HTML div that expects
plotly.js to be on the page already (the book serves plotly.js from its own _static
folder; nothing is fetched from a CDN).
"""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go

from .physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from .physics.program import Program
from .study.design import CP_MAX_LIMIT
from .study.parameters import PARAMETERS

#: One colour per cooling rate / model, colour-blind safe (Okabe-Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def show(fig: go.Figure) -> None:
    """Display a figure in a notebook without loading plotly.js from the network."""
    from IPython.display import display

    html = fig.to_html(include_plotlyjs=False, full_html=False, config={"responsive": True})
    bundle = {"application/vnd.plotly.v1+json": json.loads(fig.to_json()), "text/html": html}
    display(bundle, raw=True)


def program_figure(program: Program, title: str = "Temperature program") -> go.Figure:
    """Temperature (°C) against time (h) of a program, heating segments highlighted."""
    t_s, T_C = program.breakpoints()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t_s / 3600.0, y=T_C, mode="lines", name="program",
                             line=dict(color="#555555")))
    for k, seg in enumerate(program.segments):
        if seg.label.startswith("heat"):
            fig.add_trace(go.Scatter(x=t_s[k:k + 2] / 3600.0, y=T_C[k:k + 2], mode="lines",
                                     name=f"heating scan after {seg.label.split('=')[1]} K/min",
                                     line=dict(width=4, color=PALETTE[(k // 2) % len(PALETTE)])))
    fig.update_layout(title=title, xaxis_title="time (h)", yaxis_title="temperature T (°C)",
                      template="plotly_white")
    return fig


def scans_figure(ds, title: str = "Heating scans", margin_K: float = 10.0) -> go.Figure:
    """Cp^N of every heating scan of a simulated Dataset, zoomed to its cycle window."""
    fig = go.Figure()
    T = ds["T"].values
    lo = ds.attrs.get("cycle_min_C", T[0]) - margin_K
    hi = ds.attrs.get("cycle_max_C", T[-1]) + margin_K
    keep = (T >= lo) & (T <= hi)
    for k, q in enumerate(ds["cooling_rate"].values):
        fig.add_trace(go.Scatter(x=T[keep], y=ds["cp"].values[k, keep], mode="lines",
                                 name=f"after cooling at {q:g} K/min",
                                 line=dict(color=PALETTE[k % len(PALETTE)])))
    fig.update_layout(title=title, xaxis_title="temperature T (°C)",
                      yaxis_title="normalised heat capacity Cp<sup>N</sup> (1)", template="plotly_white")
    return fig


def difference_figure(ds_a, ds_b, label_a: str = "fast", label_b: str = "exact",
                      title: str = "Difference between simulators") -> go.Figure:
    """Cp^N(a) - Cp^N(b) against temperature for each scan of two simulated Datasets."""
    fig = go.Figure()
    T = ds_a["T"].values
    diff = ds_a["cp"].values - ds_b["cp"].values
    active = np.nonzero(np.any(diff != 0, axis=0))[0]
    sl = slice(max(active[0] - 50, 0), active[-1] + 50) if active.size else slice(None)
    for k, q in enumerate(ds_a["cooling_rate"].values):
        fig.add_trace(go.Scatter(x=T[sl], y=diff[k, sl], mode="lines", name=f"{q:g} K/min",
                                 line=dict(color=PALETTE[k % len(PALETTE)])))
    fig.update_layout(title=title, xaxis_title="temperature T (°C)",
                      yaxis_title=f"Cp<sup>N</sup> {label_a} − Cp<sup>N</sup> {label_b} (1)",
                      template="plotly_white")
    return fig


def moynihan_figure(cooling_rates_K_per_min, tf_prime_C, dh_J_per_mol: float,
                    title: str = "Moynihan's relation") -> go.Figure:
    """ln q_c against 1000/Tf' (1/K) with the line of slope -dh/R through the points."""
    q = np.asarray(cooling_rates_K_per_min, dtype=float)
    inv_T = 1000.0 / (np.asarray(tf_prime_C, dtype=float) + ZERO_CELSIUS_K)
    slope = -dh_J_per_mol / R_J_PER_MOL_K / 1000.0
    intercept = np.mean(np.log(q) - slope * inv_T)
    line_x = np.linspace(inv_T.min(), inv_T.max(), 20)
    fig = go.Figure([
        go.Scatter(x=inv_T, y=np.log(q), mode="markers", name="simulated Tf′", marker=dict(size=9)),
        go.Scatter(x=line_x, y=intercept + slope * line_x, mode="lines",
                   name=f"slope −Δh*/R for Δh* = {dh_J_per_mol / 1e3:g} kJ/mol"),
    ])
    fig.update_layout(title=title, xaxis_title="1000 / Tf′ (1/K)",
                      yaxis_title="ln(q<sub>c</sub> / (K/min))", template="plotly_white")
    return fig


SUBSET_COLOURS = {"LU": "#0072B2", "RU": "#E69F00", "LB": "#009E73", "RB": "#D55E00", "C": "#CC79A7", "G": "#000000"}


def statespace_figure(title: str = "State space of (Δh*, ln A) and the six subsets") -> go.Figure:
    """All 101 x 81 (Δh*, ln A) pairs (grey) with the subsets coloured (the paper's Figs 2-3)."""
    from .study.statespace import DH_J_PER_MOL, SUBSETS, ln_a_grid, subset_pairs

    grid = ln_a_grid()
    dh = np.repeat(DH_J_PER_MOL[:, None], grid.shape[1], axis=1)
    fig = go.Figure(go.Scattergl(x=dh.ravel() / 1e3, y=grid.ravel(), mode="markers", name="all pairs",
                                 marker=dict(size=3, color="#BBBBBB")))
    for name in SUBSETS:
        pairs = subset_pairs(name)
        fig.add_trace(go.Scattergl(x=DH_J_PER_MOL[pairs[:, 0]] / 1e3, y=grid[pairs[:, 0], pairs[:, 1]],
                                   mode="markers", name=name,
                                   marker=dict(size=6 if name == "G" else 4, color=SUBSET_COLOURS[name],
                                               symbol="square" if name == "G" else "circle")))
    fig.update_layout(title=title, xaxis_title="Δh* (kJ/mol)", yaxis_title="ln(A / s)", template="plotly_white")
    return fig


def subset_examples_figure(datasets: dict, title: str = "A sample of each subset") -> go.Figure:
    """For each subset file, the six scans of its middle sample, zoomed to the cycle window."""
    from plotly.subplots import make_subplots

    names = list(datasets)
    cols = 3
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{n}" for n in names])
    for k, name in enumerate(names):
        ds = datasets[name]
        s = ds.sizes["sample"] // 2
        lo, hi = float(ds["cycle_min_C"][s]), float(ds["cycle_max_C"][s])
        T = ds["T"].values
        keep = (T >= lo - 5) & (T <= hi + 5)
        cp = ds["cp"][s].values
        for r, q in enumerate(ds["cooling_rate"].values):
            fig.add_trace(go.Scatter(x=T[keep], y=cp[r, keep], mode="lines", showlegend=k == 0,
                                     name=f"{q:g} K/min", line=dict(color=PALETTE[r], width=1.5),
                                     legendgroup=str(q)), row=k // cols + 1, col=k % cols + 1)
        shown = (f"{p.label}={float(p.to_display(ds[p.name][s])):.3g}"
                 + ("" if p.display_units == "1" else f" {p.display_units}") for p in PARAMETERS)
        fig.layout.annotations[k].text = f"{name}: " + ", ".join(shown)
        fig.layout.annotations[k].font.size = 11
    fig.update_xaxes(title_text="T (°C)")
    fig.update_yaxes(title_text="Cp<sup>N</sup> (1)")
    fig.update_layout(title=title, template="plotly_white", height=330 * rows)
    return fig


def cp_max_figure(datasets: dict, threshold: float = CP_MAX_LIMIT,
                  title: str = "Distribution of the largest peak Cp<sub>max</sub>") -> go.Figure:
    """Histogram of Cp_max per subset (log x axis) with the paper's exclusion threshold."""
    fig = go.Figure()
    for name, ds in datasets.items():
        values = ds["cp_max"].values
        fig.add_trace(go.Histogram(x=np.log10(values), name=name, opacity=0.6,
                                   marker_color=SUBSET_COLOURS.get(name), nbinsx=60))
    fig.add_vline(x=np.log10(threshold), line_dash="dash", annotation_text=f"Cp<sub>max</sub> = {threshold:g}")
    fig.update_layout(title=title, barmode="overlay", template="plotly_white",
                      xaxis_title="log<sub>10</sub> Cp<sub>max</sub> (Cp<sub>max</sub> dimensionless)",
                      yaxis_title="samples")
    return fig


def ln_a_range_figure(title: str = "Reconstructed ln A range per Δh*") -> go.Figure:
    """The lower and upper ln A bound of each Δh* (the reconstructed rule)."""
    from .study.statespace import LN_A_LIMITS, MARGIN_K, PAPER_GRID, ln_a_table

    table = ln_a_table()
    top, bottom = PAPER_GRID.t_max_C - MARGIN_K, PAPER_GRID.t_min_C + MARGIN_K
    fig = go.Figure([
        go.Scatter(x=table[:, 0] / 1e3, y=table[:, 2], mode="lines", name=f"upper bound (signal ≤ {top:g} °C)"),
        go.Scatter(x=table[:, 0] / 1e3, y=table[:, 1], mode="lines",
                   name=f"lower bound (signal ≥ {bottom:g} °C, ln A ≥ {LN_A_LIMITS[0]:g})"),
    ])
    fig.update_layout(title=title, xaxis_title="Δh* (kJ/mol)", yaxis_title="ln(A / s)", template="plotly_white")
    return fig


def history_figure(history: dict, title: str = "Training and validation") -> go.Figure:
    """Loss (weighted MSE) and normalised MAE per epoch, training and validation."""
    from plotly.subplots import make_subplots

    epoch = history["epoch"] + 1
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss: weighted MSE of normalised parameters",
                                                        "normalised MAE (validation metric)"))
    for col, key in ((1, "loss"), (2, "normalised_mae")):
        fig.add_trace(go.Scatter(x=epoch, y=history[key], name=f"training {key}", mode="lines+markers",
                                 line=dict(color=PALETTE[0])), row=1, col=col)
        fig.add_trace(go.Scatter(x=epoch, y=history[f"val_{key}"], name=f"validation {key}", mode="lines+markers",
                                 line=dict(color=PALETTE[1])), row=1, col=col)
    fig.update_yaxes(type="log", title_text="value (1)")
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title=title, template="plotly_white")
    return fig


MODEL_COLOURS = {**SUBSET_COLOURS, "C-wlnA1": "#56B4E9", "C-raw": "#999999"}
#: Per parameter: (variable of the evaluation file, factor to display units, axis title).
AE_LABELS = {p.name: (f"ae_{p.name}", 1.0 / p.units_per_display, f"absolute error of {p.axis_label}") for p in PARAMETERS}


def sorted_errors_figure(results: dict, variables, title: str, constant: bool = True) -> go.Figure:
    """Sorted per-sample errors of each model against the share of its kept test samples (%).

    With ``constant``, each model's constant predictor (the median of its training split) is
    drawn dotted in the same colour, for variables that have one (``ae_*``)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(variables), subplot_titles=[v[2] for v in variables])
    for col, (variable, scale, label) in enumerate(variables, start=1):
        for name, ds in results.items():
            kept = ds["kept"].values
            values = np.sort(ds[variable].values[kept]) * scale
            share = 100 * (np.arange(values.size) + 1) / max(values.size, 1)
            fig.add_trace(go.Scatter(x=share, y=values, mode="lines", name=name, legendgroup=name,
                                     showlegend=col == 1, line=dict(color=MODEL_COLOURS.get(name))), row=1, col=col)
            baseline = variable.replace("ae_", "ae_constant_", 1)
            if constant and variable.startswith("ae_") and baseline in ds:
                values = np.sort(ds[baseline].values[kept]) * scale
                fig.add_trace(go.Scatter(x=share, y=values, mode="lines", name=f"{name}: constant",
                                         legendgroup=name, showlegend=col == 1,
                                         line=dict(color=MODEL_COLOURS.get(name), dash="dot", width=1)), row=1, col=col)
        fig.update_xaxes(title_text="share of test samples (%)", row=1, col=col)
        fig.update_yaxes(type="log", title_text=label, row=1, col=col)
    fig.update_layout(title=title, template="plotly_white", height=420)
    return fig


def ae_vs_descriptor_figure(results: dict, parameter: str, title: str) -> go.Figure:
    """AE of one parameter against the peak descriptors Cp_max, ΔT_hw and Cp_max/ΔT_hw."""
    from plotly.subplots import make_subplots

    variable, scale, label = AE_LABELS[parameter]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Cp<sub>max</sub>", "ΔT<sub>hw</sub> (K)",
                                                        "Cp<sub>max</sub>/ΔT<sub>hw</sub> (1/K)"))
    for name, ds in results.items():
        kept = ds["kept"].values
        ae = ds[variable].values[kept] * scale
        dT = ds["dT_hw"].values[kept]
        xs = (ds["cp_max"].values[kept], dT, ds["cp_max"].values[kept] / np.where(dT > 0, dT, np.nan))
        for col, x in enumerate(xs, start=1):
            fig.add_trace(go.Scattergl(x=x, y=ae, mode="markers", name=name, legendgroup=name, showlegend=col == 1,
                                       marker=dict(size=3, color=MODEL_COLOURS.get(name), opacity=0.5)), row=1, col=col)
            fig.update_xaxes(type="log", row=1, col=col)
    fig.update_yaxes(type="log", title_text=label, row=1, col=1)
    fig.update_layout(title=title, template="plotly_white", height=400)
    return fig


def surface_figure(x: np.ndarray, y: np.ndarray, z: np.ndarray, labels: tuple[str, str, str], title: str,
                   log_z: bool = True) -> go.Figure:
    """Interactive 3-D surface of a per-cell mean (z) over two parameters (2-D x, y arrays)."""
    zz = np.log10(np.where(z > 0, z, np.nan)) if log_z else z
    fig = go.Figure(go.Surface(x=x, y=y, z=zz, colorscale="Viridis", connectgaps=False,
                               colorbar=dict(title=("log<sub>10</sub> " if log_z else "") + labels[2])))
    fig.update_layout(title=title, template="plotly_white", height=520, margin=dict(l=0, r=0, t=50, b=0),
                      scene=dict(xaxis_title=labels[0], yaxis_title=labels[1],
                                 zaxis_title=("log<sub>10</sub> " if log_z else "") + labels[2]))
    return fig


def convergence_figure(comparisons: dict, rate_K_per_min: float = 20.0,
                       title: str = "Eq. 4's staircase against the continuous ramp") -> go.Figure:
    """One panel per case: the heating scan after cooling at ``rate_K_per_min``, as the staircase
    of jumps of one grid step, the fast simulator and the continuous limit (reference)."""
    from plotly.subplots import make_subplots

    names = list(comparisons)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    styles = (("cp_staircase", "staircase, jump = grid step", dict(color=PALETTE[3], width=1.5)),
              ("cp_fast", "fast (continuous ramp)", dict(color=PALETTE[0], width=3)),
              ("cp_reference", "continuous limit (reference)", dict(color="#000000", width=1.5, dash="dot")))
    for col, name in enumerate(names, start=1):
        ds = comparisons[name].sel(cooling_rate=rate_K_per_min)
        for variable, label, line in styles:
            fig.add_trace(go.Scatter(x=ds["T"].values, y=ds[variable].values, mode="lines", name=label,
                                     legendgroup=variable, showlegend=col == 1, line=line), row=1, col=col)
        fig.update_xaxes(title_text="temperature T (°C)", row=1, col=col)
    fig.update_yaxes(title_text="Cp<sup>N</sup> (1)", row=1, col=1)
    fig.update_layout(title=f"{title} (heating after cooling at {rate_K_per_min:g} K/min)",
                      template="plotly_white", height=420)
    return fig


def learning_curve_figure(curve: dict, constant_mae: dict, paper_budget: float | None = None,
                          title: str = "Learning curve") -> go.Figure:
    """Validation MAE (over the constant predictor's) and shares under the thresholds against the
    training budget in sample-passes (log axis); the paper's budget as a vertical line.

    curve: columns of a ``*.curve.csv`` (sample_passes, mae_<key>, share_<parameter>_<below>);
    constant_mae: the constant predictor's validation MAE keyed like ``mae_<key>``'s key."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("MAE / MAE of the constant predictor",
                                                        "share of validation samples under the threshold (%)"))
    budget = curve["sample_passes"]
    for k, p in enumerate(PARAMETERS):
        fig.add_trace(go.Scatter(x=budget, y=curve[f"mae_{p.display_key}"] / constant_mae[p.display_key],
                                 mode="lines+markers", name=p.label, line=dict(color=PALETTE[k])), row=1, col=1)
    shares = [key for key in curve if key.startswith("share_")]
    for k, key in enumerate(shares):
        parameter, below = key[len("share_"):].rsplit("_", 1)
        p = next(q for q in PARAMETERS if q.name == parameter)
        units = "" if p.display_units == "1" else f" {p.display_units}"
        fig.add_trace(go.Scatter(x=budget, y=100 * curve[key], mode="lines+markers", name=f"{p.label} < {below}{units}",
                                 line=dict(color=PALETTE[PARAMETERS.index(p)], dash="solid" if k % 2 == 0 else "dash")),
                      row=1, col=2)
    fig.add_hline(y=1.0, line=dict(color="grey", dash="dot"), row=1, col=1)
    if paper_budget:
        for col in (1, 2):
            fig.add_vline(x=paper_budget, line=dict(color="black", dash="dash"), row=1, col=col)
        fig.add_annotation(x=np.log10(paper_budget), y=1.0, yref="paper", text="paper's budget", showarrow=False,
                           xanchor="right", yanchor="top", row=1, col=1)
    fig.update_xaxes(type="log", title_text="training budget (sample-passes)")
    fig.update_yaxes(type="log", title_text="ratio (1)", row=1, col=1)
    fig.update_yaxes(title_text="share (%)", range=[0, 100], row=1, col=2)
    fig.update_layout(title=title, template="plotly_white", height=440)
    return fig


def comparison_figure(table, column: str, title: str) -> go.Figure:
    """Grouped bars of one column of :func:`tnmlib.analysis.tables.comparison_table` (e.g. a share
    in %): the copies (distortions) along x, one bar per method; methods without a value there are
    left out.  The copies are the table's first index level, whatever its name."""
    fig = go.Figure()
    distortions = list(dict.fromkeys(table.index.get_level_values(0)))
    methods = list(dict.fromkeys(table.index.get_level_values("estimator")))
    for k, method in enumerate(methods):
        values = [table[column].get((d, method), np.nan) for d in distortions]
        if np.all(np.isnan(values)):
            continue
        fig.add_trace(go.Bar(x=distortions, y=values, name=method, marker_color=PALETTE[k % len(PALETTE)]))
    fig.update_layout(title=title, barmode="group", xaxis_title="distortion of the test scans",
                      yaxis_title=f"{column} (% of samples)" if "%" not in column else column,
                      template="plotly_white", legend_title_text="estimator")
    return fig


def fit_figure(curves, model: np.ndarray, result: dict, title: str | None = None) -> go.Figure:
    """Data (markers) and fitted model (lines) of every scan, Cp^N against T (°C), with the
    residuals below.  ``curves``: a :class:`tnmlib.estimation.measured.Curves` in Cp^N; ``model``:
    (n_scans, n_T) on the same temperatures; ``result``: the JSON of ``tnm fit``."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.05)
    for k, rate in enumerate(curves.cooling_rates_K_per_min):
        colour = PALETTE[k % len(PALETTE)]
        fig.add_trace(go.Scatter(x=curves.T_C, y=curves.values[k], mode="markers", marker=dict(size=3, color=colour),
                                 name=f"data, cooled at {rate:g} K/min", legendgroup=str(k)), row=1, col=1)
        fig.add_trace(go.Scatter(x=curves.T_C, y=model[k], mode="lines", line=dict(color=colour, width=1.5),
                                 name=f"fit, {rate:g} K/min", legendgroup=str(k), showlegend=False), row=1, col=1)
        fig.add_trace(go.Scatter(x=curves.T_C, y=curves.values[k] - model[k], mode="lines",
                                 line=dict(color=colour, width=1), legendgroup=str(k), showlegend=False), row=2, col=1)
    if title is None:
        title = (f"TNM fit: Δh* = {result['dh_kJ_per_mol']:.1f} kJ/mol, ln A = {result['ln_A']:.2f}, "
                 f"x = {result['x']:.3f}, β = {result['beta']:.3f}")
    fig.update_layout(title=title, template="plotly_white", height=620, legend=dict(font=dict(size=10)))
    fig.update_yaxes(title_text="Cp^N (1)", row=1, col=1)
    fig.update_yaxes(title_text="data − fit (1)", row=2, col=1)
    fig.update_xaxes(title_text="T (°C)", row=2, col=1)
    return fig


def run_figure(run) -> go.Figure:
    """Every heating scan of a prepared run (:class:`tnmlib.estimation.runs.PreparedRun`) as Cp
    (J/(g·K)) against T (°C), the start-up left out, with the glass and liquid lines drawn over
    the ranges they were fitted in; the legend says which scans the fit took and why not the
    others (flags and reasons)."""
    fig = go.Figure()
    for k, summary in enumerate(s for s in run.summaries if s.kind == "heating"):
        info, baseline = run.scan_info.get(summary.index, {}), run.baselines.get(summary.index)
        if "T_C" not in info:
            continue
        colour = PALETTE[k % len(PALETTE)] if summary.fit else "#b0b0b0"
        verdict = "fitted" if summary.fit else "left out: " + summary.reason[:70]
        cooled = f", cooled at {summary.cooled_at_K_per_min:.3g} K/min" if summary.cooled_at_K_per_min else ""
        fig.add_trace(go.Scatter(x=info["T_C"], y=info["cp"], mode="lines", line=dict(color=colour, width=1.2),
                                 name=f"segment {summary.index}{cooled} ({verdict})", legendgroup=str(summary.index)))
        if baseline is None or baseline.glass_line is None:
            continue
        for line, (lo, hi), what in ((baseline.glass_line, baseline.glass_range_C, "glass"),
                                     (baseline.liquid_line, baseline.liquid_range_C, "liquid")):
            T = np.linspace(lo, hi, 20)
            fig.add_trace(go.Scatter(x=T, y=np.polyval(line, T), mode="lines", line=dict(color=colour, width=3, dash="dot"),
                                     name=f"{what} line, segment {summary.index}", legendgroup=str(summary.index),
                                     showlegend=False))
    m = run.measurement
    fig.update_layout(title=f"{m.format}: {m.sample or 'sample'} — heating scans and their glass and liquid lines",
                      template="plotly_white", height=560, legend=dict(font=dict(size=10)))
    fig.update_xaxes(title_text="T (°C)")
    fig.update_yaxes(title_text="Cp (J/(g·K))")
    return fig

