"""Synthetic raw heating scans for judging the normaliser: TNM Cp^N curves of a few glasses on
wide grids, turned into raw Cp by glass and liquid lines that are cropped, tilted, curved and
noised in many ways (:func:`raw_case`).  The truth of each case is its Cp^N."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tnmlib.physics.transition import simulate_transition_scans
from tnmlib.study.design import LITERATURE_GLASSES

#: An o-terphenyl-like set (from tnm fit of the shared TRIOS exports) beside the literature glasses.
GLASSES = {**{k: tuple(v) for k, v in LITERATURE_GLASSES.items()}, "OTP-like": (363e3, -174.0, 0.48, 0.74)}
RATES_K_PER_MIN = (0.5, 1.0, 5.0, 10.0, 20.0, 40.0)


@lru_cache(maxsize=None)
def truth_bank() -> list[tuple[str, float, np.ndarray, np.ndarray]]:
    """(glass, cooling rate, T_C, Cp^N) on grids reaching a transition's width beyond it on each side."""
    bank = []
    for name, params in GLASSES.items():
        scans = simulate_transition_scans(np.array(params)[None], cooling_rates=RATES_K_PER_MIN,
                                          n_points=1200, margin=1.5)
        for k, q in enumerate(RATES_K_PER_MIN):
            bank.append((name, q, scans.T_C(0), scans.cp[0, k]))
    return bank


@dataclass
class RawCase:
    T_C: np.ndarray
    raw: np.ndarray          # measured Cp, noise included
    clean: np.ndarray        # the same without noise
    glass: np.ndarray        # true glass line (curve) on T_C
    liquid: np.ndarray       # true liquid line (curve) on T_C
    cp_n: np.ndarray         # truth
    description: str


def _edges(T, cp_n, level=0.01):
    above = np.nonzero(np.abs(cp_n) > level)[0]
    i_peak = int(np.argmax(cp_n))
    near = np.nonzero(np.abs(cp_n[i_peak:] - 1) > level)[0]
    return T[above[0]], T[i_peak + (near[-1] if near.size else 0)]


def raw_case(seed: int) -> RawCase:
    """One raw scan, every choice drawn from ``seed``: which glass and cooling rate; how much glass
    and liquid the crop leaves (0-5 and 0-2.5 transition widths beyond its 1 % edges); grid spacing 0.1-1 K;
    line slopes (−0.5..+2 Cp steps per 100 K for the glass, −1..+1 for the liquid); curvature
    (none in half the cases, else up to ±0.3 Cp steps over 50 K, on the glass or the liquid);
    noise 0-1 % of the step (none in a quarter of the cases)."""
    rng = np.random.default_rng(seed)
    bank = truth_bank()
    name, q, T_full, cpn_full = bank[int(rng.integers(len(bank)))]
    onset, settled = _edges(T_full, cpn_full)
    width = settled - onset
    lo = onset - rng.uniform(0.0, 5.0) * width
    hi = settled + rng.uniform(0.0, 2.5) * width
    spacing = rng.uniform(0.1, 1.0)
    T = np.arange(max(lo, T_full[0]), min(hi, T_full[-1]), spacing)
    cp_n = np.interp(T, T_full, cpn_full)
    step = rng.uniform(0.1, 0.6)
    base = rng.uniform(0.8, 1.5)
    mid = 0.5 * (onset + settled)
    x = (T - mid) / 100.0
    glass = base + step * rng.uniform(-0.5, 2.0) * x
    liquid = base + step + step * rng.uniform(-1.0, 1.0) * x
    curved = "straight"
    if rng.random() < 0.5:
        c = step * rng.uniform(-0.3, 0.3) * ((T - mid) / 50.0) ** 2
        if rng.random() < 0.5:
            glass, curved = glass + c, "curved glass"
        else:
            liquid, curved = liquid + c, "curved liquid"
    clean = glass + (liquid - glass) * cp_n
    sigma = 0.0 if rng.random() < 0.25 else rng.uniform(0.0, 0.01) * step
    raw = clean + rng.normal(0.0, sigma, T.size) if sigma else clean.copy()
    text = (f"{name} q={q:g} crop [{T[0] - onset:+.1f}, {T[-1] - settled:+.1f}] K, spacing {spacing:.2f} K, "
            f"{curved}, noise {100 * sigma / step:.2f} %")
    return RawCase(T, raw, clean, glass, liquid, cp_n, text)


def normalisation_error(case: RawCase, baseline) -> float:
    """Largest |Cp^N from the found lines − truth| over the range the lines were checked on,
    judged on the noise-free scan (the lines are what is judged, not the noise)."""
    g, l = np.polyval(baseline.glass_line, case.T_C), np.polyval(baseline.liquid_line, case.T_C)
    used = (case.T_C >= baseline.glass_range_C[0]) & (case.T_C <= baseline.liquid_range_C[1])
    estimate = (case.clean[used] - g[used]) / (l[used] - g[used])
    return float(np.max(np.abs(estimate - case.cp_n[used])))
