"""Training the MCNN on a subset file (Table 4): the profile's optimiser (the paper's SGD, lr 0.01,
batch 128), seeded 70/15/15 split.

Batches are drawn from the whole training split each epoch
(:class:`tnmlib.learning.reader.SubsetReader`).  The network starts from the constant predictor
(its output bias is the mean normalised training target).  Along the run, at budgets spaced by
factors of 2 down to 1/64 of the whole run, the validation split is predicted and its MAE and
shares under the study's thresholds are written to ``<stem>.curve.csv``: the learning curve (the
learning rate is constant, so the state at a budget is what a run of that budget would give).
After every epoch a checkpoint (weights and optimizer state) is written atomically; an
interrupted run resumes from it with the same data order.  A finished model whose data,
configuration and code are unchanged is not trained again.
"""
from __future__ import annotations

import csv
import hashlib
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import h5py
import keras
import numpy as np

from ..errors import TNMInputError
from ..fileutil import atomic_output, float_attr, int_attr
from ..fingerprint import source_hash
from ..physics.instrument import Augmentation
from ..study.design import AUGMENTATION, PAPER_LOSS_WEIGHTS, SPLIT_SEED, THRESHOLDS, model_spec
from ..study.parameters import NORM_LOWER, NORM_UPPER, PARAMETER_INDEX, PARAMETERS
from ..study.profile import load_profile
from ..study.protocol import PAPER_HEATING_RATE_K_PER_MIN
from .model import MCNNConfig, build_model, load_model
from .reader import SubsetReader

#: The learning curve: budgets at the whole run divided by 2**k, k = 0 .. CURVE_HALVINGS.
CURVE_HALVINGS = 6


def _paths(out: Path) -> dict[str, Path]:
    stem = out.with_suffix("")
    return {"model": out, "meta": stem.with_suffix(".json"), "history": Path(f"{stem}.history.csv"),
            "curve": Path(f"{stem}.curve.csv"),
            "checkpoint": Path(f"{stem}.checkpoint.keras"), "checkpoint_meta": Path(f"{stem}.checkpoint.json")}


def _data_info(path: Path) -> dict:
    try:
        with h5py.File(path, "r") as f:
            if int_attr(f.attrs.get("complete", 0)) != 1:
                raise TNMInputError(f"{path} is not a complete subset file (rerun tnm dataset)")
            T = f["T"][...]
            return {"fingerprint": str(f.attrs["fingerprint"]), "profile": str(f.attrs["profile"]),
                    "subset": str(f.attrs["subset"]), "n_samples": int(f["cp"].shape[0]),
                    "n_rates": int(f["cp"].shape[1]), "n_T": int(f["cp"].shape[2]),
                    "t_min_C": float(T[0]), "step_K": float(T[1] - T[0]),
                    "heating_rate": float_attr(f.attrs.get("heating_rate_K_per_min", PAPER_HEATING_RATE_K_PER_MIN)),
                    "cooling_rates": [float(q) for q in f["cooling_rate"][...]]}
    except OSError as exc:
        raise TNMInputError(f"cannot read subset file {path}: {exc}") from None


def _epoch_stream(reader: SubsetReader, first_epoch: int, augmentation: Augmentation | None = None,
                  step_K: float | None = None, heating_rate_K_per_min: float = PAPER_HEATING_RATE_K_PER_MIN):
    """Batches epoch after epoch; with ``augmentation``, each sample distorted afresh (seeded per
    epoch, so a resumed run sees the same distortions)."""
    epoch = first_epoch
    while True:
        rng = np.random.default_rng((reader.seed, epoch, 1))
        for x, y in reader.batches(epoch):
            if augmentation is not None:
                x = augmentation.apply(x, step_K, heating_rate_K_per_min, rng)
            yield x, y.astype(np.float32)
        epoch += 1


def train_model(data: str | Path, out: str | Path, *, model_name: str | None = None, epochs: int | None = None,
                loss_weights=None, attention: str = "cubic", input_scaling: str | None = None,
                augment: bool = False, seed: int = SPLIT_SEED, progress: bool = True) -> dict:
    """Train (or resume, or skip if up to date) an MCNN on a subset file; save it to ``out``.

    ``model_name``: one of the study's models (study.yaml); its loss weights are used and its
    subset must be the data's.  Otherwise ``loss_weights`` (Δh*, ln A, x, β), default the
    paper's (1, 0.1, 3, 3).  ``epochs``, batch size and learning rate default to the data's
    profile.  ``input_scaling`` defaults to the model's (study file), else "asinh".  ``augment``
    (or a study model marked so): every training batch is distorted by the study's augmentation
    (noise, lag, tilt drawn per sample); validation stays clean.  Writes
    ``out`` (.keras), ``<stem>.json`` (fingerprint, timing, final metrics, the constant
    predictor's validation MAE), ``<stem>.history.csv`` and ``<stem>.curve.csv``.  Returns the
    metadata.
    """
    data, out = Path(data), Path(out)
    if out.suffix != ".keras":
        raise TNMInputError(f"--out must end in .keras, got {out.name!r}")
    info = _data_info(data)
    if model_name is not None:
        spec = model_spec(model_name)
        if spec.subset != info["subset"]:
            raise TNMInputError(f"model {model_name} is trained on subset {spec.subset}, but {data} holds {info['subset']}")
        if loss_weights is not None and tuple(loss_weights) != spec.loss_weights:
            raise TNMInputError(f"model {model_name} has loss weights {spec.loss_weights} in the study file; "
                                "leave --loss-weights out")
        loss_weights = spec.loss_weights
        input_scaling = input_scaling or spec.input_scaling
        augment = augment or spec.augment
    augmentation = AUGMENTATION if augment else None
    profile = load_profile(info["profile"])
    epochs = int(epochs or profile.epochs)
    if epochs < 1:
        raise TNMInputError(f"epochs must be at least 1, got {epochs}")
    weights = tuple(float(w) for w in (loss_weights or PAPER_LOSS_WEIGHTS))
    config = replace(MCNNConfig(), loss_weights=weights, attention=attention,
                     input_scaling=input_scaling or "asinh", optimizer=profile.optimizer, momentum=profile.momentum,
                     output_range=profile.output_range)
    settings = {"data": info["fingerprint"], "config": asdict(config), "epochs": epochs, "seed": seed,
                "augmentation": asdict(augmentation) if augmentation else None,
                "batch_size": profile.batch_size, "learning_rate": profile.learning_rate, "source": source_hash("model")}
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    paths = _paths(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_file() and paths["meta"].is_file():
        meta = json.loads(paths["meta"].read_text())
        if meta.get("fingerprint") == fingerprint:
            if progress:
                print(f"{out} is up to date (same data, configuration and code); nothing to do")
            return meta

    keras.utils.set_random_seed(seed)
    train = SubsetReader(data, "train", profile.batch_size, seed=seed)
    val = SubsetReader(data, "validation", profile.batch_size, seed=seed, shuffle=False)
    train_targets = train.targets()
    constant = np.median(train_targets, axis=0)
    first_epoch, elapsed_before = 0, 0.0
    if paths["checkpoint"].is_file() and paths["checkpoint_meta"].is_file():
        ckpt = json.loads(paths["checkpoint_meta"].read_text())
        if ckpt.get("fingerprint") == fingerprint:
            model = load_model(paths["checkpoint"])
            first_epoch, elapsed_before = int(ckpt["epoch"]) + 1, float(ckpt["seconds"])
            _truncate_history(paths["history"], int(ckpt["epoch"]))
            _truncate_curve(paths["curve"], first_epoch * len(train))
            if progress:
                print(f"resuming {out} after epoch {first_epoch} of {epochs}")
    if first_epoch == 0:
        metadata = {"t_min_C": info["t_min_C"], "step_K": info["step_K"], "n_T": info["n_T"],
                    "cooling_rates": info["cooling_rates"], "subset": info["subset"],
                    "profile": info["profile"], "data_fingerprint": info["fingerprint"],
                    "loss_weights": list(weights), "seed": seed, "model_name": model_name or "",
                    "train_lower": train_targets.min(axis=0).tolist(), "train_upper": train_targets.max(axis=0).tolist()}
        lower, upper = _output_range(config.output_range, train_targets)
        model = build_model(info["n_rates"], info["n_T"], config, metadata, profile.learning_rate,
                            output_bias=((train_targets - lower) / (upper - lower)).mean(axis=0),
                            output_range=(lower, upper))
        paths["history"].unlink(missing_ok=True)
        paths["curve"].unlink(missing_ok=True)

    timer = _EpochSeconds(elapsed_before)
    total_steps = epochs * len(train)
    curve_steps = sorted({max(1, round(total_steps / 2 ** k)) for k in range(CURVE_HALVINGS + 1)})
    callbacks = [timer, _LearningCurve(val, paths["curve"], curve_steps, len(train), profile.batch_size),
                 keras.callbacks.CSVLogger(paths["history"], append=True), _Checkpoint(paths, fingerprint, timer)]
    if first_epoch < epochs:
        model.fit(_epoch_stream(train, first_epoch, augmentation, info["step_K"], info["heating_rate"]),
                  steps_per_epoch=len(train), epochs=epochs,
                  initial_epoch=first_epoch, validation_data=_epoch_stream(val, 0), validation_steps=len(val),
                  callbacks=callbacks,
                  shuffle=False, verbose=(1 if sys.stdout.isatty() else 2) if progress else 0)
    train.close()
    with atomic_output(out) as tmp:
        _save(model, tmp)
    mae = _validation_mae(model, val)
    mae_constant = _as_display(np.abs(val.targets() - constant).mean(axis=0))
    meta = {"fingerprint": fingerprint, "settings": settings, "data": str(data), "model": str(out),
            "model_name": model_name, "subset": info["subset"], "profile": info["profile"], "epochs": epochs,
            "loss_weights": list(weights), "attention": attention,
            "train_samples": int(train.indices.size), "validation_samples": int(val.indices.size),
            "seconds": timer.total_seconds, "seconds_per_epoch": timer.total_seconds / max(epochs, 1),
            "validation_mae": mae, "validation_mae_constant": mae_constant,
            "constant_prediction": constant.tolist(), "optimizer": profile.optimizer,
            "learning_rate": profile.learning_rate, "batch_size": profile.batch_size,
            "input_scaling": config.input_scaling, "augmentation": settings["augmentation"], "sample_passes": epochs * int(train.indices.size),
            "history": str(paths["history"]), "curve": str(paths["curve"])}
    with atomic_output(paths["meta"]) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    val.close()
    paths["checkpoint"].unlink(missing_ok=True)
    paths["checkpoint_meta"].unlink(missing_ok=True)
    return meta


def _output_range(kind: str, train_targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) the outputs are normalised by: Table 3's, or the training targets' range
    (widened to 1/1000 of Table 3's where a parameter is constant in the training split)."""
    if kind == "table3":
        return NORM_LOWER.copy(), NORM_UPPER.copy()
    lower, upper = train_targets.min(axis=0), train_targets.max(axis=0)
    pad = np.maximum(1e-3 * (NORM_UPPER - NORM_LOWER) - (upper - lower), 0.0) / 2
    return lower - pad, upper + pad


def _save(model, tmp: Path) -> None:
    """model.save insists on a .keras suffix: save beside, then move onto the temporary name."""
    staged = tmp.with_name(tmp.name + ".keras")
    try:
        model.save(staged)
        staged.replace(tmp)
    finally:
        staged.unlink(missing_ok=True)


class _EpochSeconds(keras.callbacks.Callback):
    """Seconds per epoch into the logs (so the CSV logger that runs next records them)."""

    def __init__(self, elapsed_before: float):
        super().__init__()
        self.total_seconds = elapsed_before
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        self.total_seconds += seconds
        if logs is not None:
            logs["epoch_seconds"] = seconds


class _Checkpoint(keras.callbacks.Callback):
    """After the epoch is logged: model and optimizer state, atomically, with the epoch number."""

    def __init__(self, paths: dict, fingerprint: str, timer: _EpochSeconds):
        super().__init__()
        self.paths, self.fingerprint, self.timer = paths, fingerprint, timer

    def on_epoch_end(self, epoch, logs=None):
        with atomic_output(self.paths["checkpoint"]) as tmp:
            _save(self.model, tmp)
        with atomic_output(self.paths["checkpoint_meta"]) as tmp:
            tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "epoch": epoch,
                                       "seconds": self.timer.total_seconds}))


def _as_display(values) -> dict:
    """Per-parameter values (stored units) keyed and scaled for display: {dh_kJ_per_mol: ..., ...}."""
    return {p.display_key: float(v) / p.units_per_display for p, v in zip(PARAMETERS, values)}


def _validation_errors(model, reader: SubsetReader) -> np.ndarray:
    """Absolute errors (n, 4) on the validation split, stored units."""
    return np.concatenate([np.abs(model.predict(x, verbose=0) - y) for x, y in reader.batches(0)])


def _validation_mae(model, reader: SubsetReader) -> dict:
    """MAE of each parameter on the validation split, display units (Δh* in kJ/mol)."""
    return _as_display(_validation_errors(model, reader).mean(axis=0))


class _LearningCurve(keras.callbacks.Callback):
    """At the given global steps: validation MAE and shares under the study's thresholds, as CSV rows."""

    def __init__(self, val: SubsetReader, path: Path, steps: list[int], steps_per_epoch: int, batch_size: int):
        super().__init__()
        self.val, self.path, self.steps = val, path, set(steps)
        self.steps_per_epoch, self.batch_size = steps_per_epoch, batch_size
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self._epoch * self.steps_per_epoch + batch + 1
        if step not in self.steps:
            return
        if hasattr(self.model, "jax_state_sync"):  # the JAX trainer keeps the weights outside the model
            self.model.jax_state_sync()
        errors = _validation_errors(self.model, self.val)
        row = {"step": step, "sample_passes": step * self.batch_size, "epochs": step / self.steps_per_epoch}
        row.update({f"mae_{k}": v for k, v in _as_display(errors.mean(axis=0)).items()})
        for t in THRESHOLDS:
            row[f"share_{t.key}"] = float(np.mean(errors[:, PARAMETER_INDEX[t.parameter]]
                                                              < t.below_stored_units))
        new = not self.path.is_file()
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)


def _truncate_history(path: Path, last_epoch: int) -> None:
    """Keep the history rows of epochs <= last_epoch (a crash may have logged one more)."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    kept = lines[:1] + [line for line in lines[1:] if line and int(float(line.split(",")[0])) <= last_epoch]
    path.write_text("\n".join(kept) + "\n")


def _truncate_curve(path: Path, last_step: int) -> None:
    """Keep the learning-curve rows of steps <= last_step (those after the checkpoint are redone)."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines()
    kept = lines[:1] + [line for line in lines[1:] if line and int(line.split(",")[0]) <= last_step]
    path.write_text("\n".join(kept) + "\n")


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    """The history CSV of a training run as columns."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]} if rows else {}

