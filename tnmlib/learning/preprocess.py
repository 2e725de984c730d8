"""The MCNN's preprocessing module (Section 2.2.1 of the paper, STUDY.md §4).

Three views of the six scans feed the three extraction branches:

- the original signal;
- the signal downsampled by k_down = 3 (every third grid point, Eq. 6);
- the "attention" segment of each scan: from the point where the signal leaves 0 to the
  point where it settles at 1, fitted by a least-squares polynomial of degree 3 (Eq. 7) and
  resampled to n_interp = 1000 equidistant points.

Segment bounds (the paper's definition, made robust for coarse grids): ``start`` is the last
grid point before the signal first reaches ε (so it lies in [0, ε) and the signal rises
after it); ``end`` is the first point after the peak where |Cp^N - 1| < ε.  A signal that
never reaches ε uses the whole scan; a segment shorter than 4 points is widened to 4.
A cubic cannot follow a sharp peak: the paper's model keeps it (``method="cubic"``);
``method="linear"`` resamples the segment by linear interpolation instead (shape-preserving:
exact at the grid points, no overshoot) for the ablation.

The functions use ``keras.ops`` and accept NumPy arrays as well as backend tensors, so the
same code runs inside the model graph and outside it.
"""
from __future__ import annotations

import numpy as np

from ..errors import TNMInputError

K_DOWN = 3
N_INTERP = 1000
EPSILON = 0.01
METHODS = ("cubic", "linear")
MIN_SEGMENT = 4


def check_signals(cp: np.ndarray) -> np.ndarray:
    """Validate raw scans (..., n_rates, n_T) before preprocessing; returns float32 array.

    Raises TNMInputError for NaN/inf values and for scans that are constant (no transition).
    """
    cp = np.asarray(cp, dtype=np.float32)
    if cp.ndim < 2 or cp.shape[-1] < MIN_SEGMENT:
        raise TNMInputError(f"signals must have shape (..., scans, temperatures) with >= {MIN_SEGMENT} temperatures")
    if not np.all(np.isfinite(cp)):
        raise TNMInputError("signals contain NaN or infinite values")
    flat = cp.reshape(-1, cp.shape[-1])
    constant = np.all(flat == flat[:, :1], axis=1)
    if np.any(constant):
        raise TNMInputError(f"{int(constant.sum())} scan(s) are constant: no glass transition to read")
    return cp


def downsample(x, k: int = K_DOWN):
    """Every k-th grid point along the last axis (Eq. 6)."""
    return x[..., ::k]


def segment_bounds(x, epsilon: float = EPSILON):
    """Start and end index (int32, shape x.shape[:-1]) of the attention segment of each scan."""
    from keras import ops

    n = x.shape[-1]
    idx = ops.arange(n, dtype="int32")
    above = ops.cast(x >= epsilon, "int32")
    has_above = ops.max(above, axis=-1) > 0
    first_above = ops.cast(ops.argmax(above, axis=-1), "int32")
    start = ops.where(has_above, ops.maximum(first_above - 1, 0), 0)
    peak = ops.cast(ops.argmax(x, axis=-1), "int32")
    settled = ops.cast((idx > ops.expand_dims(peak, -1)) & (ops.abs(x - 1.0) < epsilon), "int32")
    has_settled = ops.max(settled, axis=-1) > 0
    end = ops.where(has_settled & has_above, ops.cast(ops.argmax(settled, axis=-1), "int32"), n - 1)
    start = ops.minimum(start, n - MIN_SEGMENT)
    end = ops.minimum(ops.maximum(end, start + MIN_SEGMENT - 1), n - 1)
    return start, end


def _legendre(z):
    return [z * 0.0 + 1.0, z, 1.5 * z * z - 0.5, (2.5 * z * z - 1.5) * z]


def attention(x, n_interp: int = N_INTERP, epsilon: float = EPSILON, method: str = "cubic"):
    """The attention segment of each scan resampled to ``n_interp`` points.

    x: (..., n_T) float32.  Returns (..., n_interp).  ``method``: "cubic" (least-squares
    polynomial of degree 3, the paper's) or "linear" (shape-preserving interpolation).
    """
    from keras import ops

    if method not in METHODS:
        raise TNMInputError(f"attention method must be one of {METHODS}, got {method!r}")
    x = ops.convert_to_tensor(x, dtype="float32")
    n = x.shape[-1]
    start, end = segment_bounds(x, epsilon)
    start_f = ops.expand_dims(ops.cast(start, "float32"), -1)
    span_f = ops.expand_dims(ops.cast(end - start, "float32"), -1)
    t = ops.linspace(0.0, 1.0, n_interp)
    if method == "linear":
        pos = start_f + span_f * t
        lo = ops.cast(ops.floor(pos), "int32")
        lo = ops.minimum(lo, n - 2)
        frac = pos - ops.cast(lo, "float32")
        y0 = ops.take_along_axis(x, lo, axis=-1)
        y1 = ops.take_along_axis(x, lo + 1, axis=-1)
        return y0 + frac * (y1 - y0)
    idx = ops.cast(ops.arange(n), "float32")
    z = 2.0 * (idx - start_f) / span_f - 1.0  # [-1, 1] on the segment
    mask = ops.cast((z >= -1.0 - 1e-6) & (z <= 1.0 + 1e-6), "float32")
    basis = _legendre(z)
    gram = ops.stack([ops.stack([ops.sum(mask * basis[k] * basis[m], axis=-1) for m in range(4)], axis=-1)
                      for k in range(4)], axis=-2)
    rhs = ops.stack([ops.sum(mask * basis[k] * x, axis=-1) for k in range(4)], axis=-1)
    coef = ops.squeeze(ops.solve(gram, ops.expand_dims(rhs, -1)), -1)
    z_eval = 2.0 * t - 1.0
    basis_eval = ops.stack(_legendre(z_eval), axis=-1)  # (n_interp, 4)
    return ops.matmul(coef, ops.transpose(basis_eval))


def attention_reference(row: np.ndarray, n_interp: int = N_INTERP, epsilon: float = EPSILON,
                        method: str = "cubic") -> tuple[np.ndarray, int, int]:
    """Plain-Python attention of one scan: (resampled segment, start, end). For tests."""
    row = np.asarray(row, dtype=float)
    n = row.size
    above = np.nonzero(row >= epsilon)[0]
    if above.size:
        start = max(above[0] - 1, 0)
        peak = int(np.argmax(row))
        settled = [i for i in range(peak + 1, n) if abs(row[i] - 1.0) < epsilon]
        end = settled[0] if settled else n - 1
    else:
        start, end = 0, n - 1
    start = min(start, n - MIN_SEGMENT)
    end = min(max(end, start + MIN_SEGMENT - 1), n - 1)
    t = np.linspace(0.0, 1.0, n_interp)
    if method == "linear":
        return np.interp(start + (end - start) * t, np.arange(n), row), start, end
    z = 2.0 * (np.arange(start, end + 1) - start) / (end - start) - 1.0
    coef = np.polynomial.legendre.legfit(z, row[start:end + 1], 3)
    return np.polynomial.legendre.legval(2.0 * t - 1.0, coef), start, end
