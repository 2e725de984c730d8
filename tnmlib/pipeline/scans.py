"""Scans as CSV files, the two layouts the command line reads and writes.

- Simulated scans (``tnm simulate``, ``tnm predict``): ``T_C`` then one ``cp_q<rate>`` column per
  cooling rate on a uniform grid (:func:`write_scans_csv`, :func:`read_scans_csv`).
- Measured curves (``tnm fit``, ``tnm example``): a ``T_C`` column and one column per heating
  scan.  A column named ``cp_q<rate>`` (or any name ending in ``_q<rate>``) carries its cooling
  rate in K/min; otherwise the rates are given.  Rows may come in any order and on any grid
  (uneven, covering only the transition); they are sorted by temperature, and a temperature may
  appear only once (:func:`read_curves_csv`, :func:`write_curves_csv`).
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np

from ..errors import TNMInputError
from ..estimation.measured import Curves

TEMPERATURE_COLUMN = "T_C"
_RATE_IN_NAME = re.compile(r"_q([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$")
#: Fewest rows of a usable curves file.
MIN_ROWS = 8
#: Largest curves file read (bytes): measured curves are thousands of rows, not millions.
MAX_FILE_BYTES = 50_000_000


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


# ---- measured curves ------------------------------------------------------------------------
def _number(text: str, column: str, row: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TNMInputError(f"row {row}, column {column!r}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise TNMInputError(f"row {row}, column {column!r}: {text.strip()!r} is not a finite number")
    return value


def read_curves_csv(path: str | Path, cooling_rates_K_per_min=None) -> Curves:
    """Read a measured-curves CSV (module docstring).  ``cooling_rates_K_per_min``: one per scan column, in
    column order; required unless every column name carries its rate, and checked against them
    when both are given.  Raises TNMInputError with a one-line reason for any malformed file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TNMInputError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; is it a curves CSV?")
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and not row[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TNMInputError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise TNMInputError(f"{path}: the file is empty")
    header = [name.strip() for name in rows[0]]
    if TEMPERATURE_COLUMN not in header:
        raise TNMInputError(f"{path}: no {TEMPERATURE_COLUMN!r} column (the header is {','.join(header)[:200]!r})")
    if len(set(header)) != len(header) or any(not name for name in header):
        raise TNMInputError(f"{path}: column names must be unique and not empty")
    scan_columns = [name for name in header if name != TEMPERATURE_COLUMN]
    if len(scan_columns) < 2:
        raise TNMInputError(f"{path}: need at least 2 heating scans (columns besides {TEMPERATURE_COLUMN}), "
                            f"got {len(scan_columns)}")
    body = rows[1:]
    if len(body) < MIN_ROWS:
        raise TNMInputError(f"{path}: need at least {MIN_ROWS} rows of data, got {len(body)}")
    table = np.empty((len(body), len(header)))
    for r, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise TNMInputError(f"{path}: row {r} has {len(row)} fields, the header {len(header)}")
        table[r - 2] = [_number(text, name, r) for text, name in zip(row, header)]
    rates = _rates(scan_columns, cooling_rates_K_per_min, path)
    T = table[:, header.index(TEMPERATURE_COLUMN)]
    order = np.argsort(T, kind="stable")
    T = T[order]
    repeated = np.nonzero(np.diff(T) <= 0)[0]
    if repeated.size:
        raise TNMInputError(f"{path}: the temperature {T[repeated[0]]:g} °C appears more than once "
                            f"({repeated.size} repeats): one row per temperature")
    values = table[order][:, [header.index(name) for name in scan_columns]].T
    return Curves(T, values, rates, scan_columns)


def _rates(columns: list[str], given, path: Path) -> np.ndarray:
    matches = [_RATE_IN_NAME.search(name) for name in columns]
    named = [float(m.group(1)) for m in matches if m]
    if 0 < len(named) < len(columns):
        raise TNMInputError(f"{path}: some columns carry a rate (_q<rate>) and some do not: {', '.join(columns)}")
    if given is not None:
        given = [float(q) for q in given]
        if len(given) != len(columns):
            raise TNMInputError(f"{path}: {len(given)} cooling rates for {len(columns)} scan columns")
        if named and not np.allclose(named, given, rtol=1e-9):
            raise TNMInputError(f"{path}: the cooling rates {given} differ from those in the column names {named}")
        rates = np.array(given)
    elif named:
        rates = np.array(named)
    else:
        raise TNMInputError(f"{path}: the column names carry no rates (_q<rate>); give --cooling-rates")
    if np.any(~np.isfinite(rates)) or np.any(rates <= 0):
        raise TNMInputError(f"{path}: cooling rates must be positive, got {rates.tolist()}")
    if np.unique(rates).size != rates.size:
        raise TNMInputError(f"{path}: every scan needs its own cooling rate, got {rates.tolist()}")
    return rates


def write_curves_csv(path: str | Path, T_C: np.ndarray, columns: dict) -> None:
    """Write T_C and the given columns as a CSV (the layout tnm fit reads)."""
    table = np.column_stack([T_C, *columns.values()])
    np.savetxt(path, table, delimiter=",", header=",".join([TEMPERATURE_COLUMN, *columns]), comments="", fmt="%.10g")
