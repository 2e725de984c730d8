"""Classical estimators of the TNM parameters from a set of heating scans, without a network.

- :func:`tf_prime_from_scans`: the limiting fictive temperature of each scan from its area
  (Cp^N = dTf/dT on heating, so Tf' = T_end - ∫ Cp^N dT when the scan starts in the glass and
  ends in the liquid), over the window :func:`transition_window` finds around the transition, as
  a practitioner integrates (over the whole grid, noise and a baseline tilt far from the
  transition would swamp the area);
- :func:`moynihan_estimate`: Δh* from the shift of Tf' with cooling rate (Moynihan's relation
  with the Tf'² correction);
- :func:`practitioner_start`: the start a practitioner would use without a network: Δh* from
  Moynihan, the position from Tf', x = β = 0.5;
- :func:`least_squares_fit`: bounded nonlinear least squares of the six scans on the converged
  fast simulator (``scipy.optimize.least_squares``);
- :class:`LookupTable`: the simulation-comparative method of the paper's references: the nearest
  neighbours of a sample in a precomputed table of peak descriptors.

Every estimator returns an :class:`Estimate` with a status and never raises on bad scans (empty,
flat, NaN): a comparison of estimators must count failures, not stop at the first.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from ..physics.descriptors import peak_descriptors
from ..physics.instrument import instrument_lag
from ..physics.moynihan import moynihan_dh_J_per_mol
from ..physics.simulate import BETA_MIN, FrozenChr
from ..study.parameters import NORM_LOWER, NORM_UPPER
from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN

#: Status of an estimate.
OK, NOT_CONVERGED, AT_BOUND, BAD_INPUT, FAILED = "ok", "not converged", "at bound", "bad input", "failed"
#: Bounds of the fit (stored units): Table 3's box for Δh* and ln A, the simulator's for x and β.
FIT_LOWER = np.array([NORM_LOWER[0], NORM_LOWER[1], 0.05, BETA_MIN])
FIT_UPPER = np.array([NORM_UPPER[0], NORM_UPPER[1], 1.0, 1.0])


@dataclass
class Estimate:
    """Parameters (dh J/mol, ln A, x, β; NaN where not estimated), a status and the cost."""

    params: np.ndarray
    status: str
    seconds: float = 0.0
    evaluations: int = 0
    message: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK


def _failed(status: str, message: str, t0: float) -> Estimate:
    return Estimate(np.full(4, np.nan), status, time.perf_counter() - t0, message=message)


def check_scans(cp, T_C, rates) -> str:
    """Empty string if the scans can be read, else why not."""
    cp, T_C = np.asarray(cp, dtype=float), np.asarray(T_C, dtype=float)
    if cp.ndim != 2 or cp.shape[0] != len(rates) or cp.shape[1] != T_C.size or T_C.size < 4:
        return f"expected scans of shape ({len(rates)}, {T_C.size}), got {cp.shape}"
    if not np.all(np.isfinite(cp)) or not np.all(np.isfinite(T_C)):
        return "scans contain NaN or infinite values"
    if np.any(np.ptp(cp, axis=1) < 0.5):
        return "a scan has no glass transition (it rises by less than half the Cp jump)"
    if np.any(np.diff(T_C) <= 0):
        return "temperatures must increase"
    return ""


def transition_window(cp: np.ndarray, T_C: np.ndarray, smooth_K: float = 2.0, min_margin_K: float = 10.0,
                      margin_widths: float = 4.0) -> tuple[int, int]:
    """Grid indices (lo, hi) of a window that starts in the glass and ends in the liquid for all
    scans (n_rates, n_T) of a sample, centred on the transition.

    On each scan smoothed over ``smooth_K``: T50, from where the scan stays above half the jump;
    T10, the last point below 0.1 before it; and where the scan settles within 0.1 of the liquid
    line after its peak (sought within 20 rise widths or 50 K of T50).  The window is centred on
    the mean T50, with a half-width of ``margin_widths`` times the widest rise (T50 - T10) or fall
    (settling point - T50) of any scan, plus ``min_margin_K``.  Centred, so that a baseline tilt
    through the transition adds almost nothing to the area.  Without a transition (no point
    reaches 0.5): the whole grid.
    """
    cp, T_C = np.asarray(cp, dtype=float), np.asarray(T_C, dtype=float)
    n_T = T_C.size
    step = float(np.median(np.diff(T_C)))
    half = max(0, int(round(smooth_K / step / 2)))
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    centres, widths = [], []
    for scan in cp:
        smooth = np.convolve(np.pad(scan, half, mode="edge"), kernel, mode="valid")
        below = np.nonzero(smooth < 0.5)[0]
        if below.size == n_T:
            return 0, n_T - 1
        i50 = int(below[-1]) + 1 if below.size else 0
        glass = np.nonzero(smooth[:i50] < 0.1)[0]
        i10 = int(glass[-1]) if glass.size else 0
        reach = int(np.searchsorted(T_C, T_C[i50] + max(20 * (T_C[i50] - T_C[i10]), 50.0)))
        i_peak = i50 + int(np.argmax(smooth[i50:max(reach, i50 + 1)]))  # the overshoot, not a tilted far end
        settled = np.nonzero(np.abs(smooth[i_peak:] - 1.0) < 0.1)[0]
        i_liquid = i_peak + int(settled[0]) if settled.size else n_T - 1
        centres.append(T_C[i50])
        widths.append(max(T_C[i50] - T_C[i10], T_C[i_liquid] - T_C[i50]))
    centre = float(np.mean(centres))
    half_width = margin_widths * max(widths) + min_margin_K + (max(centres) - min(centres)) / 2
    lo = int(np.searchsorted(T_C, centre - half_width, side="right")) - 1
    hi = int(np.searchsorted(T_C, centre + half_width, side="left"))
    return max(lo, 0), min(hi, n_T - 1)


def tf_prime_from_scans(cp: np.ndarray, T_C: np.ndarray, window: tuple[int, int] | None = None) -> np.ndarray:
    """Limiting fictive temperature (°C) of each scan (n_rates, n_T) from its area over the grid
    indices ``window`` = (lo, hi) (default: :func:`transition_window`; (0, n_T - 1): the whole grid).

    A grid value is the average of dTf/dT over the bin (T_{i-1}, T_i] (the simulator's output,
    and what a DSC integrates over its sampling interval), so the area is exactly
    Σ_{lo<i<=hi} Cp^N_i (T_i - T_{i-1}), and Tf' = T_hi - area when T_lo lies in the glass and
    T_hi in the liquid."""
    cp, T_C = np.asarray(cp, dtype=float), np.asarray(T_C, dtype=float)
    lo, hi = transition_window(cp, T_C) if window is None else window
    return T_C[hi] - np.sum(cp[:, lo + 1:hi + 1] * np.diff(T_C[lo:hi + 1]), axis=1)


def moynihan_estimate(cp, T_C, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN) -> Estimate:
    """Δh* (J/mol) from Moynihan's relation on the Tf' of the scans; the other parameters NaN."""
    t0 = time.perf_counter()
    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    problem = check_scans(cp, T_C, rates)
    if problem:
        return _failed(BAD_INPUT, problem, t0)
    tf = tf_prime_from_scans(cp, T_C)
    try:
        dh = moynihan_dh_J_per_mol(rates, tf)
    except Exception as exc:  # noqa: BLE001 - an estimator reports, never raises
        return _failed(FAILED, str(exc), t0)
    if not math.isfinite(dh) or dh <= 0:
        return _failed(FAILED, f"Tf' does not fall with cooling rate (slope gives Δh* = {dh:.3g} J/mol)", t0)
    return Estimate(np.array([dh, np.nan, np.nan, np.nan]), OK, time.perf_counter() - t0,
                    extra={"tf_prime_C": tf.tolist()})


def _position(dh: float, tg_K: float, rate_K_per_min: float) -> float:
    """ln A that puts the glass transition at tg_K for cooling at rate_K_per_min: there the
    relaxation time equals the time the ramp needs to cross the transition, R·Tg²/(Δh*·q)."""
    q_K_per_s = rate_K_per_min / 60.0
    return math.log(R_J_PER_MOL_K * tg_K ** 2 / (dh * q_K_per_s)) - dh / (R_J_PER_MOL_K * tg_K)


def practitioner_start(cp, T_C, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN) -> Estimate:
    """The start of a fit without a network: Δh* from Moynihan (clipped into the fit bounds), ln A
    placing the transition at the mean Tf', x = β = 0.5."""
    t0 = time.perf_counter()
    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    moynihan = moynihan_estimate(cp, T_C, rates)
    if not moynihan.ok:
        return moynihan
    dh = float(np.clip(moynihan.params[0], FIT_LOWER[0], FIT_UPPER[0]))
    tg_K = float(np.mean(moynihan.extra["tf_prime_C"])) + ZERO_CELSIUS_K
    ln_a = _position(dh, tg_K, float(np.exp(np.mean(np.log(rates)))))
    params = np.clip(np.array([dh, ln_a, 0.5, 0.5]), FIT_LOWER, FIT_UPPER)
    return Estimate(params, OK, time.perf_counter() - t0, extra={"tg_C": tg_K - ZERO_CELSIUS_K})


#: Upper bound (s) of a fitted instrument lag.
LAG_MAX_S = 30.0
#: Forward-difference step of the fit's Jacobian, as a fraction of each parameter's fit range.
FD_STEP = 1e-7
#: Rounds of a fit, each with the simulator's internal steps frozen where the last ended.
FREEZE_ROUNDS = 3
#: Peak height (Cp^N) beyond which the internal steps of the early rounds are not refined, and
#: the most steps they take per ramp.
EARLY_ROUND_PEAK_CEILING = 10.0
EARLY_ROUND_RAMP_BUDGET = 20_000
#: Evaluations a round may take even when the budget is spent.
MIN_ROUND_EVALUATIONS = 20
#: A direction of the Jacobian with a singular value below this fraction of the largest (columns
#: scaled by the parameters' ranges) is not fixed by the data.
SINGULAR_RCOND = 1e-9
#: A parameter whose standard error exceeds this fraction of its fit range is not determined.
UNDETERMINED_SPAN_FRACTION = 0.25
#: Beyond this |correlation| of Δh* and ln A a fit asked for profiles computes them; secant steps
#: per side and evaluations per constrained refit.
PROFILE_CORRELATION = 0.99
PROFILE_STEPS = 2
PROFILE_EVALUATIONS = 15
#: scipy's tolerances of a constrained refit: Δχ² to ~0.01 where the cost is ~1000 s² (a few
#: thousand data points)
PROFILE_TOLERANCE = 1e-7
#: Fewest and most points of the fine uniform grid the model is simulated on when the data's
#: grid is uneven: sparse rows across a narrow peak need a grid finer than the rows (read
#: linearly between 0.12 K bins, a peak 0.3 K wide was 5 % off; the simulator's cost hardly
#: depends on the number of output points).
MIN_FINE_POINTS, MAX_FINE_POINTS = 4_000, 20_000


def least_squares_fit(cp, T_C, start, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN,
                      heating_rate_K_per_min: float = PAPER_HEATING_RATE_K_PER_MIN,
                      max_evaluations: int = 200, *, lag_s: float = 0.0, fit_lag: bool = False,
                      tolerance: float = 1e-8, free_lines: bool = False, model=None,
                      line_gap: np.ndarray | None = None, profile: bool = False) -> Estimate:
    """Bounded least squares of the scans (n_rates, n_T) on the increasing grid ``T_C`` (°C), from
    ``start`` (dh J/mol, ln A, x, β), on the fast simulator.  On a uniform grid the model is
    simulated on the data's own grid (a value is the bin average over the step below it); on an
    uneven one, on a uniform grid of half the median spacing, read at the data's temperatures.

    The fit runs in (Δh*, c, x, β) with c = ln A + Δh*/(R·T_ref) and T_ref the mean Tf' of the
    scans: along the ridge where Δh* and ln A trade off at a fixed transition temperature, c
    hardly changes, so the two directions are nearly independent.  Each is scaled by its fit
    range.  The model scans pass through a first-order instrument lag of ``lag_s`` seconds
    (:func:`tnmlib.physics.instrument.instrument_lag`); with ``fit_lag`` the lag is a fifth parameter,
    started at ``lag_s`` and bounded by [0, LAG_MAX_S].  ``tolerance``: scipy's ftol, xtol and gtol.

    ``extra`` holds the cost, the lag (s), ``stderr`` of (dh J/mol, ln A, x, β[, lag s]) and their
    ``correlation`` matrix, from the Jacobian at the optimum scaled by the residual variance
    (covariance s²(JᵀJ)⁻¹ with s² = Σr²/(m − n)).  Status: "ok", "not converged" (evaluation
    budget spent), "at bound" (a parameter on its bound), "bad input" or "failed".

    ``model``: a function (params, lag s) -> scans (n_rates, n_T) on ``T_C`` to fit instead of the
    constant-rate cycles (:func:`scans_on_grid`), e.g. the measured history of a run
    (:func:`tnmlib.estimation.runs.history_model`).

    With ``free_lines`` the scans are Cp^N from provisional glass and liquid lines, and each
    scan's lines are refined with the model: the data are compared with
    (a₀ + a₁t)(1 − N) + (b₀ + b₁t)N, N the model scan and t = (T − T_mid)/(half the span), the
    four coefficients per scan solved by linear least squares at every evaluation (variable
    projection), so the slow rise a glass shows below its transition is the model's, not the
    line's.  ``line_gap`` (n_scans, n_T): the provisional lines' gap (liquid − glass) relative to
    its mean; with it the raw Cp's lines are the linear ones — y·gap = (a₀ + a₁t)(1 − N) +
    (b₀ + b₁t)N, residuals divided by the gap — which is exact for any linear provisional lines;
    without it the relation is exact only where their gap is constant.  ``extra["lines"]`` holds (a₀, a₁, b₀, b₁) per scan (0, 0,
    1, 0 when the provisional lines were right) and ``extra["line_t"]`` (T_mid, half span, °C);
    the standard errors are those of the projected problem (m − n − 4·n_scans degrees of freedom).

    With ``profile``, where Δh* and ln A are correlated beyond PROFILE_CORRELATION (the ridge,
    where the Jacobian's linear picture is least trustworthy), ``extra["profile"]`` holds their
    profile-likelihood intervals: the values at which the cost, every other parameter refitted,
    has risen by Δχ² = 4 (two standard errors for one parameter), found by secant steps
    (:func:`_profile_bounds`).
    """
    t0 = time.perf_counter()
    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    problem = check_scans(cp, T_C, rates)
    start = np.asarray(start, dtype=float).ravel()
    if not problem and (start.size != 4 or not np.all(np.isfinite(start))):
        problem = f"the start must be 4 finite numbers, got {start}"
    if not problem and not (math.isfinite(lag_s) and 0.0 <= lag_s <= LAG_MAX_S):
        problem = f"the lag must be within [0, {LAG_MAX_S:g}] s, got {lag_s}"
    if problem:
        return _failed(BAD_INPUT, problem, t0)
    from scipy.optimize import least_squares

    cp = np.asarray(cp, dtype=float)
    T_C = np.asarray(T_C, dtype=float)
    simulate_on_data = model or scans_on_grid(T_C, rates, heating_rate_K_per_min)
    t_ref_K = float(np.mean(tf_prime_from_scans(cp, T_C))) + ZERO_CELSIUS_K
    n_fit = 5 if fit_lag else 4

    def to_fit(p):
        z = np.array(p, dtype=float)
        z[1] = p[1] + p[0] / (R_J_PER_MOL_K * t_ref_K)
        return z

    def from_fit(z):
        p = np.array(z, dtype=float)
        p[1] = z[1] - z[0] / (R_J_PER_MOL_K * t_ref_K)
        return p

    to_physical = np.eye(n_fit)  # d p / d z, for the covariance
    to_physical[1, 0] = -1.0 / (R_J_PER_MOL_K * t_ref_K)

    corners = np.array([[FIT_LOWER[0], FIT_UPPER[0]], [FIT_LOWER[1], FIT_UPPER[1]]])
    c_values = corners[1][None, :] + corners[0][:, None] / (R_J_PER_MOL_K * t_ref_K)
    lower = np.array([FIT_LOWER[0], c_values.min(), FIT_LOWER[2], FIT_LOWER[3], 0.0][:n_fit])
    upper = np.array([FIT_UPPER[0], c_values.max(), FIT_UPPER[2], FIT_UPPER[3], LAG_MAX_S][:n_fit])
    p0 = np.append(np.clip(start, FIT_LOWER, FIT_UPPER), lag_s)[:n_fit]
    z0 = np.clip(to_fit(p0), lower, upper)
    # The model's internal steps are frozen (a smooth function of the parameters: see
    # scans_on_grid), so forward differences can take steps of 1e-7 of each parameter's range
    # (with the adaptive simulator, whose output jumps by ~1e-4 in Cp^N, they had to be ~1e-3,
    # and the gradients were still rough enough to stop fits early).
    freeze = getattr(simulate_on_data, "freeze", None)
    diff_step = FD_STEP * (upper - lower) / np.maximum(1.0, np.abs(z0))
    evaluations = 0

    line_t = (0.5 * (T_C[0] + T_C[-1]), max(0.5 * (T_C[-1] - T_C[0]), 1e-9))
    t = (T_C - line_t[0]) / line_t[1]

    def lines_of(model):
        """Per scan (a0, a1, b0, b1) and the fitted data (n_scans, n_T) of the model scans."""
        coefs, fitted = np.empty((model.shape[0], 4)), np.empty_like(model)
        for k, n in enumerate(model):
            coefs[k], fitted[k] = project_lines(cp[k], n, t, None if line_gap is None else line_gap[k])
        return coefs, fitted

    def residuals(z):
        nonlocal evaluations
        evaluations += 1
        p = from_fit(z)
        model = simulate_on_data(p[:4], p[4] if fit_lag else lag_s)
        if free_lines:
            return (lines_of(model)[1] - cp).ravel()
        return (model - cp).ravel()

    z, result = z0, None
    try:
        # Each round on the internal steps of where the last ended (far from the start they need
        # not suit the transition any more); the optima of the rounds converge to the point whose
        # own steps it is the optimum on, whatever the start.  Early rounds take the steps of a
        # peak at most EARLY_ROUND_PEAK_CEILING tall: a start with x near 0 has a peak of Cp^N in
        # the hundreds, and its steps would cost seconds per evaluation.
        rounds = FREEZE_ROUNDS if freeze is not None else 1
        for round_ in range(rounds):
            if freeze is not None:
                freeze(from_fit(z)[:4], final=round_ == rounds - 1)
            result = least_squares(residuals, z, bounds=(lower, upper), x_scale=upper - lower,
                                   max_nfev=max(max_evaluations - evaluations, MIN_ROUND_EVALUATIONS), method="trf",
                                   diff_step=diff_step, ftol=tolerance, xtol=tolerance, gtol=tolerance)
            z = result.x
    except Exception as exc:  # noqa: BLE001 - an estimator reports, never raises
        return _failed(FAILED, f"{type(exc).__name__}: {exc}", t0)
    # ln A is not clipped to Table 3's box: the fit's bounds are on c (which the box's corners
    # set), and a clipped ln A made the cost flat beyond the box, where fits along the Δh*–ln A
    # ridge then stopped (1 % noise + lag: 8 of 420 whole-space fits); what is returned is what
    # the model used
    fitted = from_fit(result.x)
    span = upper - lower
    on_bound = np.any((result.x[:4] - lower[:4] < 1e-6 * span[:4]) | (upper[:4] - result.x[:4] < 1e-6 * span[:4]))
    status = NOT_CONVERGED if result.status == 0 else (AT_BOUND if on_bound else OK)
    if result.status < 0:
        status = FAILED
    try:
        stderr, correlation = _uncertainty(result.jac, result.fun, to_physical,
                                           extra_dof=4 * cp.shape[0] if free_lines else 0, scale=upper - lower)
    except np.linalg.LinAlgError:  # an estimator reports, never raises
        stderr, correlation = np.full(n_fit, np.inf), np.full((n_fit, n_fit), np.nan)
    physical_span = np.append(FIT_UPPER - FIT_LOWER, LAG_MAX_S)[:n_fit]
    undetermined = ~np.isfinite(stderr) | (stderr > UNDETERMINED_SPAN_FRACTION * physical_span)
    stderr = np.where(undetermined, np.nan, stderr)
    extra = {"cost": float(result.cost), "residual_rms": float(np.sqrt(np.mean(result.fun ** 2))),
             "lag_s": float(fitted[4]) if fit_lag else float(lag_s), "t_ref_C": t_ref_K - ZERO_CELSIUS_K,
             "stderr": stderr.tolist(), "correlation": correlation.tolist(),
             "not_determined": [int(k) for k in np.nonzero(undetermined)[0]]}
    if profile and abs(correlation[0, 1]) >= PROFILE_CORRELATION and status == OK:
        dof = max(result.fun.size - n_fit - (4 * cp.shape[0] if free_lines else 0), 1)
        s2 = 2.0 * float(result.cost) / dof
        directions = {"dh": np.eye(n_fit)[0], "ln_A": np.append([-1.0 / (R_J_PER_MOL_K * t_ref_K), 1.0],
                                                                 np.zeros(n_fit - 2))}
        intervals = {}
        for k, (name, direction) in enumerate(directions.items()):
            intervals[name] = _profile_bounds(residuals, result.x, direction, float(result.cost), s2, lower, upper,
                                              2.0 * stderr[k] if np.isfinite(stderr[k]) else 0.1 * physical_span[k],
                                              result.jac)
        extra["profile"] = {**intervals, "method": "profile likelihood: where the cost, the other parameters "
                                                   "refitted, rises by Δχ² = 4 (±2 standard errors for one parameter)"}
    if free_lines:
        model = simulate_on_data(fitted[:4], fitted[4] if fit_lag else lag_s)
        extra.update(lines=lines_of(model)[0].tolist(), line_t=list(line_t))
    return Estimate(fitted[:4], status, time.perf_counter() - t0, evaluations, result.message, extra=extra)


def _profile_bounds(residuals, z_hat: np.ndarray, direction: np.ndarray, cost_min: float, s2: float,
                    lower: np.ndarray, upper: np.ndarray, guess: float, jacobian: np.ndarray,
                    target: float = 2.0, steps: int = PROFILE_STEPS) -> list[float]:
    """[low, high] of v = direction·z where the profile statistic t(v) = sqrt(2 (cost(v) −
    cost_min) / s2) reaches ``target``: at each trial v the other directions (the null space of
    ``direction``, in coordinates scaled by the bounds) are refitted, starting on the linearised
    profile path (from the ``jacobian`` at the optimum) or the last solution; v moves by secant
    steps on t, which is linear in v where the cost is quadratic.  ``guess``: the first offset
    (e.g. two standard errors).  A side that cannot be found (a bound reached, the cost never
    rising) is None."""
    from scipy.linalg import null_space
    from scipy.optimize import least_squares

    scale = upper - lower
    a = direction * scale  # v = a·zs + v_hat, zs = (z − z_hat)/scale
    scaled = jacobian * scale
    covariance = np.linalg.pinv(scaled.T @ scaled)
    along = covariance @ a / float(a @ covariance @ a)  # the linearised path: a·along = 1
    others = null_space(a[None, :])
    v_hat = float(direction @ z_hat)
    bounds = []
    for sign in (-1.0, 1.0):
        offset, y, found = sign * abs(guess), np.zeros(others.shape[1]), None
        for _ in range(steps):
            base = offset * along

            def constrained(y, base=base):
                return residuals(np.clip(z_hat + scale * (base + others @ y), lower, upper))

            try:
                fit = least_squares(constrained, y, method="trf", max_nfev=PROFILE_EVALUATIONS,
                                    diff_step=FD_STEP, ftol=PROFILE_TOLERANCE, xtol=PROFILE_TOLERANCE,
                                    gtol=PROFILE_TOLERANCE)
            except Exception:  # noqa: BLE001 - a side that cannot be found is reported as such
                break
            y = fit.x
            t = math.sqrt(max(2.0 * (float(fit.cost) - cost_min), 0.0) / s2)
            z = z_hat + scale * (base + others @ y)
            if np.any((z <= lower) | (z >= upper)) or t <= 1e-3:
                break
            found = v_hat + offset * target / t
            if abs(target / t - 1.0) < 0.05:  # the secant's own error is second order in this
                break
            offset *= target / t
        bounds.append(found)
    return bounds


def project_lines(y: np.ndarray, n: np.ndarray, t: np.ndarray, gap: np.ndarray | None = None):
    """One scan's lines refined against a model scan by linear least squares: provisional Cp^N
    ``y`` ≈ ((a₀ + a₁t)(1 − n) + (b₀ + b₁t)n) / gap (``gap``: the provisional lines' relative gap,
    1 if None; ``t`` a scaled temperature).  Returns (a₀, a₁, b₀, b₁) and the fitted ``y``."""
    design = np.column_stack([1.0 - n, t * (1.0 - n), n, t * n])
    if gap is not None:
        design = design / gap[:, None]
    coefs = np.linalg.lstsq(design, y, rcond=None)[0]
    return coefs, design @ coefs


def scans_on_grid(T_C: np.ndarray, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN,
                  heating_rate_K_per_min: float = PAPER_HEATING_RATE_K_PER_MIN):
    """A function (params (dh J/mol, ln A, x, β), lag s) -> model scans (n_rates, n_T) on the increasing
    grid ``T_C`` (°C), as the fit compares them with data.  On a uniform grid (up to rounding in a
    file) the simulator runs on the data's own grid, a value being the bin average over the step
    below it; on an uneven one, on a uniform grid of half the median spacing or finer (at least
    MIN_FINE_POINTS, at most MAX_FINE_POINTS), read at the data's temperatures (bin centres).  The simulator's internal
    steps are frozen (:class:`tnmlib.physics.simulate.FrozenChr`): the function's ``freeze(params)``
    records them at ``params`` (else the first call does), so that the scans are a smooth function
    of the parameters."""

    rates = np.asarray(cooling_rates_K_per_min, dtype=float)
    T_C = np.asarray(T_C, dtype=float)
    spacing = np.diff(T_C)
    if np.allclose(spacing, spacing.mean(), rtol=1e-3, atol=0.0):
        step, start, on_data = float(spacing.mean()), float(T_C[0]), None
        n_sim = T_C.size
    else:
        span = float(np.ptp(T_C))
        step = max(min(float(np.median(spacing)) / 2.0, span / MIN_FINE_POINTS), span / MAX_FINE_POINTS)
        start, on_data = float(T_C[0]) - step, T_C
        n_sim = int(math.ceil((float(T_C[-1]) - start) / step)) + 2
    centres = start + step * (np.arange(n_sim) - 0.5)
    simulator = FrozenChr(start, step, n_sim, rates, heating_rate_K_per_min)

    def freeze(params, final: bool = True) -> None:
        simulator.freeze(params, **({} if final else {"peak_ceiling": EARLY_ROUND_PEAK_CEILING,
                                                      "ramp_budget": EARLY_ROUND_RAMP_BUDGET}))

    def model(params, lag_s: float = 0.0) -> np.ndarray:
        scans = simulator(params)
        if lag_s > 0:
            scans = instrument_lag(scans, lag_s, step, heating_rate_K_per_min)
        if on_data is None:
            return scans
        return np.array([np.interp(on_data, centres, scan) for scan in scans])

    model.freeze = freeze
    return model


def _uncertainty(jacobian: np.ndarray, residuals: np.ndarray, to_physical: np.ndarray,
                 extra_dof: int = 0, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors and correlation matrix of the physical parameters p = to_physical @ z from
    the Jacobian d r / d z at the optimum: cov_z = s² (JᵀJ)⁻¹ with s² = Σr² / (m − n − extra_dof)
    (``extra_dof``: linear parameters projected out of the residuals).

    The inverse is taken by singular values of J with its columns multiplied by ``scale`` (each
    parameter's range): a direction whose singular value is below SINGULAR_RCOND of the largest
    is one the data do not fix, and every parameter with a share in it gets an infinite standard
    error (a pseudo-inverse would give it a small, finite one)."""
    m, n = jacobian.shape
    s2 = float(residuals @ residuals) / max(m - n - extra_dof, 1)
    scale = np.ones(n) if scale is None else np.asarray(scale, dtype=float)
    if not (np.all(np.isfinite(jacobian)) and math.isfinite(s2)):
        # a model that broke down next to the optimum (a wild fit's corner): nothing is determined
        return np.full(n, np.inf), np.full((n, n), np.nan)
    _, sigma, vt = np.linalg.svd(jacobian * scale, full_matrices=False)
    free = sigma <= SINGULAR_RCOND * max(float(sigma[0]), 1e-300)
    kept = vt[~free] / sigma[~free, None]
    cov_z = s2 * (scale[:, None] * (kept.T @ kept) * scale[None, :])
    cov = to_physical @ cov_z @ to_physical.T
    stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if np.any(free):
        share = np.abs(to_physical @ (scale[:, None] * vt[free].T))  # (n, n_free)
        stderr = np.where(np.any(share > 1e-9 * np.max(share), axis=1), np.inf, stderr)
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.where(np.outer(stderr, stderr) > 0, cov / np.outer(stderr, stderr), np.nan)
    return stderr, correlation


def lookup_features(cp: np.ndarray, T_C: np.ndarray) -> np.ndarray:
    """Descriptors of scans (n, n_rates, n_T) on the grid T_C (°C) that do not depend on the grid:
    per sample, the mean Tf' (°C), each scan's Tf' minus that mean (K), each scan's ln Cp_max and
    its peak temperature minus its Tf' (K).  Array (n, 1 + 3 n_rates)."""
    cp = np.asarray(cp, dtype=float)
    n, n_rates, n_T = cp.shape
    tf = np.stack([tf_prime_from_scans(sample, T_C) if np.all(np.isfinite(sample)) else np.full(n_rates, np.nan)
                   for sample in cp])
    per_scan = peak_descriptors(np.ascontiguousarray(cp.reshape(n * n_rates, 1, n_T)), np.asarray(T_C, dtype=float))
    cp_max = per_scan["cp_max"].reshape(n, n_rates)
    t_peak = per_scan["T_peak_C"].reshape(n, n_rates)
    mean_tf = tf.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.column_stack([mean_tf, tf - mean_tf, np.log(cp_max), t_peak - tf])


@dataclass
class LookupTable:
    """A table of simulated samples: their descriptors (:func:`lookup_features`) and parameters.
    Each descriptor is scaled by its spread over the table before distances are taken."""

    features: np.ndarray
    params: np.ndarray
    cooling_rates: np.ndarray

    @classmethod
    def from_scans(cls, cp, T_C, params, cooling_rates_K_per_min=PAPER_COOLING_RATES_K_PER_MIN) -> "LookupTable":
        """Build the table from simulated scans (n, n_rates, n_T) and their parameters (n, 4)."""
        features = lookup_features(cp, T_C)
        keep = np.all(np.isfinite(features), axis=1)
        return cls(features[keep], np.asarray(params, dtype=float)[keep], np.asarray(cooling_rates_K_per_min, dtype=float))

    def __post_init__(self):
        from scipy.spatial import cKDTree

        spread = np.std(self.features, axis=0)
        self._scale = np.where(spread > 0, spread, 1.0)
        self._tree = cKDTree(self.features / self._scale)

    def estimate(self, cp, T_C, k: int = 5) -> Estimate:
        """The mean parameters of the ``k`` table samples nearest to the scans (n_rates, n_T)."""
        t0 = time.perf_counter()
        problem = check_scans(cp, T_C, self.cooling_rates)
        if problem:
            return _failed(BAD_INPUT, problem, t0)
        features = lookup_features(np.asarray(cp, dtype=float)[None], T_C)[0]
        if not np.all(np.isfinite(features)):
            return _failed(FAILED, "the scans' descriptors are not finite", t0)
        distance, index = self._tree.query(features / self._scale, k=min(k, len(self.params)))
        index = np.atleast_1d(index)
        return Estimate(self.params[index].mean(axis=0), OK, time.perf_counter() - t0,
                        extra={"distance": float(np.atleast_1d(distance)[0])})
