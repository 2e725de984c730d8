"""``tnm assess-independent``: the whole-space estimator on copies it did not make (beyond the
paper, part 2; no inverse crime).

The whole-space assessment (:mod:`tnmlib.pipeline.assess`) reads curves made by the simulator,
grid recipe and instrument model the fit itself uses: at the truth a clean curve's residual is
rounding.  Here each test sample of the whole space (drawn with seeds the network never saw) is
measured as a DSC would measure it, by another route:

- **Simulator**: the Prony staircase at two jumps extrapolated to zero jump
  (:func:`tnmlib.physics.simulate.simulate_program_reference`), not the fit's continuous marcher,
  on its own fine uniform grid (a 2000th of the transition range, at most 0.05 K; halving it
  changes a copy by less than 1e-3, tested).
- **Program**: per cooling rate, cool from equilibrium at the top of the scan, hold
  0.5–3 min, then heat, the sample's rate building up as q·(1 − exp(−t/τ)) with τ 3–6 s (the
  start-up transient, as a staircase of short ramps); the recorded scan starts 0.4–0.7 min into
  the heating, where the instrument has settled.  The fit assumes a cycle that turns at the
  first recorded point, without hold or start-up.
- **Span and rows**: the scan starts 0.1–0.6 transition ranges below the transition (minus the
  start-up) and ends 0–0.3 ranges above it (the estimator's recipe: 0.15 each side); rows every
  0.02–0.5 K (log-uniform per sample) with ±30 % jitter, at most about 1,500 per scan, each the
  signal at its temperature.
- **Instrument**, kind "noisy-lag": a first-order sensor lag of 1–5 s, Gaussian noise of 1 % of
  the Cp jump on every row, a baseline tilt of ±2 % of the jump per 100 K (zero at the
  transition's middle) and the rest of the heat-flow start-up, up to 5 % of the jump decaying with
  τ; kind "clean": none of these.  (The ranges of span, rows and instrument are study.yaml's
  ``measurement_variety``; the estimator's network trains on the same variety.)

:func:`assess_independent` reads every copy with the constant predictor, the network alone and
the network refined by least squares (on "noisy-lag" the lag fitted and each scan's glass and
liquid lines refined, as a practitioner fits a tilted baseline), and records per (kind,
estimator, sample) what :mod:`tnmlib.pipeline.results` keeps, plus the draw of every sample.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import xarray as xr

from ..analysis import metrics
from ..errors import TNMInputError
from ..estimation.network import NetworkEstimator, default_network_path, fit_scans
from ..fingerprint import source_hash
from ..physics.constants import ZERO_CELSIUS_K
from ..physics.instrument import instrument_lag, recorded_residue, uneven_rows
from ..physics.program import Hold, Program, Ramp
from ..physics.simulate import program_reference_scans
from ..physics.transition import TRANSITION_MARGIN, simulate_transition_scans
from ..study.design import CP_MAX_LIMIT, ESTIMATOR, MEASUREMENT_VARIETY
from ..study.parameters import PARAMETER_NAMES
from ..study.statespace import draw_whole_space
from .estimator import HEATING, RATES
from .results import STATUSES, EstimateTable, cached_results, core_seconds, load_results, save_results

KINDS = ("clean", "noisy-lag")
CONSTANT, NETWORK, REFINED = "constant", "new network", "new network + least squares"
METHODS = (CONSTANT, NETWORK, REFINED)
#: Seeds of the test draws (the network trained on ESTIMATOR.draw_seed, the same-simulator
#: assessment reads seed 2).
SEEDS = (11, 12, 13)
#: How the copies are measured (study.yaml's measurement_variety).
VARIETY = MEASUREMENT_VARIETY
#: The reference's grid step: this fraction of the transition range, at most REFERENCE_STEP_MAX_K;
#: REFERENCE_SUBSTEPS jumps per step (the fine pass halves them).
REFERENCE_STEP_FRACTION, REFERENCE_STEP_MAX_K, REFERENCE_SUBSTEPS = 1 / 2000, 0.05, 10
#: The coldest a cycle goes (°C): 5 K.
LOWEST_C = 5.0 - ZERO_CELSIUS_K
#: Start-up: pieces of the rate's build-up (each STARTUP_PIECE_TAU time constants long) before
#: the steady ramp.
STARTUP_PIECES, STARTUP_PIECE_TAU = 8, 0.5
#: Points of the fast simulation that finds each sample's transition range (and its Cp_max).
RANGE_POINTS = 256


@dataclass(frozen=True)
class CopyDraw:
    """How one test sample is measured (temperatures °C, times min, rates K/min)."""

    seed: int
    sample: int
    transition_first_C: float
    transition_last_C: float
    T_low_C: float
    T_high_C: float
    hold_low_min: float
    startup_tau_min: float
    cut_min: float
    row_spacing_K: float
    lag_s: float
    tilt_per_100K: float
    startup_residue: float

    @property
    def range_K(self) -> float:
        return self.transition_last_C - self.transition_first_C

    @property
    def reference_step_K(self) -> float:
        return min(REFERENCE_STEP_MAX_K, REFERENCE_STEP_FRACTION * self.range_K)


def startup_heating_K(t_min: float, tau_min: float) -> float:
    """How far (K) the sample has heated ``t_min`` minutes into a heating whose rate builds up as
    q·(1 − exp(−t/τ)): q·(t − τ(1 − exp(−t/τ)))."""
    return HEATING * (t_min - tau_min * (1.0 - math.exp(-t_min / tau_min)))


def draw_copy(seed: int, sample: int, transition_C: tuple[float, float], kind: str) -> CopyDraw:
    """The measurement of test sample ``sample`` of draw ``seed`` whose transition spans
    ``transition_C`` (°C): span, rows and start-up are drawn per sample (the same for both
    kinds), the instrument per kind (module docstring)."""
    if kind not in KINDS:
        raise TNMInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    first, last = (float(v) for v in transition_C)
    length = last - first
    v = VARIETY
    rng = np.random.default_rng([seed, sample])
    tau = rng.uniform(*v.startup_tau_min)
    cut = max(rng.uniform(*v.cut_min), STARTUP_PIECES * STARTUP_PIECE_TAU * tau)  # rows after the start-up
    startup_K = startup_heating_K(cut, tau)  # sample heating before the first row
    # a glass former of the paper's lowest corner (transitions near −245 °C) is cooled to at most
    # 5 K above absolute zero
    T_low = max(first - rng.uniform(*v.below_transition) * length - startup_K, LOWEST_C)
    T_high = last + rng.uniform(*v.above_transition) * length
    spacing = math.exp(rng.uniform(*np.log(v.row_spacing_K)))
    hold = rng.uniform(*v.hold_min)
    noisy = np.random.default_rng([seed, sample, 1 + KINDS.index(kind)])
    instrument = kind == "noisy-lag"
    return CopyDraw(seed=int(seed), sample=int(sample), transition_first_C=first, transition_last_C=last,
                    T_low_C=T_low, T_high_C=T_high, hold_low_min=hold, startup_tau_min=tau, cut_min=cut,
                    row_spacing_K=spacing,
                    lag_s=noisy.uniform(*v.lag_s) if instrument else 0.0,
                    tilt_per_100K=noisy.uniform(-v.tilt_per_100K_max, v.tilt_per_100K_max) if instrument else 0.0,
                    startup_residue=noisy.uniform(0.0, v.startup_residue_max) if instrument else 0.0)


def copy_program(draw: CopyDraw) -> tuple[Program, list[int]]:
    """The program the sample follows (from equilibrium at T_high) and the index of each
    heating scan's steady ramp: per cooling rate (the paper's, in its order), cool to T_low,
    hold, build the heating rate up in STARTUP_PIECES short ramps, then heat steadily to T_high."""
    tau = draw.startup_tau_min
    segments, steady = [], []
    for q in RATES:
        segments += [Ramp(draw.T_low_C, float(q)), Hold(60.0 * draw.hold_low_min)]
        T = draw.T_low_C
        for k in range(STARTUP_PIECES):
            t0, t1 = k * STARTUP_PIECE_TAU * tau, (k + 1) * STARTUP_PIECE_TAU * tau
            # the sample's temperature at the piece's ends on the path q·(t − τ(1 − e^(−t/τ)))
            T1 = draw.T_low_C + startup_heating_K(t1, tau)
            segments.append(Ramp(T1, (T1 - T) / (t1 - t0)))
            T = T1
        steady.append(len(segments))
        segments.append(Ramp(draw.T_high_C, HEATING))
    return Program(draw.T_high_C, tuple(segments)), steady


def first_row_C(draw: CopyDraw) -> float:
    """Where the recorded scan starts (°C): the sample's temperature cut_min into the heating."""
    return draw.T_low_C + startup_heating_K(draw.cut_min, draw.startup_tau_min)


def copy_rows_C(draw: CopyDraw) -> np.ndarray:
    """The recorded temperatures (°C): uneven rows from :func:`first_row_C` to T_high."""
    return uneven_rows(first_row_C(draw), draw.T_high_C, draw.row_spacing_K, VARIETY.row_jitter, VARIETY.max_rows,
                       np.random.default_rng([draw.seed, draw.sample, 7]))


def reference_copy(params, draw: CopyDraw, kind: str, step_K: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows T °C (n_T,), Cp^N (6, n_T)) of one test sample (dh J/mol, ln A, x, β) measured as
    ``draw`` and ``kind`` say, by the independent reference at ``step_K`` (default the draw's)."""
    step = float(step_K or draw.reference_step_K)
    program, steady = copy_program(draw)
    rows = copy_rows_C(draw)
    cp = np.empty((len(steady), rows.size))
    scans = program_reference_scans(program, params, steady, step=step, substeps=REFERENCE_SUBSTEPS)
    for j, (T_mid_C, scan) in enumerate(scans):
        if rows[0] < T_mid_C[0] - step:
            raise ValueError("the first recorded row lies inside the start-up")  # draw_copy prevents it
        if draw.lag_s:
            scan = instrument_lag(scan, draw.lag_s, float(np.mean(np.diff(T_mid_C))), HEATING)
        cp[j] = np.interp(rows, T_mid_C, scan)
    if kind == "noisy-lag":
        rng = np.random.default_rng([draw.seed, draw.sample, 11])
        middle = 0.5 * (draw.transition_first_C + draw.transition_last_C)
        elapsed_min = draw.cut_min + (rows - rows[0]) / HEATING
        cp = (cp + recorded_residue(rows, middle, draw.tilt_per_100K, draw.startup_residue, elapsed_min,
                                    draw.startup_tau_min)
              + rng.normal(0.0, VARIETY.noise_fraction, cp.shape))
    return rows, cp


def transition_ranges(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per parameter set (n, 4): the transition range (n, 2) in °C (where a heating scan moves by
    more than 1e-3 from glass and liquid, by the fast simulator) and Cp_max (n,)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scans = simulate_transition_scans(params, n_points=RANGE_POINTS, margin=TRANSITION_MARGIN)
    length = scans.step_K * (RANGE_POINTS - 1) / (1.0 + 2.0 * TRANSITION_MARGIN)
    first = scans.t_start_C + TRANSITION_MARGIN * length
    return np.column_stack([first, first + length]), scans.cp_max


_NETWORK_CACHE: dict = {}


def _one_sample(job) -> list:
    """All kinds of one sample in a worker: [(kind, draw, n_rows, network Estimate, refined Estimate)]."""
    params, seed, sample, transition, network_path = job
    if network_path not in _NETWORK_CACHE:
        _NETWORK_CACHE[network_path] = NetworkEstimator.load(network_path)
    network = _NETWORK_CACHE[network_path]
    out = []
    for kind in KINDS:
        draw = draw_copy(seed, sample, transition, kind)
        rows, cp = reference_copy(params, draw, kind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = core_seconds(network.estimate, rows, cp, RATES)
            instrument = kind == "noisy-lag"  # the lag fitted, each scan's lines refined (the tilt)
            refined = core_seconds(fit_scans, rows, cp, RATES, HEATING, network=network, fit_lag=instrument,
                                   free_lines=instrument)
        out.append((kind, draw, rows.size, start, refined))
    return out


def _fingerprint(network_path: Path, settings: dict) -> str:
    parts = [settings, hashlib.sha256(network_path.read_bytes()).hexdigest(), source_hash("independent")]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def assess_independent(network_path: str | Path | None, out_path: str | Path, *, samples_per_seed: int,
                       seeds=SEEDS, workers: int | None = None, progress: bool = True) -> xr.Dataset:
    """Draw ``samples_per_seed`` whole-space samples for each of ``seeds``, measure every kept one
    (Cp_max <= the study's limit) as :func:`reference_copy` does for each of :data:`KINDS`, and
    read it with :data:`METHODS`.  Saved to ``out_path`` (.nc; dims kind, estimator, sample,
    parameter) and reused while the inputs and the code are unchanged."""
    network_path = Path(network_path) if network_path is not None else default_network_path()
    out_path = Path(out_path)
    if not network_path.is_file():
        raise TNMInputError(f"no network at {network_path} (run make estimator)")
    seeds = [int(s) for s in seeds]
    if samples_per_seed < 1 or not seeds:
        raise TNMInputError("samples_per_seed must be positive and at least one seed given")
    settings = {"samples_per_seed": int(samples_per_seed), "seeds": seeds, "kinds": list(KINDS)}
    fingerprint = _fingerprint(network_path, settings)
    cached = cached_results(out_path, fingerprint, progress)
    if cached is not None:
        return cached

    t0 = time.perf_counter()
    workers = workers or min(2, os.cpu_count() or 1)
    true = np.concatenate([draw_whole_space(samples_per_seed, s) for s in seeds])
    seed_of = np.repeat(seeds, samples_per_seed)
    index_in_seed = np.tile(np.arange(samples_per_seed), len(seeds))
    transition, cp_max = transition_ranges(true)
    kept = metrics.keep_mask(cp_max)
    n = true.shape[0]
    results = EstimateTable(len(KINDS), list(METHODS), n, fits=True)
    constant = np.median(draw_whole_space(10_000, ESTIMATOR.draw_seed), axis=0)
    for c in range(len(KINDS)):
        results.record_all(c, CONSTANT, constant, 0.0)
    draw_fields = [f for f in CopyDraw.__dataclass_fields__ if f not in ("seed", "sample")]
    draws = {f: np.full((len(KINDS), n), np.nan) for f in draw_fields}
    n_rows = np.zeros((len(KINDS), n), dtype=np.int64)
    rows_kept = np.nonzero(kept)[0]
    jobs = [(true[k], int(seed_of[k]), int(index_in_seed[k]), tuple(transition[k]), str(network_path))
            for k in rows_kept]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for done, (k, outcome) in enumerate(zip(rows_kept, pool.map(_one_sample, jobs, chunksize=4)), start=1):
            for kind, draw, size, start, refined in outcome:
                c = KINDS.index(kind)
                results.record(c, NETWORK, [k], [start])
                results.record(c, REFINED, [k], [refined])
                for f in draw_fields:
                    draws[f][c, k] = getattr(draw, f)
                n_rows[c, k] = size
            if progress and (done % max(1, len(jobs) // 20) == 0 or done == len(jobs)):
                print(f"  {done:,} of {len(jobs):,} samples measured and read, {time.perf_counter() - t0:.0f} s",
                      flush=True)

    result = xr.Dataset(
        {**results.data_vars("kind"),
         "true": (("sample", "parameter"), true, {"long_name": "true parameters (dh J/mol, ln A, x, beta)"}),
         "cp_max": ("sample", cp_max),
         "kept": ("sample", kept, {"long_name": f"Cp_max <= {CP_MAX_LIMIT:g}"}),
         "seed": ("sample", seed_of), "index_in_seed": ("sample", index_in_seed),
         "n_rows": (("kind", "sample"), n_rows, {"long_name": "recorded rows per scan"}),
         **{f"draw_{f}": (("kind", "sample"), v) for f, v in draws.items()}},
        coords={"kind": list(KINDS), "estimator": list(METHODS), "parameter": list(PARAMETER_NAMES)},
        attrs={"network": str(network_path), "fingerprint": fingerprint, "statuses": json.dumps(list(STATUSES)),
               "settings": json.dumps(settings), "constant_prediction": json.dumps(constant.tolist()),
               "workers": int(workers), "seconds": time.perf_counter() - t0,
               "draw_units": json.dumps({f: ("°C" if f.endswith("_C") else "min" if f.endswith("_min") else
                                             "K" if f.endswith("_K") else "s" if f.endswith("_s") else "")
                                         for f in draw_fields})})
    save_results(result, out_path)
    return result


def load_independent(path: str | Path) -> xr.Dataset:
    """A finished independent assessment (``tnm assess-independent``), loaded into memory."""
    return load_results(path, "independent assessment", "make independent (or tnm assess-independent)")


def draw_of(ds: xr.Dataset, kind: str, sample: int) -> CopyDraw:
    """The :class:`CopyDraw` of one sample of an assessment file (to re-measure it)."""
    c = list(ds["kind"].values).index(kind)
    fields = {f: float(ds[f"draw_{f}"].values[c, sample]) for f in CopyDraw.__dataclass_fields__
              if f not in ("seed", "sample")}
    return CopyDraw(seed=int(ds["seed"].values[sample]), sample=int(ds["index_in_seed"].values[sample]), **fields)


__all__ = ["KINDS", "METHODS", "SEEDS", "CopyDraw", "draw_copy", "copy_program", "copy_rows_C", "first_row_C",
           "reference_copy", "transition_ranges", "assess_independent", "load_independent", "draw_of"]
