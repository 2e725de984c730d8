"""Distortions of heating scans: the intended statistics, seeded, and clean when switched off."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tnmlib.errors import TNMInputError
from tnmlib.instrument import Distortion, add_noise, baseline_tilt, distort, instrument_lag


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


@given(st.floats(0.0, 0.2), st.floats(-0.1, 0.1))
def test_a_constant_signal_is_unchanged_by_lag_and_tilt_adds_a_centred_line(level, tilt):
    cp = np.full((2, 6, 300), level)
    np.testing.assert_allclose(instrument_lag(cp, 4.0, 0.5, 10.0), cp, atol=1e-12)
    tilted = baseline_tilt(cp, tilt)
    assert tilted[..., -1] - tilted[..., 0] == pytest.approx(np.full((2, 6), tilt))
    assert np.mean(tilted) == pytest.approx(level)


def test_no_distortion_is_the_clean_signal_and_bad_settings_are_refused():
    _, cp = _peak(n=300)
    assert np.allclose(distort(cp, Distortion(), 0.05, 10.0), cp.astype(np.float32))
    assert Distortion().label == "clean" and Distortion(0.01, 3.0).label == "noise 1 % + lag 3 s"
    with pytest.raises(TNMInputError):
        Distortion(noise_fraction=-0.01)
    with pytest.raises(TNMInputError):
        instrument_lag(cp, 1.0, 0.0, 10.0)
