"""Numba kernels of the TNM simulation: one temperature history in, fictive temperatures out.

A history is three arrays of equal length N, one entry per step k:
``T_K[k]`` the temperature after the k-th jump (K), ``dT_K[k]`` the jump (K) and ``dt_s[k]``
the isothermal hold that follows it (s).  Before step 0 the sample is in equilibrium at
``T_K[0] - dT_K[0]``.  Both kernels return Tf after each hold (K).

The relaxation time of Eq. (2) is only ever handled as its logarithm:
``ln tau = ln_A + x*dh_R/T + (1-x)*dh_R/Tf`` and the reduced-time increment of step k is
``ln delta_k = ln dt_k - ln tau(T_k, Tf_{k-1})``.  Nothing is exponentiated before it is
clipped, so no corner of the parameter space overflows.

Written as Tf_n = T_n - sum_j dT_j * phi(S_jn), with S_jn = sum_{k=j..n} delta_k the reduced
time elapsed since jump j, both kernels avoid the cumulative reduced time xi_n of Eq. (4):
in the liquid xi grows beyond 1e200 and its differences would lose every digit.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .constants import ZERO_CELSIUS_K

#: ln delta is clipped here: delta = e**700 already relaxes every mode completely.
_LN_DELTA_MAX = 700.0
#: Below this per-step decay a = delta/tau a mode is advanced by a Taylor series.
_A_TAYLOR = 0.1
_LN_A_TAYLOR = math.log(_A_TAYLOR)
#: A mode decaying by e**-a with a above this per step forgets its past within the step.
_LN_A_GONE = math.log(40.0)
#: Decay factors smaller than this are flushed to zero: a mode so flushed would keep less
#: than 1e-9 of the last jump (< 1e-10 K at 0.1 K steps), and that error does not accumulate.
_E_FLUSH = 1e-9
#: In the continuous-ramp update a decay factor below this is zero (the forcing still counts).
_E_ZERO = 1e-16


@numba.njit(cache=True, inline="always")
def ln_tau(T_K, Tf_K, ln_A, dh_R_K, x):
    """ln of the TNM relaxation time (Eq. 2) in s; dh_R_K = dh/R in K."""
    return ln_A + x * dh_R_K / T_K + (1.0 - x) * dh_R_K / Tf_K


@numba.njit(cache=True)
def exact_tf(T_K, dT_K, dt_s, ln_A, dh_R_K, x, beta):
    """Direct O(N^2) sum of Eq. (4): the reference simulator.  Returns Tf (K) per step."""
    n = T_K.size
    tf = np.empty(n)
    elapsed = np.zeros(n)  # S_j: reduced time since jump j
    tf_prev = T_K[0] - dT_K[0]
    for k in range(n):
        ln_delta = -np.inf
        if dt_s[k] > 0.0:
            ln_delta = min(math.log(dt_s[k]) - ln_tau(T_K[k], tf_prev, ln_A, dh_R_K, x), _LN_DELTA_MAX)
        delta = math.exp(ln_delta)
        memory = 0.0
        for j in range(k + 1):
            s = min(elapsed[j] + delta, 1e300)
            elapsed[j] = s
            memory += dT_K[j] * math.exp(-(s ** beta))
        tf_prev = T_K[k] - memory
        tf[k] = tf_prev
    return tf


#: Only reassociation and contraction: infinities and NaN keep their IEEE meaning.
_FAST = {"reassoc", "contract"}


@numba.njit(cache=True, inline="always")
def _exp_neg_seed(a):
    """exp(-a) for 0 <= a < 0.2 by its 12-term Taylor series in Horner form (error < 1e-17)."""
    e = 1.0 - a * (1.0 / 12.0)
    e = 1.0 - a * (1.0 / 11.0) * e
    e = 1.0 - a * (1.0 / 10.0) * e
    e = 1.0 - a * (1.0 / 9.0) * e
    e = 1.0 - a * (1.0 / 8.0) * e
    e = 1.0 - a * (1.0 / 7.0) * e
    e = 1.0 - a * (1.0 / 6.0) * e
    e = 1.0 - a * (1.0 / 5.0) * e
    e = 1.0 - a * (1.0 / 4.0) * e
    e = 1.0 - a * (1.0 / 3.0) * e
    e = 1.0 - a * (1.0 / 2.0) * e
    return 1.0 - a * e


@numba.njit(cache=True, inline="always")
def _first_mode_reaching(n, chains, ln_a0, ln_a):
    """Index (at most n) of the first mode whose per-step decay a = a0 * 2**(i/chains) reaches e**ln_a."""
    step = math.log(2.0) / chains
    if ln_a0 < ln_a - n * step:
        return n
    return min(max(0, int(math.ceil((ln_a - ln_a0) / step))), n)


@numba.njit(cache=True, inline="always")
def _first_fast_mode(n, chains, ln_a0):
    """Index of the first mode whose per-step decay a reaches 0.1; modes before it (slower) are
    advanced by Taylor series, the rest by squaring along chains."""
    return _first_mode_reaching(n, chains, ln_a0, _LN_A_TAYLOR)


@numba.njit(cache=True, inline="always")
def _exp_neg_small(a):
    """exp(-a) for 0 <= a < 0.1 by its 8-term Taylor series (error < 3e-13)."""
    return 1.0 - a * (1.0 - a * 0.5 * (1.0 - a * (1.0 / 3.0) * (1.0 - a * 0.25 * (1.0 - a * 0.2 * (
        1.0 - a * (1.0 / 6.0) * (1.0 - a * (1.0 / 7.0)))))))


@numba.njit(cache=True, fastmath=_FAST)
def prony_advance(modes, weights, chains, ln_tau_max, pow2_up, dT, ln_delta):
    """Advance every Prony mode by one jump dT (K) and a hold of reduced length e**ln_delta.

    Mode i holds M_i = sum_j dT_j exp(-S_j/tau_i); the update is M_i <- (M_i + dT) e_i with
    e_i = exp(-a_i), a_i = delta/tau_i = a_0 * 2**(i/m).  Returns sum_i w_i M_i = T - Tf (K).
    Slow modes (a_i < 0.1) use an 8-term Taylor series of e_i (error < 3e-13); each of the
    m = ``chains`` chains of faster modes starts from a Taylor series too (its first mode has
    a in [0.1, 0.2)), then e_{i+m} = e_i**2, until e drops below 1e-9 and the rest of the
    chain is zero.  One exp per step in all.
    """
    n = weights.size
    ln_a0 = ln_delta - ln_tau_max  # ln(delta / tau_0)
    first_fast = _first_fast_mode(n, chains, ln_a0)
    a0 = math.exp(min(max(ln_a0, -700.0), 7.0))
    acc = 0.0
    for i in range(first_fast):
        a = a0 * pow2_up[i]
        e = _exp_neg_small(a)
        m = (modes[i] + dT) * e
        modes[i] = m
        acc += weights[i] * m
    for c in range(min(chains, n - first_fast)):
        i = first_fast + c
        if first_fast > 0:
            e = _exp_neg_seed(a0 * pow2_up[i])  # a in [0.1, 0.2): no exp needed
        else:
            e = math.exp(-min(a0 * pow2_up[i], 1e3))
        while i < n and e >= _E_FLUSH:
            m = (modes[i] + dT) * e
            modes[i] = m
            acc += weights[i] * m
            e = e * e
            i += chains
        while i < n:
            modes[i] = 0.0
            i += chains
    return acc


@numba.njit(cache=True)
def pow2_table(n, chains):
    """2**(k/chains) for k = 0..n-1: a_k / a_0 of modes on the lattice."""
    return np.exp(np.arange(n) * (math.log(2.0) / chains))


@numba.njit(cache=True)
def fast_tf(T_K, dT_K, dt_s, ln_A, dh_R_K, x, weights, chains, ln_tau_max):
    """Prony-series recursion, O(N*M): Tf (K) after each step of a history."""
    n = T_K.size
    modes = np.zeros(weights.size)
    pow2_up = pow2_table(weights.size, chains)
    tf = np.empty(n)
    tf_prev = T_K[0] - dT_K[0]
    for k in range(n):
        ln_delta = -np.inf
        if dt_s[k] > 0.0:
            ln_delta = min(math.log(dt_s[k]) - ln_tau(T_K[k], tf_prev, ln_A, dh_R_K, x), _LN_DELTA_MAX)
        tf_prev = T_K[k] - prony_advance(modes, weights, chains, ln_tau_max, pow2_up, dT_K[k], ln_delta)
        tf[k] = tf_prev
    return tf


# ---- the continuous ramp --------------------------------------------------------------------

@numba.njit(cache=True, fastmath=_FAST)
def ramp_advance(modes, out, weights, chains, ln_tau_max, pow2_up, dT, ln_delta, dL):
    """Advance every Prony mode over a linear ramp of dT (K) that takes reduced time e**ln_delta,
    during which ln tau changes by dL.

    Mode i obeys dM_i/dxi = dT/dxi - M_i/tau_i.  With a_i = delta/tau_i and the ramp's dT spread
    over the step in proportion to tau (to first order in dL),
    M_i <- M_i e^-a_i + dT (phi1(a_i) + dL g(a_i)),  phi1 = (1 - e^-a)/a,
    g = phi1/2 - (1 - (1 + a) e^-a)/a**2: exact for a constant tau (dL = 0), second order in the
    step otherwise.  Slow modes (a < 0.1) use Taylor series; faster ones get e^-a by squaring
    along each of the ``chains`` chains, so one exp per chain; modes with a >= 40 keep nothing of
    their past (e**-a < 5e-18) and take their forcing alone, without the chain.  Returns
    (sum_i w_i M_i = T - Tf in K, sum_i w_i M_i tau_max/tau_i).
    """
    n = weights.size
    ln_a0 = ln_delta - ln_tau_max
    first_fast = _first_fast_mode(n, chains, ln_a0)
    a0 = math.exp(min(max(ln_a0, -700.0), 700.0))
    acc = 0.0
    acc1 = 0.0
    for i in range(first_fast):
        a = a0 * pow2_up[i]
        e = _exp_neg_small(a)
        p1 = 1.0 - a * 0.5 * (1.0 - a * (1.0 / 3.0) * (1.0 - a * 0.25 * (1.0 - a * 0.2 * (
            1.0 - a * (1.0 / 6.0) * (1.0 - a * (1.0 / 7.0))))))
        g = a * (1.0 / 12.0) * (1.0 - a * 0.5 * (1.0 - a * 0.3 * (1.0 - a * (2.0 / 9.0) * (1.0 - a * (5.0 / 28.0)))))
        m = modes[i] * e + dT * (p1 + dL * g)
        out[i] = m
        acc += weights[i] * m
        acc1 += weights[i] * m * pow2_up[i]
    # modes with a >= A_GONE keep nothing of their past (e**-a < 1e-17): no chain needed
    gone = _first_mode_reaching(n, chains, ln_a0, _LN_A_GONE)
    for c in range(min(chains, gone - first_fast)):
        i = first_fast + c
        a = a0 * pow2_up[i]
        if first_fast > 0:
            e = _exp_neg_seed(a)
        else:
            e = math.exp(-min(a, 1e3))
        inv = 1.0 / a
        while i < gone:
            p1 = (1.0 - e) * inv
            p2 = (1.0 - (1.0 + a) * e) * inv * inv
            m = modes[i] * e + dT * (p1 + dL * (0.5 * p1 - p2))
            out[i] = m
            acc += weights[i] * m
            acc1 += weights[i] * m * pow2_up[i]
            e = e * e
            if e < _E_ZERO:
                e = 0.0
            a = a * 2.0
            inv = inv * 0.5  # 1/a along the chain, without a division per mode
            i += chains
    inv0 = 1.0 / a0
    for i in range(gone, n):
        inv = inv0 / pow2_up[i]
        m = dT * inv * (1.0 + dL * (0.5 - inv))
        out[i] = m
        acc += weights[i] * m
        acc1 += weights[i] * m * pow2_up[i]
    return acc, acc1


@numba.njit(cache=True, inline="always")
def predicted_tf(Tf, r0, r_prev, dt, dt_prev):
    """Tf after a step of dt (s), from dTf/dt of this step's start (r0) and of the previous step
    (r_prev, dt_prev): second order; never below half of Tf."""
    tf_pred = Tf + r0 * dt
    if dt_prev > 0.0:
        tf_pred += 0.5 * dt * dt * (r0 - r_prev) / dt_prev
    return max(tf_pred, 0.5 * Tf)


@numba.njit(cache=True, inline="always")
def ln_reduced_time(dt, L, dL):
    """ln of a step's reduced time when ln tau goes linearly in time from L by dL over dt (s):
    dt e^-L (1 - e^-dL)/dL, kept finite for large |dL|."""
    if abs(dL) < 0.5:
        # ln((1 - e^-d)/d) = -d/2 + d^2/24 - d^4/2880 + d^6/181440 - ... (Bernoulli numbers):
        # error below d^8/9676800 < 4e-10, and no log or expm1 on the march's most common path
        d2 = dL * dL
        ln_f = -0.5 * dL + d2 * (1.0 / 24.0 - d2 * (1.0 / 2880.0 - d2 * (1.0 / 181440.0)))
    elif dL > 1e-6:
        ln_f = math.log(-math.expm1(-dL) / dL)
    elif dL < -1e-6:
        ln_f = -dL + math.log(math.expm1(dL) / dL) if dL > -700.0 else -dL - math.log(-dL)
    else:
        ln_f = -0.5 * dL
    return min(math.log(dt) - L + ln_f, 700.0)


#: state vector of a march: T (K), Tf (K), ln tau, S = sum w M tau_max/tau_i, dTf/dt of the last
#: step (K/s), its duration (s), the last step (K), the position in the lattice of internal steps,
#: what the march does with it (LATTICE_*) and the most steps a ramp may take (0: no limit)
ST_T, ST_TF, ST_L, ST_S, ST_RATE, ST_DT, ST_H, ST_CURSOR, ST_LATTICE, ST_BUDGET, ST_CAP = range(11)
STATE_SIZE = 11
#: Where |Cp^N| < 1 a ramp's steps may change ln tau by up to this many eta (state[ST_CAP]):
#: the error of a step scales with the Tf it moves.  Not in a cycle marched for a tall peak,
#: whose height and place hang on the Tf the glass froze at (measured: the peak of Cp^N = 55
#: goes from 4e-4 to 7e-4 off the continuous limit at 3).
ETA_CAP = 3.0
#: What a march does with its ``lattice`` of internal steps (K along a ramp, s within a hold, in
#: the order taken): choose its steps (ADAPT), choose them and write them down (RECORD), or take
#: the steps written down (REPLAY: no choice, no retaken step, so Tf is a smooth function of the
#: parameters).  RECORD becomes OVERFLOW when the lattice array is full (the march goes on adapting).
LATTICE_ADAPT, LATTICE_RECORD, LATTICE_REPLAY, LATTICE_OVERFLOW = 0, 1, 2, 3


@numba.njit(cache=True, inline="always")
def _record_step(lattice, cursor, step):
    """Write a march's step into its lattice at ``cursor``: (next cursor, LATTICE_RECORD), or
    (cursor, LATTICE_OVERFLOW) when the lattice is full."""
    if cursor < lattice.size:
        lattice[cursor] = step
        return cursor + 1, LATTICE_RECORD
    return cursor, LATTICE_OVERFLOW


@numba.njit(cache=True)
def march_ramp(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state, T_end_K, q_K_per_s,
               eta, out_T_K, out_tf_K, lattice):
    """Follow a linear ramp at rate q (K/s, > 0) from state[ST_T] to T_end_K, the continuous ramp.

    Steps are chosen so that ln tau changes by about eta per step (up to state[ST_CAP]*eta where
    |Cp^N| < 1: the error of a step scales with the Tf it moves).  ln tau at the end of a step is
    predicted with dTf/dt of this and the previous step (second order); the step's reduced time
    is exact for ln tau linear in time; a step whose prediction of ln tau misses by more than
    eta**2/10 is taken again at half its size.  Tf at the temperatures ``out_T_K``
    (sorted along the ramp) is interpolated between steps by cubic Hermite polynomials in T with
    the slopes dTf/dT = Cp^N of the modes.  state[ST_LATTICE] says whether the steps are chosen,
    recorded into or replayed from ``lattice`` (LATTICE_*).  With a budget state[ST_BUDGET] > 0,
    once half of it is spent the steps grow so that the ramp ends within it: parameters whose
    cycles do not bracket their transition (a fit's wild start, x near 0) can otherwise need
    steps of 1e-19 K and tens of millions of them.  Updates ``state`` and ``modes``; returns the
    number of steps.
    """
    T, Tf, L, S = state[ST_T], state[ST_TF], state[ST_L], state[ST_S]
    r_prev, dt_prev, h = state[ST_RATE], state[ST_DT], state[ST_H]
    sgn = 1.0 if T_end_K > T else -1.0
    k = 0
    n_out = out_T_K.size
    while k < n_out and (out_T_K[k] - T) * sgn <= 0.0:
        out_tf_K[k] = Tf
        k += 1
    r0 = S * math.exp(min(-ln_tau_max - L, 700.0))
    cp0 = r0 / (sgn * q_K_per_s)
    steps = 0
    # the modes before (now) and after (spare) a step: a retaken step starts again from now
    now, spare = modes, np.empty(modes.size)
    use = int(state[ST_LATTICE])
    cursor = int(state[ST_CURSOR])
    budget = state[ST_BUDGET]
    cap = max(state[ST_CAP], 1.0)
    forced = False
    while (T_end_K - T) * sgn > 0.0:
        remaining = (T_end_K - T) * sgn
        dlndT = dh_R_K * (x / (T * T) + (1.0 - x) * abs(cp0) / (Tf * Tf))
        cp_abs = abs(cp0)
        eta_here = min(cap * eta, eta / math.sqrt(max(cp_abs, 0.01)))
        if use == LATTICE_REPLAY:
            h = lattice[cursor] if cursor < lattice.size else remaining
            cursor += 1
        else:
            h = min(eta_here / max(dlndT, 1e-300), 2.0 * h)
            if budget > 0.0 and steps > 0.5 * budget:
                least = remaining / max(budget - steps, 1.0)
                forced = h < least  # such a step is taken as it comes, never retaken
                h = max(h, least)
        if h >= remaining * (1.0 - 1e-9):
            h = remaining
            T1 = T_end_K
        else:
            T1 = T + sgn * h
        dT = T1 - T
        dt = h / q_K_per_s
        tf_pred = predicted_tf(Tf, r0, r_prev, dt, dt_prev)
        L1_pred = ln_tau(T1, tf_pred, ln_A, dh_R_K, x)
        dL = L1_pred - L
        ln_delta = ln_reduced_time(dt, L, dL)
        acc, S1 = ramp_advance(now, spare, weights, chains, ln_tau_max, pow2_up, dT, ln_delta, dL)
        Tf1 = T1 - acc
        L1 = ln_tau(T1, Tf1, ln_A, dh_R_K, x)
        if (use != LATTICE_REPLAY and not forced and abs(L1 - L1_pred) > 0.1 * eta_here * eta_here
                and h > 1e-9 * T):
            h *= 0.25  # the step outran its prediction of ln tau: take it again, shorter
            continue
        now, spare = spare, now
        if use == LATTICE_RECORD:
            cursor, use = _record_step(lattice, cursor, h)
        r1 = S1 * math.exp(min(-ln_tau_max - L1, 700.0))
        cp1 = r1 / (sgn * q_K_per_s)
        while k < n_out and (out_T_K[k] - T1) * sgn <= 0.0:
            u = (out_T_K[k] - T) / dT
            v = 1.0 - u
            out_tf_K[k] = (v * v * (1.0 + 2.0 * u) * Tf + u * u * (3.0 - 2.0 * u) * Tf1
                           + u * v * dT * (v * cp0 - u * cp1))
            k += 1
        r_prev, dt_prev = r0, dt
        T, Tf, L, S, r0, cp0 = T1, Tf1, L1, S1, r1, cp1
        steps += 1
    if now is not modes:
        modes[:] = now
    while k < n_out:
        out_tf_K[k] = Tf
        k += 1
    state[ST_T], state[ST_TF], state[ST_L], state[ST_S] = T, Tf, L, S
    state[ST_RATE], state[ST_DT], state[ST_H] = r_prev, dt_prev, h
    state[ST_CURSOR], state[ST_LATTICE] = cursor, use
    return steps



@numba.njit(cache=True)
def march_hold(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state, duration_s, eta, lattice):
    """Follow an isothermal hold of ``duration_s`` (s) at state[ST_T], the continuous limit.

    Only Tf moves, so ln tau changes through (1 - x) dh/R (1/Tf); steps are sized so that ln tau
    changes by about eta per step, growing at most twofold, with the reduced time of a step exact
    for ln tau linear in time and ln tau at the end predicted from dTf/dt of this and the
    previous step (the ramp's scheme with dT = 0); a step whose prediction misses by more than
    eta**2/10 is taken again at a quarter of its size.  The ``lattice`` of steps as in
    :func:`march_ramp`.  Updates ``state`` and ``modes``; returns the number of steps."""
    T, Tf, L, S = state[ST_T], state[ST_TF], state[ST_L], state[ST_S]
    r_prev, dt_prev = state[ST_RATE], state[ST_DT]
    r0 = S * math.exp(min(-ln_tau_max - L, 700.0))
    left = duration_s
    dt_last = 0.0
    steps = 0
    now, spare = modes, np.empty(modes.size)
    use = int(state[ST_LATTICE])
    cursor = int(state[ST_CURSOR])
    while left > 0.0:
        if use == LATTICE_REPLAY:
            dt = lattice[cursor] if cursor < lattice.size else left
            cursor += 1
        else:
            dLdt = abs(dh_R_K * (1.0 - x) * r0 / (Tf * Tf))
            dt = left if dLdt <= 0.0 else min(left, eta / dLdt)
            if dt_last > 0.0:
                dt = min(dt, 2.0 * dt_last)
        if dt >= left * (1.0 - 1e-12):
            dt = left
        tf_pred = predicted_tf(Tf, r0, r_prev, dt, dt_prev)
        L1_pred = ln_tau(T, tf_pred, ln_A, dh_R_K, x)
        dL = L1_pred - L
        ln_delta = ln_reduced_time(dt, L, dL)
        acc, S1 = ramp_advance(now, spare, weights, chains, ln_tau_max, pow2_up, 0.0, ln_delta, 0.0)
        Tf1 = T - acc
        L1 = ln_tau(T, Tf1, ln_A, dh_R_K, x)
        if use != LATTICE_REPLAY and abs(L1 - L1_pred) > 0.1 * eta * eta and dt > 1e-12 * duration_s:
            dt_last = 0.25 * dt
            continue
        now, spare = spare, now
        if use == LATTICE_RECORD:
            cursor, use = _record_step(lattice, cursor, dt)
        r1 = S1 * math.exp(min(-ln_tau_max - L1, 700.0))
        r_prev, dt_prev = r0, dt
        Tf, L, S, r0 = Tf1, L1, S1, r1
        left -= dt
        dt_last = dt
        steps += 1
    if now is not modes:
        modes[:] = now
    state[ST_TF], state[ST_L], state[ST_S] = Tf, L, S
    state[ST_RATE], state[ST_DT] = r_prev, dt_prev
    state[ST_CURSOR], state[ST_LATTICE] = cursor, use
    return steps


@numba.njit(cache=True)
def program_tf(ln_A, dh_R_K, x, weights, chains, ln_tau_max, start_K, kinds, targets, rates_K_per_s, offsets,
               out_points, eta, lattice, lattice_use):
    """Tf (K) along a program in the continuous limit, from equilibrium at ``start_K``.

    Segment k is a ramp (kinds[k] = 0) to targets[k] K at rates_K_per_s[k], or a hold
    (kinds[k] = 1) of targets[k] s.  Its output points, out_points[offsets[k]:offsets[k + 1]],
    are temperatures along a ramp (in the ramp's direction) or elapsed times within a hold
    (increasing).  ``lattice``/``lattice_use``: the internal steps and what to do with them
    (LATTICE_*; see :func:`march_ramp`).  Returns (Tf at every output point, steps taken: with
    LATTICE_RECORD, the entries of ``lattice`` written, or more than its size if it overflowed)."""
    pow2_up = pow2_table(weights.size, chains)
    modes = np.zeros(weights.size)
    state = np.zeros(STATE_SIZE)
    state[ST_LATTICE] = lattice_use
    state[ST_T] = start_K
    state[ST_TF] = start_K
    state[ST_L] = ln_tau(start_K, start_K, ln_A, dh_R_K, x)
    state[ST_H] = eta * start_K * start_K / dh_R_K
    tf_out = np.empty(out_points.size)
    steps = 0
    for k in range(kinds.size):
        a, b = offsets[k], offsets[k + 1]
        if kinds[k] == 0:
            steps += march_ramp(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state, targets[k],
                                rates_K_per_s[k], eta, out_points[a:b], tf_out[a:b], lattice)
        else:
            elapsed = 0.0
            for j in range(a, b):
                if out_points[j] > elapsed:
                    steps += march_hold(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state,
                                        out_points[j] - elapsed, eta, lattice)
                    elapsed = out_points[j]
                tf_out[j] = state[ST_TF]
            if targets[k] > elapsed:
                steps += march_hold(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state,
                                    targets[k] - elapsed, eta, lattice)
    return tf_out, steps


@numba.njit(cache=True)
def chr_history(t_min_C, step_K, idx_lo, idx_hi, cooling_K_per_s, heating_K_per_s):
    """Discretised CHR cycles on the grid lattice T = t_min_C + idx*step_K (°C).

    Starts in equilibrium at idx_hi; for each cooling rate: cool to idx_lo, heat back to
    idx_hi.  Returns (T_K, dT_K, dt_s, heat_start) where heat_start[r] is the index of the
    first step of the r-th heating scan.
    """
    span = idx_hi - idx_lo
    n_rates = cooling_K_per_s.size
    n = 2 * span * n_rates
    T_K = np.empty(n)
    dT_K = np.empty(n)
    dt_s = np.empty(n)
    heat_start = np.empty(n_rates, dtype=np.int64)
    k = 0
    for r in range(n_rates):
        hold_cool = step_K / cooling_K_per_s[r]
        for s in range(1, span + 1):
            T_K[k] = ZERO_CELSIUS_K + t_min_C + (idx_hi - s) * step_K
            dT_K[k] = -step_K
            dt_s[k] = hold_cool
            k += 1
        heat_start[r] = k
        hold_heat = step_K / heating_K_per_s
        for s in range(1, span + 1):
            T_K[k] = ZERO_CELSIUS_K + t_min_C + (idx_lo + s) * step_K
            dT_K[k] = step_K
            dt_s[k] = hold_heat
            k += 1
    return T_K, dT_K, dt_s, heat_start


@numba.njit(cache=True)
def tg_estimate_K(ln_A, dh_R_K, q_K_per_s):
    """Temperature (K) where the equilibrium relaxation time equals R*T^2/(dh*q).

    That is where a ramp at rate q (K/s) takes about one relaxation time to cross the
    transition width R*T^2/dh: a cheap estimate of the glass transition on that ramp.
    Solved by Newton's method in u = 1/T (the equation is concave and monotone in u).
    """
    u = 1.0 / 500.0
    c = ln_A + math.log(dh_R_K * q_K_per_s)
    for _ in range(100):
        f = c + dh_R_K * u + 2.0 * math.log(u)
        u_new = u - f / (dh_R_K + 2.0 / u)
        if u_new <= 0.0:
            u_new = 0.5 * u
        if abs(u_new - u) < 1e-14 * u:
            u = u_new
            break
        u = u_new
    return 1.0 / u


@numba.njit(cache=True)
def _scan_cp(tf, heat_start, span, r, s, step_K):
    """Cp^N at heating step s (1..span) of scan r."""
    k = heat_start[r] + s - 1
    return (tf[k] - tf[k - 1]) / step_K


@numba.njit(cache=True)
def _significant_range(tf, heat_start, span, step_K, tol):
    """First and last heating step (1..span) where any scan is off 0 / off 1 by > tol.

    Returns (first, last); first = span+1 if no scan ever leaves 0, last = 0 if every scan
    is at 1 throughout.
    """
    first = span + 1
    last = 0
    for r in range(heat_start.size):
        for s in range(1, span + 1):
            if abs(_scan_cp(tf, heat_start, span, r, s, step_K)) > tol:
                if s < first:
                    first = s
                break
        for s in range(span, 0, -1):
            if abs(_scan_cp(tf, heat_start, span, r, s, step_K) - 1.0) > tol:
                if s > last:
                    last = s
                break
    return first, last


#: Coarse steps per ramp used to locate the transition before the fine simulation.
COARSE_STEPS = 120


@numba.njit(cache=True)
def chr_window_K(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max,
                 cooling_K_per_s, heating_K_per_s, tol):
    """Cycle bounds (T_lo, T_hi) in K such that every heating scan starts with |Cp^N| <= tol
    and ends with |Cp^N - 1| <= tol.

    An analytic first guess (glass tail Cp ~ (t/tau_glass)**beta, liquid tail
    exp(-xi**beta)) is refined by coarse simulations of the slowest and the fastest
    cooling cycle: widened while a tail is cut, narrowed to the significant range plus a
    pad.  Returns (T_lo, T_hi, ok); ok is False if no window was found in 16 passes.
    """
    q_all = np.append(cooling_K_per_s, heating_K_per_s)
    tg_slow = tg_estimate_K(ln_A, dh_R_K, q_all.min())
    tg_fast = tg_estimate_K(ln_A, dh_R_K, q_all.max())
    u_lo = 1.0 / tg_slow + 1.5 * math.log(1.0 / tol) / (beta * x * dh_R_K)
    u_hi = 1.0 / tg_fast - 1.5 * math.log(math.log(1.0 / tol)) / (beta * dh_R_K)
    T_lo = max(1.0 / u_lo, 1.0)
    T_hi = 1.0 / u_hi if u_hi > 0.5 / tg_fast else 2.0 * tg_fast
    extremes = np.array([cooling_K_per_s.min(), cooling_K_per_s.max()])
    refinements = 0
    for _ in range(16):
        step = (T_hi - T_lo) / COARSE_STEPS
        T_K, dT_K, dt_s, heat_start = chr_history(T_lo - ZERO_CELSIUS_K, step, 0, COARSE_STEPS,
                                                  extremes, heating_K_per_s)
        tf = fast_tf(T_K, dT_K, dt_s, ln_A, dh_R_K, x, weights, chains, ln_tau_max)
        # a quarter of the tolerance: the fine grid sees slightly larger tails at the edges
        first, last = _significant_range(tf, heat_start, COARSE_STEPS, step, 0.25 * tol)
        width = T_hi - T_lo
        grow = 0.5 * width if refinements == 0 else 0.25 * width
        if first > COARSE_STEPS:  # no transition seen: it lies beyond one of the ends
            T_lo = max(T_lo - width, 1.0)
            T_hi = T_hi + width
            continue
        cut_low = first <= 2 and T_lo > 1.0
        cut_high = last >= COARSE_STEPS - 1
        if cut_low or cut_high:
            if cut_low:
                T_lo = max(T_lo - grow, 1.0)
            if cut_high:
                T_hi = T_hi + grow
            continue
        pad = 2.0 * step + 0.02 * (last - first) * step
        new_lo = max(T_lo + first * step - pad, 1.0)
        new_hi = T_lo + last * step + pad
        if refinements < 2 and new_hi - new_lo < 0.6 * width:
            T_lo, T_hi = new_lo, new_hi  # look again at finer resolution
            refinements += 1
            continue
        # Heating through the liquid, Tf lags T by q*tau_eq, so Cp^N - 1 = q*tau_eq*dh/(R T^2);
        # a coarse history relaxes fully within each long hold and misses that tail.
        liquid_tail = tg_estimate_K(ln_A, dh_R_K, heating_K_per_s / (0.25 * tol))
        return new_lo, max(new_hi, liquid_tail), True
    return T_lo, T_hi, False


#: How chr_cp_on_grid simulates: the continuous ramp (Prony modes, adaptive steps), the paper's
#: Eq. 4 staircase summed directly (O(N^2)), or that staircase with the Prony recursion.
METHOD_CONTINUOUS = 0
METHOD_EXACT_STAIRCASE = 1
METHOD_PRONY_STAIRCASE = 2


@numba.njit(cache=True)
def chr_tf_on_lattice(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max, cooling_K_per_s, heating_K_per_s,
                      t_min_C, step_K, idx_lo, idx_hi, method, eta, substeps, lattice, lattice_use, ramp_budget,
                      peak_ceiling):
    """Tf (K) on each heating scan at the lattice temperatures t_min_C + idx*step_K, idx_lo..idx_hi.

    Returns (tf (n_rates, idx_hi - idx_lo + 1), steps).  The staircase methods jump by
    step_K/substeps, each jump followed by its hold; the continuous method ignores substeps and
    chooses, records or replays its internal steps in ``lattice`` (``lattice_use``: LATTICE_*),
    at most about ``ramp_budget`` of them per ramp (0: no limit; see :func:`march_ramp`).

    With ``peak_ceiling`` > 0 (and steps chosen or recorded, not replayed) a cycle whose heating
    scan peaks above CP_MAX_REFINE is marched again from the cycle's start with
    eta * CP_MAX_REFINE_SCALE / min(peak, peak_ceiling): the error of a step grows with the Tf it
    moves and a tall, narrow peak magnifies any shift of it (measured: the error falls as eta**2
    and grows about as Cp_max**2).  Cycle by cycle, because the liquid at the top of the window
    has forgotten the cycles before, and the peaks of a CHR series differ tenfold.
    """
    span = idx_hi - idx_lo
    n_rates = cooling_K_per_s.size
    tf_out = np.empty((n_rates, span + 1))
    if method == METHOD_CONTINUOUS:
        pow2_up = pow2_table(weights.size, chains)
        modes = np.zeros(weights.size)
        grid = np.empty(span + 1)
        for j in range(span + 1):
            grid[j] = ZERO_CELSIUS_K + t_min_C + (idx_lo + j) * step_K
        state = np.zeros(STATE_SIZE)
        state[ST_LATTICE] = lattice_use
        state[ST_BUDGET] = ramp_budget
        state[ST_T] = grid[span]
        state[ST_TF] = grid[span]
        state[ST_L] = ln_tau(grid[span], grid[span], ln_A, dh_R_K, x)
        state[ST_H] = eta * grid[span] * grid[span] / dh_R_K
        none = np.empty(0)
        steps = 0
        refine = peak_ceiling > 0.0 and lattice_use != LATTICE_REPLAY
        cycle_modes = np.empty(modes.size)
        cycle_state = np.empty(STATE_SIZE)
        # the peak a cycle is expected to reach, from the peaks of the cycles before it (the
        # trend of the series): marched at that peak's step first, so that most tall cycles are
        # marched once; a cycle that peaks higher than its march allowed for is marched again
        expected = 0.0
        peaks = np.zeros(n_rates)
        for r in range(n_rates):
            if refine:
                cycle_modes[:] = modes
                cycle_state[:] = state
            if r >= 2 and peaks[r - 2] > 0.0:
                expected = peaks[r - 1] * min(1.0, peaks[r - 1] / peaks[r - 2])
            elif r == 1:
                expected = peaks[0]
            marched_for = expected if expected > CP_MAX_REFINE else 0.0
            for attempt in range(2):
                eta_r = eta if marched_for == 0.0 else eta * CP_MAX_REFINE_SCALE / min(marched_for, peak_ceiling)
                state[ST_CAP] = ETA_CAP if marched_for == 0.0 else 1.0
                taken = march_ramp(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state, grid[0],
                                   cooling_K_per_s[r], eta_r, none, none, lattice)
                taken += march_ramp(modes, weights, chains, ln_tau_max, pow2_up, ln_A, dh_R_K, x, state, grid[span],
                                    heating_K_per_s, eta_r, grid, tf_out[r], lattice)
                if not refine:
                    break
                peak = 0.0
                for j in range(1, span + 1):
                    peak = max(peak, tf_out[r, j] - tf_out[r, j - 1])
                peak /= step_K
                peaks[r] = peak
                if attempt == 1 or min(peak, peak_ceiling) <= max(CP_MAX_REFINE,
                                                                  PEAK_SLACK * min(marched_for, peak_ceiling)):
                    break
                modes[:] = cycle_modes
                state[:] = cycle_state
                marched_for = peak
            steps += taken
        return tf_out, steps
    n = substeps
    T_K, dT_K, dt_s, heat_start = chr_history(t_min_C, step_K / n, idx_lo * n, idx_hi * n,
                                              cooling_K_per_s, heating_K_per_s)
    if method == METHOD_EXACT_STAIRCASE:
        tf = exact_tf(T_K, dT_K, dt_s, ln_A, dh_R_K, x, beta)
    else:
        tf = fast_tf(T_K, dT_K, dt_s, ln_A, dh_R_K, x, weights, chains, ln_tau_max)
    for r in range(n_rates):
        tf_out[r, 0] = tf[heat_start[r] - 1]
        for j in range(1, span + 1):
            tf_out[r, j] = tf[heat_start[r] + j * n - 1]
    return tf_out, T_K.size


@numba.njit(cache=True)
def chr_cp_on_grid(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max,
                   cooling_K_per_s, heating_K_per_s, t_min_C, step_K, n_T,
                   idx_lo, idx_hi, method, eta, substeps, peak_ceiling, cp_out, tf_prime_K_out):
    """Simulate CHR cycles between lattice indices idx_lo < idx_hi and write Cp^N on the grid
    (``peak_ceiling``: the continuous method's second pass of tall peaks, see
    :func:`chr_tf_on_lattice`; 0: none).

    cp_out[r, i] receives the bin average (Tf(T_i) - Tf(T_i - step)) / step on heating scan r for
    T_i = t_min_C + i*step_K inside the cycle window, 0 below and 1 above it.
    tf_prime_K_out[r] receives Tf at the start of heating scan r (K).  Returns the largest
    |Cp^N| of the first and |Cp^N - 1| of the last bin of any scan.
    """
    tf, _ = chr_tf_on_lattice(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max, cooling_K_per_s,
                              heating_K_per_s, t_min_C, step_K, idx_lo, idx_hi, method, eta, substeps,
                              np.empty(0), LATTICE_ADAPT, 0.0, peak_ceiling)
    return _cp_from_tf(tf, step_K, n_T, idx_lo, idx_hi, cp_out, tf_prime_K_out)


@numba.njit(cache=True)
def chr_cp_frozen(ln_A, dh_R_K, x, weights, chains, ln_tau_max, cooling_K_per_s, heating_K_per_s,
                  t_min_C, step_K, n_T, idx_lo, idx_hi, eta, lattice, lattice_use, ramp_budget, peak_ceiling,
                  cp_out, tf_prime_K_out):
    """The continuous CHR cycles between lattice indices idx_lo < idx_hi with the internal steps
    recorded into (LATTICE_RECORD) or replayed from (LATTICE_REPLAY) ``lattice``; Cp^N into
    cp_out as :func:`chr_cp_on_grid`, at most about ``ramp_budget`` steps per ramp (0: no limit),
    tall peaks marched again when recording (``peak_ceiling``, see :func:`chr_tf_on_lattice`).
    Returns the number of internal steps (with RECORD: the entries written, or more than the
    lattice's size if it overflowed)."""
    tf, steps = chr_tf_on_lattice(ln_A, dh_R_K, x, 1.0, weights, chains, ln_tau_max, cooling_K_per_s,
                                  heating_K_per_s, t_min_C, step_K, idx_lo, idx_hi, METHOD_CONTINUOUS, eta, 1,
                                  lattice, lattice_use, ramp_budget, peak_ceiling)
    _cp_from_tf(tf, step_K, n_T, idx_lo, idx_hi, cp_out, tf_prime_K_out)
    return steps


@numba.njit(cache=True)
def _cp_from_tf(tf, step_K, n_T, idx_lo, idx_hi, cp_out, tf_prime_K_out):
    """Bin averages of the heating scans' Tf (n_rates, idx_hi - idx_lo + 1) on the grid of n_T
    points (0 below the window, 1 above); returns (max |Cp^N| of the first bin, max |Cp^N - 1| of the last)."""
    span = idx_hi - idx_lo
    first_cp = 0.0
    last_cp = 0.0
    for r in range(tf.shape[0]):
        tf_prime_K_out[r] = tf[r, 0]
        for i in range(n_T):
            s = i - idx_lo
            if s <= 0:
                cp_out[r, i] = 0.0
            elif s > span:
                cp_out[r, i] = 1.0
            else:
                cp_out[r, i] = (tf[r, s] - tf[r, s - 1]) / step_K
        first_cp = max(first_cp, abs((tf[r, 1] - tf[r, 0]) / step_K))
        last_cp = max(last_cp, abs((tf[r, span] - tf[r, span - 1]) / step_K - 1.0))
    return first_cp, last_cp


#: A cycle whose heating scan peaks above this is marched again with eta * SCALE / Cp_max
#: (chr_tf_on_lattice).
CP_MAX_REFINE = 3.0
CP_MAX_REFINE_SCALE = 1.5
#: A cycle marched for an expected peak is kept if its peak exceeds that by at most this factor
#: (its error grows as the square: 1.21 times that of a cycle marched for its own peak).
PEAK_SLACK = 1.1
#: ... but Cp_max counts at most this much: the state space's tallest peaks stay below it, and
#: parameters far outside it (a network's wild guess, x -> 0) must not cost minutes a sample;
#: beyond it the error grows as (Cp_max / CEILING)**2.
CP_MAX_REFINE_CEILING = 400.0

#: Sample status codes returned by the batch simulator.
STATUS_OK = 0
STATUS_NO_WINDOW = 1      # the adaptive window search did not converge
STATUS_EDGE = 2           # a scan starts or ends off 0 / 1 by more than the tolerance
STATUS_OFF_GRID = 3       # the window reaches below t_min or above t_max of the grid


@numba.njit(cache=True)
def chr_sample(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max,
               cooling_K_per_s, heating_K_per_s, t_min_C, step_K, n_T,
               fixed_lo, fixed_hi, tol, method, eta, substeps, cp_out, tf_prime_K_out, window_out, edge_out):
    """One parameter set: choose the cycle window (unless fixed), simulate, fill cp_out.

    fixed_lo / fixed_hi are lattice indices of user-given cycle bounds or a huge negative
    sentinel (< -2**60) for "choose adaptively".  window_out receives the lattice indices
    (lo, hi) used.  Returns a status code (STATUS_*).
    """
    status = STATUS_OK
    auto_lo = fixed_lo < -(2 ** 60)
    auto_hi = fixed_hi < -(2 ** 60)
    lo = fixed_lo
    hi = fixed_hi
    if auto_lo or auto_hi:
        T_lo, T_hi, ok = chr_window_K(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max,
                                      cooling_K_per_s, heating_K_per_s, tol)
        if not ok:
            status = STATUS_NO_WINDOW
        # An automatic window is kept within the grid widened by a quarter of its range on
        # either side: what lies further out is never seen, and a set whose transition lies
        # far off the grid (a wild prediction, say) must not need an unbounded history.
        pad = (n_T - 1) // 4
        floor_idx = int(math.ceil((1.0 - ZERO_CELSIUS_K - t_min_C) / step_K))
        lo_f = (T_lo - ZERO_CELSIUS_K - t_min_C) / step_K if math.isfinite(T_lo) else -1e18
        hi_f = (T_hi - ZERO_CELSIUS_K - t_min_C) / step_K if math.isfinite(T_hi) else 1e18
        if auto_lo:
            lo = max(int(math.floor(max(lo_f, -pad - 1.0))), -pad, floor_idx)
        if auto_hi:
            hi = int(math.ceil(min(hi_f, n_T - 1.0 + pad)))
        if (auto_lo and lo_f < -pad) or (auto_hi and hi_f > n_T - 1 + pad):
            status = STATUS_OFF_GRID
        if hi <= lo + 1:
            hi = lo + 2
    for attempt in range(4):
        first_cp, last_cp = chr_cp_on_grid(ln_A, dh_R_K, x, beta, weights, chains, ln_tau_max,
                                           cooling_K_per_s, heating_K_per_s, t_min_C, step_K,
                                           n_T, lo, hi, method, eta, substeps, CP_MAX_REFINE_CEILING,
                                           cp_out, tf_prime_K_out)
        widen = max((hi - lo) // 20, 4)
        grew = False
        if first_cp > tol and auto_lo and attempt < 3 and status != STATUS_OFF_GRID:
            floor_idx = int(math.ceil((1.0 - ZERO_CELSIUS_K - t_min_C) / step_K))
            if lo > max(floor_idx, -((n_T - 1) // 4)):
                lo = max(lo - widen, floor_idx, -((n_T - 1) // 4))
                grew = True
        if last_cp > tol and auto_hi and attempt < 3 and status != STATUS_OFF_GRID:
            if hi < n_T - 1 + (n_T - 1) // 4:
                hi = min(hi + widen, n_T - 1 + (n_T - 1) // 4)
                grew = True
        if not grew:
            break
    window_out[0] = lo
    window_out[1] = hi
    edge_out[0] = first_cp
    edge_out[1] = last_cp
    if status == STATUS_OK and (first_cp > tol or last_cp > tol):
        status = STATUS_EDGE
    if status == STATUS_OK and (lo < 0 or hi > n_T - 1):
        status = STATUS_OFF_GRID
    return status


@numba.njit(cache=True, parallel=True)
def chr_batch(ln_A, dh_R_K, x, beta, beta_index, weights, chains, ln_tau_max, n_modes,
              cooling_K_per_s, heating_K_per_s, t_min_C, step_K, n_T,
              fixed_lo, fixed_hi, tol, method, eta, substeps, cp_out, tf_prime_K_out, window_out, edge_out,
              status_out):
    """chr_sample over samples in parallel; Prony tables are rows of ``weights`` picked by
    ``beta_index`` (row b holds n_modes[b] weights)."""
    for n in numba.prange(ln_A.size):
        b = beta_index[n]
        # private copies: arrays shared by the threads have one reference count, which every call
        # of the march updates atomically; two cores fighting over it ran at 0.6 of one
        status_out[n] = chr_sample(ln_A[n], dh_R_K[n], x[n], beta[n],
                                   weights[b, :n_modes[b]].copy(), chains[b], ln_tau_max[b],
                                   cooling_K_per_s.copy(), heating_K_per_s, t_min_C, step_K, n_T,
                                   fixed_lo, fixed_hi, tol, method, eta, substeps,
                                   cp_out[n], tf_prime_K_out[n], window_out[n], edge_out[n])
