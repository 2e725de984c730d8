"""Evaluating a trained model on the test split of its subset (the paper's Section 3).

The split is the model's own (the seed saved with it).  For every test sample: the predicted
parameters, their absolute errors (Eq. 13) and those of the constant predictor (the median of
the model's training split, ``ae_constant_*``), the SSE of
the normalised parameters over all four and over pairs (Eq. 14), and the SSE of the signals
(Eq. 15) between the scans in the file and scans re-simulated from the predicted parameters
with the batched fast simulator on the same grid.  Samples whose highest peak exceeds
Cp^N = 6 are flagged (``kept`` = False) as the paper leaves them out.  Results are saved per
model as a netCDF file and reused while model and data are unchanged.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import xarray as xr

from ..analysis import metrics
from ..errors import TNMInputError
from ..analysis.tables import PAIRS
from ..fileutil import atomic_output
from ..fingerprint import source_hash
from ..learning.reader import split_indices
from ..physics.simulate import simulate_chr_batch
from ..study.design import SPLIT_SEED
from ..study.parameters import BY_NAME, PARAMETER_NAMES


def _fingerprint(model_path: Path, data_path: Path) -> str:
    """Of everything an evaluation file depends on: the model, its data, the evaluation code."""
    meta_path = model_path.with_suffix(".json")
    model_fp = json.loads(meta_path.read_text())["fingerprint"] if meta_path.is_file() else str(model_path.stat().st_mtime_ns)
    with h5py.File(data_path, "r") as f:
        data_fp = str(f.attrs["fingerprint"])
    return hashlib.sha256(f"{model_fp}{data_fp}{source_hash('evaluation')}".encode()).hexdigest()[:16]


def evaluate_model(model_path: str | Path, data_path: str | Path, out_path: str | Path,
                   batch_size: int = 256, split: str = "test") -> xr.Dataset:
    """Evaluate a model on a split of a subset file; returns (and saves) per-sample results."""
    from ..learning.model import load_model, metadata, predict

    model_path, data_path, out_path = Path(model_path), Path(data_path), Path(out_path)
    fingerprint = _fingerprint(model_path, data_path)
    if out_path.is_file():
        cached = xr.load_dataset(out_path, engine="h5netcdf")
        if cached.attrs.get("fingerprint") == fingerprint:
            return cached
    model = load_model(model_path)
    meta = metadata(model)
    rows = {k: [] for k in ("index", "true", "pred", "sse_signals")}
    with h5py.File(data_path, "r") as f:
        T = f["T"][...]
        extra = {name: f[name][...] for name in ("cp_max", "dT_hw", "T_peak_C", "i_dh", "j_ln_a", "k_x", "l_beta")}
        rates = f["cooling_rate"][...]
        params = np.column_stack([f[name][...] for name in PARAMETER_NAMES])
        cp_all = f["cp"]
        n = cp_all.shape[0]
        seed = int(meta.get("seed", SPLIT_SEED))
        splits = split_indices(n, seed)
        if splits["train"].size == 0:
            raise TNMInputError(f"{data_path} has too few samples for a training split")
        constant = np.median(params[splits["train"]], axis=0)
        order = np.arange(n) if split == "all" else splits[split]
        for start in range(0, order.size, batch_size):
            idx = order[start:start + batch_size]
            cp = cp_all[idx[0]:idx[-1] + 1][idx - idx[0]]  # one contiguous read per batch
            pred = predict(model, cp)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                resim = simulate_chr_batch(metrics.clip_to_domain(pred), cooling_rates=rates,
                                           t_min=float(T[0]), t_max=float(T[-1]), step=float(T[1] - T[0]))
            rows["index"].append(idx)
            rows["true"].append(params[idx])
            rows["pred"].append(pred)
            rows["sse_signals"].append(metrics.sse_signals(cp, resim))
    idx = np.concatenate(rows["index"])
    true, pred = np.concatenate(rows["true"]), np.concatenate(rows["pred"])
    ae = metrics.absolute_errors(true, pred)
    data_vars = {
        "sample": ("test_sample", idx),
        "sse_signals": ("test_sample", np.concatenate(rows["sse_signals"]), {"long_name": "SSE of the signals (Eq. 15)", "units": "1"}),
        "sse_parameters": ("test_sample", metrics.sse_parameters(true, pred), {"long_name": "SSE of the four normalised parameters (Eq. 14)"}),
        "kept": ("test_sample", metrics.keep_mask(extra["cp_max"][idx]), {"long_name": f"Cp_max <= {metrics.CP_MAX_LIMIT:g}"}),
    }
    for k, name in enumerate(PARAMETER_NAMES):
        units = BY_NAME[name].units
        data_vars[f"true_{name}"] = ("test_sample", true[:, k], {"units": units})
        data_vars[f"pred_{name}"] = ("test_sample", pred[:, k], {"units": units})
        data_vars[f"ae_{name}"] = ("test_sample", ae[:, k], {"long_name": f"absolute error of {name} (Eq. 13)", "units": units})
        data_vars[f"ae_constant_{name}"] = ("test_sample", np.abs(true[:, k] - constant[k]),
                                            {"long_name": f"absolute error of the constant predictor of {name} "
                                                          "(median of the training split)", "units": units})
    for a, b in PAIRS:
        data_vars[f"sse_{a}_{b}"] = ("test_sample", metrics.sse_parameters(true, pred, (a, b)),
                                     {"long_name": f"SSE of normalised {a} and {b} (Eq. 14)"})
    for name, values in extra.items():
        data_vars[name] = ("test_sample", values[idx])
    result = xr.Dataset(data_vars, attrs={
        "model": str(model_path), "data": str(data_path), "split": split, "fingerprint": fingerprint,
        "subset": str(meta.get("subset", "")), "profile": str(meta.get("profile", "")),
        "model_name": str(meta.get("model_name", "")),
        "loss_weights": json.dumps(meta.get("loss_weights", [])), "cp_max_limit": metrics.CP_MAX_LIMIT,
        "split_seed": seed, "constant_prediction": json.dumps(constant.tolist()),
        "grid_step_K": float(T[1] - T[0]), "grid_t_min_C": float(T[0]), "grid_t_max_C": float(T[-1])})
    with atomic_output(out_path) as tmp:
        result.to_netcdf(tmp, engine="h5netcdf")
    return result


def evaluation_path(eval_dir: str | Path, model_name: str) -> Path:
    """Where the pipeline keeps a model's evaluation: ``<eval_dir>/eval-<model>.nc``."""
    return Path(eval_dir) / f"eval-{model_name}.nc"


def load_evaluation(path: str | Path) -> xr.Dataset:
    """A finished evaluation file (``tnm evaluate``), loaded into memory."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation file at {path}: run `make evaluations` (or tnm evaluate)")
    return xr.load_dataset(path, engine="h5netcdf")
