"""The paper's parameter grid (Section 2.1, Table 2, Figs 2-3) and its six subsets.

Δh*: 200 ... 1200 kJ/mol in 10 kJ/mol steps (index i = 0..100).  For each Δh*, 81 evenly
spaced ln A (index j = 0..80) between the bounds of :data:`LN_A_TABLE`.  x and β: 0.2 ... 1.0 in
0.02 steps (indices k, l = 0..40).  101 * 81 * 41 * 41 = 13,752,261 parameter sets.

The paper does not list its ln A ranges.  We reconstruct them by its rule: for every Δh* the
whole signal — all six heating scans, for every x and β of the grid — must lie inside the
signal grid (-250 ... 1600 °C) with a margin (:data:`MARGIN_K`), and ln A stays within
[-630, -18] (Table 2).  "Whole signal" means the adaptive cycle window of the simulator:
every scan starts within 1e-3 of 0 and ends within 1e-3 of 1.  The bounds are found by
bisection on the extreme window edges over a 5 x 5 set of (x, β) spanning the grid (the
edges are monotone in ln A); ``python -m tnmlib.study.statespace`` regenerates the table.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import TNMInputError
from ..physics.constants import ZERO_CELSIUS_K
from ..physics.grid import SignalGrid
from .parameters import BY_NAME

DH_J_PER_MOL = np.linspace(BY_NAME["dh"].grid_min, BY_NAME["dh"].grid_max, 101)
N_LN_A = 81
X_VALUES = np.round(np.linspace(BY_NAME["x"].grid_min, BY_NAME["x"].grid_max, 41), 10)
BETA_VALUES = np.round(np.linspace(BY_NAME["beta"].grid_min, BY_NAME["beta"].grid_max, 41), 10)
LN_A_LIMITS = (BY_NAME["ln_A"].grid_min, BY_NAME["ln_A"].grid_max)
#: The paper's signal grid: the ln A ranges keep every signal inside it.
PAPER_GRID = SignalGrid()
MARGIN_K = 10.0
TABLE_NAME = "ln_a_ranges.csv"

#: Subsets in index space: (first i, last i, first j, last j), inclusive; G is separate.
BOX_SUBSETS = {
    "LU": (0, 10, 0, 10),      # low Δh*, low T
    "RU": (0, 10, 70, 80),     # low Δh*, high T: broad peaks
    "LB": (90, 100, 0, 10),    # high Δh*, low T: narrow peaks (the paper also calls it LD)
    "RB": (90, 100, 70, 80),   # high Δh*, high T
    "C": (45, 55, 35, 45),     # centre
}
SUBSETS = ("LU", "RU", "LB", "RB", "C", "G")
#: G: 10 Δh* indices x 8 ln A indices spread evenly over the whole grid.
G_I = np.round(np.linspace(0, 100, 10)).astype(int)
G_J = np.round(np.linspace(0, 80, 8)).astype(int)


@lru_cache(maxsize=1)
def ln_a_table() -> np.ndarray:
    """The reconstructed ln A bounds: array (101, 3) of (dh J/mol, ln_A_min, ln_A_max)."""
    text = resources.files("tnmlib.study").joinpath("data", TABLE_NAME).read_text()
    table = np.loadtxt(text.splitlines()[2:], delimiter=",")
    if table.shape != (DH_J_PER_MOL.size, 3) or not np.allclose(table[:, 0], DH_J_PER_MOL):
        raise RuntimeError(f"{TABLE_NAME} does not match the Δh* grid; regenerate it")
    return table


def ln_a_values(i_dh: int) -> np.ndarray:
    """The 81 ln A values (A in s) of Δh* index ``i_dh``."""
    _, lo, hi = ln_a_table()[i_dh]
    return np.linspace(lo, hi, N_LN_A)


def ln_a_grid() -> np.ndarray:
    """ln A of every (i, j): array (101, 81)."""
    table = ln_a_table()
    return table[:, 1:2] + (table[:, 2:3] - table[:, 1:2]) * np.linspace(0.0, 1.0, N_LN_A)


def subset_pairs(name: str) -> np.ndarray:
    """(i, j) index pairs of a subset, array (n, 2), ordered by i then j."""
    if name == "G":
        return np.array([(i, j) for i in G_I for j in G_J])
    if name not in BOX_SUBSETS:
        raise TNMInputError(f"unknown subset {name!r}; choose one of {', '.join(SUBSETS)}")
    i0, i1, j0, j1 = BOX_SUBSETS[name]
    return np.array([(i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)])


@dataclass(frozen=True)
class Thinning:
    """Which grid points a profile keeps: every ``pair_stride``-th i and j inside a subset box
    (for G: every ``pair_stride``-th of its Δh* and of its ln A indices), and every
    ``xb_stride``-th x and β."""

    pair_stride: int = 1
    xb_stride: int = 1


@lru_cache(maxsize=32)
def subset_samples(name: str, thinning: Thinning = Thinning()) -> dict[str, np.ndarray]:
    """Every parameter set of a subset as arrays: indices i, j, k, l and dh (J/mol), ln_A, x, beta.

    Order: (i, j) pairs as :func:`subset_pairs`, then x index k, then β index l.  Cached; the
    arrays are read-only.
    """
    pairs = subset_pairs(name)
    if name == "G" and thinning.pair_stride > 1:
        keep_i, keep_j = G_I[::thinning.pair_stride], G_J[::thinning.pair_stride]
        pairs = pairs[np.isin(pairs[:, 0], keep_i) & np.isin(pairs[:, 1], keep_j)]
    elif thinning.pair_stride > 1:
        i0, _, j0, _ = BOX_SUBSETS[name]
        keep = ((pairs[:, 0] - i0) % thinning.pair_stride == 0) & ((pairs[:, 1] - j0) % thinning.pair_stride == 0)
        pairs = pairs[keep]
    k = np.arange(0, X_VALUES.size, thinning.xb_stride)
    l = np.arange(0, BETA_VALUES.size, thinning.xb_stride)
    ii, kk, ll = np.meshgrid(np.arange(len(pairs)), k, l, indexing="ij")
    p = pairs[ii.ravel()]
    grid = ln_a_grid()
    samples = {
        "i_dh": p[:, 0], "j_ln_a": p[:, 1], "k_x": kk.ravel(), "l_beta": ll.ravel(),
        "dh": DH_J_PER_MOL[p[:, 0]], "ln_A": grid[p[:, 0], p[:, 1]],
        "x": X_VALUES[kk.ravel()], "beta": BETA_VALUES[ll.ravel()],
    }
    for values in samples.values():
        values.flags.writeable = False
    return samples


def full_size() -> int:
    """Number of parameter sets of the full grid (13,752,261)."""
    return DH_J_PER_MOL.size * N_LN_A * X_VALUES.size * BETA_VALUES.size


# ---- regeneration of the ln A table -------------------------------------------------------
#: (x, β) probed for the extreme window edges: a 5 x 5 grid spanning 0.2 ... 1.0.
PROBE_VALUES = np.linspace(0.2, 1.0, 5)


def window_edges_C(dh: float, ln_a: float) -> tuple[float, float]:
    """Lowest and highest adaptive cycle bound (°C) over the probe (x, β) at (dh J/mol, ln A)."""
    from ..physics import kernels
    from ..physics.constants import R_J_PER_MOL_K
    from ..physics.program import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
    from ..physics.simulate import WINDOW_TOLERANCE, prony_tables

    pairs = [(x, b) for x in PROBE_VALUES for b in PROBE_VALUES]
    beta_index, weights, chains, ln_tau_max, n_modes = prony_tables(np.array([b for _, b in pairs]))
    cooling = np.asarray(PAPER_COOLING_RATES_K_PER_MIN) / 60.0
    lo, hi = np.inf, -np.inf
    for n, (x, b) in enumerate(pairs):
        r = beta_index[n]
        T_lo, T_hi, _ = kernels.chr_window_K(ln_a, dh / R_J_PER_MOL_K, x, b, weights[r, :n_modes[r]],
                                             chains[r], ln_tau_max[r], cooling,
                                             PAPER_HEATING_RATE_K_PER_MIN / 60.0, WINDOW_TOLERANCE)
        lo, hi = min(lo, T_lo - ZERO_CELSIUS_K), max(hi, T_hi - ZERO_CELSIUS_K)
    return lo, hi


def _bisect(ok, good: float, bad: float, iterations: int = 40) -> float:
    """Boundary between ``good`` (ok) and ``bad`` (not ok) by bisection."""
    for _ in range(iterations):
        middle = 0.5 * (good + bad)
        if ok(middle):
            good = middle
        else:
            bad = middle
    return good


def reconstruct_ln_a_range(dh: float, margin_K: float = MARGIN_K) -> tuple[float, float]:
    """ln A bounds at one Δh* (J/mol) by the rule of the module docstring."""
    low_ok = lambda ln_a: window_edges_C(dh, ln_a)[0] >= PAPER_GRID.t_min_C + margin_K  # noqa: E731
    high_ok = lambda ln_a: window_edges_C(dh, ln_a)[1] <= PAPER_GRID.t_max_C - margin_K  # noqa: E731
    lower, upper = LN_A_LIMITS
    ln_a_min = lower if low_ok(lower) else _bisect(low_ok, upper, lower)
    ln_a_max = upper if high_ok(upper) else _bisect(high_ok, ln_a_min, upper)
    if not (low_ok(ln_a_min) and high_ok(ln_a_max)) or ln_a_max <= ln_a_min:
        raise RuntimeError(f"no ln A range fits the grid at dh = {dh} J/mol")
    return ln_a_min, ln_a_max


def regenerate(path: Path) -> np.ndarray:
    """Recompute the ln A table for every Δh* and write it as CSV to ``path``."""
    rows = [(dh, *reconstruct_ln_a_range(dh)) for dh in DH_J_PER_MOL]
    table = np.array(rows)
    header = (f"# ln A bounds per dh: whole signal of every (x, beta) inside "
              f"[{PAPER_GRID.t_min_C:g}, {PAPER_GRID.t_max_C:g}] °C with a {MARGIN_K:g} K margin, "
              f"clipped to [{LN_A_LIMITS[0]:g}, {LN_A_LIMITS[1]:g}]; regenerate: python -m tnmlib.study.statespace\n"
              "dh_J_per_mol,ln_A_min,ln_A_max")
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=["%.1f", "%.6f", "%.6f"])
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.study.statespace",
                                     description="Regenerate the reconstructed ln A table of the state space.")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / TABLE_NAME)
    args = parser.parse_args(argv)
    table = regenerate(args.out)
    print(f"wrote {args.out}: ln A from {table[:, 1].min():.1f} to {table[:, 2].max():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
