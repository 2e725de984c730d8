"""The numba kernels against plain, obviously-correct Python."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tnmlib import Hold, Program, Ramp
from tnmlib.physics.kernels import exact_tf, fast_tf, pow2_table, prony_advance, ramp_advance
from tnmlib.physics.prony import prony_series
from tnmlib.physics.constants import R_J_PER_MOL_K

SE_DH_R = 356e3 / R_J_PER_MOL_K


def reference_tf(T_K, dT_K, dt_s, ln_A, dh_R, x, beta):
    """Eq. (4) of the paper as written: cumulative reduced time xi_n, tau with the previous Tf."""
    T0 = T_K[0] - dT_K[0]
    xi = [0.0]  # xi[j] is the paper's xi_{j-1}
    tf_prev, out = T0, []
    for n in range(len(T_K)):
        tau = math.exp(ln_A + x * dh_R / T_K[n] + (1 - x) * dh_R / tf_prev)
        xi.append(xi[-1] + dt_s[n] / tau)
        tf = T0 + sum(dT_K[j] * (1 - math.exp(-((xi[n + 1] - xi[j]) ** beta))) for j in range(n + 1))
        out.append(tf)
        tf_prev = tf
    return np.array(out)


SHORT_PROGRAM = Program(60.0, (Ramp(20.0, 10.0), Hold(3600.0), Ramp(60.0, 10.0), Ramp(25.0, 2.0)))


@given(x=st.floats(0.2, 1.0), beta=st.floats(0.2, 1.0))
def test_exact_kernel_matches_plain_eq4(x, beta):
    h = SHORT_PROGRAM.discretise(0.5, hold_substeps=20)
    expected = reference_tf(h.T_K, h.dT_K, h.dt_s, -133.0, SE_DH_R, x, beta)
    got = exact_tf(h.T_K, h.dT_K, h.dt_s, -133.0, SE_DH_R, x, beta)
    assert np.max(np.abs(got - expected)) <= 1e-9


@given(x=st.floats(0.2, 1.0), beta=st.floats(0.2, 1.0))
def test_fast_kernel_follows_exact_through_holds(x, beta):
    h = SHORT_PROGRAM.discretise(0.5, hold_substeps=60)
    s = prony_series(beta)
    fast = fast_tf(h.T_K, h.dT_K, h.dt_s, -133.0, SE_DH_R, x, s.weights, s.chains, s.ln_tau_max)
    exact = exact_tf(h.T_K, h.dT_K, h.dt_s, -133.0, SE_DH_R, x, beta)
    assert np.max(np.abs(fast - exact)) <= 2e-4  # kelvin, over a 40 K program


@given(beta=st.floats(0.2, 1.0), ln_delta=st.floats(-80.0, 30.0), dT=st.floats(-1.0, 1.0))
def test_prony_advance_matches_direct_exponentials(beta, ln_delta, dT):
    s = prony_series(beta)
    rng = np.random.default_rng(1)
    modes = rng.normal(size=s.weights.size)
    largest = float(np.max(np.abs(modes + dT)))
    flushable = float(np.abs(s.weights) @ np.abs(modes + dT)) * 1e-9  # what the flushed modes could hold
    expected_modes = (modes + dT) * np.exp(-math.exp(ln_delta) / s.tau)
    acc = prony_advance(modes, s.weights, s.chains, s.ln_tau_max,
                        pow2_table(s.weights.size, s.chains), dT, ln_delta)
    # modes whose factor falls below 1e-9 are flushed to zero: an error up to 1e-9 of (mode + jump)
    np.testing.assert_allclose(modes, expected_modes, rtol=1e-10, atol=1e-9 * max(largest, 1.0))
    # the flushed modes, and a sum the kernel may reassociate (fastmath), bound the error of the total
    magnitude = float(np.abs(s.weights) @ np.abs(expected_modes))
    assert acc == pytest.approx(float(s.weights @ expected_modes), rel=1e-10, abs=flushable + 1e-13 * magnitude)


def test_prony_advance_without_time_only_adds_the_jump():
    s = prony_series(0.5)
    modes = np.zeros(s.weights.size)
    acc = prony_advance(modes, s.weights, s.chains, s.ln_tau_max,
                        pow2_table(s.weights.size, s.chains), 0.25, -np.inf)
    assert np.all(modes == 0.25) and acc == pytest.approx(0.25)


def _ramp_modes_by_formula(modes, tau, dT, ln_delta, dL):
    """One ramp step of every mode by its closed form, mode by mode with math.exp:
    M <- M e^-a + dT (phi1(a) + dL (phi1/2 - (1 - (1 + a) e^-a)/a**2)), a = delta/tau."""
    out = np.empty_like(modes)
    for i, (m, t) in enumerate(zip(modes, tau)):
        a = math.exp(ln_delta) / t
        e = math.exp(-a)
        p1 = -math.expm1(-a) / a if a > 1e-8 else 1.0 - a / 2
        p2 = (1.0 - (1.0 + a) * e) / a ** 2 if a > 1e-3 else 0.5 - a / 3 + a * a / 8
        out[i] = m * e + dT * (p1 + dL * (0.5 * p1 - p2))
    return out


@given(beta=st.floats(0.2, 1.0), ln_delta=st.floats(-60.0, 25.0), dT=st.floats(-1.0, 1.0),
       dL=st.floats(-0.3, 0.3))
def test_ramp_advance_matches_each_modes_closed_form(beta, ln_delta, dT, dL):
    """Slow modes by series, chains by squaring, and modes that forget within the step by their
    forcing alone, all against math.exp mode by mode; in place or into a second buffer alike."""
    s = prony_series(beta)
    pow2 = pow2_table(s.weights.size, s.chains)
    modes = np.random.default_rng(2).normal(size=s.weights.size)
    expected = _ramp_modes_by_formula(modes, s.tau, dT, ln_delta, dL)
    out = np.empty_like(modes)
    acc, acc1 = ramp_advance(modes, out, s.weights, s.chains, s.ln_tau_max, pow2, dT, ln_delta, dL)
    scale = max(1.0, float(np.max(np.abs(modes))))
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12 * scale)
    assert acc == pytest.approx(float(s.weights @ expected), rel=1e-9, abs=1e-12 * scale)
    assert acc1 == pytest.approx(float(s.weights @ (expected * pow2)), rel=1e-9, abs=1e-12 * scale * pow2.max())
    in_place = modes.copy()
    # the same arithmetic, but LLVM vectorises a loop whose input and output may alias differently
    assert ramp_advance(in_place, in_place, s.weights, s.chains, s.ln_tau_max, pow2, dT, ln_delta, dL) == \
        pytest.approx((acc, acc1), rel=1e-14, abs=1e-13 * scale * pow2.max())
    np.testing.assert_allclose(in_place, out, rtol=1e-14, atol=1e-15 * scale)
