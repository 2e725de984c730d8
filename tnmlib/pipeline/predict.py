"""Applying a trained model to scans: a subset file streamed in batches, or one CSV (``tnm predict``).

Every estimate is checked against the box of parameters the model was trained on (the
minimum and maximum of its training split, saved with it, widened by :data:`BOX_MARGIN` of its
range on each side so that an estimate a little past an edge of a gridded training set is not
flagged): a network extrapolates without warning, so a row outside that box is flagged
(``outside_trained_box`` = 1) rather than trusted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TNMInputError
from ..fileutil import atomic_output
from ..study.parameters import NORM_LOWER, NORM_UPPER, PARAMETERS
from .scans import read_scans_csv

#: A scan must start within this of 0 and end within this of 1 on the model's grid.
EDGE_TOLERANCE = 0.05
#: The trained box is widened by this fraction of its range on each side before flagging.
BOX_MARGIN = 0.05


def trained_box(meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) of the parameters (stored units) the model was trained on, widened by
    BOX_MARGIN of the range on each side; models saved before the box was recorded fall back to
    the normalisation range."""
    if "train_lower" in meta and "train_upper" in meta:
        lower, upper = np.asarray(meta["train_lower"], float), np.asarray(meta["train_upper"], float)
        margin = BOX_MARGIN * (upper - lower)
        return lower - margin, upper + margin
    return NORM_LOWER.copy(), NORM_UPPER.copy()


def outside_box(params: np.ndarray, meta: dict) -> np.ndarray:
    """True for each row of ``params`` (n, 4) with any parameter outside the trained box."""
    lower, upper = trained_box(meta)
    return np.any((params < lower) | (params > upper), axis=1)


def check_file_grid(T_C: np.ndarray, rates: np.ndarray, meta: dict, path: Path) -> None:
    """Refuse a subset file whose temperature grid or cooling rates differ from the model's."""
    n_T, t_min, step = int(meta["n_T"]), float(meta["t_min_C"]), float(meta["step_K"])
    expected = t_min + np.arange(n_T) * step
    if T_C.size != n_T or not np.allclose(T_C, expected, atol=1e-6 * max(1.0, step)):
        have = f"{T_C[0]:g} ... {T_C[-1]:g} °C in {T_C.size} points" if T_C.size else "no temperatures"
        raise TNMInputError(f"{path} is on a different grid ({have}) from the model's "
                            f"({t_min:g} ... {expected[-1]:g} °C, step {step:g} K, {n_T} points)")
    if rates.size != len(meta["cooling_rates"]) or not np.allclose(rates, meta["cooling_rates"]):
        raise TNMInputError(f"{path}: cooling rates {rates.tolist()} K/min differ from the model's {meta['cooling_rates']}")


def _rows(params: np.ndarray, flags: np.ndarray) -> np.ndarray:
    display = np.column_stack([p.to_display(params[:, k]) for k, p in enumerate(PARAMETERS)])
    return np.column_stack([display, flags.astype(int)])


def predict_file(model_path: str | Path, data_path: str | Path, out_path: str | Path,
                 batch_size: int = 1024, progress: bool = True) -> dict:
    """Predict the parameters of every sample of a subset file (.h5) or of one CSV of scans.

    Writes a CSV: (sample,) dh_kJ_per_mol, ln_A, x, beta, outside_trained_box.  A subset file is
    read ``batch_size`` samples at a time, so memory does not grow with it.  Returns
    {"rows", "outside"} counts.
    """
    from ..learning.model import load_model, metadata, predict

    model_path, data_path, out_path = Path(model_path), Path(data_path), Path(out_path)
    if out_path.suffix.lower() != ".csv":
        raise TNMInputError(f"--out must end in .csv, got {out_path.name!r}")
    if batch_size < 1:
        raise TNMInputError(f"batch size must be at least 1, got {batch_size}")
    suffix = data_path.suffix.lower()
    if suffix not in (".h5", ".nc", ".csv"):
        raise TNMInputError(f"--data must be .h5 or .csv, got {data_path.name!r}")
    if not data_path.is_file():
        raise TNMInputError(f"no file at {data_path}")
    model = load_model(model_path)
    meta = metadata(model)
    header = ",".join([p.display_key for p in PARAMETERS] + ["outside_trained_box"])
    n_rows = n_outside = 0
    with atomic_output(out_path) as tmp, open(tmp, "w") as out:
        if suffix == ".csv":
            cp = read_scans_csv(data_path, meta)
            if np.max(np.abs(cp[:, 0])) > EDGE_TOLERANCE or np.max(np.abs(cp[:, -1] - 1.0)) > EDGE_TOLERANCE:
                raise TNMInputError(
                    f"{data_path}: the scans do not start at 0 and end at 1 within the model's grid "
                    f"({meta['t_min_C']:g} ... {meta['t_min_C'] + (meta['n_T'] - 1) * meta['step_K']:g} °C); "
                    "the transition lies outside what this model was trained on")
            params = predict(model, cp[None])
            flags = outside_box(params, meta)
            out.write(header + "\n")
            np.savetxt(out, _rows(params, flags), delimiter=",", fmt="%.8g")
            return {"rows": 1, "outside": int(flags.sum())}
        import h5py

        try:
            f = h5py.File(data_path, "r")
        except OSError as exc:
            raise TNMInputError(f"{data_path} is not a subset file: {exc}") from None
        with f:
            if "cp" not in f or "T" not in f or "cooling_rate" not in f:
                raise TNMInputError(f"{data_path} is not a subset file (needs cp, T and cooling_rate)")
            check_file_grid(f["T"][...], f["cooling_rate"][...], meta, data_path)
            cp_all = f["cp"]
            n = cp_all.shape[0]
            ids = f["sample"][...] if "sample" in f else np.arange(n)
            out.write("sample," + header + "\n")
            from tqdm.auto import tqdm

            for start in tqdm(range(0, n, batch_size), desc=f"predict {data_path.name}", unit="batch",
                              disable=not progress):
                cp = cp_all[start:start + batch_size]
                params = predict(model, cp)
                flags = outside_box(params, meta)
                np.savetxt(out, np.column_stack([ids[start:start + len(cp)], _rows(params, flags)]),
                           delimiter=",", fmt="%.8g")
                n_rows += len(cp)
                n_outside += int(flags.sum())
    return {"rows": n_rows, "outside": n_outside}
