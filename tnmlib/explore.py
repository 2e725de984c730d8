"""Exploring the TNM model: the JupyterLab playground and the book's kernel-free version.

:class:`Playground` (``notebooks/playground.ipynb``, opened by ``make lab``) puts sliders for
Δh*, ln A — or T_ref, where τ_eq = 100 s, which shows why Δh* and ln A are hard to separate —, x,
β, the heating rate and an instrument lag beside a Plotly FigureWidget of the heating scans
after each cooling rate, their fictive temperature Tf(T) and relaxation time τ(T); a file chooser
takes any file ``tnm fit`` reads, "Fit" runs it and sets the sliders to the result, "Save" writes
the JSON ``tnm fit`` writes.  :func:`model_curves` is what every redraw computes;
:func:`static_explorer` is the same picture as a Plotly figure with sliders over precomputed
frames, for the HTML book.

The widgets come from ``ipywidgets`` (and ``anywidget`` for the FigureWidget), installed with
the ``lab`` extra; the rest needs only the package.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from .physics.instrument import instrument_lag
from .physics.simulate import simulate_chr_details
from .plots import PALETTE
from .study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: The playground's grid step (K): fine enough that the drawn curve is the converged one's bin
#: average, coarse enough for a redraw in a few milliseconds (``explore_grid_error`` measures it).
PLAYGROUND_STEP_K = 0.2
#: Where τ_eq is 100 s (the T_ref of tnm fit).
TAU_REF_S = 100.0
#: The window drawn around T_ref (K below, K above), widened for broad transitions.
WINDOW_BELOW_K, WINDOW_ABOVE_K = 60.0, 40.0
#: Se, the playground's start (dh kJ/mol, ln A, x, β).
START = (356.0, -133.0, 0.52, 0.65)


def t_ref_C(dh_kJ_per_mol: float, ln_A: float) -> float:
    """Temperature (°C) where the equilibrium relaxation time A·exp(Δh*/(R·T)) is 100 s."""
    return dh_kJ_per_mol * 1e3 / (R_J_PER_MOL_K * (math.log(TAU_REF_S) - ln_A)) - ZERO_CELSIUS_K


def ln_A_for(dh_kJ_per_mol: float, T_ref_C: float) -> float:
    """ln A (A in s) that puts τ_eq = 100 s at ``T_ref_C`` for this Δh*."""
    return math.log(TAU_REF_S) - dh_kJ_per_mol * 1e3 / (R_J_PER_MOL_K * (T_ref_C + ZERO_CELSIUS_K))


@dataclass
class ModelCurves:
    """What a redraw shows: the grid T_C (n_T,), Cp^N (n_rates, n_T) after the lag, Tf (°C) and
    log10 τ (s) along each heating scan (n_rates, n_T), the cooling rates (K/min) and T_ref (°C)."""

    T_C: np.ndarray
    cp_n: np.ndarray
    tf_C: np.ndarray
    log10_tau_s: np.ndarray
    cooling_rates_K_per_min: np.ndarray
    T_ref_C: float
    seconds: float


def model_curves(dh_kJ_per_mol: float, ln_A: float, x: float, beta: float, *,
                 cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN,
                 heating_rate_K_per_min: float = PAPER_HEATING_RATE_K_PER_MIN, lag_s: float = 0.0,
                 step_K: float = PLAYGROUND_STEP_K) -> ModelCurves:
    """The heating scans of one parameter set on a grid around its T_ref, with Tf(T) from the
    scans (Cp^N = dTf/dT on heating, starting at Tf') and τ(T) = A·exp(xΔh*/RT + (1 − x)Δh*/RTf)."""
    t0 = time.perf_counter()
    T_ref = t_ref_C(dh_kJ_per_mol, ln_A)
    width = R_J_PER_MOL_K * (T_ref + ZERO_CELSIUS_K) ** 2 / (dh_kJ_per_mol * 1e3)  # K per e-fold of τ
    below, above = max(WINDOW_BELOW_K, 12 * width), max(WINDOW_ABOVE_K, 8 * width)
    lo = max(T_ref - below, -ZERO_CELSIUS_K + 5.0)
    n = int(round((below + above) / step_K)) + 1
    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a window cut by the drawn range is what the picture shows
        result = simulate_chr_details(np.array([[dh_kJ_per_mol * 1e3, ln_A, x, beta]]), cooling_rates=rates,
                                      heating_rate=heating_rate_K_per_min, t_min=lo, t_max=lo + step_K * (n - 1),
                                      step=step_K)
    T = lo + step_K * np.arange(n)
    cp = result.cp[0]
    tf = result.tf_prime_C[0][:, None] + np.cumsum(cp, axis=1) * step_K  # cp_i = (Tf(T_i) - Tf(T_i - step))/step
    T_K, tf_K = T[None, :] + ZERO_CELSIUS_K, tf + ZERO_CELSIUS_K
    dh_R = dh_kJ_per_mol * 1e3 / R_J_PER_MOL_K
    log10_tau = (ln_A + x * dh_R / T_K + (1 - x) * dh_R / tf_K) / math.log(10.0)
    if lag_s > 0:
        cp = instrument_lag(cp, lag_s, step_K, heating_rate_K_per_min)
    return ModelCurves(T, cp, tf, log10_tau, rates, T_ref, time.perf_counter() - t0)


def explore_grid_error(params=START, step_K: float = PLAYGROUND_STEP_K) -> dict:
    """How far the playground's curves are from finer ones: the largest |ΔCp^N| between the
    playground grid and the same bins averaged from a grid ten times finer, and the largest
    difference between a bin average and the curve's value at the bin's upper edge (what a
    coarse grid hides of a sharp peak)."""
    coarse = model_curves(*params, step_K=step_K)
    fine = model_curves(*params, step_K=step_K / 10)
    n = coarse.T_C.size
    # fine bins (T - step/10, T] average to the coarse bin (T - step, T]
    offset = int(round((coarse.T_C[0] - fine.T_C[0]) / (step_K / 10)))
    binned = np.array([[scan[offset + 10 * i - 9: offset + 10 * i + 1].mean() if offset + 10 * i - 9 >= 0 else np.nan
                        for i in range(n)] for scan in fine.cp_n])
    at_edge = np.array([np.interp(coarse.T_C, fine.T_C, scan) for scan in fine.cp_n])
    return {"step_K": step_K, "bin_average_error": float(np.nanmax(np.abs(binned - coarse.cp_n))),
            "bin_vs_point_difference": float(np.max(np.abs(at_edge - coarse.cp_n)))}


def static_explorer(dh_kJ_per_mol: float = START[0], T_ref_C: float | None = None,
                    x_values=(0.3, 0.45, 0.6, 0.75, 0.9), beta_values=(0.3, 0.45, 0.6, 0.75, 0.9),
                    T_ref_shifts_K=(-10.0, -5.0, 0.0, 5.0, 10.0), step_K: float = 1.0) -> "go.Figure":
    """The book's kernel-free explorer: the six Cp^N scans as a Plotly figure with a slider over
    precomputed frames — every (x, β) of the two grids at fixed Δh* and T_ref, then T_ref moved
    at fixed Δh*, x, β (the Δh*–ln A ridge: ln A follows T_ref)."""
    import plotly.graph_objects as go

    T_ref = t_ref_C(START[0], START[1]) if T_ref_C is None else T_ref_C
    middle_x, middle_b = x_values[len(x_values) // 2], beta_values[len(beta_values) // 2]
    settings = [(x, b, T_ref) for x in x_values for b in beta_values]
    settings += [(middle_x, middle_b, T_ref + s) for s in T_ref_shifts_K if s != 0.0]
    frames, labels = [], []
    curves = [model_curves(dh_kJ_per_mol, ln_A_for(dh_kJ_per_mol, t), x, b, step_K=step_K) for x, b, t in settings]
    lo = min(c.T_C[0] for c in curves)
    hi = max(c.T_C[-1] for c in curves)
    for (x, b, t), c in zip(settings, curves):
        label = f"x={x:g}, β={b:g}" if t == T_ref else f"T_ref {t - T_ref:+g} K"
        labels.append(label)
        # plain lists: plotly.js does not decode plotly.py's base64 arrays inside animation frames
        frames.append(go.Frame(name=label, data=[go.Scatter(x=np.round(c.T_C, 3).tolist(), y=np.round(scan, 5).tolist())
                                                 for scan in c.cp_n],
                               layout=go.Layout(title_text=f"Δh* = {dh_kJ_per_mol:g} kJ/mol, T_ref = {t:.1f} °C "
                                                           f"(ln A = {ln_A_for(dh_kJ_per_mol, t):.1f}), x = {x:g}, β = {b:g}")))
    first = curves[labels.index(f"x={middle_x:g}, β={middle_b:g}")]
    fig = go.Figure(
        data=[go.Scatter(x=np.round(first.T_C, 3).tolist(), y=np.round(scan, 5).tolist(), mode="lines", line=dict(color=PALETTE[k % len(PALETTE)], width=1.6),
                         name=f"cooled at {q:g} K/min") for k, (q, scan) in enumerate(zip(first.cooling_rates_K_per_min, first.cp_n))],
        frames=frames)
    fig.update_layout(
        template="plotly_white", height=560, title=frames[labels.index(f"x={middle_x:g}, β={middle_b:g}")].layout.title.text,
        xaxis=dict(title="T (°C)", range=[lo, hi]), yaxis=dict(title="Cp^N (1)", range=[-0.3, 2.6]),
        sliders=[dict(active=labels.index(f"x={middle_x:g}, β={middle_b:g}"), currentvalue=dict(prefix=""),
                      pad=dict(t=40), steps=[dict(label=label, method="animate",
                                                  args=[[label], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                                                      transition=dict(duration=0))])
                                             for label in labels])])
    return fig


class Playground:
    """Sliders, a live figure and a measurement panel (module docstring).  ``show()`` returns the
    widget to display; :meth:`set_values` moves the sliders from code (what the Fit button does);
    ``last_redraw_s`` is the time the last redraw took; ``figure`` holds the Cp^N scans and
    ``history_figure`` Tf(T) and τ(T)."""

    def __init__(self, work_dir: str | Path | None = None):
        import ipywidgets as w
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        self._w = w
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="tnm-playground-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        def slider(**kwargs):  # each its own Layout: hiding one must not hide the others
            return w.FloatSlider(continuous_update=True, readout_format=".3g", style={"description_width": "11em"},
                                 layout=w.Layout(width="30em"), **kwargs)

        self.dh = slider(value=START[0], min=150, max=1300, step=1, description="Δh* (kJ/mol)")
        self.ln_a = slider(value=START[1], min=-700, max=-20, step=0.1, description="ln A (A in s)")
        self.t_ref = slider(value=round(t_ref_C(*START[:2]), 1), min=-150, max=600, step=0.1,
                            description="T_ref (°C), τ_eq = 100 s")
        self.x = slider(value=START[2], min=0.05, max=1.0, step=0.01, description="x")
        self.beta = slider(value=START[3], min=0.1, max=1.0, step=0.01, description="β")
        self.heating = slider(value=PAPER_HEATING_RATE_K_PER_MIN, min=0.5, max=50, step=0.5,
                              description="heating rate (K/min)")
        self.lag = slider(value=0.0, min=0.0, max=30.0, step=0.5, description="instrument lag (s)")
        self.rates = w.Text(value=",".join(f"{q:g}" for q in PAPER_COOLING_RATES_K_PER_MIN),
                            description="cooling rates (K/min)", style={"description_width": "11em"},
                            layout=w.Layout(width="30em"))
        self.ridge = w.ToggleButtons(options=["ln A", "T_ref"], value="ln A", description="second slider",
                                     style={"description_width": "11em"})
        self.status = w.HTML()
        # Cp^N in a figure of its own: a slider move redraws it first and alone
        self.figure = go.FigureWidget()
        self.figure.update_layout(template="plotly_white", height=470, margin=dict(t=40, r=20),
                                  legend=dict(font=dict(size=10)), xaxis_title="T (°C)", yaxis_title="Cp^N (1)")
        self.history_figure = go.FigureWidget(make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06))
        self.history_figure.update_layout(template="plotly_white", height=380, margin=dict(t=30, r=20), showlegend=False,
                                          title_text="along each heating scan: fictive temperature and relaxation time")
        self.history_figure.update_yaxes(title_text="Tf (°C)", row=1, col=1)
        self.history_figure.update_yaxes(title_text="log10 τ (s)", row=2, col=1)
        self.history_figure.update_xaxes(title_text="T (°C)", row=2, col=1)
        self._n_model_traces = 0
        self._grid: np.ndarray | None = None
        self.upload = w.FileUpload(accept=".txt,.csv,.json,.tsv,.dat,.exp", multiple=False,
                                   description="measurement")
        self.fit_button = w.Button(description="Fit", icon="play", disabled=True)
        self.save_button = w.Button(description="Save", icon="save", disabled=True)
        self.save_path = w.Text(value=str(self.work_dir / "fit.json"), description="save to",
                                layout=w.Layout(width="30em"))
        self.result_box = w.HTML()
        self.measurement = None  # (path, Curves) of the file chosen
        self.result_path: Path | None = None
        self.last_redraw_s = math.nan
        for control in (self.dh, self.ln_a, self.t_ref, self.x, self.beta, self.heating, self.lag):
            control.observe(self._on_change, names="value")
        self.rates.observe(self._on_change, names="value")
        self.ridge.observe(self._on_ridge, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.fit_button.on_click(self._on_fit)
        self.save_button.on_click(self._on_save)
        self._syncing = False
        self._on_ridge(None)
        self.redraw()

    # ---- model ------------------------------------------------------------------------------
    def parameters(self) -> tuple[float, float, float, float]:
        """(Δh* kJ/mol, ln A, x, β) as the sliders set them."""
        ln_a = self.ln_a.value if self.ridge.value == "ln A" else ln_A_for(self.dh.value, self.t_ref.value)
        return self.dh.value, ln_a, self.x.value, self.beta.value

    def cooling_rates(self) -> list[float]:
        try:
            rates = [float(v) for v in self.rates.value.split(",") if v.strip()]
        except ValueError:
            rates = []
        return [q for q in rates if math.isfinite(q) and q > 0] or list(PAPER_COOLING_RATES_K_PER_MIN)

    def redraw(self) -> None:
        """Simulate and redraw every panel (one batch update of the figure)."""
        t0 = time.perf_counter()
        dh, ln_a, x, beta = self.parameters()
        try:
            curves = model_curves(dh, ln_a, x, beta, cooling_rates_K_per_min=self.cooling_rates(),
                                  heating_rate_K_per_min=self.heating.value, lag_s=self.lag.value)
        except Exception as exc:  # noqa: BLE001 - a slider position the simulator refuses: say so, keep the plot
            self.status.value = f"<b>cannot simulate:</b> {exc}"
            return
        new_grid = self._ensure_traces(len(curves.cooling_rates_K_per_min)) or self._grid is None or \
            self._grid.size != curves.T_C.size or not np.array_equal(self._grid, curves.T_C)
        for figure, panels in ((self.figure, (curves.cp_n,)), (self.history_figure, (curves.tf_C, curves.log10_tau_s))):
            with figure.batch_update():
                for k, q in enumerate(curves.cooling_rates_K_per_min):
                    for row, values in enumerate(panels):
                        trace = figure.data[len(panels) * k + row]
                        if new_grid:  # the browser keeps x while only x or β move: half the message
                            trace.x = curves.T_C
                            trace.name = f"cooled at {q:g} K/min"
                        trace.y = values[k]
                if figure is self.figure:
                    figure.layout.title.text = (f"Δh* = {dh:.0f} kJ/mol, ln A = {ln_a:.1f}, x = {x:.2f}, β = {beta:.2f}; "
                                                f"T_ref = {curves.T_ref_C:.1f} °C")
        self._grid = curves.T_C
        self.last_redraw_s = time.perf_counter() - t0
        self.status.value = (f"T_ref = {curves.T_ref_C:.1f} °C (τ_eq = 100 s); simulated in {curves.seconds * 1e3:.0f} ms, "
                             f"redrawn in {self.last_redraw_s * 1e3:.0f} ms on a {PLAYGROUND_STEP_K:g} K grid")

    def _ensure_traces(self, n_rates: int) -> None:
        import plotly.graph_objects as go

        if self._n_model_traces == n_rates:
            return False
        measured = [t for t in self.figure.data if t.meta == "measured"]
        self.figure.data = []
        self.history_figure.data = []
        for k in range(n_rates):
            colour = PALETTE[k % len(PALETTE)]
            self.figure.add_trace(go.Scatter(mode="lines", line=dict(color=colour, width=1.6)))
            for row in (1, 2):
                self.history_figure.add_trace(go.Scatter(mode="lines", line=dict(color=colour, width=1.4)), row=row, col=1)
        for trace in measured:
            self.figure.add_trace(trace)
        self._n_model_traces = n_rates
        return True

    def set_values(self, dh_kJ_per_mol: float, ln_A: float, x: float, beta: float) -> None:
        """Move the sliders (both the ln A and the T_ref one) and redraw once."""
        self._syncing = True
        try:
            self.dh.value, self.x.value, self.beta.value = dh_kJ_per_mol, x, beta
            self.ln_a.value = ln_A
            self.t_ref.value = t_ref_C(dh_kJ_per_mol, ln_A)
        finally:
            self._syncing = False
        self.redraw()

    def _on_change(self, change) -> None:
        if not self._syncing:
            self.redraw()

    def _on_ridge(self, change) -> None:
        """Show the ln A slider or the T_ref one; the hidden one follows the shown one."""
        self._syncing = True
        try:
            if self.ridge.value == "T_ref":
                self.t_ref.value = round(t_ref_C(self.dh.value, self.ln_a.value), 1)
            else:
                self.ln_a.value = round(ln_A_for(self.dh.value, self.t_ref.value), 1)
        finally:
            self._syncing = False
        self.ln_a.layout.display = "none" if self.ridge.value == "T_ref" else None
        self.t_ref.layout.display = None if self.ridge.value == "T_ref" else "none"
        if change is not None:
            self.redraw()

    # ---- a measurement ----------------------------------------------------------------------
    def load_file(self, path: str | Path) -> None:
        """Read a file tnm fit takes and draw its scans (Cp^N, as the fit normalises them)."""
        from .errors import TNMInputError
        from .pipeline.exports import read_export
        from .pipeline.read import read_run
        from .pipeline.scans import read_curves_csv

        from .estimation.measured import normalize_curves

        path = Path(path)
        try:
            measurement = read_export(path)
            is_export = measurement is not None
            raw = False
            if is_export:
                run = read_run(path, measurement=measurement)
                if run.curves is None:
                    raise TNMInputError(f"{len(run.chosen)} heating scan(s) can be fitted, need 2")
                curves, rates = run.curves, run.curves.cooling_rates_K_per_min
                self.heating.value = round(run.heating_rate_K_per_min * 2) / 2
            else:
                curves = read_curves_csv(path)
                rates = curves.cooling_rates_K_per_min
                raw = not _is_cp_n(curves)
                if raw:  # raw Cp: drawn as the fit will normalise it
                    curves = normalize_curves(curves)
        except TNMInputError as exc:
            self.result_box.value = f"<b>cannot read {path.name}:</b> {exc}"
            self.fit_button.disabled = True
            return
        self.measurement = (path, curves, is_export, raw)
        self.rates.value = ",".join(f"{q:.3g}" for q in rates)
        self._draw_measurement(curves)
        self.fit_button.disabled = False
        self.result_box.value = f"{path.name}: {len(rates)} scans, {curves.T_C.size} temperatures. Press Fit."

    def _draw_measurement(self, curves) -> None:
        import plotly.graph_objects as go

        with self.figure.batch_update():
            self.figure.data = [t for t in self.figure.data if t.meta != "measured"]
            for k, (q, values) in enumerate(zip(curves.cooling_rates_K_per_min, curves.values)):
                self.figure.add_trace(go.Scatter(x=curves.T_C, y=values, mode="markers", meta="measured",
                                                 marker=dict(size=3, color=PALETTE[k % len(PALETTE)]),
                                                 name=f"measured, cooled at {q:.3g} K/min"))

    def fit(self) -> dict:
        """Fit the chosen file as ``tnm fit`` does, set the sliders to the result, show the standard
        errors and the residual; returns the result."""
        from .errors import TNMInputError
        from .pipeline.fit import fit_file

        if self.measurement is None:
            raise TNMInputError("choose a measurement first")
        path, _, is_export, raw = self.measurement
        self.result_path = self.work_dir / f"{path.stem}.fit.json"
        result, curves, _, _ = fit_file(path, self.result_path, normalize=raw, fit_lag=None,
                                        heating_rate_K_per_min=None if is_export else self.heating.value)
        self._draw_measurement(curves)
        self._syncing = True
        try:
            self.lag.value = min(max(result["lag_s"], self.lag.min), self.lag.max)
        finally:
            self._syncing = False
        self.set_values(result["dh_kJ_per_mol"], result["ln_A"], result["x"], result["beta"])
        rows = "".join(f"<tr><td>{k}</td><td>{result[k]:.4g}</td><td>± {result.get(k + '_stderr') or float('nan'):.2g}</td></tr>"
                       for k in ("dh_kJ_per_mol", "ln_A", "x", "beta"))
        self.result_box.value = (f"<table>{rows}</table>T_ref = {result['T_ref_C']:.2f} °C, residual rms "
                                 f"{result['residual_rms']:.3g} ({result['status']}, {result['seconds']:.1f} s)")
        self.save_button.disabled = False
        return result

    def save(self, out_path: str | Path | None = None) -> Path:
        """Copy the last fit's JSON (as tnm fit wrote it) to ``out_path`` (default: the text box)."""
        from .errors import TNMInputError
        from .fileutil import atomic_output

        if self.result_path is None:
            raise TNMInputError("fit a measurement first")
        target = Path(out_path or self.save_path.value)
        with atomic_output(target) as tmp:
            shutil.copyfile(self.result_path, tmp)
        self.result_box.value += f"<br>saved {target}"
        return target

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = Path(item["name"]).name or "measurement.txt"
        path = self.work_dir / name
        path.write_bytes(bytes(item["content"]))
        self.load_file(path)

    def _on_fit(self, _button) -> None:
        try:
            self.fit()
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never a traceback in the page
            self.result_box.value = f"<b>fit failed:</b> {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"

    def _on_save(self, _button) -> None:
        try:
            self.save()
        except Exception as exc:  # noqa: BLE001
            self.result_box.value += f"<br><b>not saved:</b> {exc}"

    def show(self):
        """The whole playground as one widget."""
        w = self._w
        controls = w.VBox([self.ridge, self.dh, self.ln_a, self.t_ref, self.x, self.beta, self.rates, self.heating,
                           self.lag, self.status])
        measured = w.VBox([w.HTML("<b>Your measurement</b> (any file tnm fit reads)"),
                           w.HBox([self.upload, self.fit_button]), w.HBox([self.save_path, self.save_button]),
                           self.result_box])
        return w.VBox([w.HBox([controls, measured]), self.figure, self.history_figure])


def _is_cp_n(curves) -> bool:
    """Whether CSV curves are already Cp^N (they start near 0 and end near 1)."""
    start, end = np.median(curves.values[:, :3], axis=1), np.median(curves.values[:, -3:], axis=1)
    return bool(np.all(np.abs(start) < 0.25) and np.all(np.abs(end - 1) < 0.25))
