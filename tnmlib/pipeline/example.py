"""``tnm example``: example measured curves of the literature-like glasses of study.yaml (to try
``tnm fit``, and the book's check of it)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TNMInputError
from ..fileutil import atomic_output
from ..physics.instrument import add_noise, instrument_lag
from ..physics.transition import simulate_transition_scans
from ..study.design import LITERATURE_GLASSES
from ..study.protocol import PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN
from .scans import write_curves_csv

#: The kinds of example file: Cp^N as simulated; Cp^N with 1 % noise and a 3 s lag on an uneven
#: grid in shuffled rows; raw Cp (J/(g K)) with sloped glass and liquid lines and 0.5 % noise.
EXAMPLE_KINDS = ("clean", "noisy-lag", "raw")
EXAMPLE_NOISE_FRACTION, EXAMPLE_LAG_S = 0.01, 3.0


def example_curves(params: np.ndarray, kind: str, seed: int = 0, n_points: int = 400) -> tuple[np.ndarray, dict]:
    """Heating scans of one parameter set (dh J/mol, ln A, x, β) as a measurement of ``kind``
    (:data:`EXAMPLE_KINDS`) would record them over the transition region: (T_C (n_T,), {column
    name: values}) in row order, the paper's six cooling rates and its heating rate."""
    if kind not in EXAMPLE_KINDS:
        raise TNMInputError(f"kind must be one of {', '.join(EXAMPLE_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    scans = simulate_transition_scans(np.asarray(params, dtype=float)[None], n_points=n_points)
    T, cp, step = scans.T_C(0), scans.cp[0], float(scans.step_K[0])
    rates = PAPER_COOLING_RATES_K_PER_MIN
    if kind == "clean":
        return T, {f"cp_q{q:g}": cp[k] for k, q in enumerate(rates)}
    if kind == "noisy-lag":
        cp = add_noise(instrument_lag(cp, EXAMPLE_LAG_S, step, PAPER_HEATING_RATE_K_PER_MIN), EXAMPLE_NOISE_FRACTION, rng)
        keep = np.sort(rng.choice(T.size, int(0.6 * T.size), replace=False))
        order = rng.permutation(keep.size)
        centres = T[keep] - 0.5 * step  # a recorded point: the value at the middle of its bin
        return centres[order], {f"cp_q{q:g}": cp[k, keep][order] for k, q in enumerate(rates)}
    tg = float(np.mean(scans.tf_prime_C[0]))
    glass = 0.30 + 0.0008 * (T - tg)
    liquid = 0.42 + 0.0003 * (T - tg)
    raw = glass + (liquid - glass) * cp + rng.normal(0.0, 0.005 * 0.12, cp.shape)
    return T, {f"cp_J_per_gK_q{q:g}": raw[k] for k, q in enumerate(rates)}




def write_example(glass: str, kind: str, out_path: str | Path, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Write the example file of ``glass`` (a key of study.yaml's literature_glasses) and ``kind``
    to ``out_path`` (.csv); returns (T_C, columns) as written."""
    if glass not in LITERATURE_GLASSES:
        raise TNMInputError(f"unknown glass {glass!r}; choose one of {', '.join(LITERATURE_GLASSES)}")
    T, columns = example_curves(LITERATURE_GLASSES[glass], kind, seed)
    with atomic_output(Path(out_path)) as tmp:
        write_curves_csv(tmp, T, columns)
    return T, columns


def write_example_export(glass: str, fmt: str, out_path: str | Path) -> int:
    """Write a synthetic run of ``glass`` (a key of study.yaml's literature_glasses) as an
    instrument export in layout ``fmt`` (:data:`tnmlib.pipeline.exports.write.FORMATS`): a first
    heat, then cooling at 10, 40 (the instrument follows 22), 5 and 1 K/min, each followed by a
    heating scan at 10 K/min with its start-up transient, over T_ref − 45 … T_ref + 35 °C (wider
    for a broad transition).  Returns the bytes written."""
    import math

    from ..physics.constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
    from .exports.write import FORMATS, synthetic_run, write_export

    if glass not in LITERATURE_GLASSES:
        raise TNMInputError(f"unknown glass {glass!r}; choose one of {', '.join(LITERATURE_GLASSES)}")
    if fmt not in FORMATS:
        raise TNMInputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    params = np.asarray(LITERATURE_GLASSES[glass], dtype=float)
    t_ref_K = params[0] / (R_J_PER_MOL_K * (math.log(100.0) - params[1]))
    width = R_J_PER_MOL_K * t_ref_K ** 2 / params[0]
    t_ref_C = t_ref_K - ZERO_CELSIUS_K
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each heating scan's grid is the run's range, narrower than a cycle
        run = synthetic_run(params=params, t_low_C=round(t_ref_C - max(45.0, 18 * width)),
                            t_high_C=round(t_ref_C + max(35.0, 12 * width)))
    data = write_export(run, fmt)
    with atomic_output(Path(out_path)) as tmp:
        tmp.write_bytes(data)
    return len(data)



def write_otp_like_export(fmt: str, out_path: str | Path, seed: int = 0) -> int:
    """Write the o-terphenyl-like run of :func:`tnmlib.pipeline.exports.independent.otp_like_draw`
    (the procedure and quirks of the shared 2023-07-18 export, simulated by the independent
    reference; ``seed``: its noise) in layout ``fmt``; returns the bytes written."""
    from .exports.independent import otp_like_draw, reference_run
    from .exports.write import FORMATS, write_export

    if fmt not in FORMATS:
        raise TNMInputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    data = write_export(reference_run(otp_like_draw(fmt, seed)), fmt)
    with atomic_output(Path(out_path)) as tmp:
        tmp.write_bytes(data)
    return len(data)
