"""Benchmarks (printed figures, not timed tests): ``python -m tnmlib.bench simulate``."""
from __future__ import annotations

import argparse
import sys
import time
import warnings

import numba
import numpy as np

from .simulate import simulate_chr_details

#: The realistic glass of the simulator page (Se; Svoboda's values, rounded).
SE = (356e3, -133.0, 0.52, 0.65)


def _timed(fn, repeat: int = 1) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_simulate(n_batch: int = 400, seed: int = 0) -> dict:
    """ms per sample of the fast simulator (batched, all cores) and of the exact direct sum,
    on the paper's program: six CHR cycles, grid -250..1600 °C at 0.1 K."""
    threads = numba.get_num_threads()
    rng = np.random.default_rng(seed)
    xb = np.round(rng.uniform(0.2, 1.0, size=(n_batch, 2)) / 0.02) * 0.02
    batch = np.column_stack([np.full(n_batch, SE[0]), np.full(n_batch, SE[1]), xb])
    se = np.array([SE])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        simulate_chr_details(batch[:threads * 2])  # compile and fill the Prony cache
        simulate_chr_details(batch)
        fast_batch_s = _timed(lambda: simulate_chr_details(batch), repeat=3)
        numba.set_num_threads(1)
        try:
            fast_one_s = _timed(lambda: simulate_chr_details(se), repeat=20)
            window = simulate_chr_details(se).window_C[0]
            simulate_chr_details(se, step=1.0, method="exact", cycle_min=window[0], cycle_max=window[1])
            exact_one_s = _timed(lambda: simulate_chr_details(se, method="exact", cycle_min=window[0],
                                                              cycle_max=window[1]), repeat=2)
        finally:
            numba.set_num_threads(threads)
    per_sample_ms = 1e3 * fast_batch_s / n_batch
    figures = {
        "threads": threads,
        "batch_size": n_batch,
        "fast_batch_ms_per_sample": per_sample_ms,
        "fast_batch_ms_per_sample_per_core": per_sample_ms * threads,
        "fast_se_ms": 1e3 * fast_one_s,
        "exact_se_ms": 1e3 * exact_one_s,
        "ratio_exact_over_fast_se": exact_one_s / fast_one_s,
        "ratio_exact_over_fast_batch_per_core": 1e3 * exact_one_s / (per_sample_ms * threads),
        "se_window_C": tuple(float(w) for w in window),
    }
    print("Simulator benchmark: paper program (6 CHR cycles, -250..1600 °C grid, 0.1 K steps)")
    print(f"  numba threads                        {threads}")
    print(f"  fast, batched ({n_batch} Se-like x, beta)  {per_sample_ms:8.3f} ms/sample   "
          f"{per_sample_ms * threads:8.3f} ms/sample/core")
    print(f"  fast, one sample (Se, 1 thread)      {1e3 * fast_one_s:8.3f} ms")
    print(f"  exact, one sample (Se, 1 thread)     {1e3 * exact_one_s:8.1f} ms")
    print(f"  ratio exact / fast (same sample)     {exact_one_s / fast_one_s:8.0f} x")
    print(f"  ratio exact / fast batched per core  {figures['ratio_exact_over_fast_batch_per_core']:8.0f} x")
    print(f"  Se cycle window                      {window[0]:.1f} .. {window[1]:.1f} °C")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("simulate", help="fast vs exact simulator, ms per sample")
    p.add_argument("--batch", type=int, default=400, help="samples in the batched run (default 400)")
    args = parser.parse_args(argv)
    if args.what == "simulate":
        bench_simulate(args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
