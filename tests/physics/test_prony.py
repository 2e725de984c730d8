import numpy as np
import pytest
from hypothesis import given, strategies as st

from tnmlib.physics.prony import fit_prony_series, interpolated_series, kww, prony_series

#: The Prony series' promise: max |series - exp(-xi**beta)| over all xi >= 0.
KWW_TOLERANCE = 1e-5
PROBE = np.concatenate([[0.0], np.logspace(-80, 9, 6001)])


@given(st.floats(min_value=0.1, max_value=1.0))
def test_any_beta_gets_a_series_within_the_tolerance_without_a_fit(beta):
    """Off-grid beta: interpolated from the shipped table, non-negative weights summing to 1, and
    within 1e-5 of the KWW function everywhere, xi -> 0 (where its slope diverges) included."""
    series = prony_series(beta)
    assert np.all(series.weights >= 0)
    assert series.weights.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.max(np.abs(series(PROBE) - kww(PROBE, beta))) <= KWW_TOLERANCE
    assert series.max_error <= KWW_TOLERANCE


def test_the_table_agrees_with_a_direct_fit():
    for beta in (0.13, 0.37, 0.551, 0.79, 0.96):
        table, fit = interpolated_series(beta), fit_prony_series(beta)
        assert table.chains >= fit.chains
        assert np.max(np.abs(table(PROBE) - fit(PROBE))) <= 2 * KWW_TOLERANCE


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


def test_below_the_table_a_series_is_fitted():
    series = prony_series(0.08)
    assert np.max(np.abs(series(PROBE) - kww(PROBE, 0.08))) <= KWW_TOLERANCE
