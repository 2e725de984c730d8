"""The whole-space estimator: its inputs do not depend on the grid, its reparametrisation is
exact, the shipped network is current, and network + least squares recovers the truth."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tnmlib.errors import TNMInputError
from tnmlib.estimation.network import (TAU_REF_S, NetworkEstimator, bin_averages, fit_scans, ln_a_from_t_ref, locate,
                              network_inputs, params_from_targets, t_ref_K, targets_from_params)
from tnmlib.physics.instrument import add_noise, instrument_lag
from tnmlib.physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from tnmlib.physics.transition import simulate_transition_scans
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN

RATES = np.array(PAPER_COOLING_RATES_K_PER_MIN)
SE = np.array([356e3, -133.0, 0.52, 0.65])
HOT_BROAD = np.array([900e3, -120.0, 0.35, 0.4])


@pytest.fixture(scope="module")
def network():
    return NetworkEstimator.load()


@pytest.fixture(scope="module")
def se_scans():
    scans = simulate_transition_scans(SE[None])
    return scans.T_C(0), scans.cp[0], scans.step_K[0]


@given(st.floats(200e3, 1200e3), st.floats(-630.0, -18.0))
def test_t_ref_and_ln_a_are_each_others_inverse(dh, ln_a):
    t_ref = t_ref_K(dh, ln_a)
    assert dh / (R_J_PER_MOL_K * t_ref) + ln_a == pytest.approx(np.log(TAU_REF_S), abs=1e-9)
    assert ln_a_from_t_ref(dh, t_ref) == pytest.approx(ln_a, abs=1e-9)


def test_targets_and_parameters_are_each_others_inverse(se_scans):
    T, cp, _ = se_scans
    position = locate(T, cp, RATES)
    params = np.array([SE, [500e3, -200.0, 0.3, 0.9]])
    back = params_from_targets(targets_from_params(params, [position] * 2), [position] * 2)
    np.testing.assert_allclose(back, params, rtol=1e-12)


def test_moynihan_width_is_the_transition_width(se_scans):
    T, cp, _ = se_scans
    position = locate(T, cp, RATES)
    assert position.width_K == pytest.approx(R_J_PER_MOL_K * position.tc_K ** 2 / SE[0], rel=0.03)
    with pytest.raises(TNMInputError, match="do not rise with the cooling rate"):
        locate(T, cp[::-1], RATES)


@given(st.floats(-3, 3), st.floats(0.01, 2.0), st.integers(0, 2**16))
def test_bin_averages_are_exact_for_a_line_with_edges_on_data_points_and_keep_the_area(slope, intercept, seed):
    T = np.sort(np.random.default_rng(seed).uniform(0, 100, 200))
    line = (intercept + slope * T)[None]
    edges = T[20:181:20]
    centres = 0.5 * (edges[1:] + edges[:-1])
    np.testing.assert_allclose(bin_averages(T, line, edges)[0], intercept + slope * centres, rtol=1e-9, atol=1e-9)
    # beyond the data, the first and last values continue
    outside = bin_averages(T, line, np.array([T[0] - 10, T[0], T[-1], T[-1] + 10]))[0]
    np.testing.assert_allclose(outside[[0, 2]], line[0, [0, -1]], rtol=1e-12)


def test_inputs_hardly_depend_on_the_grid(se_scans):
    """The same glass on its own uniform grid and on an uneven, narrower grid with half the points."""
    T, cp, step = se_scans
    fine, _ = network_inputs(T, cp, RATES)
    keep = np.sort(np.random.default_rng(1).choice(np.arange(20, T.size - 20), T.size // 2, replace=False))
    uneven, _ = network_inputs(T[keep], cp[:, keep], RATES)
    assert np.max(np.abs(uneven - fine)) < 0.05 * np.max(np.abs(fine))


def test_the_shipped_network_is_current_and_reads_its_check_samples(network):
    """Its inputs, recomputed by this code for the samples it stored when it was built, are those it
    was trained on (else: rebuild it with make estimator); its reading of them is close."""
    checks = network.metadata["check_samples"]
    assert network.metadata["samples_kept"] > 10_000
    for check in checks:
        T, cp = np.array(check["T_C"]), np.array(check["cp"])
        inputs, _ = network_inputs(T, cp, RATES)
        np.testing.assert_allclose(inputs, check["inputs"], rtol=1e-9, atol=1e-12)
        estimate = network.estimate(T, cp, RATES)
        truth = np.array(check["params"])
        assert abs(estimate.params[0] - truth[0]) < 10e3 and np.all(np.abs(estimate.params[2:] - truth[2:]) < 0.05)


def test_network_and_least_squares_recover_se_from_its_transition_region(network, se_scans):
    T, cp, _ = se_scans
    start = network.estimate(T, cp, RATES)
    assert abs(start.params[0] - SE[0]) < 10e3 and np.all(np.abs(start.params[2:] - SE[2:]) < 0.02)
    fit = fit_scans(T, cp, RATES, 10.0, network=network)
    assert fit.ok and fit.extra["start"] == "network"
    np.testing.assert_allclose(fit.params, SE, rtol=1e-3, atol=1e-3)
    assert fit.extra["t_ref_C"] == pytest.approx(t_ref_K(*SE[:2]) - ZERO_CELSIUS_K, abs=0.05)


@pytest.mark.parametrize("truth", [SE, HOT_BROAD], ids=["Se", "hot-broad"])
def test_a_fitted_lag_and_noise_leave_the_truth_within_a_few_standard_errors(network, truth):
    """1 % noise and a 3 s lag: x and β within 0.05, every parameter and the lag within 4 standard
    errors (on a broad transition the lag is poorly determined, and its standard error says so,
    or the fit reports it as not determined)."""
    scans = simulate_transition_scans(truth[None])
    T, step = scans.T_C(0), scans.step_K[0]
    measured = add_noise(instrument_lag(scans.cp[0], 3.0, step, 10.0), 0.01, np.random.default_rng(3))
    fit = fit_scans(T, measured, RATES, 10.0, network=network, fit_lag=True)
    assert fit.ok
    assert np.all(np.abs(fit.params[2:] - truth[2:]) < 0.05)
    stderr = np.array(fit.extra["stderr"])
    assert stderr.size == 5 and np.all(stderr[:4] > 0)
    if np.isnan(stderr[4]):  # the lag: a 0.5 K shift of a transition 100 K wide
        assert truth is HOT_BROAD and 4 in fit.extra["not_determined"]
        stderr[4] = np.inf
    assert stderr[4] > 0
    assert np.all(np.abs(np.append(fit.params, fit.extra["lag_s"]) - np.append(truth, 3.0)) < 4 * stderr)
    if truth is SE:  # a 0.5 K shift against a 2 K wide transition: the lag is well determined
        assert fit.extra["lag_s"] == pytest.approx(3.0, abs=0.5)


def test_an_uneven_grid_is_fitted_on_a_fine_uniform_one(network, se_scans):
    T, cp, _ = se_scans
    keep = np.sort(np.random.default_rng(2).choice(T.size, 300, replace=False))
    point_values = np.array([np.interp(T[keep], T - 0.5 * (T[1] - T[0]), scan) for scan in cp])
    fit = fit_scans(T[keep], point_values, RATES, 10.0, network=network)
    assert fit.ok
    np.testing.assert_allclose(fit.params, SE, rtol=5e-3, atol=5e-3)


def test_another_program_falls_back_to_the_practitioners_start(network):
    rates = np.array([1.0, 3.0, 10.0, 30.0])
    scans = simulate_transition_scans(SE[None], cooling_rates=rates)
    fit = fit_scans(scans.T_C(0), scans.cp[0], rates, 10.0, network=network)
    assert fit.extra["start"] == "practitioner" and fit.ok
    assert np.all(np.abs(fit.params[2:] - SE[2:]) < 0.02)


def test_a_saved_network_loads_back_and_a_wrong_version_is_refused(network, tmp_path):
    path = tmp_path / "net.npz"
    network.save(path)
    again = NetworkEstimator.load(path)
    x = np.random.default_rng(0).normal(size=(3, network.input_mean.size))
    np.testing.assert_allclose(again.forward(x), network.forward(x))
    network.metadata = dict(network.metadata)
    import tnmlib.estimation.network as module
    old = module.INPUTS_VERSION
    try:
        module.INPUTS_VERSION = old + 1
        with pytest.raises(TNMInputError, match="inputs version"):
            NetworkEstimator.load(path)
    finally:
        module.INPUTS_VERSION = old
    (tmp_path / "bad.npz").write_text("not a network")
    with pytest.raises(TNMInputError, match="cannot read"):
        NetworkEstimator.load(tmp_path / "bad.npz")
