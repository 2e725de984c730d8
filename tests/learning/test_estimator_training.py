"""Training the whole-space network: rows clean and distorted, a network that loads back and
reads curves in NumPy, and its provenance."""
import dataclasses

import numpy as np

from tnmlib.estimation.network import NetworkEstimator, network_inputs
from tnmlib.learning.estimator_training import measured_copy, train_network, training_rows
from tnmlib.physics.transition import simulate_transition_scans
from tnmlib.pipeline.estimator import build_estimator
from tnmlib.study.design import ESTIMATOR, MEASUREMENT_VARIETY
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
from tnmlib.study.statespace import draw_whole_space

RATES = np.array(PAPER_COOLING_RATES_K_PER_MIN)
HEATING = PAPER_HEATING_RATE_K_PER_MIN


def test_every_sample_gives_a_clean_and_a_distorted_row():
    params = draw_whole_space(6, seed=5)
    scans = simulate_transition_scans(params, n_points=128)
    inputs, targets, samples = training_rows(scans, params, RATES, HEATING, seed=0)
    assert inputs.shape[0] == targets.shape[0] == 12
    np.testing.assert_array_equal(samples, np.tile(np.arange(6), 2))
    clean, distorted = inputs[:6], inputs[6:]
    assert not np.allclose(clean, distorted)
    np.testing.assert_allclose(clean[0], network_inputs(scans.T_C(0), scans.cp[0], RATES)[0])
    np.testing.assert_allclose(targets[:6, 2:], params[:, 2:])  # x and β are targets as they are


def test_training_lowers_the_loss_and_the_numpy_network_matches_its_targets_scale():
    params = draw_whole_space(60, seed=6)
    scans = simulate_transition_scans(params, n_points=128)
    inputs, targets, samples = training_rows(scans, params, RATES, HEATING, seed=0)
    estimator, history = train_network(inputs, targets, samples, RATES, HEATING, hidden=(32,), epochs=30, seed=0)
    assert history["loss"][-1] < history["loss"][0]
    out = estimator.forward(inputs)
    assert out.shape == targets.shape and np.all(np.isfinite(out))
    # better than the mean of the targets on the data it saw
    assert np.mean((out - targets) ** 2) < np.mean((targets - targets.mean(axis=0)) ** 2)


def test_the_validation_split_holds_out_whole_samples():
    """A clean row and its distorted twin never sit on both sides of the split."""
    params = draw_whole_space(40, seed=7)
    scans = simulate_transition_scans(params, n_points=128)
    inputs, targets, samples = training_rows(scans, params, RATES, HEATING, seed=1)
    _, history = train_network(inputs, targets, samples, RATES, HEATING, hidden=(8,), epochs=1,
                               validation_share=0.25, seed=3)
    assert history["validation_samples"] == 10 and history["train_samples"] == 30
    assert history["validation_rows"] + history["train_rows"] == len(inputs)
    # the rows of a held-out sample (clean and distorted) all go to validation
    assert history["validation_samples"] <= history["validation_rows"] <= 2 * history["validation_samples"]


def test_the_distortions_follow_their_own_seed():
    params = draw_whole_space(5, seed=8)
    scans = simulate_transition_scans(params, n_points=128)
    a, _, _ = training_rows(scans, params, RATES, HEATING, seed=1)
    b, _, _ = training_rows(scans, params, RATES, HEATING, seed=2)
    np.testing.assert_array_equal(a[:5], b[:5])  # clean rows do not depend on the distortion seed
    assert not np.allclose(a[5:], b[5:])


def test_build_estimator_writes_a_network_with_its_provenance(tmp_path):
    spec = dataclasses.replace(ESTIMATOR, train_samples=40, epochs=2, points_per_scan=128)
    path = tmp_path / "estimator.npz"
    build_estimator(path, spec, workers=1, progress=False)
    network = NetworkEstimator.load(path)
    meta = network.metadata
    assert meta["settings"]["train_samples"] == 40 and meta["samples_drawn"] == 40
    assert 0 < meta["samples_kept"] <= 40 and meta["rows"] == 2 * meta["samples_kept"]
    assert len(meta["check_samples"]) == 2 and meta["source_hash"]
    assert meta["commit"] and isinstance(meta["work_tree_dirty"], bool)
    assert meta["validation_samples"] <= meta["validation_rows"] <= 2 * meta["validation_samples"]
    assert meta["settings"]["draw_seed"] != meta["settings"]["distortion_seed"]
    check = meta["check_samples"][0]
    np.testing.assert_allclose(network_inputs(np.array(check["T_C"]), np.array(check["cp"]), RATES)[0], check["inputs"])


def test_measured_rows_cut_the_span_and_read_the_scans_at_uneven_rows():
    params = draw_whole_space(3, seed=9)
    scans = simulate_transition_scans(params, n_points=128)
    T_C, cp = scans.T_C(0), scans.cp[0]
    rows, clean = measured_copy(T_C, cp, MEASUREMENT_VARIETY, HEATING, instrument=False, rng=np.random.default_rng(0))
    assert T_C[0] <= rows[0] and rows[-1] <= T_C[-1] and np.all(np.diff(rows) > 0)
    gaps = np.diff(rows)
    assert np.ptp(gaps) > 0.1 * np.mean(gaps)  # uneven
    np.testing.assert_allclose(clean, [np.interp(rows, T_C, scan) for scan in cp])
    rows_b, measured = measured_copy(T_C, cp, MEASUREMENT_VARIETY, HEATING, instrument=True,
                                     rng=np.random.default_rng(0))
    np.testing.assert_array_equal(rows, rows_b)  # the same draw of rows; the instrument adds its residue
    residue = measured - clean
    assert np.any(residue != 0) and np.max(np.abs(residue)) <= (
        MEASUREMENT_VARIETY.startup_residue_max + MEASUREMENT_VARIETY.tilt_per_100K_max * np.ptp(T_C) / 100)


def test_rows_with_the_measurement_variety_keep_their_targets():
    params = draw_whole_space(6, seed=5)
    scans = simulate_transition_scans(params, n_points=128)
    plain, targets_plain, samples_plain = training_rows(scans, params, RATES, HEATING, seed=0)
    varied, targets, samples = training_rows(scans, params, RATES, HEATING, seed=0, variety=MEASUREMENT_VARIETY)
    np.testing.assert_array_equal(samples, samples_plain)
    np.testing.assert_allclose(targets[:, 2:], targets_plain[:, 2:])
    assert not np.allclose(varied[:6], plain[:6])  # the clean rows too are read on measured rows
    # the position (T_c, w) the inputs carry moves little: the rows still cover the transition
    np.testing.assert_allclose(varied[:6, -8:-6], plain[:6, -8:-6], atol=0.05)
