"""``tnm estimator``: the whole-space estimator's network, built (beyond the paper, part 2).

:func:`build_estimator` draws :data:`~tnmlib.study.design.ESTIMATOR`'s training samples uniformly
over the whole state space, simulates each on a grid spanning its own transition, and trains the
network of :mod:`tnmlib.estimation.network` (``make estimator``; the result ships with the package
as ``tnmlib/data/estimator.npz``, its provenance inside).
"""
from __future__ import annotations

import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ..estimation.network import NetworkEstimator, network_inputs
from ..fileutil import atomic_output
from ..fingerprint import source_hash
from ..physics.transition import TransitionScans, simulate_transition_scans
from ..study.design import CP_MAX_LIMIT, ESTIMATOR, MEASUREMENT_VARIETY, EstimatorSpec
from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
from ..study.statespace import draw_whole_space

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
    params = draw_whole_space(spec.train_samples, spec.draw_seed)
    scans = simulate_in_workers(params, spec.points_per_scan, workers, progress)
    seconds_simulate = time.perf_counter() - t0
    keep = scans.cp_max <= CP_MAX_LIMIT
    scans = TransitionScans(scans.cp[keep], scans.t_start_C[keep], scans.step_K[keep], scans.tf_prime_C[keep])
    params = params[keep]
    inputs, targets, samples = training_rows(scans, params, RATES, HEATING, spec.noise_fraction_max, spec.lag_s_max,
                                             spec.distortion_seed,
                                             MEASUREMENT_VARIETY if spec.measured_rows else None)
    if progress:
        print(f"  {len(params):,} samples kept (Cp_max <= {CP_MAX_LIMIT:g}) -> {len(inputs):,} rows; "
              f"simulated in {seconds_simulate:.0f} s; training", flush=True)
    estimator, history = train_network(inputs, targets, samples, RATES, HEATING, epochs=spec.epochs,
                                       validation_share=spec.validation_share, seed=spec.training_seed)
    check = [0, 1]
    commit = _git_commit()
    estimator.metadata = {
        "settings": spec.__dict__,
        "measurement_variety": MEASUREMENT_VARIETY.__dict__ if spec.measured_rows else None, "samples_drawn": int(keep.size), "samples_kept": int(keep.sum()),
        "rows": int(len(inputs)), "seconds_simulate": seconds_simulate, "seconds_train": history["seconds"],
        "epochs_run": len(history["loss"]), "loss": history["loss"], "val_loss": history["val_loss"],
        **{k: history[k] for k in ("train_rows", "validation_rows", "train_samples", "validation_samples")},
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
        "work_tree_dirty": commit.endswith("-dirty"),
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
