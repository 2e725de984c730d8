"""Peak descriptors of heating scans (the paper's Fig. 8e): Cp_max, ΔT_hw and their ratio.

Stored per sample in the subset files, used by the evaluation to relate errors to peak shape.
"""
from __future__ import annotations

import numba
import numpy as np

from .constants import R_J_PER_MOL_K, ZERO_CELSIUS_K


@numba.njit(cache=True, parallel=True)
def _descriptors_kernel(cp, t_min_C, step_K, out):
    """Per sample: cp_max, T_peak_C, dT_hw into out[n, 3] (one pass over each scan)."""
    n, n_rates, n_T = cp.shape
    for s in numba.prange(n):
        best, best_r, best_i = -np.inf, 0, 0
        for r in range(n_rates):
            for i in range(n_T):
                if cp[s, r, i] > best:
                    best, best_r, best_i = cp[s, r, i], r, i
        out[s, 0] = best
        out[s, 1] = t_min_C + best_i * step_K
        out[s, 2] = np.nan
        for i in range(1, best_i + 1):
            if cp[s, best_r, i] >= 1.0:
                y0, y1 = float(cp[s, best_r, i - 1]), float(cp[s, best_r, i])
                frac = (1.0 - y0) / (y1 - y0) if y1 > y0 else 0.0
                frac = min(max(frac, 0.0), 1.0)
                out[s, 2] = out[s, 1] - (t_min_C + (i - 1 + frac) * step_K)
                break


def peak_descriptors(cp: np.ndarray, T_C: np.ndarray) -> dict[str, np.ndarray]:
    """Peak descriptors of each sample, from the scan with the highest overshoot.

    Same definitions and results as :func:`peak_descriptors_reference` (a numba kernel).
    """
    cp = np.ascontiguousarray(cp)
    out = np.empty((cp.shape[0], 3))
    _descriptors_kernel(cp, float(T_C[0]), float(T_C[1] - T_C[0]), out)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(out[:, 2] > 0, out[:, 0] / out[:, 2], np.nan)
    return {"cp_max": out[:, 0], "T_peak_C": out[:, 1], "dT_hw": out[:, 2], "cp_max_over_dT_hw": ratio}


def peak_descriptors_reference(cp: np.ndarray, T_C: np.ndarray) -> dict[str, np.ndarray]:
    """Peak descriptors of each sample, from the scan with the highest overshoot.

    ``cp``: (n, n_rates, n_T) Cp^N on the grid ``T_C`` (°C).  Returns arrays (n,):
    ``cp_max`` the largest Cp^N of any scan; ``T_peak_C`` where that scan peaks;
    ``dT_hw`` (K) the peak temperature minus the temperature where the rising signal of that
    scan first crosses the liquid line Cp^N = 1 (linear interpolation between grid points;
    NaN if the scan never reaches 1 before its peak); ``cp_max_over_dT_hw`` (1/K).
    """
    cp = np.asarray(cp)
    n, _, n_T = cp.shape
    flat = cp.reshape(n, -1)
    arg = flat.argmax(axis=1)
    scan, peak = np.divmod(arg, n_T)
    cp_max = flat[np.arange(n), arg].astype(float)
    rows = cp[np.arange(n), scan].astype(float)
    below_peak = np.arange(n_T)[None, :] <= peak[:, None]
    reached = (rows >= 1.0) & below_peak
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    first = np.where(first == 0, -1, first)  # already >= 1 at the first grid point: no crossing
    step = T_C[1] - T_C[0]
    prev = np.clip(first - 1, 0, n_T - 1)
    y0, y1 = rows[np.arange(n), prev], rows[np.arange(n), np.clip(first, 0, n_T - 1)]
    frac = np.where(y1 > y0, (1.0 - y0) / np.where(y1 > y0, y1 - y0, 1.0), 0.0)
    T_cross = T_C[prev] + np.clip(frac, 0.0, 1.0) * step
    T_peak = T_C[peak]
    dT_hw = np.where(first > 0, T_peak - T_cross, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dT_hw > 0, cp_max / dT_hw, np.nan)
    return {"cp_max": cp_max, "T_peak_C": T_peak, "dT_hw": dT_hw, "cp_max_over_dT_hw": ratio}


def transition_width_K(dh_J_per_mol, T_C) -> np.ndarray:
    """Width of a glass transition, R·Tg²/Δh* (K), with Tg taken as ``T_C`` (°C, e.g. the peak).

    Over this range of temperature the relaxation time changes by a factor e; a grid that puts
    fewer than a few points across it cannot show the shape of the transition.
    """
    T_K = np.asarray(T_C, dtype=float) + ZERO_CELSIUS_K
    return R_J_PER_MOL_K * T_K ** 2 / np.asarray(dh_J_per_mol, dtype=float)
