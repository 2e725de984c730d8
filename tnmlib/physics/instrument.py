"""What a real DSC adds to a simulated heating scan: noise, instrument lag, a leftover baseline tilt.

Beside the physics layer, not in it: nothing here changes what the simulator computes, so the
subset files (whose fingerprint covers the physics) do not depend on it.

Each distortion acts on scans of Cp^N (..., n_rates, n_T) on a uniform temperature grid, and
is seeded, so a distorted copy of a test set is reproducible.  The paper lists noise and thermal
lag among its next steps; these are the distortions its estimators are compared under.

- **Noise**: Gaussian, with a standard deviation given as a fraction of the Cp jump (which is 1
  for Cp^N).
- **Instrument lag**: the sensor follows the sample with a first-order lag of time constant
  ``lag_s``; along a heating scan at q K/min the signal is delayed by ``lag_s`` seconds, which
  moves its centroid up by q·lag_s/60 K and makes the peak asymmetric.
- **Baseline tilt**: a linear residue of the normalisation, ``tilt_per_100K`` (fraction of the
  jump per 100 K), zero at the scan's limiting fictive temperature Tf' (where the glass and
  liquid lines of the normalisation meet), so it does not depend on how wide the grid is.

:class:`Augmentation` draws a different distortion for every sample of a training batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from ..errors import TNMInputError


@dataclass(frozen=True)
class Distortion:
    """A combination of distortions: noise (fraction of the Cp jump), lag (s), tilt (fraction of
    the jump per 100 K).  All zero: the clean signal."""

    noise_fraction: float = 0.0
    lag_s: float = 0.0
    tilt_per_100K: float = 0.0

    def __post_init__(self):
        for name in ("noise_fraction", "lag_s", "tilt_per_100K"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise TNMInputError(f"{name} must be a finite number, got {value}")
        if self.noise_fraction < 0 or self.lag_s < 0:
            raise TNMInputError("noise and lag must not be negative")

    @property
    def label(self) -> str:
        """Short name for tables: e.g. "noise 1 % + lag 3 s", or "clean"."""
        parts = []
        if self.noise_fraction:
            parts.append(f"noise {100 * self.noise_fraction:g} %")
        if self.lag_s:
            parts.append(f"lag {self.lag_s:g} s")
        if self.tilt_per_100K:
            parts.append(f"tilt {100 * self.tilt_per_100K:g} %/100 K")
        return " + ".join(parts) or "clean"


def add_noise(cp: np.ndarray, noise_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """cp plus Gaussian noise of standard deviation ``noise_fraction`` (the Cp^N jump is 1)."""
    cp = np.asarray(cp, dtype=float)
    return cp + rng.normal(0.0, noise_fraction, cp.shape) if noise_fraction else cp.copy()


def instrument_lag(cp: np.ndarray, lag_s, step_K: float, heating_rate_K_per_min: float) -> np.ndarray:
    """The response of a first-order sensor with time constant ``lag_s`` (s) to each scan, along its
    last axis (the scan is heated at ``heating_rate_K_per_min`` on a grid of ``step_K``).

    ``lag_s`` and ``step_K``: numbers, or arrays that broadcast against ``cp[..., :1]`` (one lag
    or grid step per sample or per scan; a lag of 0 leaves a scan unchanged).  Exact for a signal
    linear between grid points; the sensor starts in equilibrium with the first point.
    """
    cp = np.asarray(cp, dtype=float)
    lag = np.asarray(lag_s, dtype=float)
    if not np.any(lag):
        return cp.copy()
    if np.any(lag < 0):
        raise TNMInputError("the lag must not be negative")
    step = np.asarray(step_K, dtype=float)
    if np.any(step <= 0) or heating_rate_K_per_min <= 0:
        raise TNMInputError("grid step and heating rate must be positive")
    lag = np.broadcast_to(lag, cp.shape[:-1] + (1,))
    dt_s = np.broadcast_to(step / (heating_rate_K_per_min / 60.0), cp.shape[:-1] + (1,))
    with np.errstate(divide="ignore"):
        a = np.exp(-dt_s[..., 0] / lag[..., 0])  # 0 where the lag is 0: the output follows the input
    slope_times_lag = np.diff(cp, axis=-1) * (lag / dt_s)
    # y' = (x - y)/lag with x linear over each step; the gap e = y - x then obeys
    # e[n+1] = a e[n] - (1 - a) slope_times_lag[n], e[0] = 0: a first-order recursive filter,
    # run in C by scipy (a Python loop over the grid was most of a lagged fit's time)
    forcing = -(1.0 - a)[..., None] * slope_times_lag
    gap = np.zeros_like(cp)
    if np.all(a == a.flat[0]):
        gap[..., 1:] = lfilter([1.0], [1.0, -float(a.flat[0])], forcing, axis=-1)
    else:
        flat_gap, flat_forcing, flat_a = gap.reshape(-1, cp.shape[-1]), forcing.reshape(-1, cp.shape[-1] - 1), a.ravel()
        for row in range(flat_a.size):
            flat_gap[row, 1:] = lfilter([1.0], [1.0, -flat_a[row]], flat_forcing[row])
    out = cp + gap
    return out


def baseline_tilt(cp: np.ndarray, tilt_per_100K, step_K: float) -> np.ndarray:
    """cp plus a straight line of slope ``tilt_per_100K`` (fraction of the jump per 100 K; a number
    or an array broadcasting against ``cp[..., :1]``), zero at each scan's Tf' (the temperature
    T_end - ∫ Cp^N dT: where the glass and liquid lines of the normalisation are tied)."""
    cp = np.asarray(cp, dtype=float)
    tilt = np.asarray(tilt_per_100K, dtype=float)
    if not np.any(tilt):
        return cp.copy()
    n = cp.shape[-1]
    tf_index = (n - 1) - np.sum(cp[..., 1:], axis=-1, keepdims=True)
    return cp + tilt * (step_K / 100.0) * (np.arange(n) - tf_index)


def distort(cp: np.ndarray, distortion: Distortion, step_K: float, heating_rate_K_per_min: float,
            seed: int | tuple = 0) -> np.ndarray:
    """Apply ``distortion`` to scans (..., n_rates, n_T): lag first (the sensor sees the sample),
    then the tilt, then noise (on the recorded signal).  ``seed``: an int or a tuple of ints
    (e.g. (seed, first sample) for one block of a file).  float32 out, like the subset files."""
    out = instrument_lag(cp, distortion.lag_s, step_K, heating_rate_K_per_min)
    out = baseline_tilt(out, distortion.tilt_per_100K, step_K)
    out = add_noise(out, distortion.noise_fraction, np.random.default_rng(seed))
    return out.astype(np.float32)


def uneven_rows(T_first_C: float, T_last_C: float, spacing_K: float, jitter: float, max_rows: int,
                rng: np.random.Generator) -> np.ndarray:
    """Recorded temperatures (°C) from ``T_first_C`` to at most ``T_last_C``: gaps of
    ``spacing_K`` times a factor uniform in [1 − jitter, 1 + jitter], the spacing widened where
    it would give more than about ``max_rows`` rows (a long scan decimated before fitting)."""
    span = float(T_last_C) - float(T_first_C)
    if not (span > 0 and spacing_K > 0 and 0 <= jitter < 1 and max_rows >= 2):
        raise TNMInputError("rows need a positive span and spacing, a jitter in [0, 1) and max_rows >= 2")
    spacing = max(float(spacing_K), span / max_rows)
    gaps = spacing * rng.uniform(1.0 - jitter, 1.0 + jitter, int(2 * span / spacing) + 10)
    T = T_first_C + np.concatenate([[0.0], np.cumsum(gaps)])
    return T[T <= T_last_C]


def recorded_residue(T_C: np.ndarray, middle_C: float, tilt_per_100K: float, startup_residue: float,
                     elapsed_min: np.ndarray, startup_tau_min: float) -> np.ndarray:
    """What a recorded, normalised scan keeps of the instrument besides lag and noise, at rows
    ``T_C`` (°C): a baseline tilt (fraction of the jump per 100 K, zero at ``middle_C``) and the
    end of the heat-flow start-up, ``startup_residue`` of the jump decaying as
    exp(−elapsed/τ) with the minutes ``elapsed_min`` since the heating began."""
    T_C = np.asarray(T_C, dtype=float)
    return (tilt_per_100K * (T_C - middle_C) / 100.0
            + startup_residue * np.exp(-np.asarray(elapsed_min, dtype=float) / startup_tau_min))


@dataclass(frozen=True)
class Augmentation:
    """Random distortions for training: each sample of a batch gets, with probability
    ``1 - clean_share``, noise, lag and tilt drawn uniformly from [0, max] (the tilt's sign at
    random); the others stay clean."""

    noise_fraction_max: float = 0.02
    lag_s_max: float = 5.0
    tilt_per_100K_max: float = 0.02
    clean_share: float = 0.25

    def __post_init__(self):
        values = (self.noise_fraction_max, self.lag_s_max, self.tilt_per_100K_max, self.clean_share)
        if not all(math.isfinite(v) and v >= 0 for v in values) or self.clean_share > 1:
            raise TNMInputError(f"augmentation limits must be finite and >= 0, the clean share in [0, 1]: {self}")

    def apply(self, cp: np.ndarray, step_K: float, heating_rate_K_per_min: float,
              rng: np.random.Generator) -> np.ndarray:
        """A distorted copy (float32) of a batch of samples (b, n_rates, n_T)."""
        b = cp.shape[0]
        distorted = (rng.random(b) >= self.clean_share)[:, None, None]
        lag = rng.uniform(0, self.lag_s_max, (b, 1, 1)) * distorted
        tilt = rng.uniform(-self.tilt_per_100K_max, self.tilt_per_100K_max, (b, 1, 1)) * distorted
        noise = rng.uniform(0, self.noise_fraction_max, (b, 1, 1)) * distorted
        out = instrument_lag(cp, lag, step_K, heating_rate_K_per_min)
        out = baseline_tilt(out, tilt, step_K)
        out = out + rng.standard_normal(out.shape) * noise
        return out.astype(np.float32)
