"""The results files of the comparisons of estimators (``tnm compare``, ``tnm assess``): one format.

Per (copy, estimator, sample): the estimate (stored units: dh J/mol, ln A, x, β), a status code
(an index into :data:`STATUSES`, :data:`NOT_RUN` where a method skipped a sample) and the seconds
it took on one core — CPU seconds of the process that ran it (:func:`core_seconds`), so that
steps make runs side by side do not inflate them; optionally the standard errors and the instrument lag of fits.
:class:`EstimateTable` collects them as the estimators run; :func:`save_results` and
:func:`load_results` write and read the netCDF file.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from ..errors import TNMInputError
from ..estimation.classical import AT_BOUND, BAD_INPUT, FAILED, NOT_CONVERGED, OK
from ..fileutil import atomic_output

#: Status codes in the file: the estimators' statuses, in this order.
STATUSES = (OK, NOT_CONVERGED, AT_BOUND, BAD_INPUT, FAILED)
#: Status code where a method did not run on a sample.
NOT_RUN = -1
_CODE = {s: i for i, s in enumerate(STATUSES)}


def core_seconds(estimator: Callable, *args, **kwargs):
    """Run ``estimator`` (which returns an Estimate) and set the Estimate's seconds to the CPU time
    this process spent on it: the cost on one core, whatever else runs on the machine."""
    start = time.process_time()
    estimate = estimator(*args, **kwargs)
    estimate.seconds = time.process_time() - start
    return estimate


class EstimateTable:
    """Estimates of ``methods`` on ``n_samples`` samples in each of ``n_copies`` copies (clean,
    distorted), filled as the estimators run; ``fits``: also keep standard errors and lags."""

    def __init__(self, n_copies: int, methods: list[str], n_samples: int, *, fits: bool = False):
        self.methods = list(methods)
        shape = (n_copies, len(self.methods), n_samples)
        self.estimate = np.full(shape + (4,), np.nan)
        self.status = np.full(shape, NOT_RUN, dtype=np.int8)
        self.seconds = np.full(shape, np.nan)
        self.stderr = np.full(shape + (4,), np.nan) if fits else None
        self.lag_s = np.full(shape, np.nan) if fits else None

    def record(self, copy: int, method: str, rows, estimates) -> None:
        """Store the Estimate of each sample in ``rows`` (failures keep their status)."""
        m = self.methods.index(method)
        for row, e in zip(rows, estimates):
            self.estimate[copy, m, row] = e.params
            self.status[copy, m, row] = _CODE.get(e.status, _CODE[FAILED])
            self.seconds[copy, m, row] = e.seconds
            if self.stderr is not None:
                if "stderr" in e.extra:
                    self.stderr[copy, m, row] = e.extra["stderr"][:4]
                self.lag_s[copy, m, row] = e.extra.get("lag_s", np.nan)

    def record_all(self, copy: int, method: str, params: np.ndarray, seconds_per_sample: float) -> None:
        """Store the estimates (n_samples, 4) of a method that reads every sample at once and never fails."""
        m = self.methods.index(method)
        self.estimate[copy, m], self.status[copy, m], self.seconds[copy, m] = params, _CODE[OK], seconds_per_sample

    def record_batch(self, copy: int, method: str, predict: Callable, scans: np.ndarray) -> None:
        """Run ``predict`` (scans (n_samples, ...) -> parameters (n_samples, 4)) on every sample at
        once and store its estimates, with this process's CPU seconds shared out per sample."""
        start = time.process_time()
        params = predict(scans)
        self.record_all(copy, method, params, (time.process_time() - start) / len(scans))

    def data_vars(self, copy_dim: str) -> dict:
        """The table as Dataset variables over (copy_dim, estimator, sample[, parameter])."""
        dims = (copy_dim, "estimator", "sample")
        out = {"estimate": (dims + ("parameter",), self.estimate,
                            {"long_name": "estimated parameters (dh J/mol, ln A, x, beta)"}),
               "status": (dims, self.status, {"long_name": "status code: index into the statuses attribute; -1 not run"}),
               "seconds": (dims, self.seconds, {"units": "s", "long_name": "seconds per sample, one core"})}
        if self.stderr is not None:
            out["stderr"] = (dims + ("parameter",), self.stderr,
                             {"long_name": "standard errors from the Jacobian (least squares only)"})
            out["lag_s"] = (dims, self.lag_s, {"units": "s", "long_name": "instrument lag (fitted or given)"})
        return out


def save_results(result: xr.Dataset, out_path: Path) -> None:
    """Write a results Dataset to ``out_path`` (netCDF), atomically."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_path) as tmp:
        result.to_netcdf(tmp, engine="h5netcdf")


def load_results(path: str | Path, what: str, target: str) -> xr.Dataset:
    """A finished results file, loaded into memory; a missing one says which ``target`` makes it."""
    path = Path(path)
    if not path.is_file():
        raise TNMInputError(f"no {what} file at {path}: run {target}")
    return xr.load_dataset(path, engine="h5netcdf")


def cached_results(out_path: Path, fingerprint: str, progress: bool) -> xr.Dataset | None:
    """The results file at ``out_path`` if it was made from the same inputs (``fingerprint``), else None."""
    if out_path.is_file():
        cached = xr.load_dataset(out_path, engine="h5netcdf")
        if cached.attrs.get("fingerprint") == fingerprint:
            if progress:
                print(f"{out_path} is up to date; nothing to do")
            return cached
    return None
