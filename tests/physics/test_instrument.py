"""Distortions of heating scans: the intended statistics, seeded, and clean when switched off."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tnmlib.errors import TNMInputError
from tnmlib.physics.instrument import Augmentation, Distortion, add_noise, baseline_tilt, distort, instrument_lag


def _peak(n=4000, step_K=0.05):
    """A smooth Gaussian peak on a step from 0 to 1, centred on the grid."""
    T = np.arange(n) * step_K
    centre = T[n // 2]
    return T, 1.0 / (1.0 + np.exp(-(T - centre) / 2.0)) + 3.0 * np.exp(-0.5 * ((T - centre) / 3.0) ** 2)


def test_noise_has_the_requested_standard_deviation_and_is_seeded():
    cp = np.zeros((200, 6, 500))
    noisy = add_noise(cp, 0.01, np.random.default_rng(3))
    assert np.std(noisy) == pytest.approx(0.01, rel=0.01) and abs(np.mean(noisy)) < 1e-4
    again = distort(cp, Distortion(noise_fraction=0.01), 1.0, 10.0, seed=3)
    assert np.array_equal(again, distort(cp, Distortion(noise_fraction=0.01), 1.0, 10.0, seed=3))


@pytest.mark.parametrize("lag_s", [1.0, 3.0, 5.0])
def test_lag_delays_the_peak_by_rate_times_lag(lag_s):
    """A first-order lag of τ delays the centroid of a pulse by τ exactly: q·τ in temperature."""
    step_K, q_K_per_min = 0.05, 10.0
    T, cp = _peak(step_K=step_K)
    pulse = cp - 1.0 / (1.0 + np.exp(-(T - T[T.size // 2]) / 2.0))
    lagged = instrument_lag(pulse, lag_s, step_K, q_K_per_min)
    centroid = lambda y: np.sum(T * y) / np.sum(y)  # noqa: E731
    assert centroid(lagged) - centroid(pulse) == pytest.approx(q_K_per_min / 60.0 * lag_s, rel=1e-3)
    assert lagged.max() < pulse.max()  # a lag lowers and skews the peak


@given(st.floats(0.0, 0.2))
def test_a_constant_signal_is_unchanged_by_lag(level):
    cp = np.full((2, 6, 300), level)
    np.testing.assert_allclose(instrument_lag(cp, 4.0, 0.5, 10.0), cp, atol=1e-12)


@given(st.floats(-0.1, 0.1), st.integers(100, 3000))
def test_tilt_is_a_line_of_the_given_slope_through_zero_at_the_fictive_temperature(tilt, i_tf):
    """A step from 0 to 1 at index i_tf has Tf' there; the tilt is zero at that point."""
    step_K = 0.25
    n = 4000
    cp = (np.arange(n) >= i_tf).astype(float)[None].repeat(3, axis=0)
    tf_index = (n - 1) - cp[0, 1:].sum()
    tilted = baseline_tilt(cp, tilt, step_K)
    added = tilted - cp
    slope_per_100K = (added[:, -1] - added[:, 0]) / ((n - 1) * step_K) * 100.0
    np.testing.assert_allclose(slope_per_100K, tilt, atol=1e-12)
    np.testing.assert_allclose(added[:, int(tf_index)], 0.0, atol=1e-12)


def test_one_lag_per_sample_matches_each_sample_lagged_alone():
    T, cp = _peak(n=600, step_K=0.25)
    batch = np.stack([np.stack([cp, cp * 0.5]), np.stack([cp * 2, cp])])  # (2 samples, 2 scans, n)
    lags = np.array([0.0, 4.0]).reshape(2, 1, 1)
    together = instrument_lag(batch, lags, 0.25, 10.0)
    np.testing.assert_array_equal(together[0], batch[0])
    np.testing.assert_allclose(together[1], instrument_lag(batch[1], 4.0, 0.25, 10.0), rtol=1e-12)


def test_augmentation_leaves_the_clean_share_untouched_and_distorts_the_rest():
    _, cp = _peak(n=400, step_K=0.25)
    batch = np.repeat(cp[None, None], 400, axis=0).repeat(2, axis=1)
    out = Augmentation(clean_share=0.25).apply(batch, 0.25, 10.0, np.random.default_rng(1))
    changed = np.any(np.abs(out - batch.astype(np.float32)) > 1e-6, axis=(1, 2))
    assert out.dtype == np.float32 and out.shape == batch.shape
    assert 0.65 < changed.mean() < 0.85  # 75 % expected
    assert np.all(Augmentation(clean_share=1.0).apply(batch, 0.25, 10.0, np.random.default_rng(1))
                  == batch.astype(np.float32))
    with pytest.raises(TNMInputError):
        Augmentation(clean_share=1.5)


def test_no_distortion_is_the_clean_signal_and_bad_settings_are_refused():
    _, cp = _peak(n=300)
    assert np.allclose(distort(cp, Distortion(), 0.05, 10.0), cp.astype(np.float32))
    assert Distortion().label == "clean" and Distortion(0.01, 3.0).label == "noise 1 % + lag 3 s"
    assert Distortion(tilt_per_100K=0.02).label == "tilt 2 %/100 K"
    with pytest.raises(TNMInputError):
        Distortion(noise_fraction=-0.01)
    with pytest.raises(TNMInputError):
        instrument_lag(cp, 1.0, 0.0, 10.0)
