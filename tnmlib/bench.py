"""Benchmarks (printed figures, not timed tests): ``python -m tnmlib.bench simulate``."""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numba
import numpy as np

from .physics.simulate import simulate_chr_details

#: The realistic glass of the simulator page (Se; Svoboda's values, rounded).
SE = (356e3, -133.0, 0.52, 0.65)


def _timed(fn, repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


#: The commit the comparisons measure as "before" by default: the simulator, dataset writer and
#: fit as they stood before the speed work (issue 24).
BEFORE_COMMIT = "7f119e7"
#: Bands of the tallest peak of a sample's six scans, for the simulator's cost.
CP_MAX_BANDS = ((0.0, 3.0), (3.0, 6.0), (6.0, 20.0), (20.0, np.inf))


def _random_samples(n: int, seed: int) -> np.ndarray:
    """(n, 4) Se-like glasses (Δh*, ln A of Se) with x and β drawn uniformly in [0.2, 1]: off the
    0.02 grid, so every β is new; a few percent of them peak above Cp^N = 20."""
    rng = np.random.default_rng(seed)
    xb = rng.uniform(0.2, 1.0, size=(n, 2))
    return np.column_stack([np.full(n, SE[0]), np.full(n, SE[1]), xb])


def _touch_memory(n_bytes: int) -> None:
    """Write ``n_bytes`` once and free them: the first touch of a fresh process's memory (this
    machine: ~2 ms per 0.9 MB, a paper-grid sample's output) is not the code's being timed."""
    np.ones(n_bytes // 8).sum()


def measure_simulate(n_batch: int = 400, n_accuracy: int = 20, n_direct: int = 4, seed: int = 0,
                     direct_sum: bool = True) -> dict:
    """The simulator's cost on the paper's program (six CHR cycles, -250..1600 °C at 0.1 K) for
    ``n_batch`` random samples (:func:`_random_samples`): ms per sample per core batched on all
    threads and, on one thread, per band of Cp_max; the direct O(N²) sum on ``n_direct`` of the
    same samples (one thread, each in its own cycle window; ``direct_sum`` False: only the fast
    simulator on them, the direct sum being measured elsewhere) for the ratio; the worst |ΔCp^N|
    against the continuous limit (the extrapolated staircase) on ``n_accuracy`` of them.  Only the
    public simulator API is used, so the same code measures an older tree (``--before``)."""
    from .physics.simulate import simulate_chr_details, simulate_chr_reference

    threads = numba.get_num_threads()
    batch = _random_samples(n_batch, seed)
    n_accuracy, n_direct = min(n_accuracy, n_batch), min(n_direct, n_batch)
    figures = {"threads": threads, "samples": n_batch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate_chr_details(batch[:2])  # compile
        _touch_memory(2 * n_batch * 6 * 18501 * 8)  # float64 output of the paper grid
        batch_s = _timed(lambda: simulate_chr_details(batch), repeat=3)
        result = simulate_chr_details(batch)
        cp_max = result.cp.max(axis=(1, 2))
        figures["ms_per_sample_per_core"] = 1e3 * batch_s * threads / n_batch
        numba.set_num_threads(1)
        try:
            one_thread_s = 0.0
            for low, high in CP_MAX_BANDS:
                members = batch[(cp_max > low) & (cp_max <= high)]
                seconds = _timed(lambda: simulate_chr_details(members), repeat=3) if len(members) else 0.0
                one_thread_s += seconds
                figures[f"band {low:g}-{high:g}"] = {"samples": int(len(members)), "seconds": seconds,
                                                     "ms_per_sample": 1e3 * seconds / max(len(members), 1)}
            figures["one_thread_ms_per_sample"] = 1e3 * one_thread_s / n_batch
            if n_direct:
                picks = np.linspace(0, n_batch - 1, n_direct).round().astype(int)
                fast_s = direct_s = 0.0
                for k in picks:
                    lo, hi = result.window_C[k]
                    kwargs = dict(cycle_min=lo, cycle_max=hi)
                    fast_s += _timed(lambda: simulate_chr_details(batch[k:k + 1]), repeat=3)
                    if direct_sum:
                        simulate_chr_details(batch[k:k + 1], step=1.0, method="exact", **kwargs)  # compile
                        direct_s += _timed(lambda: simulate_chr_details(batch[k:k + 1], method="exact", **kwargs))
                if direct_sum:
                    figures["direct_ms_per_sample"] = 1e3 * direct_s / n_direct
                figures["fast_same_samples_ms"] = 1e3 * fast_s / n_direct
        finally:
            numba.set_num_threads(threads)
        if n_accuracy:
            check = np.linspace(0, n_batch - 1, n_accuracy).round().astype(int)
            # 400 jumps per transition width: at 100 the reference itself misses tall peaks by 1e-3
            reference, _ = simulate_chr_reference(batch[check], result.window_C[check], peaks=cp_max[check],
                                                  jumps_per_width=400.0)
            errors = np.abs(result.cp[check] - reference).max(axis=(1, 2))
            figures["worst_error"] = float(errors.max())
            figures["median_error"] = float(np.median(errors))
            figures["accuracy_samples"] = int(n_accuracy)
    return figures


def print_simulate(after: dict, before: dict | None = None, label: str = BEFORE_COMMIT) -> None:
    """The simulator's figures, before and after side by side (ratios: before / after)."""
    rows = [("ms per sample per core, batched on {} threads".format(after["threads"]), "ms_per_sample_per_core",
             "{:.2f}", "cost"),
            ("ms per sample, one thread (sum of the bands)", "one_thread_ms_per_sample", "{:.2f}", "cost")]
    for low, high in CP_MAX_BANDS:
        key = f"band {low:g}-{high:g}"
        band = after[key]
        rows.append((f"  Cp_max {low:g}-{high:g} ({band['samples']} samples), ms per sample",
                     (key, "ms_per_sample"), "{:.2f}", "cost"))
        rows.append((f"  Cp_max {low:g}-{high:g}, share of the one-thread time", (key, "share"), "{:.0%}", None))
    for figures in (after, before):
        if figures:
            total = sum(figures[f"band {lo:g}-{hi:g}"]["seconds"] for lo, hi in CP_MAX_BANDS)
            for low, high in CP_MAX_BANDS:
                band = figures[f"band {low:g}-{high:g}"]
                band["share"] = band["seconds"] / total if total else 0.0
    direct = (before or {}).get("direct_ms_per_sample") or after.get("direct_ms_per_sample")
    for figures in (after, before):
        if figures and direct:
            figures["ratio_direct_batched_per_core"] = direct / figures["ms_per_sample_per_core"]
            if "fast_same_samples_ms" in figures:
                figures["ratio_direct_same_samples"] = direct / figures["fast_same_samples_ms"]
    rows += [("direct O(N²) sum of Eq. 4 (timed once), ms per sample, 1 thread", "direct_ms_per_sample", "{:.0f}",
              None),
             ("fast on the same samples, ms per sample, one thread", "fast_same_samples_ms", "{:.2f}", "cost"),
             ("ratio direct / fast, same samples", "ratio_direct_same_samples", "{:.0f}x", None),
             ("ratio direct / fast batched per core", "ratio_direct_batched_per_core", "{:.0f}x", None),
             ("worst |ΔCp^N| against the continuous limit", "worst_error", "{:.1e}", None),
             ("median |ΔCp^N| against the continuous limit", "median_error", "{:.1e}", None)]
    print(f"Simulator: paper program (6 CHR cycles, -250..1600 °C, 0.1 K), {after['samples']} Se-like samples "
          f"with random x, β in [0.2, 1]; accuracy on {after.get('accuracy_samples', 0)} of them")
    _print_rows(rows, after, before, label)


def _value(figures: dict | None, key):
    if not figures or key is None:
        return None
    if isinstance(key, tuple):
        figures = figures.get(key[0]) or {}
        key = key[1]
    return figures.get(key)


def _print_rows(rows, after: dict, before: dict | None, label: str) -> None:
    """Rows of (label, key, format, kind): after, and before with the speed-up when given (kind
    "cost": before / after; "rate": after / before; None: no ratio)."""
    print(f"  {'':62s} {'before (' + label + ')' if before else '':>18s} {'after':>10s} {'speed-up' if before else '':>9s}")
    for text, key, fmt, kind in rows:
        if key is None:
            print(f"  {text}")
            continue
        now, then = _value(after, key), _value(before, key)
        shown_now = fmt.format(now) if now is not None else "—"
        shown_then = (fmt.format(then) if then is not None else "—") if before else ""
        ratio = ""
        if before and now and then and kind:
            ratio = f"{then / now:.2f}x" if kind == "cost" else f"{now / then:.2f}x"
        print(f"  {text:62s} {shown_then:>18s} {shown_now:>10s} {ratio:>9s}")


def bench_simulate(n_batch: int = 400, before: str | None = BEFORE_COMMIT) -> dict:
    """Measure the simulator here and (``before``: a git commit) in that commit's tree; print both."""
    then = _measure_before("simulate", before, ["--batch", str(n_batch)]) if before else None
    # the direct sum is the same code in both trees: timed once, in the 'before' run
    now = measure_simulate(n_batch, direct_sum=not (then and "direct_ms_per_sample" in then))
    print_simulate(now, then, before or "")
    return {"after": now, "before": then}


def measure_dataset(paper_samples: int = 5000, workers: int | None = None) -> dict:
    """samples/s of ``tnm dataset`` (everything included: worker start, simulation, compression,
    assembly) for a slice of subset C at the paper grid (0.1 K; samples spread evenly over the
    subset) and for the quick profile's subset C, on local worker processes; bytes per sample."""
    import os
    import tempfile
    from pathlib import Path

    import h5py

    from .pipeline.dataset import build_dataset
    from .study.profile import load_profile

    workers = workers or os.cpu_count() or 1
    figures = {"workers": workers}
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        # a tree's first run compiles its kernels (numba's cache): not part of any rate
        build_dataset("C", "smoke", Path(tmp) / "warm-up.h5", workers=workers, progress=False, limit=2 * workers)
        for key, profile, limit in (("paper", "paper", paper_samples), ("quick", "quick", None)):
            path = Path(tmp) / f"C-{profile}.h5"
            start = time.perf_counter()
            build_dataset("C", profile, path, workers=workers, progress=False, limit=limit)
            seconds = time.perf_counter() - start
            with h5py.File(path, "r") as f:
                n, rates, n_T = f["cp"].shape
            size = path.stat().st_size
            figures[key] = {"samples": n, "seconds": seconds, "samples_per_s": n / seconds,
                            "bytes_per_sample": size / n, "compression": n * rates * n_T * 4 / size}
    figures["paper_subset_C_samples"] = load_profile("paper").sizes["C"]
    figures["profile"] = _dataset_profile(paper_samples)
    return figures


def _dataset_profile(paper_samples: int, n: int = 256) -> dict:
    """Where a paper-grid sample's time goes, one core, ms per sample on ``n`` samples spread over
    the slice: the simulation (float32 out), the peak descriptors, and writing them compressed as
    the parts are (h5py, the pipeline's compression)."""
    import tempfile
    from pathlib import Path

    import h5py

    from .physics.descriptors import peak_descriptors
    from .physics.simulate import simulate_chr_details
    from .pipeline.dataset import COMPRESSION, DatasetSpec
    from .study.parameters import PARAMETER_NAMES
    from .study.profile import load_profile

    spec = DatasetSpec("C", load_profile("paper"), paper_samples)
    samples = spec.samples()
    params = np.column_stack([samples[k] for k in PARAMETER_NAMES])
    params = params[np.linspace(0, len(params) - 1, min(n, len(params))).round().astype(int)]
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            simulate_chr_details(params[:2], dtype=np.float32)
            _touch_memory(2 * len(params) * 6 * spec.T_C.size * 4)  # float32 output
            simulate_s = _timed(lambda: simulate_chr_details(params, dtype=np.float32), repeat=2)
            cp = simulate_chr_details(params, dtype=np.float32).cp
    finally:
        numba.set_num_threads(threads)
    peak_descriptors(cp[:2], spec.T_C)
    descriptors_s = _timed(lambda: peak_descriptors(cp, spec.T_C))
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        def write():
            with h5py.File(Path(tmp) / "part.h5", "w") as f:
                f.create_dataset("cp", data=cp, chunks=(spec.hdf5_chunk(), *cp.shape[1:]), **COMPRESSION)
        write_s = _timed(write, repeat=2)
    cp_max = cp.max(axis=(1, 2))
    return {"samples": int(len(params)), "simulate_ms": 1e3 * simulate_s / len(params),
            "descriptors_ms": 1e3 * descriptors_s / len(params), "compress_write_ms": 1e3 * write_s / len(params),
            "share_cp_max_above_20": float(np.mean(cp_max > 20))}


def bench_dataset(paper_samples: int = 5000, workers: int | None = None, before: str | None = BEFORE_COMMIT) -> dict:
    """Measure ``tnm dataset`` here and in ``before``'s tree; print both side by side."""
    args = ["--paper-samples", str(paper_samples)] + (["--workers", str(workers)] if workers else [])
    then = _measure_before("dataset", before, args) if before else None
    now = measure_dataset(paper_samples, workers)
    for figures in (now, then):
        if figures:
            figures["paper"]["subset_minutes"] = figures["paper_subset_C_samples"] / figures["paper"]["samples_per_s"] / 60
    print(f"Datasets: tnm dataset, subset C, {now['workers']} local worker processes (all included)")
    rows = [(f"paper grid (0.1 K), {now['paper']['samples']} samples: samples/s", ("paper", "samples_per_s"), "{:.0f}",
             "rate"),
            ("  bytes per sample on disk", ("paper", "bytes_per_sample"), "{:.0f}", None),
            ("  smaller than float32 by", ("paper", "compression"), "{:.0f}x", None),
            (f"  a whole paper subset C ({now['paper_subset_C_samples']:,} samples), minutes",
             ("paper", "subset_minutes"), "{:.1f}", "cost"),
            (f"quick profile (1 K), {now['quick']['samples']} samples: samples/s", ("quick", "samples_per_s"), "{:.0f}",
             "rate"),
            ("  bytes per sample on disk", ("quick", "bytes_per_sample"), "{:.0f}", None)]
    if "profile" in now:
        for figures in (now, then):
            if figures and "profile" in figures:
                p = figures["profile"]
                p["total_ms"] = p["simulate_ms"] + p["descriptors_ms"] + p["compress_write_ms"]
                figures["paper"]["other_ms"] = 1e3 * figures["workers"] / figures["paper"]["samples_per_s"] - p["total_ms"]
        rows += [(f"where a paper-grid sample's time goes ({now['profile']['samples']} samples, one core), ms:",
                  None, "", None),
                 ("  simulation", ("profile", "simulate_ms"), "{:.2f}", "cost"),
                 ("  peak descriptors (unchanged)", ("profile", "descriptors_ms"), "{:.2f}", None),
                 ("  compressing and writing (gzip 1, shuffle; unchanged)", ("profile", "compress_write_ms"), "{:.2f}",
                  None),
                 ("  the rest of tnm dataset (worker start, assembly), by difference", ("paper", "other_ms"), "{:.2f}",
                  None)]
    _print_rows(rows, now, then, before or "")
    return {"after": now, "before": then}


def _throughput(n_T: int, step: float, batch: int = 128, batches: int = 3) -> tuple[float, float]:
    """(training, inference) samples/s of the default MCNN on scans of n_T temperatures."""
    from .learning.model import build_model

    rng = np.random.default_rng(0)
    n = batch * batches
    params = np.column_stack([np.full(n, 650e3), rng.uniform(-300, -200, n), rng.uniform(0.2, 1, n),
                              rng.uniform(0.2, 1, n)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp = simulate_chr_details(params, step=step, dtype=np.float32).cp
    model = build_model(cp.shape[1], n_T)
    model.fit(cp[:batch], params[:batch].astype(np.float32), batch_size=batch, epochs=1, verbose=0)  # compile
    train_s = _timed(lambda: model.fit(cp, params.astype(np.float32), batch_size=batch, epochs=1, verbose=0))
    model.predict(cp[:batch], batch_size=batch, verbose=0)
    infer_s = _timed(lambda: model.predict(cp, batch_size=batch, verbose=0), repeat=2)
    return n / train_s, n / infer_s


def _peak_training_memory_MB(samples: int, workdir) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process that trains one epoch from a paper-grid file of
    ``samples`` samples, and the size of that file (MB)."""
    import subprocess
    from pathlib import Path

    from .pipeline.dataset import build_dataset

    data = Path(workdir) / f"paper-{samples}.h5"
    build_dataset("C", "paper", data, progress=False, limit=samples)
    code = ("import resource, sys\n"
            "from tnmlib.learning.train import train_model\n"
            f"train_model({str(data)!r}, {str(Path(workdir) / f'm-{samples}.keras')!r}, epochs=1, progress=False)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0, data.stat().st_size / 1e6


def bench_model(memory: bool = True) -> dict:
    """Training and inference samples/s (quick and paper input) and peak training memory."""
    import tempfile

    figures = {}
    print("Model benchmark: default MCNN, batch 128, Keras on JAX (CPU)")
    for label, n_T, step in (("quick input 6 x 1851", 1851, 1.0), ("paper input 6 x 18501", 18501, 0.1)):
        train, infer = _throughput(n_T, step)
        figures[label] = {"train_samples_per_s": train, "inference_samples_per_s": infer}
        print(f"  {label:24s} training {train:7.1f} samples/s   inference {infer:7.1f} samples/s")
    if memory:
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            for samples in (1200, 2400):
                peak, size = _peak_training_memory_MB(samples, tmp)
                figures[f"peak_MB_{samples}"] = peak
                print(f"  peak memory training 1 epoch from a paper-grid file of {samples} samples "
                      f"({size:.0f} MB on disk, {samples * 6 * 18501 * 4 / 1e9:.2f} GB as float32): {peak:.0f} MB")
    return figures


def bench_baselines(n_samples: int = 12, table_samples: int = 400, seed: int = 0) -> dict:
    """Seconds per sample of the classical estimators on samples drawn from the whole state space
    (the quick profile's G subset) on a 1 K grid: Moynihan, least squares from the practitioner's
    start and from truth ± 10 %, and the look-up table (queries only; the table is built from
    other G samples)."""
    from .estimation.classical import LookupTable, least_squares_fit, moynihan_estimate, practitioner_start
    from .physics.simulate import simulate_chr_batch
    from .study.parameters import PARAMETER_NAMES
    from .study.profile import load_profile

    quick = load_profile("quick")
    grid, samples = quick.grid, quick.samples("G")
    params = np.column_stack([samples[k] for k in PARAMETER_NAMES])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(params))
    test, table_rows = params[order[:n_samples]], params[order[n_samples:n_samples + table_samples]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp_test = simulate_chr_batch(test, t_min=grid.t_min_C, t_max=grid.t_max_C, step=grid.step_K)
        table = LookupTable.from_scans(simulate_chr_batch(table_rows, t_min=grid.t_min_C, t_max=grid.t_max_C,
                                                          step=grid.step_K), grid.T_C, table_rows)
    T = grid.T_C
    methods = {
        "Moynihan (Δh* only)": lambda cp, truth: moynihan_estimate(cp, T),
        "least squares, practitioner's start": lambda cp, truth: least_squares_fit(cp, T, practitioner_start(cp, T).params),
        "least squares, truth ± 10 %": lambda cp, truth: least_squares_fit(cp, T, truth * np.array([1.1, 1.1, 0.9, 1.1])),
        f"look-up ({len(table.params)} samples, k = 5)": lambda cp, truth: table.estimate(cp, T),
    }
    print(f"Classical estimators on {n_samples} clean samples of G (whole state space), 1 K grid:")
    figures = {}
    for name, method in methods.items():
        estimates = [method(cp, truth) for cp, truth in zip(cp_test, test)]
        seconds = np.mean([e.seconds for e in estimates])
        ok = sum(e.ok for e in estimates)
        errors = np.abs(np.array([e.params for e in estimates]) - test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Moynihan leaves ln A, x and β unestimated (NaN)
            median = np.nanmedian(errors, axis=0)
        figures[name] = {"seconds_per_sample": float(seconds), "ok": ok, "median_abs_error": median.tolist()}
        shown = [f"{v:.3g}" if np.isfinite(v) else "n/a" for v in (median[0] / 1e3, *median[1:])]
        print(f"  {name:45s} {seconds:8.3f} s/sample, {ok}/{n_samples} ok; median |error| Δh* {shown[0]} kJ/mol, "
              f"ln A {shown[1]}, x {shown[2]}, β {shown[3]}")
    return figures


def _fit_one(job) -> tuple:
    """One whole-space fit in a worker: (status, params, stderr (4,), CPU seconds, lag s)."""
    from .estimation.network import NetworkEstimator, fit_scans
    from .pipeline.estimator import HEATING, RATES

    T_C, cp, fit_lag = job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        fit = fit_scans(T_C, cp, RATES, HEATING, network=NetworkEstimator.load(), fit_lag=fit_lag)
        seconds = time.process_time() - start
    stderr = fit.extra.get("stderr") or [np.nan] * 4
    return fit.status, np.asarray(fit.params, dtype=float), np.asarray(stderr[:4], dtype=float), seconds, \
        float(fit.extra.get("lag_s", np.nan))


def measure_fit(n_samples: int = 100, seed: int = 21, workers: int | None = None) -> dict:
    """Seconds per ``fit_scans`` (network start + least squares, one core each) on whole-space
    samples with 1 % noise, and with 1 % noise and a 3 s lag (fitted); and the share of samples
    whose truth lies within ±2 standard errors, every fit counted (a failure, a fit that ends on
    a bound or a parameter reported as not determined is a miss), with 95 % Wilson intervals.
    The samples are the same simulator's (no independent check: see tnm assess-independent).
    Returns {copy label: figures}."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from .analysis import metrics
    from .physics.instrument import distort
    from .pipeline.estimator import HEATING, simulate_in_workers
    from .study.design import ESTIMATOR, WHOLESPACE_COPIES
    from .study.parameters import PARAMETERS
    from .study.statespace import draw_whole_space

    workers = workers or min(2, os.cpu_count() or 1)
    true = draw_whole_space(n_samples, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scans = simulate_in_workers(true, ESTIMATOR.points_per_scan, workers)
    kept = np.nonzero(metrics.keep_mask(scans.cp_max))[0]
    figures = {}
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for copy in WHOLESPACE_COPIES[1:]:
            jobs = [(scans.T_C(k), distort(scans.cp[k], copy, scans.step_K[k], HEATING, seed=(seed, k)).astype(float),
                     copy.lag_s > 0) for k in kept]
            # each worker's first fit loads (or compiles) the kernels: not part of a fit's seconds
            list(pool.map(_fit_one, jobs[:workers] * 2))
            start = time.perf_counter()
            results = list(pool.map(_fit_one, jobs))
            wall = time.perf_counter() - start
            status = np.array([r[0] for r in results])
            params = np.array([r[1] for r in results])
            stderr = np.array([r[2] for r in results])
            seconds = np.array([r[3] for r in results])
            with np.errstate(invalid="ignore"):
                covered = (np.abs(params - true[kept]) <= 2 * stderr) & (status == "ok")[:, None]
            shares = {}
            for k, parameter in enumerate(PARAMETERS):
                low, high = metrics.wilson_interval(int(covered[:, k].sum()), kept.size)
                shares[parameter.name] = (float(covered[:, k].mean()), low, high)
            counts = {str(s): int((status == s).sum()) for s in sorted(set(status))}
            row = {"samples": int(kept.size), "drawn": int(n_samples), "seed": int(seed), "workers": int(workers),
                   "statuses": counts, "ok": counts.get("ok", 0), "median_s": float(np.median(seconds)),
                   "p90_s": float(np.percentile(seconds, 90)), "wall_s": wall, "coverage_2se": shares,
                   "labels": {p.name: p.label for p in PARAMETERS}}
            if copy.lag_s > 0:
                lags = np.array([r[4] for r in results])
                row["lag_s"] = float(copy.lag_s)
                row["lag_within_1_s"] = float(np.mean(np.abs(lags - copy.lag_s) <= 1.0))
            figures[copy.label] = row
    return figures


def print_fit(after: dict, before: dict | None = None, label: str = BEFORE_COMMIT) -> None:
    """The fit's figures per copy, before and after side by side."""
    first = next(iter(after.values()))
    print(f"Fits: fit_scans (network start, least squares) on {first['samples']} kept of {first['drawn']} "
          f"whole-space samples (seed {first['seed']}), {first['workers']} worker processes, CPU seconds per fit")
    for copy, row in after.items():
        rows = [(f"{copy}: median s per fit", (copy, "median_s"), "{:.2f}", "cost"),
                ("  90th percentile s per fit", (copy, "p90_s"), "{:.2f}", "cost"),
                ("  fits ok", (copy, "ok"), "{:d}", None)]
        for name, share in row["coverage_2se"].items():
            for figures in (after, before):
                if figures and copy in figures:
                    figures[copy][f"covers_{name}"] = 100 * figures[copy]["coverage_2se"][name][0]
            rows.append((f"  ±2 se covers the truth, {row['labels'][name]}, %", (copy, f"covers_{name}"),
                         "{:.1f}", None))
        if "lag_within_1_s" in row:
            for figures in (after, before):
                if figures and copy in figures:
                    figures[copy]["lag_within_pct"] = 100 * figures[copy]["lag_within_1_s"]
            rows.append((f"  fitted lag within 1 s of the true {row['lag_s']:g} s, %", (copy, "lag_within_pct"),
                         "{:.0f}", None))
        _print_rows(rows, after, before, label)
        print("  statuses: " + ", ".join(f"{k} {v}" for k, v in row["statuses"].items()) + "; Wilson 95 %: " + ", ".join(
            f"{row['labels'][n]} [{100 * v[1]:.0f}, {100 * v[2]:.0f}]" for n, v in row["coverage_2se"].items()))


def bench_fit(n_samples: int = 100, seed: int = 21, workers: int | None = None, before: str | None = None) -> dict:
    """:func:`measure_fit` here (and in ``before``'s tree), printed; returns this tree's figures."""
    args = ["--samples", str(n_samples), "--seed", str(seed)] + (["--workers", str(workers)] if workers else [])
    then = _measure_before("fit", before, args) if before else None
    now = measure_fit(n_samples, seed, workers)
    print_fit(now, then, before or "")
    return now


def _measure_before(what: str, commit: str, args: list[str]) -> dict | None:
    """The figures of ``python -m tnmlib.bench WHAT ARGS`` measured on the package as it was at git
    ``commit`` (its tree, with this file's measuring code), in a fresh process; None (and a
    line saying why) where that tree cannot be had."""
    import io
    import json
    import shutil
    import subprocess
    import tarfile
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="tnm-before-") as tmp:
        archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit, "tnmlib"],
                                 capture_output=True)
        if archive.returncode != 0:
            print(f"(no 'before' column: git could not give commit {commit!r}: "
                  f"{archive.stderr.decode(errors='replace').strip().splitlines()[-1:]})")
            return None
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        shutil.copyfile(Path(__file__), Path(tmp) / "tnmlib" / "bench.py")
        out = Path(tmp) / "figures.json"
        env = dict(os.environ, PYTHONPATH=tmp)
        print(f"measuring 'before' on the tree of {commit} (a fresh process: its kernels compile first) ...",
              flush=True)
        done = subprocess.run([sys.executable, "-m", "tnmlib.bench", what, *args, "--figures-to", str(out)],
                              cwd=tmp, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            print(f"(no 'before' column: the run on {commit} failed: {tail[0]})")
            return None
        return json.loads(out.read_text())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    compared = []
    p = sub.add_parser("simulate", help="the simulator: ms per sample per core by Cp_max band, ratio to the direct sum")
    p.add_argument("--batch", type=int, default=400, help="random samples (default 400)")
    compared.append(p)
    d = sub.add_parser("dataset", help="tnm dataset: samples/s and bytes per sample")
    d.add_argument("--paper-samples", type=int, default=5000, help="samples of the paper-grid slice (default 5000)")
    d.add_argument("--workers", type=int, default=None, help="local worker processes (default: all cores)")
    compared.append(d)
    m = sub.add_parser("model", help="MCNN training/inference samples/s and peak training memory")
    m.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement (minutes)")
    b = sub.add_parser("baselines", help="classical estimators: seconds per sample (and their errors)")
    b.add_argument("--samples", type=int, default=12, help="test samples (default 12)")
    f = sub.add_parser("fit", help="seconds per fit and coverage of ±2 standard errors on noisy whole-space samples")
    f.add_argument("--samples", type=int, default=100, help="whole-space samples drawn (default 100)")
    f.add_argument("--seed", type=int, default=21, help="seed of the draw (default 21)")
    f.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    compared.append(f)
    for c in compared:
        c.add_argument("--before", default=BEFORE_COMMIT, metavar="COMMIT",
                       help=f"git commit measured as 'before', side by side (default {BEFORE_COMMIT}, the tree "
                            "before the speed work; 'none': this tree only)")
        c.add_argument("--figures-to", default=None, metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.what in ("model", "baselines"):
        bench_baselines(args.samples) if args.what == "baselines" else bench_model(memory=not args.no_memory)
        return 0
    if args.figures_to:  # the 'before' half of a comparison, run on another tree (see _measure_before)
        import json

        measure = {"simulate": lambda: measure_simulate(args.batch),
                   "dataset": lambda: measure_dataset(args.paper_samples, args.workers),
                   "fit": lambda: measure_fit(args.samples, args.seed, args.workers)}[args.what]
        with open(args.figures_to, "w") as f:
            json.dump(measure(), f, default=float)
        return 0
    before = None if str(args.before).lower() == "none" else args.before
    if args.what == "fit":
        bench_fit(args.samples, args.seed, args.workers, before=before)
    elif args.what == "simulate":
        bench_simulate(args.batch, before=before)
    elif args.what == "dataset":
        bench_dataset(args.paper_samples, args.workers, before=before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
