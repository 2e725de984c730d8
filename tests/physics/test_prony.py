import numpy as np
import pytest
from hypothesis import given, strategies as st

from tnmlib.physics.prony import kww, prony_series


@given(st.floats(min_value=0.2, max_value=1.0))
def test_prony_series_fits_kww_everywhere(beta):
    series = prony_series(beta)
    assert series.max_error <= 2e-5
    assert np.all(series.weights >= 0)
    assert series.weights.sum() == pytest.approx(1.0, abs=1e-12)
    # independent probe, including xi -> 0 where the KWW slope diverges
    xi = np.concatenate([[0.0], np.logspace(-40, 4, 3001)])
    assert np.max(np.abs(series(xi) - kww(xi, beta))) <= 2e-5


def test_beta_one_is_a_single_exact_mode():
    series = prony_series(1.0)
    assert series.weights.tolist() == [1.0]
    xi = np.linspace(0, 30, 50)
    np.testing.assert_allclose(series(xi), np.exp(-xi), rtol=0, atol=1e-15)


@pytest.mark.parametrize("beta", [0.0, -0.1, 1.01, float("nan")])
def test_invalid_beta_is_rejected(beta):
    with pytest.raises(ValueError):
        prony_series(beta)


def test_series_are_cached():
    assert prony_series(0.37) is prony_series(0.37)
