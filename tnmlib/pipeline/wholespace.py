"""The whole-space estimator as a study (beyond the paper, part 2): its network built, then assessed.

- :func:`build_estimator` draws :data:`~tnmlib.study.design.ESTIMATOR`'s training samples
  uniformly over the whole state space, simulates each on a grid spanning its own transition, and
  trains the network of :mod:`tnmlib.estimator` (``make estimator``; the result ships with the
  package as ``tnmlib/data/estimator.npz``).
- :func:`assess_estimator` draws test samples with another seed and reads every copy of them
  (:data:`~tnmlib.study.design.WHOLESPACE_COPIES`: clean, noisy, noisy and lagged) with the
  constant predictor, the paper's MCNN (G, on its own grid), the new network alone, the network
  refined by least squares, and least squares from the practitioner's start (on a subsample).
  Per (copy, estimator, sample): the estimate, its standard errors, the fitted lag, a status and
  the seconds it took on one core.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import xarray as xr

from .. import classical
from ..analysis import metrics
from ..errors import TNMInputError
from ..estimator import NetworkEstimator, default_network_path, fit_scans, network_inputs
from ..fileutil import atomic_output
from ..fingerprint import source_hash
from ..instrument import distort
from ..physics.grid import SignalGrid
from ..physics.program import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
from ..physics.simulate import simulate_chr_batch
from ..physics.transition import TransitionScans, simulate_transition_scans
from ..study.design import CP_MAX_LIMIT, ESTIMATOR, WHOLESPACE_COPIES, EstimatorSpec
from ..study.parameters import PARAMETER_NAMES
from ..study.statespace import draw_whole_space
from .compare import NOT_RUN, STATUSES, load_results, save_results

CONSTANT, NETWORK, REFINED, PRACTITIONER = ("constant", "new network", "new network + least squares",
                                            "least squares, practitioner's start")
#: Seed of the test draw (the training draw uses ESTIMATOR.seed).
TEST_SEED = 2
RATES = np.asarray(PAPER_COOLING_RATES_K_PER_MIN, dtype=float)
HEATING = float(PAPER_HEATING_RATE_K_PER_MIN)


def _simulate_chunk(job) -> TransitionScans:
    params, points = job
    return simulate_transition_scans(params, n_points=points)


def simulate_in_workers(params: np.ndarray, points: int, workers: int = 2, progress: bool = False) -> TransitionScans:
    """:func:`simulate_transition_scans` of ``params`` (n, 4) in chunks over ``workers`` processes."""
    chunks = [c for c in np.array_split(params, max(1, len(params) // 200)) if len(c)]
    if workers <= 1 or len(chunks) == 1:
        parts = [_simulate_chunk((c, points)) for c in chunks]
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            parts = []
            for k, part in enumerate(pool.map(_simulate_chunk, [(c, points) for c in chunks])):
                parts.append(part)
                if progress and (k + 1) % max(1, len(chunks) // 10) == 0:
                    print(f"  simulated {sum(len(p.cp) for p in parts):,} of {len(params):,} samples", flush=True)
    return TransitionScans(np.concatenate([p.cp for p in parts]), np.concatenate([p.t_start_C for p in parts]),
                           np.concatenate([p.step_K for p in parts]), np.concatenate([p.tf_prime_C for p in parts]))


def _git_commit() -> str:
    """The commit the code is at, "-dirty" when the work tree has uncommitted changes."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_estimator(out_path: str | Path, spec: EstimatorSpec = ESTIMATOR, *, workers: int = 2,
                    progress: bool = True) -> NetworkEstimator:
    """Draw, simulate and train the whole-space network; write it to ``out_path`` (.npz) with its
    provenance (settings, sizes, seconds, validation loss, commit, source hash) and two check
    samples whose inputs a test recomputes."""
    from ..learning.estimator_training import train_network, training_rows

    out_path = Path(out_path)
    t0 = time.perf_counter()
    params = draw_whole_space(spec.train_samples, spec.seed)
    scans = simulate_in_workers(params, spec.points_per_scan, workers, progress)
    seconds_simulate = time.perf_counter() - t0
    keep = scans.cp_max <= CP_MAX_LIMIT
    scans = TransitionScans(scans.cp[keep], scans.t_start_C[keep], scans.step_K[keep], scans.tf_prime_C[keep])
    params = params[keep]
    inputs, targets = training_rows(scans, params, RATES, HEATING, spec.noise_fraction_max, spec.lag_s_max, spec.seed)
    if progress:
        print(f"  {len(params):,} samples kept (Cp_max <= {CP_MAX_LIMIT:g}) -> {len(inputs):,} rows; "
              f"simulated in {seconds_simulate:.0f} s; training", flush=True)
    estimator, history = train_network(inputs, targets, RATES, HEATING, epochs=spec.epochs, seed=spec.seed)
    check = [0, 1]
    estimator.metadata = {
        "settings": spec.__dict__, "samples_drawn": int(keep.size), "samples_kept": int(keep.sum()),
        "rows": int(len(inputs)), "seconds_simulate": seconds_simulate, "seconds_train": history["seconds"],
        "epochs_run": len(history["loss"]), "loss": history["loss"], "val_loss": history["val_loss"],
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _git_commit(),
        "source_hash": source_hash("estimator"),
        "check_samples": [{"T_C": scans.T_C(k).tolist(), "cp": scans.cp[k].tolist(),
                           "inputs": network_inputs(scans.T_C(k), scans.cp[k], RATES)[0].tolist(),
                           "params": params[k].tolist()} for k in check],
    }
    with atomic_output(out_path) as tmp:
        estimator.save(tmp)
    if progress:
        print(f"wrote {out_path}: {len(history['loss'])} epochs in {history['seconds']:.0f} s, "
              f"validation loss {min(history['val_loss']):.4f}")
    return estimator


# ---- assessment ----------------------------------------------------------------------------
_NETWORK_CACHE: dict = {}


def _refine_one(job) -> classical.Estimate:
    """One fit in a worker: (T_C, cp, network path or None, lag_s start, fit_lag)."""
    T_C, cp, network_path, fit_lag = job
    network = None
    if network_path is not None:
        if network_path not in _NETWORK_CACHE:  # once per worker process
            _NETWORK_CACHE[network_path] = NetworkEstimator.load(network_path)
        network = _NETWORK_CACHE[network_path]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_scans(T_C, cp, RATES, HEATING, network=network, fit_lag=fit_lag)


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
    g_grid = g_grid or SignalGrid(-250.0, 1600.0, 1.0)
    settings = {"copies": [c.label for c in copies], "test_samples": test_samples,
                "least_squares_samples": least_squares_samples, "seed": seed, "g_grid": g_grid.as_dict(),
                "points_per_scan": ESTIMATOR.points_per_scan}
    fingerprint = _fingerprint(network_path, g_model, settings)
    if out_path.is_file():
        cached = xr.load_dataset(out_path, engine="h5netcdf")
        if cached.attrs.get("fingerprint") == fingerprint:
            if progress:
                print(f"{out_path} is up to date; nothing to do")
            return cached

    network = NetworkEstimator.load(network_path)
    workers = workers or min(2, os.cpu_count() or 1)
    true = draw_whole_space(test_samples, seed)
    scans = simulate_in_workers(true, ESTIMATOR.points_per_scan, workers)
    kept = metrics.keep_mask(scans.cp_max)
    kept_rows = np.nonzero(kept)[0]
    subsample = np.sort(np.random.default_rng(seed).permutation(kept_rows)[:least_squares_samples])
    constant = np.median(draw_whole_space(10_000, ESTIMATOR.seed), axis=0)
    models = {}
    if g_model is not None:
        from ..learning.model import load_model, predict

        models["MCNN G (paper's network)"] = load_model(g_model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g_scans = simulate_chr_batch(true, t_min=g_grid.t_min_C, t_max=g_grid.t_max_C, step=g_grid.step_K)
    methods = [CONSTANT, *models, NETWORK, REFINED, PRACTITIONER]
    n, n_c, n_m = test_samples, len(copies), len(methods)
    estimate = np.full((n_c, n_m, n, 4), np.nan)
    stderr = np.full((n_c, n_m, n, 4), np.nan)
    lag = np.full((n_c, n_m, n), np.nan)
    status = np.full((n_c, n_m, n), NOT_RUN, dtype=np.int8)
    seconds = np.full((n_c, n_m, n), np.nan)
    code = {s: i for i, s in enumerate(STATUSES)}

    def record(c, method, rows, estimates):
        m = methods.index(method)
        for row, e in zip(rows, estimates):
            estimate[c, m, row] = e.params
            status[c, m, row] = code.get(e.status, code[classical.FAILED])
            seconds[c, m, row] = e.seconds
            if "stderr" in e.extra:
                stderr[c, m, row] = e.extra["stderr"][:4]
            lag[c, m, row] = e.extra.get("lag_s", np.nan)

    for model in models.values():  # the first call traces and compiles: not part of the cost per sample
        predict(model, g_scans[:2])
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for c, copy in enumerate(copies):
            t0 = time.perf_counter()
            cp = np.stack([distort(scans.cp[k], copy, scans.step_K[k], HEATING, seed=(seed, c, k)) for k in range(n)])
            cp = cp.astype(float)
            m = methods.index(CONSTANT)
            estimate[c, m], status[c, m], seconds[c, m] = constant, code[classical.OK], 0.0
            for name, model in models.items():
                m = methods.index(name)
                g_cp = distort(g_scans, copy, g_grid.step_K, HEATING, seed=(seed, c))
                start = time.perf_counter()
                estimate[c, m] = predict(model, g_cp)
                seconds[c, m] = (time.perf_counter() - start) / n
                status[c, m] = code[classical.OK]
            record(c, NETWORK, range(n), [network.estimate(scans.T_C(k), cp[k], RATES) for k in range(n)])
            fit_lag = copy.lag_s > 0
            jobs = [(scans.T_C(k), cp[k], str(network_path), fit_lag) for k in kept_rows]
            record(c, REFINED, kept_rows, list(pool.map(_refine_one, jobs)))
            jobs = [(scans.T_C(k), cp[k], None, fit_lag) for k in subsample]
            record(c, PRACTITIONER, subsample, list(pool.map(_refine_one, jobs)))
            if progress:
                print(f"  {copy.label}: {n} samples, refined {kept_rows.size}, practitioner's start on "
                      f"{subsample.size}, {time.perf_counter() - t0:.0f} s", flush=True)

    result = xr.Dataset(
        {"estimate": (("copy", "estimator", "sample", "parameter"), estimate,
                      {"long_name": "estimated parameters (dh J/mol, ln A, x, beta)"}),
         "stderr": (("copy", "estimator", "sample", "parameter"), stderr,
                    {"long_name": "standard errors from the Jacobian (least squares only)"}),
         "lag_s": (("copy", "estimator", "sample"), lag, {"units": "s", "long_name": "instrument lag (fitted or given)"}),
         "status": (("copy", "estimator", "sample"), status,
                    {"long_name": "status code: index into the statuses attribute; -1 not run"}),
         "seconds": (("copy", "estimator", "sample"), seconds, {"units": "s", "long_name": "seconds per sample, one core"}),
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
