"""TNM simulation of DSC heating scans: the public simulator API.

Units: dh in J/mol, ln_a = ln(A/s), temperatures in °C, rates in K/min, step in K.
The signal of a heating scan is sampled on the grid T_i = t_min + i*step; the value at T_i
is the bin average (Tf(T_i) - Tf(T_i - step)) / step, exactly 0 below and 1 above the simulated
window.

Three methods:

- ``fast`` (default): the continuous ramp.  Prony modes advanced by an exponential integrator
  along each linear ramp, with steps that follow the transition (``ln_tau_step``: the change of
  ln tau per step), independent of the output grid; Tf on the grid by Hermite interpolation.
- ``exact``: the paper's Eq. 4 as written, a staircase of jumps of one grid step each followed by
  its hold, summed directly (O(N^2)).  Its error is first order in step / transition width.
- ``staircase``: the same staircase with the Prony recursion, jumps of step/``substeps``.
  :func:`simulate_chr_reference` extrapolates two of them to zero jump: the independent
  reference of the continuous limit.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import xarray as xr

from ..errors import TNMInputError
from . import kernels
from .constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from .grid import SignalGrid
from ..study.protocol import (PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN, PAPER_STEP_K,
                              PAPER_T_MAX_C, PAPER_T_MIN_C)
from .program import Program
from .prony import prony_series
#: Adaptive cycle windows: each heating scan starts within this of 0 and ends within it of 1.
WINDOW_TOLERANCE = 1e-3
#: User-given cycle bounds must bracket the transition to within this (else: error).
BRACKET_TOLERANCE = 1e-2
#: method name -> kernel code
METHODS = {"fast": kernels.METHOD_CONTINUOUS, "exact": kernels.METHOD_EXACT_STAIRCASE,
           "staircase": kernels.METHOD_PRONY_STAIRCASE}
#: Default change of ln tau per internal step of the fast simulator: max |dCp^N| about 4e-4
#: against the continuous limit where Cp^N stays below 6 (the error falls as its square).
LN_TAU_STEP = 0.05
#: simulate_program's step in ln τ: programs with long holds make overshoot peaks of Cp^N = 5-10,
#: where 0.05 leaves 2.5e-3 against the extrapolated staircase and 0.01 leaves 2e-4
#: (tests/physics/test_program_continuous.py); a program is one sample, so the cost (~2 ms) is no matter.
PROGRAM_LN_TAU_STEP = 0.01
#: Smallest β the simulators accept: below it the KWW spectrum spans so many decades that the
#: Prony series (and the adaptive window built on it) would need thousands of modes.
BETA_MIN = 0.1
#: Largest number of history steps a simulation may have (memory guard; ~10 MB per sample).
MAX_STEPS = 2_000_000
_AUTO = -(2 ** 62)


class WindowWarning(UserWarning):
    """The signal of some parameter sets does not fit the grid or its window search failed."""


@dataclass(frozen=True)
class BatchResult:
    """Output of :func:`simulate_chr_details`.

    cp : (n, n_rates, n_T) Cp^N on the grid; tf_prime_C : (n, n_rates) fictive temperature
    at the start of each heating scan (°C); window_C : (n, 2) cycle bounds used (°C);
    edge : (n, 2) max |Cp^N| at the first and |Cp^N - 1| at the last heating step;
    status : (n,) kernels.STATUS_* code.
    """

    cp: np.ndarray
    tf_prime_C: np.ndarray
    window_C: np.ndarray
    edge: np.ndarray
    status: np.ndarray


def _continuous_program_tf(program: Program, history, dh_R: float, ln_a: float, x: float, beta: float,
                           ln_tau_step: float) -> np.ndarray:
    """Tf (K) at the history's points, the program followed in the continuous limit."""
    from .program import Ramp

    kinds, targets, rates, offsets = [], [], [], [0]
    points = np.empty(history.T_K.size)
    for k, seg in enumerate(program.segments):
        mine = np.nonzero(history.segment == k)[0]
        if isinstance(seg, Ramp):
            kinds.append(0)
            targets.append(seg.to_C + ZERO_CELSIUS_K)
            rates.append(seg.rate_K_per_min / 60.0)
            points[mine] = history.T_K[mine]
        else:
            kinds.append(1)
            targets.append(seg.duration_s)
            rates.append(0.0)
            points[mine] = np.cumsum(history.dt_s[mine])
        offsets.append(offsets[-1] + mine.size)
    if not np.all(np.diff(history.segment) >= 0):
        raise TNMInputError("the program's steps are out of order")
    s = prony_series(beta)
    start = program.start_C + ZERO_CELSIUS_K
    tf, _ = kernels.program_tf(ln_a, dh_R, x, s.weights, s.chains, s.ln_tau_max, start,
                               np.array(kinds, dtype=np.int64), np.array(targets, dtype=float),
                               np.array(rates, dtype=float), np.array(offsets, dtype=np.int64), points, ln_tau_step,
                               np.empty(0), kernels.LATTICE_ADAPT)
    return tf


def program_scans(program: Program, params, ramps: Sequence[int], T_C: np.ndarray, step_K: float,
                  ln_tau_step: float = PROGRAM_LN_TAU_STEP, lattice: np.ndarray | None = None) -> np.ndarray:
    """Cp^N (n_scans, n_T) of one parameter set on the heating ramps ``ramps`` (indices into
    ``program.segments``) of a program followed in the continuous limit, as bin averages
    (Tf(T) − Tf(T − step))/step on the increasing grid ``T_C`` (°C), which must lie within each
    ramp.  The whole program is one history: each scan remembers everything before it.
    ``lattice``: internal steps recorded by :func:`program_lattice` to take instead of choosing
    them (a smooth function of the parameters, for fits)."""
    return _program_scans(program, params, ramps, T_C, step_K, ln_tau_step, lattice)[0]


def _recorded(march) -> tuple[np.ndarray, object]:
    """(internal steps, output) of ``march(buffer) -> (output, steps)`` run with LATTICE_RECORD
    into a buffer that is enlarged and the march rerun until the steps fit."""
    buffer, steps = np.empty(0), 4096
    while steps > buffer.size:
        buffer = np.empty(2 * steps)
        output, steps = march(buffer)
    return buffer[:steps].copy(), output


def program_lattice(program: Program, params, ramps: Sequence[int], T_C: np.ndarray, step_K: float,
                    ln_tau_step: float = PROGRAM_LN_TAU_STEP) -> np.ndarray:
    """The internal steps (K along ramps, s within holds, in the order taken) that
    :func:`program_scans` chooses for ``params``: replayed at other parameters, they make the
    scans a smooth function of the parameters (no step is chosen or retaken)."""
    return _program_scans(program, params, ramps, T_C, step_K, ln_tau_step, None, record=True)[1]


def _program_scans(program, params, ramps, T_C, step_K, ln_tau_step, lattice, record=False):
    """(scans, recorded lattice or None) of :func:`program_scans`."""
    from .program import Ramp

    (dh, ln_a, x, beta), = check_parameters(np.asarray(params, dtype=float)[None, :4])
    T_C = np.asarray(T_C, dtype=float)
    below = T_C - step_K
    kinds, targets, rates, offsets, points, where = [], [], [], [0], [], {}
    T_now = program.start_C
    for k, seg in enumerate(program.segments):
        if isinstance(seg, Ramp):
            kinds.append(0)
            targets.append(seg.to_C + ZERO_CELSIUS_K)
            rates.append(seg.rate_K_per_min / 60.0)
            if k in ramps:
                if not (seg.to_C > T_now and below[0] >= T_now - 1e-9 and T_C[-1] <= seg.to_C + 1e-9):
                    raise TNMInputError(f"segment {k} of the program is not a heating ramp over "
                                        f"[{below[0]:.2f}, {T_C[-1]:.2f}] °C")
                mine = np.unique(np.concatenate([below, T_C])) + ZERO_CELSIUS_K
                where[k] = (offsets[-1], mine)
                points.append(mine)
            T_now = seg.to_C
        else:
            kinds.append(1)
            targets.append(seg.duration_s)
            rates.append(0.0)
        offsets.append(offsets[-1] + (points[-1].size if k in where and where[k][0] == offsets[-1] else 0))
    missing = [k for k in ramps if k not in where]
    if missing:
        raise TNMInputError(f"segments {missing} of the program are not ramps")
    s = prony_series(beta)
    all_points = np.concatenate(points) if points else np.empty(0)
    args = (ln_a, dh / R_J_PER_MOL_K, x, s.weights, s.chains, s.ln_tau_max, program.start_C + ZERO_CELSIUS_K,
            np.array(kinds, dtype=np.int64), np.array(targets, dtype=float), np.array(rates, dtype=float),
            np.array(offsets, dtype=np.int64), all_points, ln_tau_step)
    if record:
        lattice, tf = _recorded(lambda buffer: kernels.program_tf(*args, buffer, kernels.LATTICE_RECORD))
    elif lattice is not None:
        tf, _ = kernels.program_tf(*args, np.asarray(lattice, dtype=float), kernels.LATTICE_REPLAY)
    else:
        tf, _ = kernels.program_tf(*args, np.empty(0), kernels.LATTICE_ADAPT)
    out = np.empty((len(ramps), T_C.size))
    for j, k in enumerate(ramps):
        start, mine = where[k]
        tf_k = tf[start:start + mine.size]
        out[j] = (np.interp(T_C + ZERO_CELSIUS_K, mine, tf_k) - np.interp(below + ZERO_CELSIUS_K, mine, tf_k)) / step_K
    return out, (lattice if record else None)


def simulate_program_reference(program: Program, dh: float, ln_a: float, x: float, beta: float, *,
                               step: float = PAPER_STEP_K, substeps: int = 20,
                               hold_substeps: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """The continuous limit of a program by an independent route: the Prony staircase with jumps
    step/substeps and step/(2·substeps) (holds in ``hold_substeps`` and twice as many log-spaced
    sub-holds), extrapolated to zero jump (Richardson, 2·fine − coarse), read at the points of
    ``program.discretise(step)`` at the end of each jump's hold.  Slow: for tests.

    Returns (Tf in K at those points, max |fine − coarse|)."""
    (dh, ln_a, x, beta), = check_parameters([[dh, ln_a, x, beta]])
    s = prony_series(beta)
    dh_R = dh / R_J_PER_MOL_K
    target = program.discretise(step)
    results = []
    for n in (substeps, 2 * substeps):
        history = _split_jumps(program.discretise(step, hold_substeps=hold_substeps * n // substeps), n)
        tf = kernels.fast_tf(history.T_K, history.dT_K, history.dt_s, ln_a, dh_R, x, s.weights, s.chains,
                             s.ln_tau_max)
        picked = np.empty(target.T_K.size)
        for k in np.unique(target.segment):
            want = np.nonzero(target.segment == k)[0]
            have = np.nonzero(history.segment == k)[0]
            if np.any(target.dT_K[want] != 0):  # a ramp: every n-th jump lands on the coarse points
                picked[want] = tf[have[n - 1::n]]
            else:  # a hold: Tf interpolated in log time at the coarse points
                t_have = np.cumsum(history.dt_s[have])
                t_want = np.cumsum(target.dt_s[want])
                picked[want] = np.interp(np.log(t_want), np.log(t_have), tf[have])
        results.append(picked)
    coarse, fine = results
    return 2.0 * fine - coarse, np.abs(fine - coarse)


def program_reference_scans(program: Program, params, ramps: Sequence[int], *, step: float,
                            substeps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cp^N along the heating ramps ``ramps`` (indices into ``program.segments``) by
    :func:`simulate_program_reference` at ``step`` (K) and ``substeps``: per ramp, (T °C at the
    midpoints of its steps, the slope dTf/dT there), each ramp's first step from the point
    before it."""
    tf_K, _ = simulate_program_reference(program, *params, step=step, substeps=substeps)
    history = program.discretise(step)
    out = []
    for index in ramps:
        mine = np.nonzero(history.segment == index)[0]
        T = np.concatenate([[history.T_K[mine[0] - 1]], history.T_K[mine]])
        tf = np.concatenate([[tf_K[mine[0] - 1]], tf_K[mine]])
        out.append((0.5 * (T[1:] + T[:-1]) - ZERO_CELSIUS_K, np.diff(tf) / np.diff(T)))
    return out


def _split_jumps(history, n: int):
    """``history`` with every ramp jump cut into ``n`` equal jumps (holds as they are): the coarse
    points stay on the path whatever the span, so every n-th fine jump lands on one."""
    from .program import History

    ramp = history.dT_K != 0
    repeat = np.where(ramp, n, 1)
    dT = np.repeat(np.where(ramp, history.dT_K / n, 0.0), repeat)
    dt = np.repeat(np.where(ramp, history.dt_s / n, history.dt_s), repeat)
    start = history.T_K[0] - history.dT_K[0]
    return History(start + np.cumsum(dT), dT, dt, np.repeat(history.segment, repeat))


def check_parameters(params: np.ndarray) -> np.ndarray:
    """Validate an (n, 4) array of (dh J/mol, ln A, x, beta); returns it as float64."""
    try:
        params = np.asarray(params, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TNMInputError(f"parameters must be numbers: {exc}") from None
    if params.ndim == 1:
        params = params[None, :]
    if params.ndim != 2 or params.shape[1] != 4:
        raise TNMInputError(f"parameters must have shape (n, 4) as (dh, ln_A, x, beta), got {params.shape}")
    if not np.all(np.isfinite(params)):
        raise TNMInputError("parameters contain NaN or infinity")
    dh, _, x, beta = params.T
    if np.any(dh <= 0):
        raise TNMInputError(f"dh must be positive (J/mol), got {dh[dh <= 0][0]}")
    for name, values in (("x", x), ("beta", beta)):
        bad = (values <= 0) | (values > 1)
        if np.any(bad):
            raise TNMInputError(f"{name} must lie in (0, 1], got {values[bad][0]}")
    if np.any(beta < BETA_MIN):
        raise TNMInputError(f"beta below {BETA_MIN} is not supported (got {beta[beta < BETA_MIN][0]}): "
                            "its relaxation spans too many decades for the simulator")
    return params


def _check_rates(cooling_rates, heating_rate) -> tuple[np.ndarray, float]:
    try:
        cooling = np.asarray(cooling_rates, dtype=float).ravel()
        heating = float(heating_rate)
    except (TypeError, ValueError) as exc:
        raise TNMInputError(f"rates must be numbers: {exc}") from None
    if cooling.size == 0:
        raise TNMInputError("at least one cooling rate is needed")
    if not np.all(np.isfinite(cooling)) or np.any(cooling <= 0):
        raise TNMInputError(f"cooling rates must be positive (K/min), got {cooling.tolist()}")
    if not math.isfinite(heating) or heating <= 0:
        raise TNMInputError(f"heating rate must be positive (K/min), got {heating}")
    return cooling, heating


def prony_tables(betas: np.ndarray):
    """Pack the Prony series of the distinct betas for the batch kernel.

    Returns (beta_index per sample, weights (n_beta, max_modes), chains, ln_tau_max, n_modes).
    """
    unique, beta_index = np.unique(betas, return_inverse=True)
    series = [prony_series(float(b)) for b in unique]
    n_modes = np.array([s.weights.size for s in series], dtype=np.int64)
    weights = np.zeros((unique.size, n_modes.max()))
    for row, s in zip(weights, series):
        row[: s.weights.size] = s.weights
    chains = np.array([s.chains for s in series], dtype=np.int64)
    ln_tau_max = np.array([s.ln_tau_max for s in series])
    return beta_index.astype(np.int64), weights, chains, ln_tau_max, n_modes


def simulate_chr_details(params, *, cooling_rates: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                         heating_rate: float = PAPER_HEATING_RATE_K_PER_MIN,
                         t_min: float = PAPER_T_MIN_C, t_max: float = PAPER_T_MAX_C, step: float = PAPER_STEP_K,
                         cycle_min: float | None = None, cycle_max: float | None = None,
                         method: str = "fast", ln_tau_step: float = LN_TAU_STEP, substeps: int = 1,
                         dtype=np.float64, window_tolerance: float = WINDOW_TOLERANCE,
                         max_steps: int = MAX_STEPS) -> BatchResult:
    """Simulate the CHR heating scans of many parameter sets; everything the kernel reports.

    Same arguments as :func:`simulate_chr_batch`, plus ``substeps`` (jumps per grid step of the
    staircase methods), ``dtype`` of the returned signals, ``window_tolerance`` of the adaptive
    cycle window and ``max_steps``, the largest staircase history a user-given window may need.
    """
    params = check_parameters(params)
    cooling, heating = _check_rates(cooling_rates, heating_rate)
    grid = SignalGrid(float(t_min), float(t_max), float(step))
    if method not in METHODS:
        raise TNMInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not (math.isfinite(ln_tau_step) and 0.0 < ln_tau_step <= 1.0):
        raise TNMInputError(f"ln_tau_step must lie in (0, 1], got {ln_tau_step}")
    if int(substeps) != substeps or substeps < 1:
        raise TNMInputError(f"substeps must be a positive integer, got {substeps}")
    jump_K = grid.step_K / (substeps if method != "fast" else 1)
    fixed = []
    for name, value in (("cycle_min", cycle_min), ("cycle_max", cycle_max)):
        if value is None:
            fixed.append(_AUTO)
            continue
        value = float(value)
        if not math.isfinite(value) or value <= -ZERO_CELSIUS_K + grid.step_K:
            raise TNMInputError(f"{name} must be a temperature above absolute zero (°C), got {value}")
        fixed.append(grid.index_of(value))
    if cycle_min is not None and cycle_max is not None:
        if not fixed[0] < fixed[1]:
            raise TNMInputError(f"cycle_min ({cycle_min} °C) must be below cycle_max ({cycle_max} °C)")
        steps = 2 * (fixed[1] - fixed[0]) * cooling.size * (substeps if method != "fast" else 1)
        if method != "fast" and steps > max_steps:
            raise TNMInputError(f"cycles from {cycle_min} to {cycle_max} °C in jumps of {jump_K:g} K need "
                                f"{steps:,} steps (limit {max_steps:,}); narrow them or use a larger step")

    n = params.shape[0]
    dh, ln_a, x, beta = (np.ascontiguousarray(c) for c in params.T)
    beta_index, weights, chains, ln_tau_max, n_modes = prony_tables(beta)
    cp = np.empty((n, cooling.size, grid.n_T), dtype=dtype)
    tf_prime_K = np.empty((n, cooling.size))
    window = np.empty((n, 2), dtype=np.int64)
    edge = np.empty((n, 2))
    status = np.empty(n, dtype=np.int64)
    kernels.chr_batch(ln_a, dh / R_J_PER_MOL_K, x, beta, beta_index, weights, chains, ln_tau_max,
                      n_modes, cooling / 60.0, heating / 60.0, grid.t_min_C, grid.step_K, grid.n_T,
                      fixed[0], fixed[1], float(window_tolerance), METHODS[method], float(ln_tau_step),
                      int(substeps), cp, tf_prime_K, window, edge, status)
    window_C = grid.t_min_C + window * grid.step_K
    if cycle_min is not None or cycle_max is not None:
        bad = np.nonzero(((edge[:, 0] > BRACKET_TOLERANCE) & (cycle_min is not None))
                         | ((edge[:, 1] > BRACKET_TOLERANCE) & (cycle_max is not None)))[0]
        if bad.size:
            k = bad[0]
            raise TNMInputError(
                f"cycle bounds [{window_C[k, 0]:g}, {window_C[k, 1]:g}] °C do not bracket the glass "
                f"transition of parameter set {k}: the heating scans start at |Cp^N| = {edge[k, 0]:.3g} "
                f"and end at |Cp^N - 1| = {edge[k, 1]:.3g} (need both <= {BRACKET_TOLERANCE:g}); "
                "widen them or leave them out to choose them automatically")
    problems = np.count_nonzero(status != kernels.STATUS_OK)
    if problems:
        warnings.warn(f"{problems} of {n} parameter sets: signal not fully inside the grid "
                      f"[{grid.t_min_C:g}, {grid.t_max_C:g}] °C or window not settled to "
                      f"{window_tolerance:g} (see BatchResult.status)", WindowWarning, stacklevel=2)
    return BatchResult(cp, tf_prime_K - ZERO_CELSIUS_K, window_C, edge, status)


def simulate_chr_reference(params, windows_C, *, cooling_rates: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                           heating_rate: float = PAPER_HEATING_RATE_K_PER_MIN, t_min: float = PAPER_T_MIN_C,
                           t_max: float = PAPER_T_MAX_C, step: float = PAPER_STEP_K, jumps_per_width: float = 100.0,
                           peaks=None) -> tuple[np.ndarray, np.ndarray]:
    """The continuous-ramp limit by an independent route: Eq. 4's staircase extrapolated to zero jump.

    For each parameter set the Prony staircase is run inside its cycle window ``windows_C[k]`` =
    (cycle_min, cycle_max) in °C (e.g. :attr:`BatchResult.window_C` of a fast run) with jumps h
    and h/2, h = step/n the largest divisor of the grid step with at least ``jumps_per_width``
    jumps across the transition width R*T0**2/dh at the window's lower end, divided by the
    expected peak height ``peaks[k]`` where it exceeds 1 (a peak of Cp^N = 10 is about ten
    times narrower); Richardson's extrapolation
    2 Cp(h/2) - Cp(h) removes the staircase's first-order error.  Slow (O(N) in step/substeps):
    meant for tests and for the book, not for datasets.

    Returns (cp (n, n_rates, n_T), spread (n,)): the extrapolated Cp^N on the grid, and
    max |Cp(h/2) - Cp(h)| per set, an upper bound on the error left before extrapolation.
    """
    params = check_parameters(params)
    windows_C = np.asarray(windows_C, dtype=float).reshape(-1, 2)
    if windows_C.shape[0] != params.shape[0]:
        raise TNMInputError(f"need one window per parameter set, got {windows_C.shape[0]} for {params.shape[0]}")
    grid = SignalGrid(float(t_min), float(t_max), float(step))
    cp = np.empty((params.shape[0], len(np.ravel(cooling_rates)), grid.n_T))
    spread = np.empty(params.shape[0])
    kwargs = dict(cooling_rates=cooling_rates, heating_rate=heating_rate, t_min=t_min, t_max=t_max, step=step,
                  method="staircase")
    peaks = np.ones(params.shape[0]) if peaks is None else np.maximum(np.asarray(peaks, dtype=float), 1.0)
    for k, (p, (lo, hi)) in enumerate(zip(params, windows_C)):
        width_K = R_J_PER_MOL_K * (lo + ZERO_CELSIUS_K) ** 2 / p[0] / peaks[k]
        substeps = max(1, int(math.ceil(grid.step_K * jumps_per_width / width_K)))
        coarse = simulate_chr_details(p[None], cycle_min=lo, cycle_max=hi, substeps=substeps,
                                      max_steps=10 ** 9, **kwargs).cp[0]
        fine = simulate_chr_details(p[None], cycle_min=lo, cycle_max=hi, substeps=2 * substeps,
                                    max_steps=10 ** 9, **kwargs).cp[0]
        cp[k] = 2.0 * fine - coarse
        spread[k] = np.max(np.abs(fine - coarse))
    return cp, spread


def simulate_chr_batch(params, *, cooling_rates: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                       heating_rate: float = PAPER_HEATING_RATE_K_PER_MIN,
                       t_min: float = PAPER_T_MIN_C, t_max: float = PAPER_T_MAX_C, step: float = PAPER_STEP_K,
                       cycle_min: float | None = None, cycle_max: float | None = None,
                       method: str = "fast", ln_tau_step: float = LN_TAU_STEP) -> np.ndarray:
    """Cp^N heating scans of many parameter sets, in parallel (numba threads).

    Parameters
    ----------
    params : array (n, 4)
        Rows of (dh J/mol, ln A with A in s, x, beta).
    cooling_rates : K/min, one CHR cycle each (default: the paper's 0.5, 1, 2, 5, 10, 20).
    heating_rate : K/min of every heating scan (default 10).
    t_min, t_max, step : the signal grid in °C and K.
    cycle_min, cycle_max : cycle bounds T0, T1 (°C); None chooses them per parameter set so
        that every heating scan starts in the glass and ends in the liquid.
    method : "fast" (the continuous ramp, default), "exact" (the staircase of Eq. 4 at the grid
        step, summed directly, O(N^2)) or "staircase" (the same with the Prony recursion).
    ln_tau_step : change of ln tau per internal step of "fast" (default 0.05); the error
        against the continuous limit falls as its square.

    Returns
    -------
    numpy array (n, n_rates, n_T) of Cp^N (dimensionless).
    """
    return simulate_chr_details(params, cooling_rates=cooling_rates, heating_rate=heating_rate,
                                t_min=t_min, t_max=t_max, step=step, cycle_min=cycle_min,
                                cycle_max=cycle_max, method=method, ln_tau_step=ln_tau_step).cp


#: Most internal steps a ramp of FrozenChr may take (the tallest peaks of the state space need
#: about a tenth of it; see kernels.march_ramp for what it stops).
FROZEN_RAMP_BUDGET = 200_000


class FrozenChr:
    """CHR heating scans of one parameter set at a time on the uniform grid t_min_C + i·step_K
    (i < n_T), with the continuous march's internal steps and cycle bounds frozen: recorded where
    :meth:`freeze` is called (the adaptive simulator's own choice there, its cycle window widened
    threefold) and replayed at every other parameter set.  Nothing is chosen or retaken
    per call, so the scans are a smooth function of the parameters — what finite-difference
    Jacobians and a least-squares fit need (the adaptive simulator's output jumps by ~1e-4 in
    Cp^N when a parameter moves at all) — and as accurate as the adaptive simulator near the
    parameters it was frozen at.  Before the first :meth:`freeze`, a call freezes at its own
    parameters."""

    def __init__(self, t_min_C: float, step_K: float, n_T: int,
                 cooling_rates: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                 heating_rate: float = PAPER_HEATING_RATE_K_PER_MIN, ln_tau_step: float = LN_TAU_STEP):
        self.cooling, self.heating = _check_rates(cooling_rates, heating_rate)
        self.t_min_C, self.step_K, self.n_T = float(t_min_C), float(step_K), int(n_T)
        self.ln_tau_step = float(ln_tau_step)
        self.lattice: np.ndarray | None = None
        self._window = (0, self.n_T - 1)
        self._budget = float(FROZEN_RAMP_BUDGET)
        self._ceiling = kernels.CP_MAX_REFINE_CEILING

    def freeze(self, params, peak_ceiling: float = kernels.CP_MAX_REFINE_CEILING,
               ramp_budget: int = FROZEN_RAMP_BUDGET) -> None:
        """Record the internal steps the adaptive simulator takes at ``params`` (dh J/mol, ln A, x, β),
        its steps for a peak of Cp^N at most ``peak_ceiling`` tall (a lower ceiling: fewer steps,
        less accurate beyond it; the adaptive simulator's own is kernels.CP_MAX_REFINE_CEILING),
        at most about ``ramp_budget`` per ramp (kernels.march_ramp)."""
        p = check_parameters(np.asarray(params, dtype=float)[None, :4])[0]
        s = prony_series(float(p[3]))
        # the adaptive simulator's window (kernels.chr_sample: within a quarter of the grid beyond
        # it), widened by its own span on either side, so that the cycles still bracket the
        # transition when the parameters move it by a few widths (not to the whole grid: on the
        # paper's grid, -250 to 1600 °C, cycles down to 23 K cost 1e5 steps a ramp)
        lo_K, hi_K, _ = kernels.chr_window_K(float(p[1]), float(p[0]) / R_J_PER_MOL_K, float(p[2]), float(p[3]),
                                            s.weights, s.chains, s.ln_tau_max, self.cooling / 60.0,
                                            self.heating / 60.0, WINDOW_TOLERANCE)
        reach = (self.n_T - 1) // 4
        lo = (lo_K - ZERO_CELSIUS_K - self.t_min_C) / self.step_K if math.isfinite(lo_K) else -reach
        hi = (hi_K - ZERO_CELSIUS_K - self.t_min_C) / self.step_K if math.isfinite(hi_K) else self.n_T - 1 + reach
        floor_idx = int(math.ceil((1.0 - ZERO_CELSIUS_K - self.t_min_C) / self.step_K))
        lo, hi = int(math.floor(lo)), int(math.ceil(hi))
        span = max(hi - lo, 2)
        lo = min(max(lo - span, -reach, floor_idx), self.n_T - 3 + reach)
        # a transition beyond the grid's reach (a wild step of a fit) still gets cycles
        self._window = (lo, max(min(hi + span, self.n_T - 1 + reach), lo + 2))
        self._budget = float(ramp_budget)
        # the adaptive simulator's second pass for tall peaks, cycle by cycle (kernels.CP_MAX_REFINE)
        self._ceiling = min(peak_ceiling, kernels.CP_MAX_REFINE_CEILING)
        self.lattice, _ = self._record(p)

    def _record(self, p):
        """(the internal steps the adaptive march takes at p, its scans)"""
        return _recorded(lambda buffer: self._run(p, buffer, kernels.LATTICE_RECORD, self._ceiling))

    def __call__(self, params) -> np.ndarray:
        """Cp^N (n_rates, n_T) at ``params`` (dh J/mol, ln A, x, β) on the frozen internal steps."""
        p = check_parameters(np.asarray(params, dtype=float)[None, :4])[0]
        if self.lattice is None:
            self.freeze(p)
        return self._run(p, self.lattice, kernels.LATTICE_REPLAY)[0]

    def _run(self, p, lattice, use, peak_ceiling=0.0):
        s = prony_series(float(p[3]))
        cp = np.empty((self.cooling.size, self.n_T))
        tf_prime = np.empty(self.cooling.size)
        steps = kernels.chr_cp_frozen(float(p[1]), float(p[0]) / R_J_PER_MOL_K, float(p[2]), s.weights, s.chains,
                                      s.ln_tau_max, self.cooling / 60.0, self.heating / 60.0, self.t_min_C,
                                      self.step_K, self.n_T, self._window[0], self._window[1], self.ln_tau_step,
                                      lattice, use, self._budget, peak_ceiling, cp, tf_prime)
        return cp, steps


def simulate_chr(dh: float, ln_a: float, x: float, beta: float, *,
                 cooling_rates: Sequence[float] = PAPER_COOLING_RATES_K_PER_MIN,
                 heating_rate: float = PAPER_HEATING_RATE_K_PER_MIN,
                 t_min: float = PAPER_T_MIN_C, t_max: float = PAPER_T_MAX_C, step: float = PAPER_STEP_K,
                 cycle_min: float | None = None, cycle_max: float | None = None,
                 method: str = "fast", ln_tau_step: float = LN_TAU_STEP) -> xr.Dataset:
    """Cp^N of the heating scans of one parameter set as an xarray Dataset.

    ``dh`` in J/mol, ``ln_a`` = ln(A/s); other arguments as :func:`simulate_chr_batch`.
    The Dataset holds ``cp`` (dims ``cooling_rate`` in K/min and ``T`` in °C), ``tf_prime``
    (°C, Tf at the start of each heating scan) and the parameters, program and window as
    attributes.
    """
    result = simulate_chr_details([[dh, ln_a, x, beta]], cooling_rates=cooling_rates,
                                  heating_rate=heating_rate, t_min=t_min, t_max=t_max, step=step,
                                  cycle_min=cycle_min, cycle_max=cycle_max, method=method,
                                  ln_tau_step=ln_tau_step)
    grid = SignalGrid(float(t_min), float(t_max), float(step))
    rates = np.asarray(cooling_rates, dtype=float).ravel()
    ds = xr.Dataset(
        {
            "cp": (("cooling_rate", "T"), result.cp[0],
                   {"long_name": "normalised heat capacity Cp^N = dTf/dT", "units": "1"}),
            "tf_prime": (("cooling_rate",), result.tf_prime_C[0],
                         {"long_name": "fictive temperature at the start of the heating scan",
                          "units": "degC"}),
        },
        coords={
            "cooling_rate": ("cooling_rate", rates, {"long_name": "cooling rate before the scan", "units": "K/min"}),
            "T": ("T", grid.T_C, {"long_name": "temperature", "units": "degC"}),
        },
        attrs={
            "dh_J_per_mol": float(dh), "ln_A": float(ln_a), "x": float(x), "beta": float(beta),
            "A_units": "s", "heating_rate_K_per_min": float(heating_rate),
            "cycle_min_C": float(result.window_C[0, 0]), "cycle_max_C": float(result.window_C[0, 1]),
            "step_K": float(step), "method": method, "ln_tau_step": float(ln_tau_step),
            "status": int(result.status[0]),
            "program": "CHR cycles: equilibrium at cycle_max_C, then per cooling rate cool to "
                       "cycle_min_C and heat back to cycle_max_C",
        },
    )
    return ds


def simulate_program(program: Program, dh: float, ln_a: float, x: float, beta: float, *,
                     step: float = PAPER_STEP_K, method: str = "fast",
                     ln_tau_step: float = PROGRAM_LN_TAU_STEP) -> xr.Dataset:
    """Fictive temperature along any temperature program (one parameter set).

    The output points are those of Eq. 4's staircase (:meth:`Program.discretise`): every
    ``step`` K along a ramp, and log-spaced times within a hold.  ``method`` "fast" follows the
    program in the continuous limit (ramps and holds marched with steps of ``ln_tau_step`` in
    ln τ, :func:`tnmlib.physics.kernels.program_tf`) and reads Tf at those points; "exact" sums
    the staircase directly, "staircase" runs it with the Prony recursion (their error is first
    order in the jump).  Returns a Dataset over ``step`` (one entry per point) with ``time_s``,
    ``T_C``, ``Tf_C`` and ``segment`` (index of the program segment).
    """
    (dh, ln_a, x, beta), = check_parameters([[dh, ln_a, x, beta]])
    if method not in METHODS:
        raise TNMInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    history = program.discretise(step)
    dh_R = dh / R_J_PER_MOL_K
    if method == "exact":
        tf = kernels.exact_tf(history.T_K, history.dT_K, history.dt_s, ln_a, dh_R, x, beta)
    elif method == "staircase":
        s = prony_series(beta)
        tf = kernels.fast_tf(history.T_K, history.dT_K, history.dt_s, ln_a, dh_R, x,
                             s.weights, s.chains, s.ln_tau_max)
    else:
        tf = _continuous_program_tf(program, history, dh_R, ln_a, x, beta, ln_tau_step)
    return xr.Dataset(
        {
            "time_s": ("step", history.time_s, {"units": "s"}),
            "T_C": ("step", history.T_K - ZERO_CELSIUS_K, {"units": "degC"}),
            "Tf_C": ("step", tf - ZERO_CELSIUS_K, {"units": "degC", "long_name": "fictive temperature"}),
            "segment": ("step", history.segment),
        },
        attrs={"dh_J_per_mol": dh, "ln_A": ln_a, "x": x, "beta": beta, "method": method},
    )
