"""The public simulator: accuracy, physics identities, robustness."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tnmlib import TNMInputError, simulate_chr, simulate_chr_batch, simulate_chr_details
from tnmlib.physics.constants import R_J_PER_MOL_K
from tnmlib.physics.simulate import LN_TAU_STEP, simulate_chr_reference
from tnmlib.physics.moynihan import moynihan_dh_J_per_mol
from tnmlib.physics.kernels import STATUS_OK
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN

from conftest import SE


# ---- convergence to the continuous ramp ---------------------------------------------------
#: The accuracy the fast simulator promises against the continuous limit, max |dCp^N|.
TOLERANCE = 1e-3


def default_error_estimate(params, **kwargs):
    """Richardson's estimate of the default's error: the error falls as ln_tau_step**2, so
    e(default) ~ 4/3 |cp(default) - cp(default/2)|.  Returns (estimate per set, fast result)."""
    fast = simulate_chr_details(params, **kwargs)
    half = simulate_chr_details(params, ln_tau_step=LN_TAU_STEP / 2, **kwargs)
    return 4.0 / 3.0 * np.abs(fast.cp - half.cp).max(axis=(1, 2)), fast


@pytest.mark.parametrize("step", [0.01, 0.1, 1.0, 2.0])
def test_halving_the_internal_step_changes_nothing_that_matters(corner_sets, step):
    sets = corner_sets[::3]  # 14 of the 40 edge-and-corner sets, tall peaks included
    kwargs = dict(step=step, t_min=-250.0, t_max=1600.0)
    error, fast = default_error_estimate(sets, **kwargs)
    assert np.all(fast.status == STATUS_OK)
    print(f"\nstep {step} K: worst estimated error {error.max():.1e} at {sets[error.argmax()].tolist()}")
    assert error.max() <= TOLERANCE


def test_fast_agrees_with_the_staircase_extrapolated_to_zero_jump(corner_sets):
    """An independent route to the continuous limit: Eq. 4's staircase at jumps of a hundredth
    of the transition width and half that, Richardson-extrapolated (35 sets; the x = 0.2,
    beta = 1 corner is left out: its peaks of Cp^N 30-370 need jumps the reference cannot afford)."""
    sets = np.array([p for p in corner_sets if not (p[2] == 0.2 and p[3] == 1.0)])
    assert len(sets) >= 30
    fast = simulate_chr_details(sets, step=0.5)
    reference, spread = simulate_chr_reference(sets, fast.window_C, step=0.5, peaks=fast.cp.max(axis=(1, 2)))
    error = np.abs(fast.cp - reference).max(axis=(1, 2))
    print(f"\nworst |fast - reference| = {error.max():.1e} at {sets[error.argmax()].tolist()}, "
          f"reference spread <= {spread.max():.1e}")
    # spread: the first-order error of the finer staircase, which the extrapolation removes; two
    # independent routes agreeing to the tolerance is the check, this only rules out nonsense
    assert np.all(spread <= 0.1)
    assert error.max() <= TOLERANCE


def test_the_staircase_of_eq4_is_first_order_and_the_fast_simulator_is_not():
    """At the 1 K grid the jump-and-hold staircase misses the continuous limit by far more than
    the tolerance for a Se-like glass; its error halves with the jump; the fast one does not care."""
    fast = simulate_chr_details([list(SE.values())], step=1.0)
    lo, hi = fast.window_C[0]
    reference, _ = simulate_chr_reference([list(SE.values())], fast.window_C, step=1.0)
    err = {n: np.abs(simulate_chr_details([list(SE.values())], step=1.0, method="staircase", substeps=n,
                                          cycle_min=lo, cycle_max=hi).cp - reference).max() for n in (1, 2)}
    assert err[1] > 0.05 and err[2] == pytest.approx(err[1] / 2, rel=0.25)
    assert np.abs(fast.cp - reference).max() <= TOLERANCE


def test_tall_peaks_are_refined_cycle_by_cycle_as_well_as_all_at_once():
    """A tall peak's cycle is marched again with steps scaled by its own peak, the others keep the
    ordinary steps: as close to the continuous limit as marching every cycle at the steps of the
    tallest peak (what the simulator did before), in fewer steps."""
    from tnmlib.physics import kernels
    from tnmlib.physics.prony import prony_series

    dh, ln_a, x, beta = 356e3, -133.0, 0.22, 0.9  # peaks from ~32 (0.5 K/min) to ~4.5 (20 K/min)
    lo, hi = simulate_chr_details([[dh, ln_a, x, beta]], step=0.5).window_C[0]
    ps = prony_series(beta)
    rates = np.array(PAPER_COOLING_RATES_K_PER_MIN) / 60.0
    args = (ln_a, dh / R_J_PER_MOL_K, x, beta, ps.weights, ps.chains, ps.ln_tau_max, rates, 10 / 60, -250.0, 0.5,
            int(round((lo + 250) / 0.5)), int(round((hi + 250) / 0.5)), kernels.METHOD_CONTINUOUS)
    by_cycle, steps_by_cycle = kernels.chr_tf_on_lattice(*args, LN_TAU_STEP, 1, np.empty(0), kernels.LATTICE_ADAPT,
                                                         0.0, kernels.CP_MAX_REFINE_CEILING)
    peaks = np.diff(by_cycle, axis=1).max(axis=1) / 0.5
    assert peaks[0] > 25 and peaks[-1] < 10
    eta_all = LN_TAU_STEP * kernels.CP_MAX_REFINE_SCALE / peaks.max()
    all_at_once, steps_all = kernels.chr_tf_on_lattice(*args, eta_all, 1, np.empty(0), kernels.LATTICE_ADAPT, 0.0, 0.0)
    cp = {name: np.diff(tf, axis=1) / 0.5 for name, tf in (("cycle", by_cycle), ("all", all_at_once))}
    assert np.abs(cp["cycle"] - cp["all"]).max() <= TOLERANCE
    assert steps_by_cycle < 0.9 * steps_all  # measured: 93,506 against 112,289


def test_prony_staircase_matches_the_direct_sum(corner_sets):
    """The Prony series is the fast simulator's only approximation of the KWW function: on the same
    staircase it matches the direct O(N^2) sum of Eq. 4 (8 sets, jumps of 0.5 K)."""
    from tnmlib.physics import kernels
    from tnmlib.physics.prony import prony_series

    rates = np.array(PAPER_COOLING_RATES_K_PER_MIN) / 60.0
    for dh, ln_a, x, beta in corner_sets[::5]:
        lo, hi = simulate_chr_details([[dh, ln_a, x, beta]], step=0.5).window_C[0]
        idx = int(round((lo + 250) / 0.5)), int(round((hi + 250) / 0.5))
        ps = prony_series(beta)
        args = (ln_a, dh / R_J_PER_MOL_K, x, beta, ps.weights, ps.chains, ps.ln_tau_max, rates, 10 / 60, -250.0, 0.5,
                *idx)
        exact, _ = kernels.chr_tf_on_lattice(*args, kernels.METHOD_EXACT_STAIRCASE, 0.05, 1,
                                             np.empty(0), kernels.LATTICE_ADAPT, 0.0, 0.0)
        prony, _ = kernels.chr_tf_on_lattice(*args, kernels.METHOD_PRONY_STAIRCASE, 0.05, 1,
                                             np.empty(0), kernels.LATTICE_ADAPT, 0.0, 0.0)
        assert np.max(np.abs(np.diff(exact - prony, axis=1))) / 0.5 <= 1e-4


def test_dataset_layout_and_units():
    ds = simulate_chr(**SE, cooling_rates=(1, 10), t_min=-50, t_max=150, step=0.5)
    assert ds["cp"].dims == ("cooling_rate", "T")
    assert ds["cp"].shape == (2, 401)
    assert ds["T"].attrs["units"] == "degC" and ds["cooling_rate"].attrs["units"] == "K/min"
    assert ds["T"].values[0] == -50 and ds["T"].values[-1] == pytest.approx(150)
    assert ds.attrs["dh_J_per_mol"] == 356e3 and ds.attrs["beta"] == 0.65


def test_signal_is_zero_below_and_one_above_the_window(corner_sets):
    result = simulate_chr_details(corner_sets, t_min=-250, t_max=1600, step=0.5)
    T = -250 + 0.5 * np.arange(result.cp.shape[2])
    for cp, (lo, hi) in zip(result.cp, result.window_C):
        assert np.all(cp[:, T <= lo] == 0.0)
        assert np.all(cp[:, T > hi] == 1.0)


def test_equilibrium_limits_far_outside_the_transition():
    """Cycled well beyond the automatic window, the scans sit at 0 (glass) and 1 (liquid)."""
    auto = simulate_chr(**SE, step=0.2)
    lo, hi = auto.attrs["cycle_min_C"] - 40, auto.attrs["cycle_max_C"] + 40
    wide = simulate_chr(**SE, step=0.2, cycle_min=lo, cycle_max=hi)
    T = wide["T"].values
    assert np.max(np.abs(wide.cp.values[:, (T > lo) & (T < lo + 20)])) < 1e-3
    # on a continuous ramp the liquid lags T by q*tau_eq(T): Cp^N - 1 = -d(q tau_eq)/dT > 0, tiny here
    assert np.max(np.abs(wide.cp.values[:, (T > hi - 10) & (T <= hi)] - 1)) < 1e-4


def test_integral_of_a_scan_is_the_fictive_temperature_gap(corner_sets):
    """sum Cp^N dT over a heating scan = T_end - Tf(start of scan), for every scan.

    On the automatic window Tf still lags T at the end of a scan by up to a few 0.01 K
    (|Cp^N - 1| <= 1e-3 there), so the bound is 0.1 K; an off-by-one step would be >= 0.5 K.
    """
    step = 0.5
    result = simulate_chr_details(corner_sets, step=step)
    for cp, (lo, hi), tf_prime in zip(result.cp, result.window_C, result.tf_prime_C):
        T = -250 + step * np.arange(cp.shape[1])
        inside = (T > lo) & (T <= hi)
        integral = cp[:, inside].sum(axis=1) * step
        np.testing.assert_allclose(integral, hi - tf_prime, atol=0.1)


@pytest.mark.parametrize("x, beta", [(0.52, 0.65), (0.2, 0.2), (1.0, 1.0)])
def test_integral_identity_is_exact_when_the_scan_ends_in_equilibrium(x, beta):
    auto = simulate_chr(356e3, -133.0, x, beta, step=0.2)
    hi = auto.attrs["cycle_max_C"] + 30.0
    ds = simulate_chr(356e3, -133.0, x, beta, step=0.2, cycle_min=auto.attrs["cycle_min_C"], cycle_max=hi)
    T = ds["T"].values
    hi = ds.attrs["cycle_max_C"]  # snapped to the grid lattice
    inside = (T > ds.attrs["cycle_min_C"]) & (T <= hi + 1e-9)
    integral = ds.cp.values[:, inside].sum(axis=1) * 0.2
    np.testing.assert_allclose(integral, hi - ds.tf_prime.values, atol=1e-3)


@pytest.mark.parametrize("x, beta", [(0.52, 0.65), (0.2, 0.2), (1.0, 1.0), (0.3, 0.9), (0.9, 0.3)])
@pytest.mark.parametrize("dh, ln_a", [(356e3, -133.0), (1200e3, -300.0), (700e3, -120.0)])
def test_moynihan_relation_recovers_dh(dh, ln_a, x, beta):
    rates = np.array([0.05, 0.2, 1, 5, 20, 100])
    result = simulate_chr_details([[dh, ln_a, x, beta]], cooling_rates=rates, step=0.1)
    estimate = moynihan_dh_J_per_mol(rates, result.tf_prime_C[0])
    assert estimate == pytest.approx(dh, rel=0.01)
    # the textbook form (no Tf'^2) is biased upwards by about 2 R Tf'
    plain = moynihan_dh_J_per_mol(rates, result.tf_prime_C[0], t_squared=False)
    assert plain > estimate


@pytest.mark.parametrize("dh, ln_a", [(1200e3, -630.0), (200e3, -630.0), (1200e3, -18.0), (200e3, -18.0)])
@pytest.mark.parametrize("x, beta", [(0.2, 0.2), (1.0, 1.0), (0.2, 1.0), (1.0, 0.2)])
def test_no_overflow_at_the_parameter_corners(dh, ln_a, x, beta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some corners do not fit the grid: that is reported, not raised
        result = simulate_chr_details([[dh, ln_a, x, beta]], step=1.0, t_min=-270, t_max=6000)
    assert np.all(np.isfinite(result.cp)) and np.all(np.isfinite(result.tf_prime_C))


def test_batch_equals_single_simulations(corner_sets):
    subset = corner_sets[::5]
    batch = simulate_chr_batch(subset, step=0.5)
    for k, p in enumerate(subset):
        single = simulate_chr(*p, step=0.5)
        np.testing.assert_array_equal(batch[k], single.cp.values)


def test_results_are_deterministic(corner_sets):
    a = simulate_chr_batch(corner_sets[:8], step=0.5)
    b = simulate_chr_batch(corner_sets[:8], step=0.5)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kwargs", [
    dict(x=0.0), dict(x=1.2), dict(beta=0.0), dict(beta=-0.5), dict(dh=-1.0), dict(x=float("nan")),
    dict(cooling_rates=(1, 0)), dict(heating_rate=-10), dict(step=0), dict(step=-0.1),
    dict(t_min=100, t_max=50), dict(t_min=0, t_max=1, step=0.3), dict(method="approx"),
    dict(cycle_min=30.0, cycle_max=60.0), dict(cycle_min=100.0, cycle_max=50.0),
    dict(cycle_min=-300.0),
])
def test_bad_input_raises_a_clear_error(kwargs):
    args = dict(SE, step=0.5)
    args.update(kwargs)
    with pytest.raises(TNMInputError):
        simulate_chr(**args)


@given(st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True)))
def test_x_outside_unit_interval_is_rejected(x):
    with pytest.raises(TNMInputError):
        simulate_chr_batch([[356e3, -133.0, x, 0.5]], step=1.0)


def test_beta_below_the_supported_minimum_is_a_clear_error():
    with pytest.raises(TNMInputError, match="beta below"):
        simulate_chr_batch([[356e3, -133.0, 0.5, 0.05]], step=1.0)


def test_far_off_grid_parameters_stay_bounded_and_finite():
    """A transition thousands of kelvin off the grid: a bounded window, a clear status."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = simulate_chr_details([[1.44e6, -15.0, 0.01, 0.1], [1.67e5, -756.0, 0.01, 0.1]], step=0.1)
    assert np.all(np.isfinite(result.cp)) and np.all(result.status == 3)
    assert result.window_C[:, 1].max() < 1600 + 0.3 * 1850 or result.window_C[0, 0] > 1600


def test_huge_user_windows_are_refused_by_the_staircase_methods():
    with pytest.raises(TNMInputError, match="steps"):
        simulate_chr(**SE, step=0.01, cycle_min=-200.0, cycle_max=1500.0, method="exact")
