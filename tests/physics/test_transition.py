"""Scans on a grid of their own: they start in the glass, end in the liquid, agree with the
simulator on the same grid, and their areas give the simulator's own Tf'."""
import numpy as np
import pytest

from tnmlib.estimation.classical import tf_prime_from_scans
from tnmlib.physics.simulate import simulate_chr_batch
from tnmlib.physics.transition import simulate_transition_scans, transition_range_C


def test_each_sample_gets_a_grid_spanning_its_own_transition(corner_sets):
    params = corner_sets[::3]
    scans = simulate_transition_scans(params, n_points=256)
    assert scans.cp.shape == (len(params), 6, 256)
    assert np.all(np.abs(scans.cp[:, :, 0]) < 2e-3)            # in the glass
    assert np.all(np.abs(scans.cp[:, :, -1] - 1.0) < 2e-3)      # in the liquid
    assert np.all(scans.cp.max(axis=2) > 0.9)                    # the transition is inside
    # widths from a fraction of a kelvin (low Δh*, low T) to tens of kelvin: each grid follows its own
    spans = scans.step_K * 255
    assert spans.max() / spans.min() > 20


@pytest.mark.filterwarnings("ignore::tnmlib.physics.simulate.WindowWarning")  # the grid clips the cycles
@pytest.mark.parametrize("k", [0, 4])
def test_scans_equal_the_simulator_on_the_same_grid_and_their_areas_give_tf_prime(corner_sets, k):
    p = corner_sets[k * 5 + 4]
    scans = simulate_transition_scans(p[None], n_points=512)
    T = scans.T_C(0)
    direct = simulate_chr_batch(p[None], t_min=T[0], t_max=T[-1], step=scans.step_K[0])[0]
    np.testing.assert_array_equal(scans.cp[0], direct)
    np.testing.assert_allclose(tf_prime_from_scans(scans.cp[0], T, (0, T.size - 1)), scans.tf_prime_C[0],
                               atol=0.01 * scans.step_K[0] * 100)


def test_transition_range_finds_where_a_scan_moves():
    T = np.linspace(0.0, 100.0, 101)
    cp = np.where((T > 40) & (T < 60), 0.5, np.where(T >= 60, 1.0, 0.0))[None]
    assert transition_range_C(cp, T) == (40.0, 60.0)
    assert transition_range_C(np.zeros((1, 101)), T) == (0.0, 100.0)
