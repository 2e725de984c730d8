"""``tnm check-exports``: ``tnm fit`` on synthetic instrument exports with a known truth, made by the
independent reference (:mod:`tnmlib.pipeline.exports.independent`) — the check without the
inverse crime.

Every run is written in its drawn layout, read back and fitted exactly as ``tnm fit FILE`` does
(:func:`tnmlib.pipeline.fit.fit_file`: measured history, the lag fitted), once with the
practitioner's fixed lines and once with the lines refined by the model (``--refine-lines``).
A run the reader refuses, or a fit that fails, is kept as a failure with its one-line reason;
the shares within a tolerance count every run (failures as misses), with Wilson intervals.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from ..analysis.metrics import wilson_interval
from ..errors import TNMInputError
from ..fileutil import atomic_output
from ..study.parameters import PARAMETERS
from .exports.independent import KINDS, draw_run, reference_run
from .exports.write import write_export
from .fit import fit_file

#: The two ways tnm fit treats the practitioner's glass and liquid lines.
LINE_MODES = ("fixed lines", "refined lines")
#: What issue 21 asks of x and β, per kind: |error| within this.
XB_TOLERANCE = {"clean": 0.02, "noisy-lag": 0.05}
KEYS = [p.display_key for p in PARAMETERS]

if TYPE_CHECKING:
    import pandas


def _one(job) -> list[dict]:
    """Write, read and fit one run (both line modes) in a worker; rows of plain values."""
    seed, kind = job
    draw = draw_run(seed, kind)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(tmp) / f"run-{seed}.{'json' if draw.format == 'trios-json' else 'txt'}"
        path.write_bytes(write_export(reference_run(draw), draw.format))
        for mode in LINE_MODES:
            row = {"seed": seed, "kind": kind, "lines": mode, "format": draw.format,
                   "n_rates": len(draw.cooling_nominal_K_per_min), "ageing": draw.ageing is not None,
                   "true_lag_s": draw.lag_s, "draw": json.dumps(draw.as_dict())}
            row.update({f"true_{k}": float(p.to_display(v)) for k, p, v in zip(KEYS, PARAMETERS, draw.params)})
            t0 = time.process_time()
            try:
                # without the ridge's profile (seconds a run): the check counts standard errors
                result, _, _, run = fit_file(path, Path(tmp) / "fit.json", fit_lag=None,
                                             refine_lines=mode == "refined lines", profile=False)
            except TNMInputError as exc:
                row.update(ok=False, reason=str(exc).replace(str(path), "the export")[:300],
                           seconds=time.process_time() - t0)
                rows.append(row)
                continue
            row.update(ok=True, reason="", seconds=time.process_time() - t0, n_fitted=len(run.chosen),
                       lag_s=result["lag_s"], residual_rms=result["residual_rms"], status=result["status"])
            for k in KEYS:
                row[k], row[f"{k}_stderr"] = result[k], result[f"{k}_stderr"]
            rows.append(row)
    return rows


def check_exports(out_path: str | Path, *, runs: int, seed: int = 0, kinds=KINDS, workers: int | None = None,
                  progress: bool = True) -> xr.Dataset:
    """Fit ``runs`` independent synthetic exports of each kind (seeds ``seed`` … ``seed + runs − 1``)
    in both line modes; write one row per (run, kind, line mode) to ``out_path`` (.nc) and return it."""
    if runs < 1:
        raise TNMInputError(f"--runs must be at least 1, got {runs}")
    workers = workers or min(2, os.cpu_count() or 1)
    jobs = [(seed + k, kind) for kind in kinds for k in range(runs)]
    t0 = time.perf_counter()
    rows: list[dict] = []
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for k, part in enumerate(pool.map(_one, jobs, chunksize=1)):
            rows.extend(part)
            if progress and ((k + 1) % max(1, len(jobs) // 10) == 0 or k + 1 == len(jobs)):
                print(f"  {k + 1} of {len(jobs)} runs written, read and fitted "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
    import pandas as pd

    frame = pd.DataFrame(rows)
    ds = xr.Dataset.from_dataframe(frame)
    ds.attrs.update({"runs_per_kind": runs, "seed": seed, "workers": workers,
                     "wall_seconds": time.perf_counter() - t0,
                     "definition": "independent reference (Prony staircase extrapolated to zero jump) on drawn "
                                   "programs, spans and row spacings; each run fitted by tnm fit as a user would"})
    with atomic_output(Path(out_path)) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return ds


def load_check(path: str | Path) -> "pandas.DataFrame":
    """The rows :func:`check_exports` wrote, as a DataFrame."""
    path = Path(path)
    if not path.is_file():
        raise TNMInputError(f"no export check at {path}: run tnm check-exports (make export-check)")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load().to_dataframe()


def share_table(frame: "pandas.DataFrame") -> "pandas.DataFrame":
    """Per kind and line mode: runs, failures, and the share (with its 95 % Wilson interval) of all
    runs whose x and β are within the kind's tolerance (:data:`XB_TOLERANCE`), Δh* within 10 kJ/mol,
    ln A within 1; and whether ±2 standard errors cover each truth."""
    import pandas as pd

    out = []
    for (kind, mode), group in frame.groupby(["kind", "lines"], sort=False):
        n = len(group)
        ok = group["ok"].astype(bool)
        tol = XB_TOLERANCE[kind]
        row = {"kind": kind, "lines": mode, "runs": n, "failed": int((~ok).sum()), "x, β tolerance": tol}
        tests = {"x and β within tolerance": (abs(group["x"] - group["true_x"]) <= tol)
                 & (abs(group["beta"] - group["true_beta"]) <= tol),
                 "Δh* within 10 kJ/mol": abs(group["dh_kJ_per_mol"] - group["true_dh_kJ_per_mol"]) <= 10,
                 "ln A within 1": abs(group["ln_A"] - group["true_ln_A"]) <= 1}
        for label, hit in tests.items():
            k = int((hit & ok).sum())
            lo, hi = wilson_interval(k, n)
            row[label] = f"{100 * k / n:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]"
        for key, p in zip(KEYS, PARAMETERS):
            covered = (abs(group[key] - group[f"true_{key}"]) <= 2 * group[f"{key}_stderr"]) & ok
            row[f"±2 se covers {p.label}"] = f"{100 * covered.sum() / n:.0f} %"
        row["median fit (s)"] = float(np.median(group["seconds"]))
        out.append(row)
    return pd.DataFrame(out).set_index(["kind", "lines"])


def failure_reasons(frame: "pandas.DataFrame") -> "pandas.Series":
    """How often each reason stopped a run (the reason's first clause), over kinds and line modes."""
    failed = frame[~frame["ok"].astype(bool)]
    reasons = failed["reason"].str.replace(r"^the export: ", "", regex=True)
    return reasons.str.split(r" \(|: ", n=1, regex=True).str[0].value_counts()
