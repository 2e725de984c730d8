"""Any program in the continuous limit: ramps and holds of 1 min to 100 h, against the staircase
extrapolated to zero jump (an independent route), to 1e-3 in Cp^N on the heating scan."""
import numpy as np
import pytest

from tnmlib.physics.program import Hold, Program, Ramp
from tnmlib.physics.simulate import simulate_program, simulate_program_reference

GLASSES = {"Se": (356e3, -133.0, 0.52, 0.65), "PS-like": (700e3, -224.2, 0.46, 0.71),
           "broad spectrum": (356e3, -133.0, 0.3, 0.35)}
#: (glass, aging temperature below the glass transition in °C, hold in s)
CASES = [("Se", 15.0, 60.0), ("Se", 25.0, 3600.0), ("Se", 30.0, 36000.0), ("Se", 15.0, 360000.0),
         ("PS-like", 85.0, 36000.0), ("PS-like", 70.0, 360000.0), ("broad spectrum", 15.0, 360000.0)]
STEP_K = 0.5


def _heating_cp(tf_K: np.ndarray, segment: np.ndarray, which: int) -> np.ndarray:
    """Cp^N on a heating ramp as the bin average (Tf(T_i) - Tf(T_i - step))/step."""
    return np.diff(tf_K[segment == which]) / STEP_K


@pytest.mark.parametrize("glass, aging_C, hold_s", CASES)
def test_an_aged_glass_is_converged(glass, aging_C, hold_s):
    params = GLASSES[glass]
    program = Program(aging_C + 65.0, (Ramp(aging_C, 10.0), Hold(hold_s), Ramp(aging_C + 65.0, 10.0)))
    fast = simulate_program(program, *params, step=STEP_K)
    reference, spread = simulate_program_reference(program, *params, step=STEP_K, substeps=320, hold_substeps=6000)
    segment = fast.segment.values
    cp = _heating_cp(fast.Tf_C.values + 273.15, segment, 2)
    cp_ref = _heating_cp(reference, segment, 2)
    assert np.max(np.abs(cp - cp_ref)) <= 1e-3, (glass, hold_s, cp_ref.max())
    # the reference's own first-order error, before extrapolation, is what makes it a reference
    assert np.max(np.abs(fast.Tf_C.values + 273.15 - reference)) < 0.5 * spread.max() + 1e-3


def test_a_memory_program_is_converged_too():
    """Kovacs-like: quench, age 1 h, up to a higher temperature still below Tg, hold, then heat."""
    params = GLASSES["Se"]
    program = Program(90.0, (Ramp(10.0, 20.0), Hold(3600.0), Ramp(28.0, 5.0), Hold(600.0), Ramp(90.0, 10.0)))
    fast = simulate_program(program, *params, step=STEP_K)
    reference, _ = simulate_program_reference(program, *params, step=STEP_K, substeps=320, hold_substeps=6000)
    segment = fast.segment.values
    assert np.max(np.abs(_heating_cp(fast.Tf_C.values + 273.15, segment, 4) - _heating_cp(reference, segment, 4))) <= 1e-3
    hold_ends = [np.nonzero(segment == k)[0][-1] for k in (1, 3)]
    np.testing.assert_allclose(fast.Tf_C.values[hold_ends] + 273.15, reference[hold_ends], atol=2e-3)


def test_holds_relax_towards_the_hold_temperature():
    params = GLASSES["Se"]
    program = Program(80.0, (Ramp(20.0, 10.0), Hold(360000.0)))
    ds = simulate_program(program, *params, step=STEP_K)
    hold = ds.Tf_C.values[ds.segment.values == 1]
    assert np.all(np.diff(hold) <= 1e-9) and hold[-1] > 20.0  # Tf falls towards T, never below it


def test_program_scans_of_the_paper_cycles_equal_the_cycle_simulator():
    """Two routes to the same scans: the CHR cycles as a program, and the CHR simulator."""
    import warnings

    from tnmlib.physics.program import chr_program
    from tnmlib.physics.simulate import program_scans, simulate_chr_details

    params = np.array(GLASSES["Se"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cycles = simulate_chr_details(params[None], t_min=-20.0, t_max=80.0, step=STEP_K)
    lo, hi = cycles.window_C[0]
    T = -20.0 + STEP_K * np.arange(201)
    inside = (T - STEP_K >= lo) & (T <= hi)
    scans = program_scans(chr_program(lo, hi), params, [1, 3, 5, 7, 9, 11], T[inside], STEP_K)
    assert np.max(np.abs(scans - cycles.cp[0][:, inside])) < 5e-4


def test_halving_the_step_in_ln_tau_changes_nothing_that_matters():
    params = GLASSES["PS-like"]
    program = Program(150.0, (Ramp(85.0, 10.0), Hold(36000.0), Ramp(150.0, 10.0)))
    segment = simulate_program(program, *params, step=STEP_K).segment.values
    default = _heating_cp(simulate_program(program, *params, step=STEP_K).Tf_C.values + 273.15, segment, 2)
    halved = _heating_cp(simulate_program(program, *params, step=STEP_K, ln_tau_step=0.005).Tf_C.values + 273.15,
                         segment, 2)
    assert np.max(np.abs(default - halved)) < 3e-4 and default.max() > 5  # a tall peak, converged


def test_the_reference_handles_spans_that_are_no_multiple_of_its_step():
    """Ramps over 61.37 K at a 0.05 K step: every coarse point is still on the fine path (each
    jump split in n), and the reference agrees with the continuous march on the heating scan."""
    from tnmlib.physics.simulate import program_scans

    params = GLASSES["Se"]
    program = Program(61.37, (Ramp(0.0, 3.3), Hold(120.0), Ramp(61.37, 10.0)))
    reference, spread = simulate_program_reference(program, *params, step=0.05, substeps=10)
    history = program.discretise(0.05)
    mine = np.nonzero(history.segment == 2)[0]
    T = np.concatenate([[history.T_K[mine[0] - 1]], history.T_K[mine]]) - 273.15
    tf = np.concatenate([[reference[mine[0] - 1]], reference[mine]])
    grid = np.arange(10.0, 55.0, 0.5)
    # bin averages of the reference: Tf differences over each bin (Tf is smooth; read it linearly)
    ref_cp = (np.interp(grid, T, tf) - np.interp(grid - 0.5, T, tf)) / 0.5
    fast = program_scans(program, params, [2], grid, 0.5)[0]
    assert np.max(np.abs(fast - ref_cp)) < 2e-3 and spread.max() < 0.05
