"""The public simulator: accuracy, physics identities, robustness."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tnmlib import TNMInputError, simulate_chr, simulate_chr_batch, simulate_chr_details
from tnmlib.physics.moynihan import moynihan_dh_J_per_mol
from tnmlib.physics.kernels import STATUS_OK

from conftest import SE


def test_fast_matches_exact_across_the_state_space(corner_sets):
    """max |dCp^N| <= 1e-3 over 40 sets at the state-space edges and (x, beta) corners."""
    step = 0.5  # exact is O(N^2); the Prony error does not depend on the step
    fast = simulate_chr_details(corner_sets, step=step)
    assert np.all(fast.status == STATUS_OK)
    worst, worst_set = 0.0, None
    for k, params in enumerate(corner_sets):
        exact = simulate_chr_details(params[None], step=step, method="exact",
                                     cycle_min=fast.window_C[k, 0], cycle_max=fast.window_C[k, 1])
        err = float(np.max(np.abs(fast.cp[k] - exact.cp[0])))
        if err > worst:
            worst, worst_set = err, params
    print(f"\nworst fast-vs-exact |dCp^N| = {worst:.2e} at (dh J/mol, ln A, x, beta) = {worst_set.tolist()}")
    assert worst <= 1e-3


def test_fast_matches_exact_at_the_paper_step():
    fast = simulate_chr(**SE)
    exact = simulate_chr(**SE, method="exact", cycle_min=fast.attrs["cycle_min_C"],
                         cycle_max=fast.attrs["cycle_max_C"])
    assert float(np.abs(fast.cp - exact.cp).max()) <= 1e-4


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
    assert np.max(np.abs(wide.cp.values[:, (T > hi - 10) & (T <= hi)] - 1)) < 1e-6


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


def test_huge_user_windows_are_refused():
    with pytest.raises(TNMInputError, match="steps"):
        simulate_chr(**SE, step=0.01, cycle_min=-200.0, cycle_max=1500.0)
