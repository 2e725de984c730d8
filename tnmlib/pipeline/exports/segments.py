"""Segments for exports that mark none: cut where time jumps (data off) and where the temperature
turns (heating, cooling, hold)."""
from __future__ import annotations

import warnings

import numpy as np

from ...estimation.measurement import HOLD_RATE_K_PER_MIN, Segment
from .common import segment_from_columns

#: Runs of one direction shorter than this (min) are merged into their neighbours.
MIN_RUN_MIN = 0.2


def _direction_cuts(t: np.ndarray, T: np.ndarray) -> list[int]:
    """Indices (within one gap-free piece) where the direction of T changes for good."""
    if t.size < 3 or not np.all(np.diff(t) > 0):
        return []
    dt = float(np.median(np.diff(t)))
    points = max(1, int(round(MIN_RUN_MIN / max(dt, 1e-9))))
    rate = np.gradient(T, t)
    kernel = np.ones(points) / points
    smooth = np.convolve(np.pad(rate, points // 2, mode="edge"), kernel, mode="valid")[:T.size]
    level = 4 * HOLD_RATE_K_PER_MIN
    state = np.where(smooth > level, 1, np.where(smooth < -level, -1, 0))
    cuts, current = [], state[0]
    for i in range(1, t.size):
        if state[i] != current and np.all(state[i:i + points] == state[i]):
            cuts.append(i)
            current = state[i]
    return cuts


#: Steps on either side whose median is a row's local sampling interval.
LOCAL_STEPS = 5


def _local_sampling(steps: np.ndarray) -> np.ndarray:
    """Per step between rows, the larger of the median of the LOCAL_STEPS steps before it and of
    those after it: an instrument may record one segment every 0.6 s and the next every 6 s, and
    neither is a gap; a gap is long against the rows on both sides of it."""
    positive = np.where(steps > 0, steps, np.nan)
    if not np.any(np.isfinite(positive)):
        return np.ones_like(steps)
    padded = np.pad(positive, LOCAL_STEPS, mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, LOCAL_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window at the ends
        before = np.nanmedian(windows[:steps.size], axis=1)
        after = np.nanmedian(windows[LOCAL_STEPS + 1:LOCAL_STEPS + 1 + steps.size], axis=1)
    local = np.fmax(before, after)
    fallback = float(np.nanmedian(positive))
    return np.where(np.isfinite(local), local, fallback)


def split_by_direction(time_min: np.ndarray, T_C: np.ndarray, heat_flow_W_per_g: np.ndarray,
                       cp_J_per_gK: np.ndarray | None = None) -> list[Segment]:
    """Segments of one record (rows in time order): a new one where time jumps by more than five
    local sampling intervals (:func:`_local_sampling`), and where the smoothed rate changes sign
    for at least :data:`MIN_RUN_MIN`."""
    ok = np.isfinite(time_min) & np.isfinite(T_C)
    t, T, hf = time_min[ok], T_C[ok], heat_flow_W_per_g[ok]
    cp = cp_J_per_gK[ok] if cp_J_per_gK is not None else None
    if t.size < 3:
        return [segment_from_columns(1, "", t, T, hf, cp)]
    steps = np.diff(t)
    jumps = (np.nonzero(steps > 5 * _local_sampling(steps))[0] + 1).tolist()
    bounds = [0, *jumps, t.size]
    cuts: list[int] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        cuts.append(a)
        cuts.extend(a + c for c in _direction_cuts(t[a:b], T[a:b]))
    cuts.append(t.size)
    segments = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a >= 2:
            segments.append(segment_from_columns(len(segments) + 1, "", t[a:b], T[a:b], hf[a:b],
                                                 None if cp is None else cp[a:b]))
    return segments
