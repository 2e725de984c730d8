"""Glass and liquid lines of measured heating scans (the paper's Eq. 3), chosen per scan, and
the checks that keep a bad normalisation from passing silently.

For each scan (:func:`scan_baselines`), straight lines are fitted to the glass below the
transition and to the liquid above it, in ranges found from the scan itself, at least
``min_width_K`` wide and clear of the transition (found by walking out from the overshoot's
peak to where Cp^N is within :data:`EDGE_LEVEL` of 0 and of 1).  Two sets of settings:

- :data:`GUARANTEED` (``guarantee=True``): Cp^N from these lines alone is right within
  ``tolerance``, or the scan is refused with the reason.  The glass range keeps
  :data:`GLASS_MARGIN_WIDTHS` transition widths below the onset (a glass's slow first rise
  reaches that far on TNM scans, and a line fitted over it tilts with it); a range is shrunk
  from whichever end makes it bend, and refused when a bend it could still hide, its own noise,
  or a bend it shows would move Cp^N across the transition by more than a quarter of the
  tolerance each.  Property-tested on cropped, tilted, curved and noisy synthetic scans.
- :data:`FOR_FIT` (the fit's): ranges close to the transition (:data:`FIT_MARGIN_WIDTHS`) as a
  practitioner would take them, refused only when narrower than ``min_width_K`` or too noisy,
  and flagged when the liquid bends inside its range (crystallisation).  Whether the scan
  passes :data:`GUARANTEED` too is reported beside the fit.

Across scans (:func:`compare_steps`) a scan whose Cp step differs from the median by more than
``step_tolerance`` is flagged, one below :data:`NO_TRANSITION_FRACTION` of it refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

#: Defaults of :class:`BaselineSettings`, also the command line's.
MIN_WIDTH_K = 5.0
TOLERANCE = 0.02
STEP_TOLERANCE = 0.20
MAX_WIDTH_K = 15.0
#: Cp^N within this of 0 (glass) or 1 (liquid) counts as outside the transition: real glasses
#: curve gently into the transition, so a stricter level eats the glass range.
EDGE_LEVEL = 0.05
#: Guaranteed normalisation: how far (in transition widths, onset to settling at EDGE_LEVEL) the
#: glass range ends below the onset and the liquid range starts above the settling.  Measured on
#: TNM scans of four glasses cooled at 0.5-40 K/min and heated at 10
#: (tests/support/normalisation_cases.py): a line fitted 2 widths below the onset of a glass
#: cooled at about the heating rate still moves Cp^N by 0.01, and the dip of one cooled faster
#: than it is heated hides part of the transition from the onset; above the settling the
#: overshoot's tail fades within half a width.  With 3 and 0.75, none of 10,000 synthetic scans
#: that passed was off by more than the tolerance.
GLASS_MARGIN_WIDTHS = 3.0
LIQUID_MARGIN_WIDTHS = 0.75
#: The fit's ranges: a tenth of a width clear of the transition, as a practitioner takes them.
FIT_MARGIN_WIDTHS = 0.1
#: The fit refuses a scan whose lines' noise moves Cp^N by more than this many tolerances (2 σ).
FIT_NOISE_FACTOR = 5.0
#: A Cp step below this fraction of the scans' median is no glass transition (a crystallised sample).
NO_TRANSITION_FRACTION = 0.25


@dataclass(frozen=True)
class BaselineSettings:
    """How glass and liquid ranges are chosen and judged (module docstring): ranges at least
    ``min_width_K`` wide and at most ``max_width_K`` or the transition's width, whichever is
    more; ``glass_margin_widths`` and ``liquid_margin_widths`` transition widths (at least
    ``min_margin_K``) clear of it; Cp^N right within ``tolerance``; a Cp step within
    ``step_tolerance`` (fraction) of the scans' median; ``guarantee``: every check of a
    normalisation used without the model."""

    min_width_K: float = MIN_WIDTH_K
    tolerance: float = TOLERANCE
    step_tolerance: float = STEP_TOLERANCE
    glass_margin_widths: float = GLASS_MARGIN_WIDTHS
    liquid_margin_widths: float = LIQUID_MARGIN_WIDTHS
    min_margin_K: float = 1.0
    max_width_K: float = MAX_WIDTH_K
    guarantee: bool = True

    def for_fit(self) -> "BaselineSettings":
        """The same widths and tolerances with the fit's margins and checks."""
        return replace(self, glass_margin_widths=FIT_MARGIN_WIDTHS, liquid_margin_widths=FIT_MARGIN_WIDTHS,
                       guarantee=False)


GUARANTEED = BaselineSettings()
FOR_FIT = GUARANTEED.for_fit()


@dataclass
class ScanBaseline:
    """One scan's lines (coefficients of numpy.polyval, Cp units per K), ranges (°C), Cp step at
    the transition's midpoint, transition span (°C), Cp^N on the scan's temperatures, how far the
    lines' noise moves Cp^N across the transition (``line_spread``, 2 σ), the flags and, when the
    scan cannot be normalised, the reason (``error``)."""

    glass_range_C: tuple[float, float] | None = None
    liquid_range_C: tuple[float, float] | None = None
    glass_line: tuple[float, float] | None = None
    liquid_line: tuple[float, float] | None = None
    step: float | None = None
    transition_C: tuple[float, float] | None = None
    cp_n: np.ndarray | None = None
    line_spread: float | None = None
    flags: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict:
        r = (lambda v: None if v is None else [round(float(x), 6) for x in v])
        return {"glass_range_C": r(self.glass_range_C), "liquid_range_C": r(self.liquid_range_C),
                "glass_line": r(self.glass_line), "liquid_line": r(self.liquid_line),
                "cp_step": None if self.step is None else round(float(self.step), 6),
                "transition_C": r(self.transition_C),
                "cp_n_spread_2sigma": None if self.line_spread is None else round(float(self.line_spread), 5),
                "flags": list(self.flags), "error": self.error}


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
    overshoot has decayed, the glass in the middle half of the data below where the rise begins
    (its slope a twentieth of the steepest).  Slopes are taken over 2 K; the overshoot's decay is
    judged on slopes over a fiftieth of the data's span where that is longer: over a long scan of a
    broad transition, noise on a 2 K slope hides the gentle decay, and the liquid range lands
    inside it."""
    smooth = _smooth(y, 2 * smooth_points)
    slope = np.gradient(smooth, T)
    span_points = int(round(0.02 * float(np.ptp(T)) / max(float(np.median(np.diff(T))), 1e-6)))
    decay = np.gradient(_smooth(y, span_points), T) if span_points > 2 * smooth_points else slope
    i_rise = int(np.argmax(slope))
    after = np.nonzero(slope[i_rise:] <= 0.1 * slope[i_rise])[0]
    i_top = i_rise + int(after[0]) if after.size else T.size - 1
    flat = np.nonzero(decay[i_top:] >= -0.1 * slope[i_rise])[0]
    falling = np.nonzero(decay[i_top:] < -0.1 * slope[i_rise])[0]
    i_flat = i_top + (int(flat[flat > falling[0]][0]) if falling.size and np.any(flat > falling[0]) else 0)
    quiet = np.nonzero(slope[:i_rise] <= 0.05 * slope[i_rise])[0]  # where the rise begins
    quiet_end = float(T[quiet[-1]]) if quiet.size else float(T[0]) + settings.min_width_K
    length = max(quiet_end - float(T[0]), settings.min_width_K)
    # the middle half of the quiet glass: clear of a start-up below and of a slow first rise above
    glass = (float(T[0]) + 0.25 * length, float(T[0]) + 0.75 * length)
    liquid_lo = min(float(T[i_flat]) + settings.min_margin_K, float(T[-1]) - 1e-6)
    return glass, (liquid_lo, min(float(T[-1]), liquid_lo + settings.max_width_K))


def scan_baselines(T_C: np.ndarray, cp: np.ndarray, settings: BaselineSettings = GUARANTEED,
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
    found = _iterate_ranges(T, y, glass, liquid, smooth_points, settings, glass_range_C, liquid_range_C)
    if (not isinstance(found, str) and not liquid_range_C and found[2][1] >= T[-1] - 2 * settings.min_width_K
            and first_liquid[1] < T[-1] - 1e-9):
        # the transition never settled against a liquid line started inside a slowly decaying
        # overshoot: start again from the data's last stretch, where a liquid is, if anywhere
        last = (max(first_liquid[1], float(T[-1]) - settings.max_width_K), float(T[-1]))
        again = _iterate_ranges(T, y, glass, last, smooth_points, settings, glass_range_C, liquid_range_C)
        if not isinstance(again, str) and again[2][1] < T[-1] - 2 * settings.min_width_K:
            found = again
    if isinstance(found, str):
        out.error = found
        return out
    glass, liquid, transition = found
    out.transition_C = transition
    if settings.guarantee and not (glass_range_C and liquid_range_C):
        lines = _lines(T, y, glass, liquid)
        if not isinstance(lines, str):
            g, l = lines
            with np.errstate(divide="ignore", invalid="ignore"):
                cp_n = (y - np.polyval(g, T)) / (np.polyval(l, T) - np.polyval(g, T))
            inside = (T >= transition[0]) & (T <= transition[1])
            probe = _Probe(T[inside], _smooth(cp_n, smooth_points)[inside],
                           float(np.polyval(l, np.mean(transition)) - np.polyval(g, np.mean(transition))))
            if probe.step > 0:
                glass = glass if glass_range_C else _trim(T, y, glass, "glass", probe, settings)
                liquid = liquid if liquid_range_C else _trim(T, y, liquid, "liquid", probe, settings)
    out.glass_range_C, out.liquid_range_C = glass, liquid
    if transition[1] >= T[-1] - 2 * settings.min_width_K and liquid[1] - liquid[0] < settings.min_width_K:
        out.error = ("Cp does not settle on a liquid line after the transition within the data "
                     "(crystallised, or the scan ends too soon)")
        return out
    onset, settled = transition
    below = max(settings.min_margin_K, settings.glass_margin_widths * (settled - onset))
    if glass[1] - glass[0] < settings.min_width_K and not glass_range_C and onset - below - settings.min_width_K < T[0]:
        out.error = (f"the glass line must end {below:.1f} K ({settings.glass_margin_widths:g} transition widths) "
                     f"below the onset at {onset:.1f} °C and be {settings.min_width_K:g} K long, so the data must "
                     f"start by {onset - below - settings.min_width_K:.1f} °C; they start at {T[0]:.1f} °C")
        return out
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
    used = (T >= glass[0]) & (T <= liquid[1])  # beyond the ranges the lines are not used
    if step <= 0 or np.any(jump[used] <= 0):
        out.error = ("the liquid line lies below the glass line (is the exotherm direction right?)" if step <= 0
                     else "the glass and liquid lines cross inside the data")
        return out
    out.glass_line, out.liquid_line, out.step = tuple(map(float, g)), tuple(map(float, l)), step
    with np.errstate(divide="ignore", invalid="ignore"):
        out.cp_n = (y - np.polyval(g, T)) / jump
    inside = (T >= transition[0]) & (T <= transition[1])
    probe = _Probe(T[inside], _smooth(out.cp_n, smooth_points)[inside], step)
    out.line_spread = 2 * max(probe.line_sigma(T, y, *glass, "glass"), probe.line_sigma(T, y, *liquid, "liquid"))
    if settings.guarantee:
        out.error = _guarantee(T, y, glass, liquid, probe, settings, out.flags)
    else:
        out.error = _fit_checks(T, y, glass, liquid, probe, settings, out.flags)
    return out


def _guarantee(T, y, glass, liquid, probe, settings, flags) -> str | None:
    """The checks of a normalisation used alone (each effect within a quarter of the tolerance):
    a bend a line shows is flagged; a bend it could hide, or its own noise, refuses the scan."""
    budget = settings.tolerance / 4
    for name, (lo, hi) in (("glass", glass), ("liquid", liquid)):
        bend, bend_sigma = probe.bend(T, y, lo, hi, name)
        if bend > budget and bend > 3 * bend_sigma:
            what = "liquid line bends (crystallisation?)" if name == "liquid" else "glass line bends"
            flags.append(f"{what}: a quadratic fitted in [{lo:.1f}, {hi:.1f}] °C moves Cp^N by {bend:.3f} "
                         f"across the transition (allowed {budget:g})")
            continue
        if 2 * bend_sigma > budget:
            return (f"the {name} range [{lo:.1f}, {hi:.1f}] °C is too short or too noisy to show that its line "
                    f"is straight: a bend it could hide moves Cp^N by ±{2 * bend_sigma:.3f} across the "
                    f"transition (allowed {budget:g})")
        spread = 2 * probe.line_sigma(T, y, lo, hi, name)
        if spread > budget:
            return (f"the {name} line [{lo:.1f}, {hi:.1f}] °C is too noisy or too short: carried across the "
                    f"transition it moves Cp^N by ±{spread:.3f} (allowed {budget:g})")
    return None


def _fit_checks(T, y, glass, liquid, probe, settings, flags) -> str | None:
    """The fit's checks: a liquid that bends inside its range by more than the tolerance of the
    Cp step (crystallisation) is flagged; lines whose noise, carried across the transition,
    moves Cp^N by more than FIT_NOISE_FACTOR tolerances (2 σ) refuse the scan; below that the
    figure is reported (``ScanBaseline.line_spread``) and the guaranteed check says whether it
    is within the tolerance."""
    line, _, inside = _fit(T, y, *liquid)
    quad, qcov, _ = _fit(T, y, *liquid, degree=2)
    if quad is not None:
        Ti = T[inside]
        departure = np.polyval(quad, Ti) - np.polyval(line, Ti)
        k = int(np.argmax(np.abs(departure)))
        x = np.array([Ti[k] ** 2, Ti[k], 1.0])
        if abs(departure[k]) > settings.tolerance * probe.step and abs(departure[k]) > 3 * np.sqrt(max(x @ qcov @ x, 0.0)):
            flags.append(f"liquid line bends (crystallisation?): in [{liquid[0]:.1f}, {liquid[1]:.1f}] °C a quadratic "
                         f"departs from the line by {abs(departure[k]) / probe.step:.3f} of the Cp step")
    for name, (lo, hi) in (("glass", glass), ("liquid", liquid)):
        spread = 2 * probe.line_sigma(T, y, lo, hi, name)
        if spread > FIT_NOISE_FACTOR * settings.tolerance:
            return (f"the {name} line [{lo:.1f}, {hi:.1f}] °C is too noisy or too short: carried across the "
                    f"transition it moves Cp^N by ±{spread:.3f} (limit {FIT_NOISE_FACTOR * settings.tolerance:g})")
    return None


@dataclass
class _Probe:
    """How an error in a line moves Cp^N across the transition: an error δ(T) of the glass line
    moves Cp^N by δ·(1 − Cp^N)/step, one of the liquid line by δ·Cp^N/step; ``T`` and ``cp_n``
    sample the transition."""

    T: np.ndarray
    cp_n: np.ndarray
    step: float

    def weight(self, which: str) -> np.ndarray:
        return np.abs(1.0 - self.cp_n if which == "glass" else self.cp_n) / self.step

    def bend(self, T, y, lo, hi, which: str) -> tuple[float, float]:
        """Largest effect on Cp^N of using the range's line instead of its quadratic, and that
        effect's σ (from the quadratic's covariance)."""
        line, _, _ = _fit(T, y, lo, hi)
        quad, qcov, _ = _fit(T, y, lo, hi, degree=2)
        if line is None or quad is None or self.T.size == 0:
            return 0.0, 0.0
        w = self.weight(which)
        effect = np.abs(np.polyval(quad, self.T) - np.polyval(line, self.T)) * w
        k = int(np.argmax(effect))
        x = np.array([self.T[k] ** 2, self.T[k], 1.0])
        return float(effect[k]), float(np.sqrt(max(x @ qcov @ x, 0.0)) * w[k])

    def line_sigma(self, T, y, lo, hi, which: str) -> float:
        """Largest σ of Cp^N across the transition from the line's own uncertainty."""
        line, cov, _ = _fit(T, y, lo, hi)
        if line is None or self.T.size == 0:
            return np.inf
        X = np.column_stack([self.T, np.ones_like(self.T)])
        sigma = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", X, cov, X), 0.0))
        return float(np.max(sigma * self.weight(which)))


def _trim(T, y, rng, which: str, probe: _Probe, settings: BaselineSettings, step_K: float = 0.5):
    """Shrink a range from the end whose loss straightens it more — its end next to the transition
    when that takes in the transition's slow first rise (glass) or the overshoot's tail (liquid),
    its outer end for a start-up or crystallisation — while the bend would move Cp^N across the transition
    by more than a quarter of the tolerance (and by more than 3 σ), keeping it at least ``min_width_K``."""
    lo, hi = rng
    for _ in range(2000):
        if hi - lo - step_K < settings.min_width_K:
            break
        bend, sigma = probe.bend(T, y, lo, hi, which)
        if bend <= settings.tolerance / 4 or bend <= 3 * sigma:
            break
        # cut the end whose loss straightens the range more
        if probe.bend(T, y, lo, hi - step_K, which)[0] <= probe.bend(T, y, lo + step_K, hi, which)[0]:
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
        return (f"no glass transition found (the {which} range {_fmt(rng)} °C it implies holds too few points "
                "for a line)")
    return g, l


def _iterate_ranges(T, y, glass, liquid, smooth_points, settings, glass_range_C, liquid_range_C):
    """From a first guess, place the glass and liquid ranges around the transition their lines
    show, until they stop moving: (glass, liquid, transition) or the reason it failed (str)."""
    transition = None
    for _ in range(6):
        lines = _lines(T, y, glass, liquid)
        if isinstance(lines, str):
            return lines
        g, l = lines
        with np.errstate(divide="ignore", invalid="ignore"):
            cp_n = (y - np.polyval(g, T)) / (np.polyval(l, T) - np.polyval(g, T))
        transition = _span(T, cp_n, smooth_points)
        if transition is None:
            return "no glass transition: Cp never rises from a glass line to a liquid line"
        if glass_range_C and liquid_range_C:
            break
        onset, settled = transition
        below = max(settings.min_margin_K, settings.glass_margin_widths * (settled - onset))
        above = max(settings.min_margin_K, settings.liquid_margin_widths * (settled - onset))
        width = max(settings.max_width_K, settled - onset)  # a broad transition needs longer lines
        new_glass = glass if glass_range_C else (max(float(T[0]), onset - below - width), onset - below)
        new_liquid = liquid if liquid_range_C else (settled + above, min(float(T[-1]), settled + above + width))
        if new_glass[1] <= new_glass[0] + 1e-9 or new_liquid[1] <= new_liquid[0] + 1e-9:
            glass, liquid = new_glass, new_liquid
            break
        converged = max(abs(new_glass[1] - glass[1]), abs(new_liquid[0] - liquid[0])) < 0.1
        glass, liquid = new_glass, new_liquid
        if converged:
            break
    return glass, liquid, transition


def _fmt(r) -> str:
    return f"[{r[0]:.1f}, {r[1]:.1f}]"


def compare_steps(baselines: list[ScanBaseline], settings: BaselineSettings = GUARANTEED) -> float | None:
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
