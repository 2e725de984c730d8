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
- **Baseline tilt**: a linear residue of the normalisation, ``tilt`` (fraction of the jump)
  from the low to the high end of the grid, zero at its centre.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import TNMInputError


@dataclass(frozen=True)
class Distortion:
    """A combination of distortions: noise (fraction of the Cp jump), lag (s), tilt (fraction of
    the jump across the grid).  All zero: the clean signal."""

    noise_fraction: float = 0.0
    lag_s: float = 0.0
    tilt: float = 0.0

    def __post_init__(self):
        for name in ("noise_fraction", "lag_s", "tilt"):
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
        if self.tilt:
            parts.append(f"tilt {100 * self.tilt:g} %")
        return " + ".join(parts) or "clean"


def add_noise(cp: np.ndarray, noise_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """cp plus Gaussian noise of standard deviation ``noise_fraction`` (the Cp^N jump is 1)."""
    cp = np.asarray(cp, dtype=float)
    return cp + rng.normal(0.0, noise_fraction, cp.shape) if noise_fraction else cp.copy()


def instrument_lag(cp: np.ndarray, lag_s: float, step_K: float, heating_rate_K_per_min: float) -> np.ndarray:
    """The response of a first-order sensor with time constant ``lag_s`` (s) to each scan, along its
    last axis (the scan is heated at ``heating_rate_K_per_min`` on a grid of ``step_K``).

    Exact for a signal linear between grid points; the sensor starts in equilibrium with the
    first point.
    """
    cp = np.asarray(cp, dtype=float)
    if lag_s == 0:
        return cp.copy()
    if step_K <= 0 or heating_rate_K_per_min <= 0:
        raise TNMInputError("grid step and heating rate must be positive")
    dt_s = step_K / (heating_rate_K_per_min / 60.0)
    a = math.exp(-dt_s / lag_s)
    slope_times_lag = np.diff(cp, axis=-1) * (lag_s / dt_s)
    out = np.empty_like(cp)
    out[..., 0] = cp[..., 0]
    for n in range(cp.shape[-1] - 1):  # y' = (x - y)/lag with x linear over the step
        out[..., n + 1] = (cp[..., n + 1] - slope_times_lag[..., n]
                           + a * (out[..., n] - cp[..., n] + slope_times_lag[..., n]))
    return out


def baseline_tilt(cp: np.ndarray, tilt: float) -> np.ndarray:
    """cp plus a straight line rising by ``tilt`` from the first to the last grid point, 0 at the centre."""
    cp = np.asarray(cp, dtype=float)
    n = cp.shape[-1]
    return cp + tilt * (np.arange(n) / max(n - 1, 1) - 0.5)


def distort(cp: np.ndarray, distortion: Distortion, step_K: float, heating_rate_K_per_min: float,
            seed: int | tuple = 0) -> np.ndarray:
    """Apply ``distortion`` to scans (..., n_rates, n_T): lag first (the sensor sees the sample),
    then the tilt, then noise (on the recorded signal).  ``seed``: an int or a tuple of ints
    (e.g. (seed, first sample) for one block of a file).  float32 out, like the subset files."""
    out = instrument_lag(cp, distortion.lag_s, step_K, heating_rate_K_per_min)
    out = baseline_tilt(out, distortion.tilt)
    out = add_noise(out, distortion.noise_fraction, np.random.default_rng(seed))
    return out.astype(np.float32)
