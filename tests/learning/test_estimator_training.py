"""Training the whole-space network: rows clean and distorted, a network that loads back and
reads curves in NumPy, and its provenance."""
import dataclasses

import numpy as np

from tnmlib.estimator import NetworkEstimator, network_inputs
from tnmlib.learning.estimator_training import train_network, training_rows
from tnmlib.physics.transition import simulate_transition_scans
from tnmlib.pipeline.wholespace import build_estimator
from tnmlib.study.design import ESTIMATOR
from tnmlib.study.statespace import draw_whole_space

RATES = np.array([0.5, 1, 2, 5, 10, 20.0])


def test_every_sample_gives_a_clean_and_a_distorted_row():
    params = draw_whole_space(6, seed=5)
    scans = simulate_transition_scans(params, n_points=128)
    inputs, targets = training_rows(scans, params, RATES, 10.0, seed=0)
    assert inputs.shape[0] == targets.shape[0] == 12
    clean, distorted = inputs[:6], inputs[6:]
    assert not np.allclose(clean, distorted)
    np.testing.assert_allclose(clean[0], network_inputs(scans.T_C(0), scans.cp[0], RATES)[0])
    np.testing.assert_allclose(targets[:6, 2:], params[:, 2:])  # x and β are targets as they are


def test_training_lowers_the_loss_and_the_numpy_network_matches_its_targets_scale():
    params = draw_whole_space(60, seed=6)
    scans = simulate_transition_scans(params, n_points=128)
    inputs, targets = training_rows(scans, params, RATES, 10.0, seed=0)
    estimator, history = train_network(inputs, targets, RATES, 10.0, hidden=(32,), epochs=30, seed=0)
    assert history["loss"][-1] < history["loss"][0]
    out = estimator.forward(inputs)
    assert out.shape == targets.shape and np.all(np.isfinite(out))
    # better than the mean of the targets on the data it saw
    assert np.mean((out - targets) ** 2) < np.mean((targets - targets.mean(axis=0)) ** 2)


def test_build_estimator_writes_a_network_with_its_provenance(tmp_path):
    spec = dataclasses.replace(ESTIMATOR, train_samples=40, epochs=2, points_per_scan=128)
    path = tmp_path / "estimator.npz"
    build_estimator(path, spec, workers=1, progress=False)
    network = NetworkEstimator.load(path)
    meta = network.metadata
    assert meta["settings"]["train_samples"] == 40 and meta["samples_drawn"] == 40
    assert 0 < meta["samples_kept"] <= 40 and meta["rows"] == 2 * meta["samples_kept"]
    assert len(meta["check_samples"]) == 2 and meta["source_hash"]
    check = meta["check_samples"][0]
    np.testing.assert_allclose(network_inputs(np.array(check["T_C"]), np.array(check["cp"]), RATES)[0], check["inputs"])
