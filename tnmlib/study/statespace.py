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
    """Which grid points a profile keeps: about every ``pair_stride``-th i and j inside a subset
    box (for G: of its Δh* and of its ln A indices) and about every ``xb_stride``-th x and β,
    evenly spread and always including the first and the last, so a thinned subset spans the
    same extent as the full one."""

    pair_stride: int = 1
    xb_stride: int = 1


def thin(values: np.ndarray, stride: int) -> np.ndarray:
    """About every ``stride``-th of ``values``, evenly spread, first and last always kept."""
    values = np.asarray(values)
    if stride <= 1 or values.size <= 2:
        return values
    count = -(-(values.size - 1) // stride) + 1
    return values[np.unique(np.round(np.linspace(0, values.size - 1, count)).astype(int))]


@lru_cache(maxsize=32)
def subset_samples(name: str, thinning: Thinning = Thinning()) -> dict[str, np.ndarray]:
    """Every parameter set of a subset as arrays: indices i, j, k, l and dh (J/mol), ln_A, x, beta.

    Order: (i, j) pairs as :func:`subset_pairs`, then x index k, then β index l.  Cached; the
    arrays are read-only.
    """
    pairs = subset_pairs(name)
    keep_i, keep_j = thin(np.unique(pairs[:, 0]), thinning.pair_stride), thin(np.unique(pairs[:, 1]), thinning.pair_stride)
    pairs = pairs[np.isin(pairs[:, 0], keep_i) & np.isin(pairs[:, 1], keep_j)]
    k = thin(np.arange(X_VALUES.size), thinning.xb_stride)
    l = thin(np.arange(BETA_VALUES.size), thinning.xb_stride)
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


def draw_whole_space(n: int, seed: int) -> np.ndarray:
    """``n`` parameter sets (n, 4) of (dh J/mol, ln A, x, β) drawn uniformly over the whole state
    space, off the grid: Δh* in [200, 1200] kJ/mol, then ln A inside that Δh*'s range (the
    reconstructed table, interpolated), x and β in [0.2, 1]."""
    if n < 0:
        raise TNMInputError(f"the number of samples must not be negative, got {n}")
    rng = np.random.default_rng(seed)
    table = ln_a_table()
    dh = rng.uniform(DH_J_PER_MOL[0], DH_J_PER_MOL[-1], n)
    lo, hi = np.interp(dh, table[:, 0], table[:, 1]), np.interp(dh, table[:, 0], table[:, 2])
    return np.column_stack([dh, rng.uniform(lo, hi), rng.uniform(X_VALUES[0], X_VALUES[-1], n),
                            rng.uniform(BETA_VALUES[0], BETA_VALUES[-1], n)])


def full_size() -> int:
    """Number of parameter sets of the full grid (13,752,261)."""
    return DH_J_PER_MOL.size * N_LN_A * X_VALUES.size * BETA_VALUES.size


# ---- regeneration of the ln A table -------------------------------------------------------
#: (x, β) always probed for the extreme window edges: a 5 x 5 grid spanning 0.2 ... 1.0; the
#: binding (x, β) of each bound is then found on the whole 41 x 41 grid and added.
PROBE_VALUES = np.linspace(0.2, 1.0, 5)
#: The windows are those the simulator settles on, on a grid wide enough never to clip them.
_WIDE = dict(t_min=-270.0, t_max=2600.0, step=1.0)


def window_edges_C(dh: float, ln_a: float, xb_pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cycle bounds (°C) the simulator chooses for each (x, β) of ``xb_pairs`` (n, 2) at (dh J/mol,
    ln A): arrays (n,) of lower and upper bounds."""
    import warnings

    from ..physics.simulate import simulate_chr_details

    params = np.column_stack([np.full(len(xb_pairs), dh), np.full(len(xb_pairs), ln_a), xb_pairs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        window = simulate_chr_details(params, **_WIDE).window_C
    return window[:, 0], window[:, 1]


def _bisect(ok, good: float, bad: float, iterations: int = 32) -> float:
    """Boundary between ``good`` (ok) and ``bad`` (not ok) by bisection."""
    for _ in range(iterations):
        middle = 0.5 * (good + bad)
        if ok(middle):
            good = middle
        else:
            bad = middle
    return good


def _extreme_pair(dh: float, ln_a: float, edge: int) -> tuple[tuple[float, float], float]:
    """The (x, β) of the grid with the lowest lower (edge 0) or highest upper (edge 1) window bound,
    coarse to fine: every fourth x and β, then the 7 x 7 neighbourhood of the extreme."""
    sign = -1.0 if edge == 0 else 1.0
    coarse = [(k, l) for k in range(0, X_VALUES.size, 4) for l in range(0, BETA_VALUES.size, 4)]
    values = sign * window_edges_C(dh, ln_a, np.array([(X_VALUES[k], BETA_VALUES[l]) for k, l in coarse]))[edge]
    k0, l0 = coarse[int(values.argmax())]
    near = [(k, l) for k in range(max(k0 - 3, 0), min(k0 + 4, X_VALUES.size))
            for l in range(max(l0 - 3, 0), min(l0 + 4, BETA_VALUES.size))]
    values = sign * window_edges_C(dh, ln_a, np.array([(X_VALUES[k], BETA_VALUES[l]) for k, l in near]))[edge]
    k, l = near[int(values.argmax())]
    return (float(X_VALUES[k]), float(BETA_VALUES[l])), float(sign * values.max())


def _bound(ok, inside: float, outside: float, guess: float | None, half_width: float = 5.0) -> float:
    """The ln A where ``ok`` turns false between ``inside`` (ok) and ``outside``; a ``guess``
    (the shipped value) narrows the bracket to +-half_width when the bracket holds."""
    if ok(outside):
        return outside
    if guess is not None:
        sign = 1.0 if outside > inside else -1.0
        near_in, near_out = guess - sign * half_width, guess + sign * half_width
        if (near_in - inside) * sign >= 0 and (outside - near_out) * sign >= 0 and ok(near_in) and not ok(near_out):
            return _bisect(ok, near_in, near_out, iterations=10)
    return _bisect(ok, inside, outside)


def reconstruct_ln_a_range(dh: float, margin_K: float = MARGIN_K, guess: tuple | None = None) -> tuple[float, float]:
    """ln A bounds at one Δh* (J/mol) by the rule of the module docstring.

    The edges are monotone in ln A for each (x, β); the binding (x, β) is searched on the 41 x 41
    grid at the candidate bound (:func:`_extreme_pair`) and added to the probe until it fits.
    ``guess`` = (ln_A_min, ln_A_max) narrows the bisection (regenerating from the shipped table).
    """
    floor, ceiling = PAPER_GRID.t_min_C + margin_K, PAPER_GRID.t_max_C - margin_K
    probe = [(x, b) for x in PROBE_VALUES for b in PROBE_VALUES]
    lower, upper = LN_A_LIMITS
    for _ in range(6):
        pairs = np.array(probe)
        low_ok = lambda ln_a: window_edges_C(dh, ln_a, pairs)[0].min() >= floor  # noqa: E731
        high_ok = lambda ln_a: window_edges_C(dh, ln_a, pairs)[1].max() <= ceiling  # noqa: E731
        ln_a_min = _bound(low_ok, upper, lower, guess[0] if guess else None)
        ln_a_max = _bound(high_ok, ln_a_min, upper, guess[1] if guess else None)
        worst_lo, lowest = _extreme_pair(dh, ln_a_min, 0)
        worst_hi, highest = _extreme_pair(dh, ln_a_max, 1)
        settled = True
        if lowest < floor - 1e-6:
            probe.append(worst_lo)
            settled = False
        if highest > ceiling + 1e-6:
            probe.append(worst_hi)
            settled = False
        if settled:
            break
    else:
        raise RuntimeError(f"the binding (x, beta) of the ln A range at dh = {dh} J/mol did not settle")
    if ln_a_max <= ln_a_min:
        raise RuntimeError(f"no ln A range fits the grid at dh = {dh} J/mol")
    return ln_a_min, ln_a_max


def regenerate(path: Path, rows_of: range | None = None) -> np.ndarray:
    """Recompute the ln A table for every Δh* (or the indices ``rows_of``) and write it as CSV."""
    try:
        shipped = ln_a_table()
    except (FileNotFoundError, RuntimeError):
        shipped = None
    rows = []
    for i, dh in enumerate(DH_J_PER_MOL):
        if rows_of is not None and i not in rows_of:
            continue
        rows.append((dh, *reconstruct_ln_a_range(dh, guess=None if shipped is None else tuple(shipped[i, 1:]))))
        print(f"dh = {dh / 1e3:.0f} kJ/mol: ln A {rows[-1][1]:.3f} ... {rows[-1][2]:.3f}", flush=True)
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
    parser.add_argument("--rows", default=None, metavar="FIRST:STOP", help="only these Δh* indices (to split the work)")
    args = parser.parse_args(argv)
    rows_of = range(*(int(v) for v in args.rows.split(":"))) if args.rows else None
    table = regenerate(args.out, rows_of)
    print(f"wrote {args.out}: ln A from {table[:, 1].min():.1f} to {table[:, 2].max():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
