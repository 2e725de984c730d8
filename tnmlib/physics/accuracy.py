"""The simulator against the continuous limit: one parameter set, three routes, their errors."""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_STEP_K, PAPER_T_MAX_C, PAPER_T_MIN_C
from .grid import SignalGrid
from .simulate import simulate_chr_details, simulate_chr_reference


def continuous_limit_comparison(dh: float, ln_a: float, x: float, beta: float, *, step: float = PAPER_STEP_K,
                                t_min: float = PAPER_T_MIN_C, t_max: float = PAPER_T_MAX_C) -> xr.Dataset:
    """Cp^N of one parameter set (dh J/mol, ln A) three ways on the grid ``step`` (K): the fast
    simulator (continuous ramp), Eq. 4's staircase with one jump per grid step (the Prony
    recursion; the direct sum gives the same to 1e-4), and the reference of the continuous limit
    (:func:`simulate_chr_reference`), all in the fast simulator's cycle window.

    Returns a Dataset with ``cp_fast``, ``cp_staircase``, ``cp_reference`` (cooling_rate, T), the
    window as coordinate limits, and attributes ``error_fast`` and ``error_staircase``: max
    |Cp^N - reference| over all scans.
    """
    params = np.array([[dh, ln_a, x, beta]])
    kwargs = dict(step=step, t_min=t_min, t_max=t_max)
    fast = simulate_chr_details(params, **kwargs)
    lo, hi = fast.window_C[0]
    staircase = simulate_chr_details(params, method="staircase", cycle_min=lo, cycle_max=hi, **kwargs).cp[0]
    reference, spread = simulate_chr_reference(params, fast.window_C, peaks=fast.cp.max(axis=(1, 2)), **kwargs)
    T = SignalGrid(t_min, t_max, step).T_C
    keep = (T >= lo - 2 * step) & (T <= hi + 2 * step)
    dims = ("cooling_rate", "T")
    attrs = {"units": "1"}
    return xr.Dataset(
        {"cp_fast": (dims, fast.cp[0][:, keep], {**attrs, "long_name": "fast simulator (continuous ramp)"}),
         "cp_staircase": (dims, staircase[:, keep], {**attrs, "long_name": f"Eq. 4 staircase, jumps of {step:g} K"}),
         "cp_reference": (dims, reference[0][:, keep], {**attrs, "long_name": "continuous limit (reference)"})},
        coords={"cooling_rate": ("cooling_rate", list(PAPER_COOLING_RATES_K_PER_MIN), {"units": "K/min"}),
                "T": ("T", T[keep], {"units": "degC"})},
        attrs={"dh_J_per_mol": dh, "ln_A": ln_a, "x": x, "beta": beta, "step_K": step,
               "error_fast": float(np.abs(fast.cp[0] - reference[0]).max()),
               "error_staircase": float(np.abs(staircase - reference[0]).max()),
               "reference_spread": float(spread[0])})
