"""Glass and liquid lines of measured heating scans (the paper's Eq. 3), chosen per scan, and
the checks that keep a bad normalisation from passing silently.

For each scan (:func:`scan_baselines`), straight lines are fitted to the glass below the
transition and to the liquid above it, in ranges that are found from the scan itself: they
reach from the data's ends to within a margin of where Cp^N first leaves 0 and last settles at
1.  A scan is refused (``error``) when either range is narrower than ``min_width_K`` or when
the lines' own uncertainty, extrapolated across the transition, would move Cp^N by more than
``tolerance``.  A scan is flagged (``flags``: kept out of a fit unless asked for) when a line
bends — a quadratic fits its range better than the line by more than ``tolerance`` of the Cp
step, as a liquid that crystallises does — or when its Cp step differs from the other scans'
median by more than ``step_tolerance`` (:func:`compare_steps`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Defaults of :class:`BaselineSettings`, also the command line's.
MIN_WIDTH_K = 5.0
TOLERANCE = 0.02
STEP_TOLERANCE = 0.20
#: Cp^N within this of 0 (glass) or 1 (liquid) counts as outside the transition: real glasses
#: curve gently into the transition (sub-Tg relaxation), so a stricter level eats the glass range.
EDGE_LEVEL = 0.05
#: A Cp step below this fraction of the scans' median is no glass transition (a crystallised sample).
NO_TRANSITION_FRACTION = 0.25


@dataclass(frozen=True)
class BaselineSettings:
    """How glass and liquid ranges are chosen and judged: ranges at least ``min_width_K`` wide;
    Cp^N to be right within ``tolerance``; a Cp step within ``step_tolerance`` (fraction) of the
    scans' median; ranges ``margin_fraction`` of the transition's width (at least ``min_margin_K``)
    clear of it and at most ``max_width_K`` wide (the lines are used next to the transition; far
    from it a glass curves and a liquid may crystallise)."""

    min_width_K: float = MIN_WIDTH_K
    tolerance: float = TOLERANCE
    step_tolerance: float = STEP_TOLERANCE
    margin_fraction: float = 0.1
    min_margin_K: float = 1.0
    max_width_K: float = 15.0


@dataclass
class ScanBaseline:
    """One scan's lines (coefficients of numpy.polyval, Cp units per K), ranges (°C), Cp step at
    the transition's midpoint, transition span (°C), Cp^N on the scan's temperatures, the flags
    and, when the scan cannot be normalised, the reason (``error``)."""

    glass_range_C: tuple[float, float] | None = None
    liquid_range_C: tuple[float, float] | None = None
    glass_line: tuple[float, float] | None = None
    liquid_line: tuple[float, float] | None = None
    step: float | None = None
    transition_C: tuple[float, float] | None = None
    cp_n: np.ndarray | None = None
    flags: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None and not self.flags

    def as_dict(self) -> dict:
        r = (lambda v: None if v is None else [round(float(x), 6) for x in v])
        return {"glass_range_C": r(self.glass_range_C), "liquid_range_C": r(self.liquid_range_C),
                "glass_line": r(self.glass_line), "liquid_line": r(self.liquid_line),
                "cp_step": None if self.step is None else round(float(self.step), 6),
                "transition_C": r(self.transition_C), "flags": list(self.flags), "error": self.error}


def _smooth(values: np.ndarray, points: int) -> np.ndarray:
    if points <= 1:
        return values
    kernel = np.ones(points) / points
    return np.convolve(np.pad(values, points // 2, mode="edge"), kernel, mode="valid")[:values.size]


def _fit(T, y, lo, hi, degree=1):
    inside = (T >= lo) & (T <= hi)
    if np.count_nonzero(inside) < degree + 3:
        return None, None, inside
    coef, cov = np.polyfit(T[inside], y[inside], degree, cov=True)
    return coef, cov, inside


def _span(T, cp_n, smooth_points) -> tuple[float, float] | None:
    """Onset and settling (°C) of the transition, walking out from the overshoot's peak: back to
    where Cp^N last sat at the glass (past the dip of a glass cooled faster than it is heated),
    forward to where it first meets the liquid (a later drift, e.g. crystallisation, is for the
    bend check).  Walking out, not in, keeps junk at the data's ends from being taken for it."""
    smooth = _smooth(cp_n, smooth_points)
    i_peak = int(np.argmax(smooth))
    if smooth[i_peak] < 0.5:
        return None
    below = np.nonzero(smooth[:i_peak] <= EDGE_LEVEL)[0]
    if below.size == 0:
        return float(T[0]), float(T[-1])
    i_rise = int(below[-1])
    window = (T >= T[i_rise] - 2.0 * (T[i_peak] - T[i_rise])) & (np.arange(T.size) <= i_rise)
    i_dip = int(np.nonzero(window)[0][np.argmin(smooth[window])])
    i_onset = i_rise
    if smooth[i_dip] < -EDGE_LEVEL:
        settled_glass = np.nonzero(smooth[:i_dip] >= -EDGE_LEVEL)[0]
        i_onset = int(settled_glass[-1]) if settled_glass.size else 0
    near = np.nonzero(np.abs(smooth[i_peak:] - 1.0) <= EDGE_LEVEL)[0]
    i_settle = i_peak + int(near[0]) if near.size else T.size - 1
    return float(T[i_onset]), float(T[i_settle])


def _first_ranges(T, y, smooth_points, settings):
    """Ranges to start from, placed around the steepest rise of Cp (the transition's edge, the
    one feature no glass, start-up or crystallisation outdoes): the liquid from where the
    overshoot has decayed, the glass as far below the rise as the overshoot reaches above it."""
    smooth = _smooth(y, 2 * smooth_points)
    slope = np.gradient(smooth, T)
    i_rise = int(np.argmax(slope))
    after = np.nonzero(slope[i_rise:] <= 0.1 * slope[i_rise])[0]
    i_top = i_rise + int(after[0]) if after.size else T.size - 1
    flat = np.nonzero(slope[i_top:] >= -0.1 * slope[i_rise])[0]
    falling = np.nonzero(slope[i_top:] < -0.1 * slope[i_rise])[0]
    i_flat = i_top + (int(flat[flat > falling[0]][0]) if falling.size and np.any(flat > falling[0]) else 0)
    reach = max(float(T[i_flat] - T[i_rise]), settings.min_width_K)
    liquid_lo = float(T[i_flat]) + settings.min_margin_K
    glass_hi = float(T[i_rise]) - reach
    return ((max(float(T[0]), glass_hi - settings.max_width_K), max(glass_hi, float(T[0]) + 1e-6)),
            (min(liquid_lo, float(T[-1]) - 1e-6), min(float(T[-1]), liquid_lo + settings.max_width_K)))


def scan_baselines(T_C: np.ndarray, cp: np.ndarray, settings: BaselineSettings = BaselineSettings(),
                   glass_range_C=None, liquid_range_C=None) -> ScanBaseline:
    """Lines, ranges and checks of one scan (T_C increasing (n,), cp (n,)); given ranges (°C)
    are used as they are (and judged like found ones)."""
    T, y = np.asarray(T_C, float), np.asarray(cp, float)
    out = ScanBaseline()
    if T.size < 10 or np.ptp(T) < 2 * settings.min_width_K:
        out.error = f"spans {np.ptp(T) if T.size else 0:.1f} K: too short for a glass and a liquid range"
        return out
    smooth_points = max(1, int(round(1.0 / max(float(np.median(np.diff(T))), 1e-6))))  # ~1 K
    first_glass, first_liquid = _first_ranges(T, y, smooth_points, settings)
    glass = tuple(glass_range_C) if glass_range_C else first_glass
    liquid = tuple(liquid_range_C) if liquid_range_C else first_liquid
    transition = None
    for _ in range(6):
        lines = _lines(T, y, glass, liquid)
        if isinstance(lines, str):
            out.error = lines
            return out
        g, l = lines
        cp_n = (y - np.polyval(g, T)) / (np.polyval(l, T) - np.polyval(g, T))
        transition = _span(T, cp_n, smooth_points)
        if transition is None:
            out.error = "no glass transition: Cp never rises from a glass line to a liquid line"
            return out
        if glass_range_C and liquid_range_C:
            break
        onset, settled = transition
        margin = max(settings.min_margin_K, settings.margin_fraction * (settled - onset))
        new_glass = glass if glass_range_C else (max(float(T[0]), onset - margin - settings.max_width_K), onset - margin)
        new_liquid = liquid if liquid_range_C else (settled + margin, min(float(T[-1]), settled + margin + settings.max_width_K))
        if new_glass[1] <= new_glass[0] + 1e-9 or new_liquid[1] <= new_liquid[0] + 1e-9:
            glass, liquid = new_glass, new_liquid
            break
        converged = max(abs(new_glass[1] - glass[1]), abs(new_liquid[0] - liquid[0])) < 0.1
        glass, liquid = new_glass, new_liquid
        if converged:
            break
    out.transition_C = transition
    if not glass_range_C:
        glass = _trim_bend(T, y, glass, settings)
    if not liquid_range_C:
        liquid = _trim_bend(T, y, liquid, settings)
    out.glass_range_C, out.liquid_range_C = glass, liquid
    for name, (lo, hi) in (("glass", glass), ("liquid", liquid)):
        if hi - lo < settings.min_width_K:
            where = "below the transition" if name == "glass" else "above the transition"
            out.error = (f"the {name} range {where} ({transition[0]:.1f} .. {transition[1]:.1f} °C) is "
                         f"{max(hi - lo, 0):.1f} K wide, need {settings.min_width_K:g} K")
            return out
    lines = _lines(T, y, glass, liquid)
    if isinstance(lines, str):
        out.error = lines
        return out
    g, l = lines
    mid = 0.5 * (transition[0] + transition[1])
    step = float(np.polyval(l, mid) - np.polyval(g, mid))
    jump = np.polyval(l, T) - np.polyval(g, T)
    if step <= 0 or np.any(jump <= 0):
        out.error = ("the liquid line lies below the glass line (is the exotherm direction right?)" if step <= 0
                     else "the glass and liquid lines cross inside the data")
        return out
    out.glass_line, out.liquid_line, out.step = tuple(map(float, g)), tuple(map(float, l)), step
    out.cp_n = (y - np.polyval(g, T)) / jump
    # a line that bends (crystallisation, a curved glass) is flagged; one that is straight but
    # too noisy or too short to carry across the transition within the tolerance is refused
    for name, (lo, hi), far in (("glass", glass, transition[1]), ("liquid", liquid, transition[0])):
        coef, cov, inside = _fit(T, y, lo, hi)
        quad, qcov, _ = _fit(T, y, lo, hi, degree=2)
        if quad is not None:
            Ti = T[inside]
            departure = np.polyval(quad, Ti) - np.polyval(coef, Ti)
            k = int(np.argmax(np.abs(departure)))
            x = np.array([Ti[k] ** 2, Ti[k], 1.0])
            if abs(departure[k]) / step > settings.tolerance and abs(departure[k]) > 3 * np.sqrt(max(x @ qcov @ x, 0.0)):
                what = "liquid line bends (crystallisation?)" if name == "liquid" else "glass line bends"
                out.flags.append(f"{what}: in [{lo:.1f}, {hi:.1f}] °C a quadratic departs from the line by "
                                 f"{abs(departure[k]) / step:.3f} of the Cp step")
                continue
        x = np.array([far, 1.0])
        spread = 2 * float(np.sqrt(max(x @ cov @ x, 0.0))) / step
        if spread > settings.tolerance:
            out.error = (f"the {name} line [{lo:.1f}, {hi:.1f}] °C is too noisy or too short: carried across "
                         f"the transition it moves Cp^N by ±{spread:.3f} (tolerance {settings.tolerance:g})")
            return out
    return out


def _bend(T, y, lo, hi) -> tuple[float, float, float]:
    """A quadratic's departure from the line at the range's two ends and its largest (Cp units)."""
    coef, _, inside = _fit(T, y, lo, hi)
    quad, _, _ = _fit(T, y, lo, hi, degree=2)
    if coef is None or quad is None:
        return 0.0, 0.0, 0.0
    Ti = T[inside]
    departure = np.polyval(quad, Ti) - np.polyval(coef, Ti)
    return float(departure[0]), float(departure[-1]), float(np.max(np.abs(departure)))


def _trim_bend(T, y, rng, settings: BaselineSettings, step_K: float = 0.5):
    """Shrink a range from the end where it bends (the transition's first rise or the overshoot's
    tail on the inside, a start-up on the outside) while a quadratic departs from its line by more
    than a quarter of the tolerance of a typical step, keeping it at least ``min_width_K`` wide."""
    lo, hi = rng
    scale = max(float(np.ptp(_smooth(y, 5))), 1e-12)  # at least the Cp step
    for _ in range(200):
        at_lo, at_hi, worst = _bend(T, y, lo, hi)
        if worst <= settings.tolerance * scale / 4 or hi - lo - step_K < settings.min_width_K:
            break
        if abs(at_hi) >= abs(at_lo):
            hi -= step_K
        else:
            lo += step_K
    return lo, hi


def _lines(T, y, glass, liquid):
    if not (glass[0] < glass[1] <= liquid[0] < liquid[1]):
        return f"the glass range {_fmt(glass)} must lie below the liquid range {_fmt(liquid)} °C"
    g, _, inside_g = _fit(T, y, *glass)
    l, _, inside_l = _fit(T, y, *liquid)
    if g is None or l is None:
        which = "glass" if g is None else "liquid"
        rng = glass if g is None else liquid
        return f"no glass transition found: the {which} range {_fmt(rng)} °C holds too few points for a line"
    return g, l


def _fmt(r) -> str:
    return f"[{r[0]:.1f}, {r[1]:.1f}]"


def compare_steps(baselines: list[ScanBaseline], settings: BaselineSettings = BaselineSettings()) -> float | None:
    """Flag each scan whose Cp step differs from the median of the normalisable scans' steps by
    more than ``settings.step_tolerance``; returns that median (None if no scan has a step)."""
    steps = [b.step for b in baselines if b.step is not None]
    if len(steps) < 2:
        return steps[0] if steps else None
    median = float(np.median(steps))
    for b in baselines:
        if b.error is None and b.step is not None and b.step < NO_TRANSITION_FRACTION * median:
            b.error = (f"no clear glass transition: Cp step {100 * b.step / median:.0f} % of the scans' median "
                       "(crystallised?)")
            continue
        if b.error is None and b.step is not None and abs(b.step / median - 1.0) > settings.step_tolerance:
            b.flags.append(f"Cp step {100 * (b.step / median - 1.0):+.0f} % from the scans' median "
                           f"(tolerance ±{100 * settings.step_tolerance:.0f} %)")
    return median
