"""Instrument exports with a known truth, made independently of the fit: the check of ``tnm fit``
on exports without the inverse crime.

``tnm fit`` simulates the history it reads from an export with the continuous marcher
(:func:`tnmlib.physics.simulate.program_scans`, steps in ln τ) on a uniform 0.5 K grid.  The runs
here come from the other route — the Prony staircase at jumps of 0.005 and 0.0025 K extrapolated
to zero jump (:func:`tnmlib.physics.simulate.simulate_program_reference`), Cp^N as the slope of
Tf between its 0.05 K points — and from programs, spans and row spacings the fit has never been
tuned on, all drawn per run (:func:`draw_run`):

- a glass anywhere in a practitioner's range: Δh* 200–900 kJ/mol (log-uniform), T_ref (τ_eq =
  100 s) −60…180 °C, x 0.3–0.75, β 0.4–0.9;
- 3–6 cooling rates, log-uniform 0.5–40 K/min at least a factor 1.6 apart, the instrument
  following at most 15–30 K/min (data end when the program reaches its end, as on the real
  exports); one heating rate 5–20 K/min; holds of 0.5–5 min with data off at both ends; in a
  third of the runs one cooling stops for 10–90 min of ageing 0.5–2 transition widths below
  T_ref (data on);
- spans 2–4.5 transition widths below T_ref (plus 5 K, plus 0.6 min of heating for the start-up)
  and 2–4 widths plus 5 K above (a width: 8 R T_ref²/Δh*);
- heating rows every 0.02–0.5 K (at least 0.6 s apart) with ±30 % jitter, a start-up transient in the temperature and
  the heat flow, glass and liquid Cp lines with drawn levels and slopes (over the whole span the
  glass rises by 0.05–0.4 of the Cp step, the liquid changes by up to ±0.1 of it), a drawn sample mass;
- kind "noisy-lag": a first-order sensor of 1–6 s on the heat flow and Gaussian noise of 1 % of
  the Cp step on every row; "clean": neither;
- one of the five export layouts, cycled by seed.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ...errors import TNMInputError
from ...physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from ...physics.instrument import instrument_lag
from ...physics.program import Hold, Program, Ramp
from ...physics.simulate import program_reference_scans
from .write import FORMATS, RunSegment

KINDS = ("clean", "noisy-lag")
NOISE_FRACTION = 0.01
LAG_RANGE_S = (1.0, 6.0)
#: The reference's output spacing (K) and its sub-jumps per output step (coarse pass; the fine
#: pass halves them): Tf is extrapolated to zero jump from jumps of 0.005 and 0.0025 K.
REFERENCE_STEP_K, REFERENCE_SUBSTEPS = 0.05, 10
#: Start-up of a heating segment: the sample lags the program with this time constant (min), the
#: heat flow builds up over START_RAMP_MIN, the Cp column reads 0 then negative at first.
START_TAU_MIN, START_RAMP_MIN = 0.1, 0.4
COOLING_ROW_MIN = 0.1
#: A practitioner starts a scan this many minutes of heating below where the glass line should
#: begin, for the start-up to pass (the reader cuts until the rate settles, plus 20 s).
START_SPAN_MIN = 0.6
#: Rows at least 0.6 s apart: a TRIOS text export keeps one row per value of its 0.01-min time column.
MIN_ROW_MIN = 0.01
#: A practitioner's margin (K) beyond the transition's widths at each end of the scans.
MARGIN_K = 5.0


@dataclass(frozen=True)
class RunDraw:
    """Everything one synthetic run is made from (temperatures °C, rates K/min, times min)."""

    seed: int
    kind: str
    dh_J_per_mol: float
    ln_A: float
    x: float
    beta: float
    T_ref_C: float
    cooling_nominal_K_per_min: tuple
    instrument_limit_K_per_min: float
    heating_K_per_min: float
    T_low_C: float
    T_high_C: float
    hold_low_min: float
    hold_high_min: float
    ageing: tuple | None  # (cycle index, T_a °C, minutes)
    row_spacing_K: float
    lag_s: float
    noise_fraction: float
    glass_J_per_gK: tuple  # (value at T_ref, slope per K)
    liquid_J_per_gK: tuple
    sample_mass_mg: float
    format: str
    crystallise_last: bool = False  # the last scan's liquid falls as the sample crystallises

    @property
    def params(self) -> np.ndarray:
        """(Δh* J/mol, ln A, x, β)."""
        return np.array([self.dh_J_per_mol, self.ln_A, self.x, self.beta])

    def achieved_K_per_min(self, nominal: float) -> float:
        """The rate the sample follows on a cooling programmed at ``nominal``."""
        return min(nominal, self.instrument_limit_K_per_min)

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def transition_width_K(dh_J_per_mol: float, T_ref_C: float) -> float:
    """8 R T_ref²/Δh* (K): about the span over which Cp^N rises from near 0 to near 1."""
    T = T_ref_C + ZERO_CELSIUS_K
    return 8.0 * R_J_PER_MOL_K * T * T / dh_J_per_mol


def draw_run(seed: int, kind: str) -> RunDraw:
    """The run of ``seed`` and ``kind`` (:data:`KINDS`); see the module docstring for the ranges."""
    if kind not in KINDS:
        raise TNMInputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    dh = math.exp(rng.uniform(math.log(200e3), math.log(900e3)))
    T_ref = rng.uniform(-60.0, 180.0)
    ln_A = math.log(100.0) - dh / (R_J_PER_MOL_K * (T_ref + ZERO_CELSIUS_K))
    x, beta = rng.uniform(0.3, 0.75), rng.uniform(0.4, 0.9)
    n_rates = int(rng.integers(3, 7))
    while True:
        rates = np.sort(np.exp(rng.uniform(math.log(0.5), math.log(40.0), n_rates)))
        if np.all(rates[1:] / rates[:-1] >= 1.6):
            break
    rates = tuple(float(f"{q:.3g}") for q in rng.permutation(rates))
    limit = rng.uniform(15.0, 30.0)
    width = transition_width_K(dh, T_ref)
    ageing = None
    slow = [k for k, q in enumerate(rates) if q <= limit]
    if rng.uniform() < 1 / 3 and slow:
        ageing = (int(rng.choice(slow)), float(T_ref - rng.uniform(0.5, 2.0) * width), float(rng.uniform(10.0, 90.0)))
    noisy = kind == "noisy-lag"
    heating = float(rng.choice([5.0, 10.0, 15.0, 20.0]))
    T_low = T_ref - rng.uniform(2.0, 4.5) * width - MARGIN_K - START_SPAN_MIN * heating
    T_high = T_ref + rng.uniform(2.0, 4.0) * width + MARGIN_K
    # line slopes as the Cp step's change over the whole span, as real glass formers show (the
    # shared o-terphenyl run: the glass rises by 0.39 of the step over its 50 K, the liquid by 0.1)
    glass_level, step = rng.uniform(0.8, 1.6), rng.uniform(0.2, 0.6)
    glass = (glass_level, rng.uniform(0.05, 0.4) * step / (T_high - T_low))
    liquid = (glass_level + step, rng.uniform(-0.1, 0.1) * step / (T_high - T_low))
    return RunDraw(
        seed=int(seed), kind=kind, dh_J_per_mol=dh, ln_A=ln_A, x=x, beta=beta, T_ref_C=T_ref,
        cooling_nominal_K_per_min=rates, instrument_limit_K_per_min=limit,
        heating_K_per_min=heating,
        T_low_C=T_low, T_high_C=T_high,
        hold_low_min=rng.uniform(0.5, 5.0), hold_high_min=rng.uniform(0.5, 5.0), ageing=ageing,
        row_spacing_K=float(np.exp(rng.uniform(math.log(max(0.02, heating * MIN_ROW_MIN)), math.log(0.5)))),
        lag_s=rng.uniform(*LAG_RANGE_S) if noisy else 0.0, noise_fraction=NOISE_FRACTION if noisy else 0.0,
        glass_J_per_gK=glass, liquid_J_per_gK=liquid,
        sample_mass_mg=rng.uniform(2.0, 15.0), format=FORMATS[seed % len(FORMATS)])


def otp_like_draw(fmt: str = "trios", seed: int = 0) -> RunDraw:
    """A run with the procedure and quirks of the shared o-terphenyl export of 2023-07-18 (its
    README): coolings at 10, 35, 25, 20, 5, 1 and 0.5 K/min from 0 to −50 °C, the instrument
    following at most 22 K/min, 1-min holds, heating at 10 K/min with start-up transients, a 4 s
    sensor lag, 0.3 % noise (drawn with ``seed``), the last scan crystallising — simulated by the
    independent reference with parameters near those fitted to that export."""
    dh, ln_A = 375e3, -180.0
    T_ref = dh / (R_J_PER_MOL_K * (math.log(100.0) - ln_A)) - ZERO_CELSIUS_K
    return RunDraw(seed=seed, kind="noisy-lag", dh_J_per_mol=dh, ln_A=ln_A, x=0.43, beta=0.76, T_ref_C=T_ref,
                   cooling_nominal_K_per_min=(10.0, 35.0, 25.0, 20.0, 5.0, 1.0, 0.5), instrument_limit_K_per_min=22.0,
                   heating_K_per_min=10.0, T_low_C=-50.0, T_high_C=0.0, hold_low_min=1.0, hold_high_min=1.0,
                   ageing=None, row_spacing_K=0.1, lag_s=4.0, noise_fraction=0.003,
                   glass_J_per_gK=(1.00, 0.0035), liquid_J_per_gK=(1.45, 0.0010), sample_mass_mg=2.47, format=fmt,
                   crystallise_last=True)


def run_program(draw: RunDraw) -> tuple[Program, list[int]]:
    """The program the sample follows (from equilibrium at T_high) and the indices of its heating
    ramps: per cooling rate, cool at the achieved rate (ageing on the way where drawn), hold
    (hold_low_min after the sample arrives; data are off from the program's end), heat, hold."""
    segments, heating = [], []
    for k, nominal in enumerate(draw.cooling_nominal_K_per_min):
        achieved = draw.achieved_K_per_min(nominal)
        if draw.ageing is not None and draw.ageing[0] == k:
            segments += [Ramp(draw.ageing[1], achieved), Hold(60.0 * draw.ageing[2])]
        segments += [Ramp(draw.T_low_C, achieved), Hold(60.0 * draw.hold_low_min)]
        heating.append(len(segments))
        segments += [Ramp(draw.T_high_C, draw.heating_K_per_min), Hold(60.0 * draw.hold_high_min)]
    return Program(draw.T_high_C, tuple(segments)), heating


def reference_cp(draw: RunDraw) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per heating ramp, (T °C at the midpoints of the reference's 0.05 K steps, Cp^N there) by the
    independent reference, through the drawn sensor lag."""
    program, heating = run_program(draw)
    out = []
    for T_mid_C, cp in program_reference_scans(program, draw.params, heating, step=REFERENCE_STEP_K,
                                               substeps=REFERENCE_SUBSTEPS):
        if draw.lag_s:
            cp = instrument_lag(cp, draw.lag_s, float(np.mean(np.diff(T_mid_C))), draw.heating_K_per_min)
        out.append((T_mid_C, cp))
    return out


def reference_run(draw: RunDraw) -> list[RunSegment]:
    """The run's segments as an instrument records them (times min, T °C, heat flow W/g
    endothermic positive, Cp J/(g·K) with the start-up rows)."""
    rng = np.random.default_rng([draw.seed, 7, KINDS.index(draw.kind)])
    scans = reference_cp(draw)

    def lines(T):
        g0, g1 = draw.glass_J_per_gK
        l0, l1 = draw.liquid_J_per_gK
        return g0 + g1 * (T - draw.T_ref_C), l0 + l1 * (T - draw.T_ref_C)

    segments: list[RunSegment] = []
    t = 0.0

    def record_ramp(title, T_from, T_to, achieved, program_end_min):
        nonlocal t
        time = t + np.arange(0.0, program_end_min + 1e-9, COOLING_ROW_MIN)
        T = T_from - achieved * (time - t)
        _, liquid = lines(T)
        segments.append(RunSegment(title, time, T, -liquid * achieved / 60.0, liquid.copy()))
        return abs(T_to - T_from) / achieved  # when the sample arrives

    for k, nominal in enumerate(draw.cooling_nominal_K_per_min):
        achieved = draw.achieved_K_per_min(nominal)
        T_from = draw.T_high_C
        if draw.ageing is not None and draw.ageing[0] == k:
            _, T_a, minutes = draw.ageing
            t += record_ramp(f"Ramp {nominal:.2f} °C/min to {T_a:.2f} °C", T_from, T_a, achieved, (T_from - T_a) / nominal)
            time = t + np.arange(0.0, minutes + 1e-9, COOLING_ROW_MIN)
            T = np.full(time.size, T_a)
            _, liquid = lines(T)
            segments.append(RunSegment(f"Isothermal for {minutes:.2f} min", time, T, np.zeros(time.size), liquid))
            t += minutes
            T_from = T_a
        span = T_from - draw.T_low_C
        t += record_ramp(f"Ramp {nominal:.2f} °C/min to {draw.T_low_C:.2f} °C", T_from, draw.T_low_C, achieved,
                         span / nominal)
        t += draw.hold_low_min
        crystallise = draw.crystallise_last and k == len(draw.cooling_nominal_K_per_min) - 1
        segments.append(_heating_segment(draw, scans[k], t, lines, rng, crystallise))
        t = segments[-1].time_min[0] + (draw.T_high_C - draw.T_low_C) / draw.heating_K_per_min + draw.hold_high_min
    return segments


def _heating_segment(draw: RunDraw, scan, t0_min: float, lines, rng, crystallise: bool = False) -> RunSegment:
    """One heating segment's rows: uneven spacing, the start-up transient, noise on every row."""
    T_mid, cp_n = scan
    q = draw.heating_K_per_min
    gaps = draw.row_spacing_K * rng.uniform(0.7, 1.3, int(2 * (draw.T_high_C - draw.T_low_C) / draw.row_spacing_K) + 10)
    T_prog = draw.T_low_C + np.concatenate([[0.0], np.cumsum(gaps)])
    T_prog = T_prog[T_prog <= draw.T_high_C]
    elapsed = (T_prog - draw.T_low_C) / q
    T = T_prog - q * START_TAU_MIN * (1.0 - np.exp(-elapsed / START_TAU_MIN))
    glass, liquid = lines(T)
    step = liquid - glass
    cp = glass + step * np.interp(T, T_mid, cp_n, left=cp_n[0], right=cp_n[-1])  # the sample is at T
    if crystallise:  # the liquid falls as the sample crystallises over the last 60 % of the liquid span
        liquid_span = draw.T_high_C - draw.T_ref_C
        cp = cp - 0.9 * step * np.clip((T - draw.T_high_C + 0.6 * liquid_span) / (0.6 * liquid_span), 0, None) ** 2
    if draw.noise_fraction:
        cp = cp + rng.normal(0.0, draw.noise_fraction, cp.size) * step
    hf = cp * q / 60.0 * np.clip(elapsed / START_RAMP_MIN, 0.0, 1.0) - 0.05 * np.exp(-elapsed / START_TAU_MIN)
    cp_col = np.where(elapsed < 0.06, 0.0, np.where(elapsed < 0.2, -0.5, cp))
    return RunSegment(f"Ramp {q:.2f} °C/min to {draw.T_high_C:.2f} °C", t0_min + elapsed, T, hf, cp_col)
