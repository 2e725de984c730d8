"""The whole-space estimator: a small network reads the scans, least squares refines its reading.

The paper's preprocessing resamples each scan's significant segment to a fixed length and so
throws away where on the temperature axis the transition lies, and its ln A output fights Δh*
along the ridge ln A ≈ ln τ_ref − Δh*/(R·T_ref).  Here:

- :func:`network_inputs` describes a sample on any grid by where it lies and how wide its
  transition is — the mean limiting fictive temperature T_c and Moynihan's width
  w = dTf'/d ln q = R·T_c²/Δh* from the areas of the scans — and by the scans' bin averages on
  a fixed grid of u = (T − T_c)/w;
- the network (:class:`NetworkEstimator`, a multilayer perceptron evaluated in NumPy so that
  reading a curve needs no Keras) predicts ln(Δh*·w/(R·T_c²)), the position
  (T_ref − T_c)/w of the temperature T_ref where τ_eq = 100 s, x and β; ln A follows from T_ref;
- :func:`fit_scans` refines that reading by bounded least squares on the fast simulator
  (:func:`tnmlib.estimation.classical.least_squares_fit`), with an instrument lag given or fitted.

Training lives in :mod:`tnmlib.learning.estimator_training`; the default network ships in
``tnmlib/data/estimator.npz`` and ``make estimator`` rebuilds it.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import TNMInputError
from ..physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
from .classical import (BAD_INPUT, FAILED, FIT_LOWER, FIT_UPPER, OK, Estimate, least_squares_fit,
                        practitioner_start, tf_prime_from_scans)

#: The reference relaxation time (s) that defines T_ref: τ_eq(T_ref) = TAU_REF_S.
TAU_REF_S = 100.0
#: Bin edges of the network's input, in units of Moynihan's width w around T_c.
U_EDGES = np.linspace(-30.0, 15.0, 181)
#: Names of the network's targets, in order.
TARGETS = ("ln_dh_over_moynihan", "t_ref_minus_tc_over_w", "x", "beta")
#: Version of the inputs' definition: a network trained on other inputs is refused.
INPUTS_VERSION = 1
#: The default network, shipped with the package.
DEFAULT_NETWORK = "estimator.npz"


def t_ref_K(dh_J_per_mol, ln_a):
    """Temperature (K) where the equilibrium relaxation time A·exp(Δh*/(R·T)) equals TAU_REF_S."""
    return np.asarray(dh_J_per_mol, dtype=float) / (R_J_PER_MOL_K * (math.log(TAU_REF_S) - np.asarray(ln_a, dtype=float)))


def ln_a_from_t_ref(dh_J_per_mol, t_ref_kelvin):
    """ln A (A in s) that puts τ_eq = TAU_REF_S at ``t_ref_kelvin`` for activation energy Δh*."""
    return math.log(TAU_REF_S) - np.asarray(dh_J_per_mol, dtype=float) / (R_J_PER_MOL_K * np.asarray(t_ref_kelvin, dtype=float))


@dataclass(frozen=True)
class Position:
    """Where a sample's transition lies: T_c = mean Tf' (K), Moynihan's width w (K) and each
    scan's Tf' (°C)."""

    tc_K: float
    width_K: float
    tf_prime_C: np.ndarray


def locate(T_C: np.ndarray, cp: np.ndarray, cooling_rates_K_per_min) -> Position:
    """T_c and w of scans (n_rates, n_T) on the increasing grid ``T_C`` (°C): Tf' of each scan
    from its area, w the least-squares slope of Tf' against ln q.  Raises TNMInputError when Tf'
    does not rise with the cooling rate."""
    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    tf = tf_prime_from_scans(cp, T_C)
    tc_K = float(np.mean(tf)) + ZERO_CELSIUS_K
    width = float(np.polyfit(np.log(rates), tf, 1)[0]) if np.ptp(rates) > 0 else float("nan")
    if not (math.isfinite(width) and width > 1e-5 * tc_K):
        raise TNMInputError("the scans' fictive temperatures do not rise with the cooling rate "
                            f"(Tf' = {', '.join(f'{v:.2f}' for v in tf)} °C): check the rates and the column order")
    return Position(tc_K, width, tf)


def bin_averages(T_C: np.ndarray, cp: np.ndarray, edges_C: np.ndarray) -> np.ndarray:
    """Mean of each scan (n_rates, n_T) over the bins between ``edges_C`` (n_bins + 1), from the
    integral of the scan (trapezoids, extended beyond the data by its first and last values)."""
    T_C = np.asarray(T_C, dtype=float)
    cp = np.asarray(cp, dtype=float)
    area = np.concatenate([np.zeros((cp.shape[0], 1)), np.cumsum(0.5 * (cp[:, 1:] + cp[:, :-1]) * np.diff(T_C), axis=1)], axis=1)
    out = np.empty((cp.shape[0], edges_C.size - 1))
    below, above = edges_C < T_C[0], edges_C > T_C[-1]
    for r in range(cp.shape[0]):
        f = np.interp(edges_C, T_C, area[r])
        f = np.where(below, (edges_C - T_C[0]) * cp[r, 0], f)
        f = np.where(above, area[r, -1] + (edges_C - T_C[-1]) * cp[r, -1], f)
        out[r] = np.diff(f) / np.diff(edges_C)
    return out


def network_inputs(T_C: np.ndarray, cp: np.ndarray, cooling_rates_K_per_min) -> tuple[np.ndarray, Position]:
    """The network's input vector of one sample (n_rates * (len(U_EDGES) - 1) + 2 + n_rates,)
    and its :class:`Position`: bin averages of each scan on u = (T − T_c)/w, then ln(T_c / K),
    ln(w / T_c) and each scan's (Tf' − T_c)/w."""
    position = locate(T_C, cp, cooling_rates_K_per_min)
    edges_C = position.tc_K - ZERO_CELSIUS_K + position.width_K * U_EDGES
    shape = bin_averages(T_C, cp, edges_C)
    tf_u = (position.tf_prime_C + ZERO_CELSIUS_K - position.tc_K) / position.width_K
    scalars = [math.log(position.tc_K), math.log(position.width_K / position.tc_K)]
    return np.concatenate([shape.ravel(), scalars, tf_u]), position


def targets_from_params(params: np.ndarray, positions: list[Position]) -> np.ndarray:
    """The network's targets (n, 4) (see :data:`TARGETS`) of parameters (n, 4) (dh J/mol, ln A, x, β)."""
    params = np.asarray(params, dtype=float)
    tc = np.array([p.tc_K for p in positions])
    w = np.array([p.width_K for p in positions])
    moynihan = R_J_PER_MOL_K * tc ** 2 / w
    return np.column_stack([np.log(params[:, 0] / moynihan), (t_ref_K(params[:, 0], params[:, 1]) - tc) / w,
                            params[:, 2], params[:, 3]])


def params_from_targets(targets: np.ndarray, positions: list[Position]) -> np.ndarray:
    """Parameters (n, 4) (dh J/mol, ln A, x, β) from network outputs (n, 4) (the inverse of
    :func:`targets_from_params`)."""
    targets = np.asarray(targets, dtype=float)
    tc = np.array([p.tc_K for p in positions])
    w = np.array([p.width_K for p in positions])
    dh = np.exp(targets[:, 0]) * R_J_PER_MOL_K * tc ** 2 / w
    t_ref = np.maximum(tc + w * targets[:, 1], 1.0)
    return np.column_stack([dh, ln_a_from_t_ref(dh, t_ref), targets[:, 2], targets[:, 3]])


@dataclass
class NetworkEstimator:
    """A trained multilayer perceptron (ReLU hidden layers, linear output) with the standardisation
    of its inputs and targets, and the temperature program it was trained for."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    input_mean: np.ndarray
    input_std: np.ndarray
    target_mean: np.ndarray
    target_std: np.ndarray
    cooling_rates_K_per_min: np.ndarray
    heating_rate_K_per_min: float
    metadata: dict = field(default_factory=dict)

    def forward(self, inputs: np.ndarray) -> np.ndarray:
        """Network outputs (n, 4) in target units (:data:`TARGETS`) for inputs (n, n_inputs)."""
        h = (np.asarray(inputs, dtype=float) - self.input_mean) / self.input_std
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w + b
            if k < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h * self.target_std + self.target_mean

    def _same_rates(self, cooling_rates_K_per_min) -> bool:
        rates = np.sort(np.asarray(cooling_rates_K_per_min, dtype=float))
        own = np.sort(self.cooling_rates_K_per_min)
        return rates.shape == own.shape and np.allclose(rates, own, rtol=1e-6)

    def matches(self, cooling_rates_K_per_min, heating_rate_K_per_min: float) -> bool:
        """Whether scans of this program can be read (the same rates, in any order)."""
        return (self._same_rates(cooling_rates_K_per_min)
                and math.isclose(heating_rate_K_per_min, self.heating_rate_K_per_min, rel_tol=1e-6))

    def estimate(self, T_C: np.ndarray, cp: np.ndarray, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN) -> Estimate:
        """The network's reading of one sample's scans (n_rates, n_T) on the grid ``T_C`` (°C)."""
        t0 = time.perf_counter()
        rates = np.asarray(cooling_rates_K_per_min, dtype=float)
        order = np.argsort(rates)
        if not self._same_rates(rates):
            return Estimate(np.full(4, np.nan), BAD_INPUT, time.perf_counter() - t0,
                            message="the network was trained for other cooling rates")
        try:
            inputs, position = network_inputs(T_C, np.asarray(cp, dtype=float)[order], rates[order])
        except TNMInputError as exc:
            return Estimate(np.full(4, np.nan), FAILED, time.perf_counter() - t0, message=str(exc))
        params = params_from_targets(self.forward(inputs[None]), [position])[0]
        params = np.clip(params, FIT_LOWER, FIT_UPPER)
        return Estimate(params, OK, time.perf_counter() - t0,
                        extra={"t_ref_C": float(t_ref_K(params[0], params[1])) - ZERO_CELSIUS_K,
                               "tc_C": position.tc_K - ZERO_CELSIUS_K, "width_K": position.width_K})

    def save(self, path: str | Path) -> None:
        """Write the network to an .npz file (weights, standardisation, program, JSON metadata)."""
        # float32, as trained: half the size of the shipped file, and nothing lost
        arrays = ({f"w{k}": w.astype(np.float32) for k, w in enumerate(self.weights)}
                  | {f"b{k}": b.astype(np.float32) for k, b in enumerate(self.biases)})
        meta = dict(self.metadata, inputs_version=INPUTS_VERSION, n_layers=len(self.weights),
                    cooling_rates_K_per_min=[float(r) for r in self.cooling_rates_K_per_min],
                    heating_rate_K_per_min=float(self.heating_rate_K_per_min))
        with open(path, "wb") as handle:
            np.savez_compressed(handle, input_mean=self.input_mean, input_std=self.input_std,
                                target_mean=self.target_mean, target_std=self.target_std,
                                metadata=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "NetworkEstimator":
        """Read a network written by :meth:`save`; None: the one shipped with the package."""
        source = default_network_path() if path is None else Path(path)
        try:
            with source.open("rb") as handle, np.load(handle) as data:
                meta = json.loads(str(data["metadata"]))
                if meta.get("inputs_version") != INPUTS_VERSION:
                    raise TNMInputError(f"{path or DEFAULT_NETWORK}: network for inputs version "
                                        f"{meta.get('inputs_version')}, this tnmlib reads version {INPUTS_VERSION}")
                n = int(meta["n_layers"])
                return cls([data[f"w{k}"].astype(float) for k in range(n)], [data[f"b{k}"].astype(float) for k in range(n)],
                           data["input_mean"], data["input_std"], data["target_mean"], data["target_std"],
                           np.array(meta["cooling_rates_K_per_min"]), float(meta["heating_rate_K_per_min"]), meta)
        except (OSError, KeyError, ValueError) as exc:
            raise TNMInputError(f"cannot read the network {path or DEFAULT_NETWORK}: {exc}") from None


def default_network_path() -> Path:
    """Where the network shipped with the package lies."""
    return Path(str(resources.files("tnmlib").joinpath("data", DEFAULT_NETWORK)))


#: How the start of a refinement was found.
START_NETWORK, START_PRACTITIONER, START_GIVEN = "network", "practitioner", "given"
#: scipy's tolerances for the first stage of a fit with refined lines (only its start).
STAGE_TOLERANCE = 1e-5


def fit_scans(T_C: np.ndarray, cp: np.ndarray, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN,
              heating_rate_K_per_min: float = PAPER_HEATING_RATE_K_PER_MIN, *,
              network: NetworkEstimator | None = None, refine: bool = True, lag_s: float = 0.0,
              fit_lag: bool = False, max_evaluations: int = 200,
              tolerance: float = 1e-8, free_lines: bool = False, model=None,
              line_gap: np.ndarray | None = None, start_params: np.ndarray | None = None,
              profile: bool = False) -> Estimate:
    """Parameters (dh J/mol, ln A, x, β) of one sample's scans (n_rates, n_T) on the increasing grid
    ``T_C`` (°C): the network's reading when ``network`` was trained for this program (else the
    practitioner's start: Moynihan's Δh*, the position from Tf', x = β = 0.5), refined by bounded
    least squares unless ``refine`` is False; ``lag_s`` a known instrument lag (s), or with
    ``fit_lag`` the start of a fitted one; ``free_lines``: refine each scan's glass and liquid
    lines with the model (:func:`tnmlib.estimation.classical.least_squares_fit`, with the
    provisional lines' relative gap ``line_gap``); ``start_params``: start there instead (e.g. a
    leave-one-out fit from the all-scan one); ``profile``: profile-likelihood intervals of Δh*
    and ln A on the ridge (:func:`tnmlib.estimation.classical.least_squares_fit`); ``model``: the
    scans of another history than the paper's cycles (then the network, trained on those cycles,
    does not give the start).

    ``extra``: "start" (how the start was found), "start_params", "t_ref_C" (where τ_eq = 100 s),
    and after refinement those of :func:`tnmlib.estimation.classical.least_squares_fit` (stderr, correlation,
    lag_s, cost); ``seconds`` covers start and refinement."""
    t0 = time.perf_counter()
    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    if start_params is not None:
        start, how = Estimate(np.asarray(start_params, dtype=float), OK, 0.0), START_GIVEN
    elif network is not None and model is None and network.matches(rates, heating_rate_K_per_min):
        start, how = network.estimate(T_C, cp, rates), START_NETWORK
    else:
        start, how = practitioner_start(cp, T_C, rates), START_PRACTITIONER
    if not start.ok:
        start.seconds = time.perf_counter() - t0
        start.extra["start"] = how
        return start
    if not refine:
        start.extra.update(start=how, start_params=start.params.tolist())
        start.extra["t_ref_C"] = float(t_ref_K(start.params[0], start.params[1])) - ZERO_CELSIUS_K
        start.seconds = time.perf_counter() - t0
        return start
    first, provisional = start.params, None
    if free_lines and start_params is None:
        # refined lines and the parameters trade off: from a raw start the joint fit can settle in
        # a far valley (independent synthetic exports: β off by 0.1–0.5 in a tenth of runs), so it
        # starts where the fit with the provisional lines ended
        staged = least_squares_fit(cp, T_C, start.params, rates, heating_rate_K_per_min, max_evaluations,
                                   lag_s=lag_s, fit_lag=fit_lag, tolerance=STAGE_TOLERANCE, model=model)
        if np.all(np.isfinite(staged.params)):
            first, lag_s = staged.params, staged.extra.get("lag_s", lag_s)
            how = f"{how}, then the fit with the provisional lines"
            provisional = {"params": staged.params.tolist(), "lag_s": staged.extra.get("lag_s", lag_s),
                           "residual_rms": staged.extra.get("residual_rms"), "stderr": staged.extra.get("stderr")}
    fit = least_squares_fit(cp, T_C, first, rates, heating_rate_K_per_min, max_evaluations,
                            lag_s=lag_s, fit_lag=fit_lag, tolerance=tolerance, free_lines=free_lines, model=model,
                            line_gap=line_gap, profile=profile)
    fit.extra.update(start=how, start_params=start.params.tolist())
    if provisional is not None:
        fit.extra["provisional_lines_fit"] = provisional
    if np.all(np.isfinite(fit.params)):
        fit.extra["t_ref_C"] = float(t_ref_K(fit.params[0], fit.params[1])) - ZERO_CELSIUS_K
    fit.seconds = time.perf_counter() - t0
    return fit
