"""``tnm assess``: the whole-space estimator against the paper's MCNN and least squares (beyond the
paper, part 2).

:func:`assess_estimator` draws test samples with another seed than the network's training and
reads every copy of them (:data:`~tnmlib.study.design.WHOLESPACE_COPIES`: clean, noisy, noisy and
lagged) with the constant predictor, the paper's MCNN (G, on its own grid), the new network alone,
the network refined by least squares, and least squares from the practitioner's start (on a
subsample).  Per (copy, estimator, sample): the estimate, its standard errors, the fitted lag, a
status and the seconds it took on one core (:mod:`tnmlib.pipeline.results`).
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

import numpy as np
import xarray as xr

from ..analysis import metrics
from ..errors import TNMInputError
from ..estimation.classical import Estimate
from ..estimation.network import NetworkEstimator, default_network_path, fit_scans
from ..fingerprint import source_hash
from ..physics.grid import SignalGrid
from ..physics.instrument import distort
from ..physics.simulate import simulate_chr_batch
from ..study.design import CP_MAX_LIMIT, ESTIMATOR, WHOLESPACE_COPIES
from ..study.parameters import PARAMETER_NAMES
from ..study.profile import load_profile
from ..study.statespace import draw_whole_space
from .estimator import HEATING, RATES, simulate_in_workers
from .results import STATUSES, EstimateTable, cached_results, core_seconds, load_results, save_results

CONSTANT, NETWORK, REFINED, PRACTITIONER = ("constant", "new network", "new network + least squares",
                                            "least squares, practitioner's start")
#: Seed of the test draw (the training draw uses ESTIMATOR.draw_seed).
TEST_SEED = 2
_NETWORK_CACHE: dict = {}


def _refine_one(job) -> Estimate:
    """One fit in a worker: (T_C, cp, network path or None, fit_lag); its seconds are the worker's
    CPU seconds (the network is loaded once per worker, outside them)."""
    T_C, cp, network_path, fit_lag = job
    network = None
    if network_path is not None:
        if network_path not in _NETWORK_CACHE:  # once per worker process
            _NETWORK_CACHE[network_path] = NetworkEstimator.load(network_path)
        network = _NETWORK_CACHE[network_path]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return core_seconds(fit_scans, T_C, cp, RATES, HEATING, network=network, fit_lag=fit_lag)


def _fingerprint(network_path: Path, g_model: Path | None, settings: dict) -> str:
    parts = [settings, hashlib.sha256(network_path.read_bytes()).hexdigest()]
    if g_model is not None:
        meta = g_model.with_suffix(".json")
        parts.append(json.loads(meta.read_text())["fingerprint"] if meta.is_file() else str(g_model.stat().st_mtime_ns))
    parts.append(source_hash("wholespace"))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def assess_estimator(network_path: str | Path | None, out_path: str | Path, *, test_samples: int,
                     least_squares_samples: int, g_model: str | Path | None = None,
                     g_grid: SignalGrid | None = None, copies=WHOLESPACE_COPIES, workers: int | None = None,
                     seed: int = TEST_SEED, progress: bool = True) -> xr.Dataset:
    """Assess the whole-space estimator on ``test_samples`` drawn over the whole space (module
    docstring); the network + least squares on every kept sample, least squares from the
    practitioner's start on ``least_squares_samples`` of them.  ``g_model``: the paper's MCNN G
    (.keras), read on ``g_grid`` (its profile's grid).  Saved to ``out_path`` (.nc) and reused
    while the inputs and the code are unchanged."""
    network_path = Path(network_path) if network_path is not None else default_network_path()
    out_path = Path(out_path)
    if not network_path.is_file():
        raise TNMInputError(f"no network at {network_path} (run make estimator)")
    if g_model is not None and not Path(g_model).is_file():
        raise TNMInputError(f"no model at {g_model} (run make models)")
    if test_samples < 1 or least_squares_samples < 0:
        raise TNMInputError("test_samples must be positive and least_squares_samples not negative")
    g_model = Path(g_model) if g_model is not None else None
    g_grid = g_grid or load_profile("quick").grid_for("G")
    settings = {"copies": [c.label for c in copies], "test_samples": test_samples,
                "least_squares_samples": least_squares_samples, "seed": seed, "g_grid": g_grid.as_dict(),
                "points_per_scan": ESTIMATOR.points_per_scan}
    fingerprint = _fingerprint(network_path, g_model, settings)
    cached = cached_results(out_path, fingerprint, progress)
    if cached is not None:
        return cached

    network = NetworkEstimator.load(network_path)
    workers = workers or min(2, os.cpu_count() or 1)
    true = draw_whole_space(test_samples, seed)
    scans = simulate_in_workers(true, ESTIMATOR.points_per_scan, workers)
    kept = metrics.keep_mask(scans.cp_max)
    kept_rows = np.nonzero(kept)[0]
    subsample = np.sort(np.random.default_rng(seed).permutation(kept_rows)[:least_squares_samples])
    constant = np.median(draw_whole_space(10_000, ESTIMATOR.draw_seed), axis=0)
    models = {}
    if g_model is not None:
        from ..learning.model import load_model, predict

        models["MCNN G (paper's network)"] = load_model(g_model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g_scans = simulate_chr_batch(true, t_min=g_grid.t_min_C, t_max=g_grid.t_max_C, step=g_grid.step_K)
    methods = [CONSTANT, *models, NETWORK, REFINED, PRACTITIONER]
    n = test_samples
    results = EstimateTable(len(copies), methods, n, fits=True)
    record = results.record

    for model in models.values():  # the first call traces and compiles: not part of the cost per sample
        predict(model, g_scans[:2])
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for c, copy in enumerate(copies):
            t0 = time.perf_counter()
            cp = np.stack([distort(scans.cp[k], copy, scans.step_K[k], HEATING, seed=(seed, c, k)) for k in range(n)])
            cp = cp.astype(float)
            results.record_all(c, CONSTANT, constant, 0.0)
            for name, model in models.items():
                g_cp = distort(g_scans, copy, g_grid.step_K, HEATING, seed=(seed, c))
                results.record_batch(c, name, lambda scans: predict(model, scans), g_cp)
            record(c, NETWORK, range(n), [core_seconds(network.estimate, scans.T_C(k), cp[k], RATES) for k in range(n)])
            fit_lag = copy.lag_s > 0
            jobs = [(scans.T_C(k), cp[k], str(network_path), fit_lag) for k in kept_rows]
            record(c, REFINED, kept_rows, list(pool.map(_refine_one, jobs)))
            jobs = [(scans.T_C(k), cp[k], None, fit_lag) for k in subsample]
            record(c, PRACTITIONER, subsample, list(pool.map(_refine_one, jobs)))
            if progress:
                print(f"  {copy.label}: {n} samples, refined {kept_rows.size}, practitioner's start on "
                      f"{subsample.size}, {time.perf_counter() - t0:.0f} s", flush=True)

    result = xr.Dataset(
        {**results.data_vars("copy"),
         "true": (("sample", "parameter"), true, {"long_name": "true parameters (dh J/mol, ln A, x, beta)"}),
         "cp_max": ("sample", scans.cp_max),
         "kept": ("sample", kept, {"long_name": f"Cp_max <= {CP_MAX_LIMIT:g}"}),
         "least_squares_subsample": ("sample", np.isin(np.arange(n), subsample)),
         "copy_lag_s": ("copy", [c.lag_s for c in copies]),
         "copy_noise_fraction": ("copy", [c.noise_fraction for c in copies])},
        coords={"copy": [c.label for c in copies], "estimator": methods, "parameter": list(PARAMETER_NAMES)},
        attrs={"network": str(network_path), "network_metadata": json.dumps({k: v for k, v in network.metadata.items()
                                                                           if k != "check_samples"}),
               "fingerprint": fingerprint, "statuses": json.dumps(list(STATUSES)), "settings": json.dumps(settings),
               "constant_prediction": json.dumps(constant.tolist()), "workers": int(workers),
               "g_model": str(g_model) if g_model else ""})
    save_results(result, out_path)
    return result


def load_assessment(path: str | Path) -> xr.Dataset:
    """A finished assessment file (``tnm assess``), loaded into memory."""
    return load_results(path, "assessment", "make wholespace (or tnm assess)")
