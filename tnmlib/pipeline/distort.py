"""Distorted copies of scans (``tnm distort``): a subset file or a CSV with noise, instrument lag
and baseline tilt (:mod:`tnmlib.physics.instrument`), seeded.

A subset file is copied and its ``cp`` replaced block by block; everything else (parameters,
descriptors, grid) is kept, the distortion is recorded in the attributes, and the file's
fingerprint changes, so no model or evaluation made from the clean file is taken for one made
from the distorted copy.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from ..errors import TNMInputError
from ..fileutil import atomic_output, float_attr, int_attr
from ..physics.instrument import Distortion, distort

BLOCK_SAMPLES = 1024


def distort_file(data_path: str | Path, out_path: str | Path, distortion: Distortion, seed: int = 0,
                 heating_rate_K_per_min: float | None = None) -> dict:
    """Write a distorted copy of a subset file (.h5) or of a scans CSV to ``out_path``.

    The lag needs the heating rate: a subset file records it; for a CSV it is
    ``heating_rate_K_per_min`` (default 10).  Returns {"samples", "label"}.
    """
    data_path, out_path = Path(data_path), Path(out_path)
    if not data_path.is_file():
        raise TNMInputError(f"no file at {data_path}")
    if out_path.resolve() == data_path.resolve():
        raise TNMInputError("--out must differ from --data (the clean file is kept)")
    suffix = data_path.suffix.lower()
    if out_path.suffix.lower() != suffix:
        raise TNMInputError(f"--out must be a {suffix} file like --data, got {out_path.name!r}")
    if suffix == ".csv":
        return _distort_csv(data_path, out_path, distortion, seed, heating_rate_K_per_min or 10.0)
    if suffix not in (".h5", ".nc"):
        raise TNMInputError(f"--data must be a subset file (.h5) or a scans CSV, got {data_path.name!r}")
    import h5py

    try:
        with h5py.File(data_path, "r") as f:
            if int_attr(f.attrs.get("complete", 0)) != 1 or "cp" not in f or "T" not in f:
                raise TNMInputError(f"{data_path} is not a complete subset file")
            rate = float_attr(f.attrs.get("heating_rate_K_per_min", heating_rate_K_per_min or 10.0))
            fingerprint = str(f.attrs.get("fingerprint", ""))
    except OSError as exc:
        raise TNMInputError(f"cannot read {data_path}: {exc}") from None
    with atomic_output(out_path) as tmp:
        shutil.copyfile(data_path, tmp)
        with h5py.File(tmp, "r+") as f:
            T = f["T"][...]
            step = float(T[1] - T[0])
            cp = f["cp"]
            for start in range(0, cp.shape[0], BLOCK_SAMPLES):
                block = cp[start:start + BLOCK_SAMPLES]
                cp[start:start + len(block)] = distort(block, distortion, step, rate, seed=(seed, start))
            f.attrs.update({"distortion": distortion.label, "distortion_noise_fraction": distortion.noise_fraction,
                            "distortion_lag_s": distortion.lag_s, "distortion_tilt_per_100K": distortion.tilt_per_100K,
                            "distortion_seed": seed, "clean_fingerprint": fingerprint,
                            "fingerprint": hashlib.sha256(f"{fingerprint}{distortion}{seed}".encode()).hexdigest()[:16]})
            n = cp.shape[0]
    return {"samples": int(n), "label": distortion.label}


def _distort_csv(data_path: Path, out_path: Path, distortion: Distortion, seed: int, rate: float) -> dict:
    try:
        with open(data_path) as f:
            header = f.readline().strip()
        table = np.loadtxt(data_path, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as exc:
        raise TNMInputError(f"cannot read scans from {data_path}: {exc}") from None
    columns = header.split(",")
    if columns[0] != "T_C" or len(columns) < 2 or table.shape[1] != len(columns) or table.shape[0] < 4:
        raise TNMInputError(f"{data_path}: expected columns T_C,cp_q<rate>,... (as tnm simulate writes)")
    T = table[:, 0]
    steps = np.diff(T)
    if np.any(steps <= 0) or not np.allclose(steps, steps[0], rtol=1e-6):
        raise TNMInputError(f"{data_path}: the lag needs a uniform, increasing temperature grid")
    scans = distort(table[:, 1:].T, distortion, float(steps[0]), rate, seed=seed)
    with atomic_output(out_path) as tmp:
        np.savetxt(tmp, np.column_stack([T, scans.T]), delimiter=",", header=header, comments="", fmt="%.8g")
    return {"samples": 1, "label": distortion.label}
