"""Benchmarks (printed figures, not timed tests): ``python -m tnmlib.bench simulate``."""
from __future__ import annotations

import argparse
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


def bench_simulate(n_batch: int = 400, n_accuracy: int = 40, seed: int = 0) -> dict:
    """ms per sample of the fast simulator (batched, all cores) and of the exact direct sum, on the
    paper's program: six CHR cycles, grid -250..1600 °C at 0.1 K, a Se-like glass with random
    off-grid (x, beta); a new beta's Prony series; the worst error of a slice of the batch against
    the continuous limit (Richardson-extrapolated staircase)."""
    from .physics.prony import interpolated_series
    from .physics.simulate import simulate_chr_reference

    threads = numba.get_num_threads()
    rng = np.random.default_rng(seed)
    xb = rng.uniform(0.2, 1.0, size=(n_batch, 2))  # off the 0.02 grid: every beta is new
    batch = np.column_stack([np.full(n_batch, SE[0]), np.full(n_batch, SE[1]), xb])
    se = np.array([SE])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate_chr_details(np.array([SE, (SE[0], SE[1], 0.31, 0.47)]))  # compile
        fast_batch_s = _timed(lambda: simulate_chr_details(batch), repeat=2)
        result = simulate_chr_details(batch)
        betas = rng.uniform(0.1, 1.0, 2000)
        new_beta_s = _timed(lambda: [interpolated_series(float(b)) for b in betas]) / betas.size
        numba.set_num_threads(1)
        try:
            fast_one_s = _timed(lambda: simulate_chr_details(se), repeat=20)
            window = simulate_chr_details(se).window_C[0]
            simulate_chr_details(se, step=1.0, method="exact", cycle_min=window[0], cycle_max=window[1])
            exact_one_s = _timed(lambda: simulate_chr_details(se, method="exact", cycle_min=window[0],
                                                              cycle_max=window[1]), repeat=2)
        finally:
            numba.set_num_threads(threads)
        check = slice(0, n_batch, max(1, n_batch // n_accuracy))
        # 400 jumps per transition width: at 100 the reference itself misses tall peaks by 1e-3
        reference, _ = simulate_chr_reference(batch[check], result.window_C[check],
                                              peaks=result.cp[check].max(axis=(1, 2)), jumps_per_width=400.0)
    errors = np.abs(result.cp[check] - reference).max(axis=(1, 2))
    worst = int(errors.argmax())
    per_sample_ms = 1e3 * fast_batch_s / n_batch
    figures = {
        "threads": threads, "batch_size": n_batch,
        "fast_batch_ms_per_sample": per_sample_ms,
        "fast_batch_ms_per_sample_per_core": per_sample_ms * threads,
        "fast_se_ms": 1e3 * fast_one_s, "exact_se_ms": 1e3 * exact_one_s,
        "ratio_exact_over_fast_se": exact_one_s / fast_one_s,
        "ratio_exact_over_fast_batch_per_core": 1e3 * exact_one_s / (per_sample_ms * threads),
        "new_beta_ms": 1e3 * new_beta_s, "worst_error": float(errors.max()),
        "worst_error_params": batch[check][worst].tolist(), "accuracy_samples": int(errors.size),
        "se_window_C": tuple(float(w) for w in window),
    }
    print("Simulator benchmark: paper program (6 CHR cycles, -250..1600 °C grid, 0.1 K steps)")
    print(f"  numba threads                        {threads}")
    print(f"  fast, batched ({n_batch} Se-like, random off-grid x, beta)  {per_sample_ms:8.3f} ms/sample   "
          f"{per_sample_ms * threads:8.3f} ms/sample/core")
    print(f"  fast, one sample (Se, 1 thread)      {1e3 * fast_one_s:8.3f} ms")
    print(f"  exact direct sum (Se, 1 thread)      {1e3 * exact_one_s:8.1f} ms")
    print(f"  ratio exact / fast (same sample)     {exact_one_s / fast_one_s:8.0f} x")
    print(f"  ratio exact / fast batched per core  {figures['ratio_exact_over_fast_batch_per_core']:8.0f} x")
    print(f"  Prony series of a new beta           {1e3 * new_beta_s:8.4f} ms")
    print(f"  worst |dCp^N| against the continuous limit, {errors.size} of the batch: {errors.max():.1e} "
          f"at (dh, ln A, x, beta) = ({batch[check][worst][0] / 1e3:g} kJ/mol, {batch[check][worst][1]:g}, "
          f"{batch[check][worst][2]:.3f}, {batch[check][worst][3]:.3f})")
    print(f"  Se cycle window                      {window[0]:.1f} .. {window[1]:.1f} °C")
    return figures


def bench_dataset(paper_samples: int = 5000, workers: int | None = None) -> dict:
    """samples/s of ``tnm dataset`` (everything included: worker start, simulation, compression,
    assembly) at the paper grid (a slice of subset C) on local worker processes and on a dask
    LocalCluster, and for the quick profile's subset C; bytes per sample on disk."""
    import os
    import tempfile
    from pathlib import Path

    import h5py

    from .pipeline.dataset import build_dataset
    from .study.profile import load_profile

    workers = workers or os.cpu_count() or 1
    figures = {}
    print(f"Dataset benchmark: tnm dataset on {workers} workers, subset C")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        for label, profile, limit, executor in (("paper grid (0.1 K), local processes", "paper", paper_samples, "local"),
                                                ("paper grid (0.1 K), dask LocalCluster", "paper", paper_samples, "dask"),
                                                ("quick profile (1 K), local processes", "quick", None, "local")):
            path = Path(tmp) / f"C-{profile}-{executor}.h5"
            start = time.perf_counter()
            if executor == "dask":
                from dask.distributed import LocalCluster

                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
                    build_dataset("C", profile, path, scheduler=cluster.scheduler_address, progress=False,
                                  limit=limit)
            else:
                build_dataset("C", profile, path, workers=workers, progress=False, limit=limit)
            seconds = time.perf_counter() - start
            with h5py.File(path, "r") as f:
                n, rates, n_T = f["cp"].shape
            size = path.stat().st_size
            raw = n * rates * n_T * 4
            figures[f"{profile}-{executor}"] = {"samples": n, "seconds": seconds, "samples_per_s": n / seconds,
                                                "bytes_per_sample": size / n, "compression": raw / size}
            print(f"  {label:38s} {n:6d} samples in {seconds:6.1f} s = {n / seconds:7.0f} samples/s; "
                  f"{size / n:7.0f} bytes/sample ({raw / size:4.0f}x smaller than float32)")
        paper = load_profile("paper")
        rate = figures["paper-local"]["samples_per_s"]
        print(f"  a paper subset ({paper.sizes['C']} samples) at the local rate: {paper.sizes['C'] / rate / 60:.1f} min, "
              f"{paper.sizes['C'] * figures['paper-local']['bytes_per_sample'] / 1e9:.2f} GB")
    return figures


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


def bench_fit(n_samples: int = 100, seed: int = 21, workers: int | None = None) -> dict:
    """Seconds per ``fit_scans`` (network start + least squares, one core each) on whole-space
    samples with 1 % noise, and with 1 % noise and a 3 s lag (fitted); and the share of samples
    whose truth lies within ±2 standard errors, every fit counted (a failure, a fit that ends on
    a bound or a parameter reported as not determined is a miss), with 95 % Wilson intervals.
    The samples are the same simulator's (no independent check: see tnm check-exports)."""
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
    print(f"Fit benchmark: fit_scans (network start, least squares) on {kept.size} kept of {n_samples} "
          f"whole-space samples (seed {seed}), {workers} worker processes, CPU seconds per fit")
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for copy in WHOLESPACE_COPIES[1:]:
            jobs = [(scans.T_C(k), distort(scans.cp[k], copy, scans.step_K[k], HEATING, seed=(seed, k)).astype(float),
                     copy.lag_s > 0) for k in kept]
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
            figures[copy.label] = {"samples": int(kept.size), "statuses": counts, "median_s": float(np.median(seconds)),
                                   "p90_s": float(np.percentile(seconds, 90)), "wall_s": wall, "coverage_2se": shares}
            print(f"  {copy.label:18s} median {np.median(seconds):.2f} s, 90th percentile "
                  f"{np.percentile(seconds, 90):.2f} s per fit; statuses {counts}")
            print("  " + " " * 18 + " ±2 se covers the truth: " + ", ".join(
                f"{p.label} {100 * v[0]:.1f} % [{100 * v[1]:.0f}, {100 * v[2]:.0f}]"
                for p, v in zip(PARAMETERS, shares.values())))
            if copy.lag_s > 0:
                lags = np.array([r[4] for r in results])
                within = float(np.mean(np.abs(lags - copy.lag_s) <= 1.0))
                figures[copy.label]["lag_within_1_s"] = within
                print(f"  {'':18s} fitted lag within 1 s of the true {copy.lag_s:g} s: {100 * within:.0f} %")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("simulate", help="fast vs exact simulator, ms per sample")
    p.add_argument("--batch", type=int, default=400, help="samples in the batched run (default 400)")
    d = sub.add_parser("dataset", help="tnm dataset throughput and bytes per sample")
    d.add_argument("--paper-samples", type=int, default=5000, help="samples of the paper-grid slice")
    d.add_argument("--workers", type=int, default=None, help="local dask workers (default: all cores)")
    m = sub.add_parser("model", help="MCNN training/inference samples/s and peak training memory")
    m.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement (minutes)")
    b = sub.add_parser("baselines", help="classical estimators: seconds per sample (and their errors)")
    b.add_argument("--samples", type=int, default=12, help="test samples (default 12)")
    f = sub.add_parser("fit", help="seconds per fit and coverage of ±2 standard errors on noisy whole-space samples")
    f.add_argument("--samples", type=int, default=100, help="whole-space samples drawn (default 100)")
    f.add_argument("--seed", type=int, default=21, help="seed of the draw (default 21)")
    f.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    args = parser.parse_args(argv)
    if args.what == "fit":
        bench_fit(args.samples, args.seed, args.workers)
    elif args.what == "baselines":
        bench_baselines(args.samples)
    elif args.what == "model":
        bench_model(memory=not args.no_memory)
    elif args.what == "simulate":
        bench_simulate(args.batch)
    elif args.what == "dataset":
        bench_dataset(args.paper_samples, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
