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


#: The β grid of the state space; their series ship with the package (data/prony_grid.csv).
GRID_BETAS = np.round(np.linspace(0.2, 1.0, 41), 10)
TABLE_NAME = "prony_grid.csv"


@lru_cache(maxsize=1)
def _shipped() -> dict[float, PronySeries]:
    try:
        text = resources.files("tnmlib.physics").joinpath("data", TABLE_NAME).read_text()
    except FileNotFoundError:
        return {}
    table = {}
    for line in text.splitlines():
        if not line or line.startswith(("#", "beta")):
            continue
        beta, chains, ln_tau_max, max_error, weights = line.split(",")
        table[float(beta)] = PronySeries(float(beta), int(chains), float(ln_tau_max),
                                         np.array([float(w) for w in weights.split()]), float(max_error))
    return table


@lru_cache(maxsize=4096)
def prony_series(beta: float, chains: int | None = None) -> PronySeries:
    """The Prony series of exp(-xi**beta): shipped for the grid βs, else fitted (and cached).

    Parameters
    ----------
    beta : float
        Stretching exponent in (0, 1].  beta = 1 gives the exact single mode.
    chains : int, optional
        Interleaved ratio-2 chains m (mode spacing 2**(1/m)); default :func:`chains_for`.
    """
    beta = float(beta)
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta must lie in (0, 1], got {beta}")
    if beta == 1.0:
        return PronySeries(1.0, 1, 0.0, np.ones(1), 0.0)
    if chains is None and round(beta, 10) in _shipped():
        return _shipped()[round(beta, 10)]
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


def write_grid_table(path: Path) -> None:
    """Fit the series of every grid β and write them (full float precision) to ``path``."""
    lines = [f"# Prony series of exp(-xi**beta) for the state-space betas; regenerate: python -m tnmlib.physics.prony",
             "beta,chains,ln_tau_max,max_error,weights"]
    for beta in GRID_BETAS:
        if beta == 1.0:
            continue
        s = fit_prony_series(float(beta))
        weights = " ".join(repr(float(w)) for w in s.weights)
        lines.append(f"{float(beta)!r},{s.chains},{float(s.ln_tau_max)!r},{float(s.max_error)!r},{weights}")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.physics.prony",
                                     description="Regenerate the shipped Prony series of the grid betas.")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / TABLE_NAME)
    args = parser.parse_args(argv)
    write_grid_table(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
