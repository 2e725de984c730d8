import numpy as np
import pytest

from tnmlib import Hold, Program, Ramp, chr_program
from tnmlib.errors import TNMInputError
from tnmlib.physics.kernels import chr_history
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN


def test_ramp_discretisation_conserves_temperature_and_time():
    program = Program(100.0, (Ramp(20.0, 5.0), Hold(600.0), Ramp(80.0, 10.0)))
    history = program.discretise(0.3)
    assert history.dT_K.sum() == pytest.approx(-20.0)
    assert np.all(np.abs(history.dT_K) <= 0.3 + 1e-12)
    expected_time = 80 / (5 / 60) + 600 + 60 / (10 / 60)
    assert history.time_s[-1] == pytest.approx(expected_time)
    assert history.T_K[-1] - 273.15 == pytest.approx(80.0)
    assert set(np.unique(history.segment)) == {0, 1, 2}
    hold = history.segment == 1
    assert np.all(history.dT_K[hold] == 0) and history.dt_s[hold].sum() == pytest.approx(600.0)


def test_chr_program_matches_the_kernel_history():
    rates = np.array(PAPER_COOLING_RATES_K_PER_MIN)
    history = chr_program(-20.0, 80.0, rates, 10.0).discretise(0.1)
    T_K, dT_K, dt_s, heat_start = chr_history(-250.0, 0.1, 2300, 3300, rates / 60.0, 10.0 / 60.0)
    np.testing.assert_allclose(history.T_K, T_K, rtol=0, atol=1e-9)
    np.testing.assert_allclose(history.dT_K, dT_K, rtol=0, atol=1e-12)
    np.testing.assert_allclose(history.dt_s, dt_s, rtol=1e-12)
    # scan r starts where segment 2r+1 (heating) starts
    starts = [np.argmax(history.segment == 2 * r + 1) for r in range(rates.size)]
    assert starts == heat_start.tolist()


@pytest.mark.parametrize("segments, message", [
    ((Ramp(20.0, 0.0),), "rate"),
    ((Ramp(20.0, -1.0),), "rate"),
    ((Hold(-5.0),), "duration"),
    ((Ramp(-300.0, 10.0),), "absolute zero"),
])
def test_invalid_segments_are_rejected(segments, message):
    with pytest.raises(TNMInputError, match=message):
        Program(100.0, segments)


def test_chr_bounds_must_be_ordered():
    with pytest.raises(TNMInputError):
        chr_program(100.0, 50.0)
