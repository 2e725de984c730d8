"""Heating scans sampled where the glass transition happens, as a DSC records them.

The paper's grid spans -250 ... 1600 °C for every glass; a measurement covers only its transition,
on a step that resolves it.  :func:`simulate_transition_scans` gives each parameter set its own
uniform grid: from a little below the point where the first heating scan leaves the glass to a
little above the point where the last one settles in the liquid, with a fixed number of points.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN, PAPER_T_MAX_C, PAPER_T_MIN_C
from .simulate import check_parameters, simulate_chr_details

#: A scan counts as "in the transition" where it differs from both 0 and 1 by more than this.
TRANSITION_THRESHOLD = 1e-3
#: Points of the search grid over the simulator's cycle window.
_SEARCH_POINTS = 2048
#: Grid step (K) of the first, coarse simulation over the paper's range that finds each sample's window.
WINDOW_SEARCH_STEP_K = 1.0


@dataclass(frozen=True)
class TransitionScans:
    """Scans of n parameter sets, each on its own uniform grid.

    cp : (n, n_rates, n_points) Cp^N; t_start_C, step_K : (n,) first grid temperature (°C) and
    step (K), so sample k lies on ``t_start_C[k] + step_K[k] * arange(n_points)``;
    tf_prime_C : (n, n_rates) limiting fictive temperature of each scan (°C); cp_max : (n,).
    """

    cp: np.ndarray
    t_start_C: np.ndarray
    step_K: np.ndarray
    tf_prime_C: np.ndarray

    @property
    def cp_max(self) -> np.ndarray:
        return self.cp.max(axis=(1, 2))

    def T_C(self, k: int) -> np.ndarray:
        """The grid (°C) of sample k, shape (n_points,)."""
        return self.t_start_C[k] + self.step_K[k] * np.arange(self.cp.shape[-1])


def transition_range_C(cp: np.ndarray, T_C: np.ndarray, threshold: float = TRANSITION_THRESHOLD) -> tuple[float, float]:
    """(first, last) temperature (°C) of the grid ``T_C`` where any scan of ``cp`` (n_rates, n_T)
    differs from both 0 and 1 by more than ``threshold``."""
    moving = np.nonzero(np.any((np.abs(cp) > threshold) & (np.abs(cp - 1.0) > threshold), axis=0))[0]
    if moving.size == 0:
        return float(T_C[0]), float(T_C[-1])
    return float(T_C[max(moving[0] - 1, 0)]), float(T_C[min(moving[-1] + 1, T_C.size - 1)])


#: The grid of :func:`simulate_transition_scans` is the transition range widened by this share of
#: its length on each side.
TRANSITION_MARGIN = 0.15


def simulate_transition_scans(params, *, cooling_rates: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                              heating_rate: float = PAPER_HEATING_RATE_K_PER_MIN, n_points: int = 512,
                              margin: float = TRANSITION_MARGIN) -> TransitionScans:
    """Cp^N of the CHR heating scans of each parameter set (n, 4) of (dh J/mol, ln A, x, β) on a
    grid of ``n_points`` spanning its transition (:func:`transition_range_C` on a fine search
    grid over the simulator's cycle window), widened by ``margin`` of its length on each side.
    The continuous-ramp simulator (``method="fast"``); about three simulations per set."""
    params = check_parameters(params)
    if int(n_points) != n_points or n_points < 16:
        raise ValueError(f"n_points must be an integer >= 16, got {n_points}")
    n, n_rates = params.shape[0], len(np.ravel(cooling_rates))
    kwargs = dict(cooling_rates=cooling_rates, heating_rate=heating_rate)
    cp = np.empty((n, n_rates, n_points))
    t_start, step = np.empty(n), np.empty(n)
    tf_prime = np.empty((n, n_rates))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the narrow grids clip the cycle windows on purpose
        windows = simulate_chr_details(params, t_min=PAPER_T_MIN_C, t_max=PAPER_T_MAX_C, step=WINDOW_SEARCH_STEP_K,
                                       **kwargs).window_C
        for k, p in enumerate(params):
            lo, hi = windows[k]
            search_step = (hi - lo) / (_SEARCH_POINTS - 1)
            search = simulate_chr_details(p[None], t_min=lo, t_max=hi, step=search_step, **kwargs)
            first, last = transition_range_C(search.cp[0], lo + search_step * np.arange(search.cp.shape[-1]))
            width = last - first
            first, last = first - margin * width, last + margin * width
            step[k] = (last - first) / (n_points - 1)
            t_start[k] = first
            final = simulate_chr_details(p[None], t_min=first, t_max=first + step[k] * (n_points - 1), step=step[k], **kwargs)
            cp[k] = final.cp[0, :, :n_points]
            tf_prime[k] = final.tf_prime_C[0]
    return TransitionScans(cp, t_start, step, tf_prime)
