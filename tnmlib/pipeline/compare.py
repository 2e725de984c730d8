"""Every estimator on the same samples, clean and distorted (beyond the paper, part 1).

The shared test set is the test split of the whole-space subset G.  Each of the study's
distortions (:data:`tnmlib.study.design.DISTORTIONS`; the first is clean) is applied to it,
seeded, and every estimator reads every copy:

- ``constant``: the median of G's training split (the trivial baseline);
- ``MCNN <model>``: each given network (G, and G-aug trained on distorted scans);
- ``Moynihan``: Δh* from the shift of Tf' with cooling rate (the other parameters not estimated);
- ``look-up``: the 5 nearest neighbours in a table of peak descriptors of G's training split;
- ``least squares, practitioner's start`` and ``least squares, truth ± 10 %``: bounded fits on
  the fast simulator.  At about a second per sample they run on a seeded subsample of the kept
  test samples (``least_squares_samples``), in worker processes.

Per (distortion, estimator, sample): the estimate, a status code and the seconds it took (one core).
The file is reused while the data, the models, the settings and the code are unchanged.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from ..analysis import metrics
from ..errors import TNMInputError
from ..estimation import classical
from ..fileutil import float_attr, int_attr
from ..fingerprint import source_hash
from ..learning.reader import split_indices
from ..physics.instrument import distort
from ..study.design import DISTORTIONS, SPLIT_SEED
from ..study.parameters import PARAMETER_NAMES
from ..study.protocol import PAPER_HEATING_RATE_K_PER_MIN
from .results import STATUSES, EstimateTable, cached_results, core_seconds, load_results, save_results
CONSTANT, MOYNIHAN, LOOKUP = "constant", "Moynihan", "look-up"
LS_PRACTITIONER, LS_GOOD_START = "least squares, practitioner's start", "least squares, truth ± 10 %"
#: The good start: truth scaled by these factors (Δh*, ln A, x, β), 10 % off in each.
GOOD_START_FACTORS = np.array([1.1, 1.1, 0.9, 1.1])
LOOKUP_NEIGHBOURS = 5


def mcnn_method(model_name: str) -> str:
    """The method name of a network in the comparison file."""
    return f"MCNN {model_name}"


def _fit_one(job: tuple) -> classical.Estimate:
    """One least-squares fit (run in a worker process): (cp, T_C, start or None, rates, heating
    rate); its seconds are the worker's CPU seconds."""
    return core_seconds(_fit, *job)


def _fit(cp, T_C, start, rates, heating_rate) -> classical.Estimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if start is None:
            first = classical.practitioner_start(cp, T_C, rates)
            if not first.ok:
                return first
            start = first.params
        return classical.least_squares_fit(cp, T_C, start, rates, heating_rate)


def _fingerprint(data_path: Path, model_paths: dict, settings: dict) -> str:
    parts = [settings]
    with h5py.File(data_path, "r") as f:
        parts.append(str(f.attrs.get("fingerprint", "")))
    for name, path in sorted(model_paths.items()):
        meta = Path(path).with_suffix(".json")
        parts.append([name, json.loads(meta.read_text())["fingerprint"] if meta.is_file()
                      else str(Path(path).stat().st_mtime_ns)])
    parts.append(source_hash("comparison"))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def compare_estimators(data_path: str | Path, model_paths: dict, out_path: str | Path, *,
                       least_squares_samples: int = 12, distortions=DISTORTIONS, seed: int = 0,
                       workers: int | None = None, progress: bool = True) -> xr.Dataset:
    """Run every estimator on the test split of ``data_path`` (the whole-space subset G) and on its
    distorted copies; save and return the per-sample results.

    ``model_paths``: {model name: .keras path} of the networks to include.  Returns a Dataset with
    ``estimate`` (distortion, estimator, sample, parameter; stored units), ``status`` (codes into
    the ``statuses`` attribute, -1 not run), ``seconds`` (per sample, one core), ``true``
    (sample, parameter), ``kept`` (Cp_max rule) and ``least_squares_subsample``.
    """
    data_path, out_path = Path(data_path), Path(out_path)
    if not data_path.is_file():
        raise TNMInputError(f"no subset file at {data_path}")
    missing = [str(p) for p in model_paths.values() if not Path(p).is_file()]
    if missing:
        raise TNMInputError(f"no model at {', '.join(missing)} (run make models)")
    if least_squares_samples < 0:
        raise TNMInputError("least_squares_samples must not be negative")
    settings = {"distortions": [d.label for d in distortions], "least_squares_samples": least_squares_samples,
                "seed": seed, "neighbours": LOOKUP_NEIGHBOURS}
    fingerprint = _fingerprint(data_path, model_paths, settings)
    cached = cached_results(out_path, fingerprint, progress)
    if cached is not None:
        return cached

    with h5py.File(data_path, "r") as f:
        if int_attr(f.attrs.get("complete", 0)) != 1:
            raise TNMInputError(f"{data_path} is not a complete subset file")
        T = f["T"][...]
        rates = f["cooling_rate"][...]
        heating_rate = float_attr(f.attrs.get("heating_rate_K_per_min", PAPER_HEATING_RATE_K_PER_MIN))
        params = np.column_stack([f[name][...] for name in PARAMETER_NAMES])
        cp_max = f["cp_max"][...]
        splits = split_indices(params.shape[0], SPLIT_SEED)
        test, train = splits["test"], splits["train"]
        cp_test = f["cp"][test] if test.size else None  # sorted indices: one h5py selection
        cp_train = f["cp"][train] if train.size else None
    if test.size == 0 or train.size == 0:
        raise TNMInputError(f"{data_path} has too few samples for a test and a training split")
    step = float(T[1] - T[0])
    true = params[test]
    kept = metrics.keep_mask(cp_max[test])
    constant = np.median(params[train], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = classical.LookupTable.from_scans(cp_train, T, params[train], rates)
    del cp_train
    kept_rows = np.nonzero(kept)[0]
    subsample = np.sort(np.random.default_rng(seed).permutation(kept_rows)[:least_squares_samples])

    from ..learning.model import load_model, predict
    networks = {mcnn_method(name): load_model(path) for name, path in model_paths.items()}
    methods = [CONSTANT, *networks, MOYNIHAN, LOOKUP, LS_PRACTITIONER, LS_GOOD_START]
    n = test.size
    results = EstimateTable(len(distortions), methods, n)
    record = results.record
    for model in networks.values():  # the first call traces and compiles: not part of the cost per sample
        predict(model, cp_test)
    workers = workers or min(2, os.cpu_count() or 1)
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn")) if subsample.size else None
    try:
        for k, distortion in enumerate(distortions):
            t0 = time.perf_counter()
            cp = distort(cp_test, distortion, step, heating_rate, seed=(seed, k))
            results.record_all(k, CONSTANT, constant, 0.0)
            for method, model in networks.items():
                results.record_batch(k, method, lambda scans: predict(model, scans), cp)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                record(k, MOYNIHAN, range(n), [core_seconds(classical.moynihan_estimate, c, T, rates) for c in cp])
                record(k, LOOKUP, range(n), [core_seconds(table.estimate, c, T, LOOKUP_NEIGHBOURS) for c in cp])
            if pool is not None:
                for method, starts in ((LS_PRACTITIONER, [None] * subsample.size),
                                       (LS_GOOD_START, [true[i] * GOOD_START_FACTORS for i in subsample])):
                    jobs = [(cp[i].astype(float), T, s, rates, heating_rate) for i, s in zip(subsample, starts)]
                    record(k, method, subsample, list(pool.map(_fit_one, jobs)))
            if progress:
                print(f"  {distortion.label}: {n} samples, least squares on {subsample.size}, "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        if pool is not None:
            pool.shutdown()

    result = xr.Dataset(
        {**results.data_vars("distortion"),
         "true": (("sample", "parameter"), true, {"long_name": "true parameters (dh J/mol, ln A, x, beta)"}),
         "kept": ("sample", kept, {"long_name": f"Cp_max <= {metrics.CP_MAX_LIMIT:g}"}),
         "least_squares_subsample": ("sample", np.isin(np.arange(n), subsample)),
         "sample_index": ("sample", test)},
        coords={"distortion": [d.label for d in distortions], "estimator": methods, "parameter": list(PARAMETER_NAMES)},
        attrs={"data": str(data_path), "fingerprint": fingerprint, "statuses": json.dumps(list(STATUSES)),
               "settings": json.dumps(settings), "constant_prediction": json.dumps(constant.tolist()),
               "lookup_table_samples": int(len(table.params)), "grid_step_K": step,
               "heating_rate_K_per_min": heating_rate, "workers": int(workers)})
    save_results(result, out_path)
    return result


def load_comparison(path: str | Path) -> xr.Dataset:
    """A finished comparison file (``tnm compare``), loaded into memory."""
    return load_results(path, "comparison", "make comparison (or tnm compare)")
