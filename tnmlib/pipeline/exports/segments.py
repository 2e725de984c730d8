"""Segments for exports that mark none: cut where the measured temperature turns."""
from __future__ import annotations

import numpy as np

from ...estimation.measurement import HOLD_RATE_K_PER_MIN, Segment
from .common import segment_from_columns


def split_by_direction(time_min: np.ndarray, T_C: np.ndarray, heat_flow_W_per_g: np.ndarray,
                       cp_J_per_gK: np.ndarray | None = None, window_min: float = 0.2) -> list[Segment]:
    """Segments (heating, cooling or hold) of one continuous record: the sign of the rate, smoothed
    over ``window_min``, with runs shorter than that merged into their neighbours; or where time
    jumps (data off)."""
    ok = np.isfinite(time_min) & np.isfinite(T_C)
    t, T = time_min[ok], T_C[ok]
    if t.size < 3:
        return [segment_from_columns(1, "", time_min, T_C, heat_flow_W_per_g, cp_J_per_gK)]
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    points = max(1, int(round(window_min / max(dt, 1e-9))))
    rate = np.gradient(T, t) if np.all(np.diff(t) > 0) else np.zeros_like(T)
    kernel = np.ones(points) / points
    smooth = np.convolve(np.pad(rate, points // 2, mode="edge"), kernel, mode="valid")[:T.size]
    state = np.where(smooth > HOLD_RATE_K_PER_MIN * 4, 1, np.where(smooth < -HOLD_RATE_K_PER_MIN * 4, -1, 0))
    jump = np.concatenate([[False], np.diff(t) > 5 * max(dt, 1e-9)])
    cuts = [0]
    for i in range(1, t.size):
        if jump[i] or (state[i] != state[cuts[-1]] and np.all(state[i:i + points] == state[i])):
            cuts.append(i)
    cuts.append(t.size)
    rows = np.nonzero(ok)[0]
    hf = heat_flow_W_per_g[ok]
    cp = cp_J_per_gK[ok] if cp_J_per_gK is not None else None
    segments = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a < 2:
            continue
        segments.append(segment_from_columns(len(segments) + 1, "", t[a:b], T[a:b], hf[a:b],
                                             None if cp is None else cp[a:b]))
    del rows
    return segments
