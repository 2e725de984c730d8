"""Evaluation metrics and peak descriptors (the paper's Section 3.1, Eqs. 13-15, Fig. 8e)."""
from __future__ import annotations

import numpy as np

from ..physics.descriptors import peak_descriptors, peak_descriptors_reference  # noqa: F401  (re-exported)
from ..physics.simulate import BETA_MIN
from ..study.design import CP_MAX_LIMIT
from ..study.parameters import NORM_LOWER, NORM_UPPER, PARAMETER_INDEX, PARAMETER_NAMES, normalise


def absolute_errors(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Eq. (13): |P_true - P_pred| per sample and parameter, physical units (Δh* in J/mol)."""
    return np.abs(np.asarray(true, dtype=float) - np.asarray(pred, dtype=float))


def sse_parameters(true: np.ndarray, pred: np.ndarray, parameters=PARAMETER_NAMES) -> np.ndarray:
    """Eq. (14) on min-max normalised parameters (Eq. 8): sum over ``parameters`` (all four or
    a pair) of the squared normalised error, per sample."""
    d = normalise(true) - normalise(pred)
    cols = [PARAMETER_INDEX[p] for p in parameters]
    return np.sum(d[:, cols] ** 2, axis=1)


def sse_signals(cp_true: np.ndarray, cp_pred: np.ndarray) -> np.ndarray:
    """Eq. (15): sum over all scans and grid temperatures of (Cp^N_true - Cp^N_pred)^2."""
    diff = np.asarray(cp_true, dtype=np.float64) - np.asarray(cp_pred, dtype=np.float64)
    return np.sum(diff.reshape(diff.shape[0], -1) ** 2, axis=1)


def clip_to_domain(params: np.ndarray) -> np.ndarray:
    """Predicted parameters moved into the box the network was built to output, before they are
    re-simulated: each parameter into its min-max normalisation range (Table 3 with its reserve),
    x and β at most 1 and β at least the simulator's minimum.  An untrained or badly trained
    network can predict transitions thousands of kelvin off the grid, or x near 0, whose peaks
    are thousands high and take minutes to simulate; no one would simulate either."""
    p = np.array(params, dtype=float)
    p = np.clip(p, NORM_LOWER, NORM_UPPER)
    p[:, 2:] = np.minimum(p[:, 2:], 1.0)
    p[:, 3] = np.maximum(p[:, 3], BETA_MIN)
    return p


def keep_mask(cp_max: np.ndarray, limit: float = CP_MAX_LIMIT) -> np.ndarray:
    """Samples the evaluation keeps: highest peak Cp_max <= limit (the paper's exclusion)."""
    return np.asarray(cp_max) <= limit


def share_below(values: np.ndarray, threshold: float) -> float:
    """Fraction of ``values`` strictly below ``threshold`` (NaN-free input)."""
    values = np.asarray(values)
    return float(np.mean(values < threshold)) if values.size else float("nan")


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (lower, upper) for a share ``successes``/``trials`` (z = 1.96: 95 %);
    (0, 1) when there are no trials.  Unlike ±z·sqrt(p(1−p)/n) it stays inside [0, 1] and does not
    collapse to a point at 0 or n successes."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
