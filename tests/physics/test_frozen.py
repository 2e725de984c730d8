"""The simulator with frozen internal steps (FrozenChr, program lattices): what fits differentiate."""
import warnings

import numpy as np
import pytest

from tnmlib.estimation.classical import FD_STEP, FIT_LOWER, FIT_UPPER
from tnmlib.physics import kernels
from tnmlib.physics.program import Hold, Program, Ramp
from tnmlib.physics.simulate import (FROZEN_RAMP_BUDGET, FrozenChr, program_lattice, program_scans,
                                     simulate_chr_batch)
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN as RATES

SPAN = FIT_UPPER - FIT_LOWER


def _samples(n, seed):
    """n whole-space samples with their estimator grids (T_C), from tnmlib's own draw."""
    from tnmlib.pipeline.estimator import simulate_in_workers
    from tnmlib.study.design import ESTIMATOR
    from tnmlib.study.statespace import draw_whole_space

    true = draw_whole_space(n, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scans = simulate_in_workers(true, ESTIMATOR.points_per_scan, 1)
    return [(true[k], scans.T_C(k), scans.cp_max[k]) for k in range(n)]


def _frozen(T_C, **kwargs):
    return FrozenChr(T_C[0], T_C[1] - T_C[0], T_C.size, RATES, 10.0, **kwargs)


def _walk(model, p, direction, step, n=8):
    return np.array([model(p + j * step * direction) for j in range(n)])


def test_frozen_scans_are_smooth_in_the_parameters_where_the_adaptive_ones_jump():
    ratios = []
    for p, T_C in [(p, T_C) for p, T_C, cp_max in _samples(8, 5) if cp_max < 3.0][:3]:
        frozen = _frozen(T_C)
        frozen.freeze(p)

        def adaptive(q):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return simulate_chr_batch(q[None], t_min=T_C[0], t_max=T_C[-1], step=T_C[1] - T_C[0])[0]

        ln_a = np.array([0.0, 1.0, 0.0, 0.0])
        walks = {"frozen": _walk(frozen, p, ln_a, 1e-4, 30), "adaptive": _walk(adaptive, p, ln_a, 1e-4, 30)}
        first = np.abs(np.diff(walks["frozen"], axis=0)).max()
        second = {name: np.abs(np.diff(walk, 2, axis=0)).max() for name, walk in walks.items()}
        assert first > 1e-6  # the walk moves the scans
        assert second["frozen"] < 1e-3 * first  # curvature only
        ratios.append(second["adaptive"] / second["frozen"])
    assert max(ratios) > 100  # the adaptive simulator's steps jump (measured: ~1e-4 in Cp^N)


@pytest.mark.parametrize("k", range(3))
def test_replayed_steps_give_the_recording_run_exactly_and_the_adaptive_simulator_closely(k):
    p, T_C, _ = _samples(3, 8)[k]
    frozen = _frozen(T_C)
    frozen.freeze(p)
    recorded = frozen._record(p)[1]
    np.testing.assert_array_equal(frozen(p), recorded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adaptive = simulate_chr_batch(p[None], t_min=T_C[0], t_max=T_C[-1], step=T_C[1] - T_C[0])[0]
    # both are within ~5e-4 of the continuous limit; the frozen cycles span more of the grid
    assert np.max(np.abs(frozen(p) - adaptive)) < 1.5e-3


def _jacobian_error(p, T_C):
    """Largest relative error (per column, 2-norm) of the fit's forward-difference Jacobian
    against central differences of a reference with 10x finer internal steps."""
    fit, reference = _frozen(T_C), _frozen(T_C, ln_tau_step=0.005)
    fit.freeze(p)
    reference.freeze(p)
    base = fit(p)
    errors = []
    for j in range(4):
        e = np.eye(4)[j]
        h = FD_STEP * SPAN[j]
        forward = (fit(p + h * e) - base).ravel() / h
        h_ref = 1e-5 * SPAN[j]
        central = (reference(p + h_ref * e) - reference(p - h_ref * e)).ravel() / (2 * h_ref)
        errors.append(np.linalg.norm(forward - central) / np.linalg.norm(central))
    return max(errors)


def test_the_fits_jacobian_matches_a_ten_times_finer_reference():
    checked = [(p, T_C) for p, T_C, cp_max in _samples(8, 3) if cp_max <= 10.0][:5]
    assert len(checked) >= 4
    assert max(_jacobian_error(p, T_C) for p, T_C in checked) < 1e-3


@pytest.mark.slow
def test_the_fits_jacobian_matches_a_ten_times_finer_reference_on_50_sets():
    """Measured: < 1e-3 where Cp_max <= 10; 0.5-2 % on taller peaks, whose derivative the
    simulator's step (not the differencing) limits."""
    checked = [(p, T_C) for p, T_C, cp_max in _samples(60, 13) if cp_max <= 10.0][:50]
    assert len(checked) >= 45
    assert max(_jacobian_error(p, T_C) for p, T_C in checked) < 1e-3


def test_a_start_whose_cycles_cannot_bracket_its_transition_costs_a_bounded_number_of_steps():
    # x at its bound: tens of millions of steps of 1e-19 K without the ramp budget
    p = np.array([8.93e5, -456.2, 0.05, 0.796])
    T_C = -61.416 + 0.0579 * np.arange(512)
    frozen = _frozen(T_C)
    frozen.freeze(p, peak_ceiling=10.0, ramp_budget=20_000)
    assert frozen.lattice.size <= 2 * len(RATES) * 20_000
    assert np.all(np.isfinite(frozen(p)))
    assert FROZEN_RAMP_BUDGET >= 100_000


def test_a_programs_replayed_steps_give_its_adaptive_scans_exactly_and_move_smoothly():
    program = Program(150.0, (Ramp(20.0, 20.0), Hold(600.0), Ramp(150.0, 10.0), Ramp(20.0, 5.0), Ramp(150.0, 10.0)))
    p = np.array([3.8e5, -150.0, 0.45, 0.6])
    T_C = np.arange(40.0, 140.0, 0.5)
    lattice = program_lattice(program, p, [2, 4], T_C, 0.5)
    np.testing.assert_array_equal(program_scans(program, p, [2, 4], T_C, 0.5, lattice=lattice),
                                  program_scans(program, p, [2, 4], T_C, 0.5))
    walk = np.array([program_scans(program, p + [0.0, 1e-4 * j, 0.0, 0.0], [2, 4], T_C, 0.5, lattice=lattice)
                     for j in range(6)])
    assert np.abs(np.diff(walk, 2, axis=0)).max() < 1e-3 * np.abs(np.diff(walk, axis=0)).max()
    assert kernels.LATTICE_REPLAY != kernels.LATTICE_RECORD
