"""Scans as files: the CSV layout of ``tnm simulate`` (T_C, cp_q<rate>, ...), written and read onto a grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TNMInputError


def read_scans_csv(path: str | Path, grid: dict) -> np.ndarray:
    """Read a scans CSV and resample it onto a model's grid: array (n_rates, n_T).

    ``grid`` holds ``t_min_C``, ``step_K``, ``n_T`` and ``cooling_rates`` (K/min).  The CSV's
    columns must be ``T_C`` then one ``cp_q<rate>`` per cooling rate, the same rates in the
    same order.  Values are interpolated linearly; below the CSV's range 0, above it 1.
    """
    path = Path(path)
    try:
        with open(path) as f:
            header = f.readline().strip().split(",")
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as exc:
        raise TNMInputError(f"cannot read scans from {path}: {exc}") from None
    if header[0] != "T_C" or not all(h.startswith("cp_q") for h in header[1:]):
        raise TNMInputError(f"{path}: expected columns T_C,cp_q<rate>,... (as tnm simulate writes)")
    try:
        rates = [float(h[4:]) for h in header[1:]]
    except ValueError:
        raise TNMInputError(f"{path}: cannot read the cooling rates from the header {header[1:]}") from None
    expected = [float(q) for q in grid["cooling_rates"]]
    if len(rates) != len(expected) or not np.allclose(rates, expected):
        raise TNMInputError(f"{path}: cooling rates {rates} K/min differ from the model's {expected}")
    T = table[:, 0]
    if table.shape[0] < 4 or np.any(np.diff(T) <= 0) or not np.all(np.isfinite(table)):
        raise TNMInputError(f"{path}: temperatures must increase and all values be finite numbers")
    target = grid["t_min_C"] + np.arange(grid["n_T"]) * grid["step_K"]
    out = np.empty((len(rates), target.size), dtype=np.float32)
    for k in range(len(rates)):
        out[k] = np.interp(target, T, table[:, k + 1], left=0.0, right=1.0)
    return out


def write_scans_csv(ds, path: Path) -> None:
    """Write a simulated Dataset as CSV: T_C, then cp_q<rate> per cooling rate (K/min)."""
    rates = ds["cooling_rate"].values
    header = ",".join(["T_C"] + [f"cp_q{q:g}" for q in rates])
    table = np.column_stack([ds["T"].values, ds["cp"].values.T])
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.10g")
