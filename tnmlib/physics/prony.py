"""Prony-series approximation of the KWW relaxation function.

The TNM memory function is the stretched exponential phi(xi) = exp(-xi**beta) of the
reduced time xi (dimensionless).  The fast simulator replaces it by a sum of plain
exponentials, phi(xi) ~ sum_i w_i exp(-xi / tau_i), so that each mode can be advanced
recursively (O(N*M) instead of the O(N^2) direct sum).

Mode relaxation times are placed on the lattice tau_i = tau_max * 2**(-i/m), i = 0..M-1:
with ``m`` interleaved chains the decay factor of mode i+m is the square of that of mode
i, so one exp per chain and step is enough.  Weights are non-negative least squares
(scipy.optimize.nnls) fits; phi(0) = 1 is enforced by a heavily weighted row, so the
glass responds to a step with no spurious instantaneous jump.

Accuracy near xi -> 0, where the KWW slope diverges (1 - phi ~ xi**beta), is bought by
extending the lattice down to xi_lo = SHORT_TIME_TOLERANCE**(1/beta): below that
reduced time the neglected relaxation is smaller than the tolerance.  The number of
chains grows as beta -> 1, where the relaxation-time spectrum becomes a narrow peak
that a ratio-2 lattice cannot resolve.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.optimize

#: 1 - phi(xi) below the shortest mode is at most this (sets the fastest mode).
SHORT_TIME_TOLERANCE = 1e-5
#: phi(xi) beyond the slowest mode is at most this (sets the slowest mode).
LONG_TIME_TOLERANCE = 1e-8


@dataclass(frozen=True)
class PronySeries:
    """Weights and relaxation times of a Prony series for exp(-xi**beta).

    Attributes
    ----------
    beta : float
        KWW stretching exponent the series approximates, in (0, 1].
    chains : int
        Number of interleaved ratio-2 chains m; consecutive modes differ by 2**(1/m).
    ln_tau_max : float
        Natural log of the slowest mode's relaxation time (reduced-time units).
    weights : np.ndarray
        Non-negative weights w_i of modes i = 0..M-1, slowest first; they sum to 1.
    max_error : float
        max |phi(xi) - sum_i w_i exp(-xi/tau_i)| over xi in [0, inf), measured on a
        dense logarithmic grid when the series was built.
    """

    beta: float
    chains: int
    ln_tau_max: float
    weights: np.ndarray
    max_error: float

    @property
    def tau(self) -> np.ndarray:
        """Mode relaxation times tau_i (reduced-time units), slowest first."""
        i = np.arange(self.weights.size)
        return np.exp(self.ln_tau_max - i * np.log(2.0) / self.chains)

    def __call__(self, xi: np.ndarray) -> np.ndarray:
        """Evaluate the series at reduced times ``xi`` (>= 0)."""
        xi = np.asarray(xi, dtype=float)
        return np.exp(-xi[..., None] / self.tau) @ self.weights


def kww(xi: np.ndarray, beta: float) -> np.ndarray:
    """The KWW relaxation function exp(-xi**beta) of reduced time ``xi`` (>= 0)."""
    return np.exp(-np.power(np.asarray(xi, dtype=float), beta))


def chains_for(beta: float) -> int:
    """Number of interleaved ratio-2 chains needed for ~1e-5 accuracy at this beta.

    Measured with :func:`prony_series` (see tests/test_prony.py): a ratio-2 lattice fits
    exp(-xi**beta) to ~1e-6 up to beta = 0.5 but only to ~2e-3 near beta = 0.9.
    """
    if beta <= 0.55:
        return 1
    if beta <= 0.8:
        return 2
    if beta <= 0.95:
        return 4
    return 8


#: The shipped table: series fitted at nodes beta_k = exp(LN_BETA_NODES[k]), from 1.0 down to just
#: below 0.1.  Between two nodes the weights are interpolated linearly in ln beta on a common
#: lattice.  The nodes are 0.001 apart in ln beta above beta = 0.55 and 0.01 below: the Cp^N of a
#: simulation is far more sensitive to the series than its largest error suggests, and with
#: 0.01 everywhere an interpolated beta = 0.9 gave 5e-3 in Cp^N against the direct sum of Eq. 4
#: (a fitted series 2e-6); the finer nodes bring it to the level of a fit.
LN_BETA_NODES = np.concatenate([-np.arange(0, 601) * 0.001, -0.6 - np.arange(1, 172) * 0.01])
TABLE_NAME = "prony_table.npz"


def _interval_chains(k: int) -> int:
    """Chains of the table interval between nodes k+1 (lower beta) and k: those of its upper end."""
    return chains_for(math.exp(LN_BETA_NODES[k]))


@lru_cache(maxsize=1)
def _table() -> dict:
    """The shipped table: {(node, chains): (ln_tau_max, max_error, weights)}, interval errors."""
    with resources.files("tnmlib.physics").joinpath("data", TABLE_NAME).open("rb") as f:
        data = np.load(f)
        if not np.allclose(data["ln_beta_nodes"], LN_BETA_NODES):
            raise RuntimeError(f"{TABLE_NAME} was made for other nodes: python -m tnmlib.physics.prony regenerates it")
        rows = {}
        for node, chains, ln_tau_max, error, start, stop in zip(data["node"], data["chains"], data["ln_tau_max"],
                                                                data["max_error"], data["start"], data["stop"]):
            rows[(int(node), int(chains))] = (float(ln_tau_max), float(error), data["weights"][start:stop].copy())
        return {"rows": rows, "interval_error": data["interval_error"].copy()}


def _combine(a: tuple, b: tuple, t: float, chains: int) -> tuple[float, np.ndarray]:
    """(1 - t) series a + t series b on their common lattice: (ln_tau_max, weights)."""
    spacing = math.log(2.0) / chains
    top = max(a[0], b[0])
    offset_a, offset_b = int(round((top - a[0]) / spacing)), int(round((top - b[0]) / spacing))
    weights = np.zeros(max(offset_a + a[2].size, offset_b + b[2].size))
    weights[offset_a:offset_a + a[2].size] += (1.0 - t) * a[2]
    weights[offset_b:offset_b + b[2].size] += t * b[2]
    used = np.nonzero(weights)[0]
    return top - used[0] * spacing, weights[used[0]:used[-1] + 1]


def interpolated_series(beta: float) -> PronySeries:
    """The Prony series of exp(-xi**beta) for 0.1 <= beta < 1 from the shipped table: linear
    interpolation in ln beta between the two neighbouring nodes (no fit; microseconds)."""
    ln_beta = math.log(beta)
    k = min(int(np.searchsorted(-LN_BETA_NODES, -ln_beta, side="right")) - 1, LN_BETA_NODES.size - 2)
    t = (LN_BETA_NODES[k] - ln_beta) / (LN_BETA_NODES[k] - LN_BETA_NODES[k + 1])  # 0 at node k, 1 at k + 1
    chains = _interval_chains(k)
    table = _table()
    upper, lower = table["rows"][(k, chains)], table["rows"][(k + 1, chains)]
    ln_tau_max, weights = _combine(upper, lower, t, chains)
    error = max(upper[1], lower[1], float(table["interval_error"][k]))
    return PronySeries(beta, chains, float(ln_tau_max), weights, error)


@lru_cache(maxsize=4096)
def prony_series(beta: float, chains: int | None = None) -> PronySeries:
    """The Prony series of exp(-xi**beta): interpolated from the shipped table for 0.1 <= beta < 1,
    exact (one mode) for beta = 1, else fitted (and cached).

    Parameters
    ----------
    beta : float
        Stretching exponent in (0, 1].  beta = 1 gives the exact single mode.
    chains : int, optional
        Interleaved ratio-2 chains m (mode spacing 2**(1/m)); giving it forces a fit.
    """
    beta = float(beta)
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must lie in (0, 1], got {beta}")
    if beta == 1.0:
        return PronySeries(1.0, 1, 0.0, np.ones(1), 0.0)
    if chains is None and beta >= math.exp(LN_BETA_NODES[-1]):
        return interpolated_series(beta)
    return fit_prony_series(beta, chains)


def fit_prony_series(beta: float, chains: int | None = None) -> PronySeries:
    """Fit the Prony series of exp(-xi**beta) by non-negative least squares (scipy)."""
    m = chains_for(beta) if chains is None else int(chains)
    # bounds in log space: xi_lo underflows a float for beta < 0.07
    log2_lo = np.log2(SHORT_TIME_TOLERANCE) / beta
    log2_hi = np.log2(-np.log(LONG_TIME_TOLERANCE)) / beta
    xi_lo, xi_hi = 2.0 ** max(log2_lo, -1000.0), 2.0 ** log2_hi
    k_hi = np.ceil(log2_hi) + 1.0
    k_lo = np.floor(log2_lo) - 2.0
    n_modes = int(round((k_hi - k_lo) * m)) + 1
    ln_tau_max = k_hi * np.log(2.0)
    tau = np.exp(ln_tau_max - np.arange(n_modes) * np.log(2.0) / m)

    decades = (log2_hi - log2_lo) * np.log10(2.0) + 3.0
    xi = np.logspace(log2_lo * np.log10(2.0) - 2.0, np.log10(xi_hi) + 1.0, int(12 * m * decades))
    design = np.exp(-xi[:, None] / tau[None, :])
    target = kww(xi, beta)
    # phi(0) = 1: a stiff extra row keeps the glass free of an instantaneous response.
    stiff = 1e3
    design = np.vstack([design, np.full(n_modes, stiff)])
    target = np.append(target, stiff)
    weights, _ = scipy.optimize.nnls(design, target, maxiter=50 * n_modes)
    weights = weights / weights.sum()

    used = np.nonzero(weights)[0]
    first, last = used[0], used[-1] + 1
    weights = weights[first:last]
    ln_tau_max = ln_tau_max - first * np.log(2.0) / m
    series = PronySeries(beta, m, float(ln_tau_max), weights, 0.0)
    probe = np.concatenate([[0.0], np.logspace(log2_lo * np.log10(2.0) - 8.0, np.log10(xi_hi) + 2.0, 4000)])
    error = float(np.max(np.abs(series(probe) - kww(probe, beta))))
    return PronySeries(beta, m, float(ln_tau_max), weights, error)


def write_table(path: Path) -> None:
    """Fit the series at every table node (with the chains of each interval it bounds), measure the
    interpolation error at every interval's midpoint, and save them to ``path`` (.npz)."""
    fits = {}
    n_nodes = LN_BETA_NODES.size
    for k in range(n_nodes - 1):
        chains = _interval_chains(k)
        for node in (k, k + 1):
            if (node, chains) not in fits:
                fits[(node, chains)] = fit_prony_series(math.exp(LN_BETA_NODES[node]), chains)
    keys = sorted(fits)
    weights, starts, stops = [], [], []
    for key in keys:
        starts.append(sum(w.size for w in weights))
        weights.append(fits[key].weights)
        stops.append(starts[-1] + weights[-1].size)
    interval_error = np.empty(n_nodes - 1)
    probe = np.concatenate([[0.0], np.logspace(-60.0, 8.0, 6000)])
    for k in range(n_nodes - 1):
        chains, beta = _interval_chains(k), math.exp(0.5 * (LN_BETA_NODES[k] + LN_BETA_NODES[k + 1]))
        upper, lower = fits[(k, chains)], fits[(k + 1, chains)]
        ln_tau_max, w = _combine((upper.ln_tau_max, 0.0, upper.weights), (lower.ln_tau_max, 0.0, lower.weights),
                                 0.5, chains)
        series = PronySeries(beta, chains, ln_tau_max, w, 0.0)
        interval_error[k] = float(np.max(np.abs(series(probe) - kww(probe, beta))))
    np.savez_compressed(path, ln_beta_nodes=LN_BETA_NODES, node=np.array([k[0] for k in keys]),
                        chains=np.array([k[1] for k in keys]),
                        ln_tau_max=np.array([fits[k].ln_tau_max for k in keys]),
                        max_error=np.array([fits[k].max_error for k in keys]),
                        start=np.array(starts), stop=np.array(stops), weights=np.concatenate(weights),
                        interval_error=interval_error)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.physics.prony",
                                     description="Regenerate the shipped table of Prony series (beta 0.1 ... 1).")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / TABLE_NAME)
    args = parser.parse_args(argv)
    write_table(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
