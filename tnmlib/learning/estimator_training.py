"""Training of the whole-space estimator's network (:mod:`tnmlib.estimation.network`) in Keras.

The network is a multilayer perceptron on :func:`tnmlib.estimation.network.network_inputs`; once
trained, its weights are copied into a :class:`~tnmlib.estimation.network.NetworkEstimator`, which reads curves in
NumPy alone.  Each training sample enters twice: clean, and distorted by instrument noise and lag
drawn afresh (the refinement corrects what the network reads, but only from inside the basin of
the right minimum, so the network must not be thrown by a noisy or lagged curve); with the
study's measurement variety both copies are also read on the spans and uneven rows a DSC
records, the distorted one with a baseline tilt and a start-up residue as well.
"""
from __future__ import annotations

import time

import keras
import numpy as np

from ..errors import TNMInputError
from ..estimation.network import NetworkEstimator, network_inputs, targets_from_params
from ..physics.instrument import instrument_lag, recorded_residue, uneven_rows
from ..physics.transition import TRANSITION_MARGIN, TransitionScans
from ..study.design import MeasurementVariety

#: Hidden layer widths of the default network.
HIDDEN = (384, 192, 96)


def training_rows(scans: TransitionScans, params: np.ndarray, cooling_rates_K_per_min, heating_rate_K_per_min: float,
                  noise_fraction_max: float = 0.02, lag_s_max: float = 5.0,
                  seed: int = 0, variety: MeasurementVariety | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs and targets of the network for every sample of ``scans``, clean and once distorted
    (noise uniform in [0, noise_fraction_max] of the jump, lag uniform in [0, lag_s_max] s; drawn
    with ``seed``).  With ``variety`` both copies are read as a DSC records them
    (:func:`measured_copy`: cut spans, uneven rows; on the distorted copy also a tilt and a
    start-up residue).  Rows whose inputs cannot be formed are dropped.  Returns (inputs (m,
    n_inputs), targets (m, 4), the sample of each row (m,)): rows of one sample must stay on one
    side of a validation split."""
    rng = np.random.default_rng(seed)
    n = scans.cp.shape[0]
    lag = rng.uniform(0.0, lag_s_max, (n, 1, 1))
    distorted = instrument_lag(scans.cp, lag, scans.step_K[:, None, None], heating_rate_K_per_min)
    noise = rng.uniform(0.0, noise_fraction_max, (n, 1, 1))
    distorted = distorted + rng.standard_normal(distorted.shape) * noise
    inputs, positions, rows = [], [], []
    for which, copy in enumerate((scans.cp, distorted)):
        for k in range(n):
            T_C, cp = scans.T_C(k), copy[k]
            if variety is not None:
                T_C, cp = measured_copy(T_C, cp, variety, heating_rate_K_per_min, instrument=which == 1,
                                        rng=np.random.default_rng([seed, k, which]))
            try:
                vector, position = network_inputs(T_C, cp, cooling_rates_K_per_min)
            except TNMInputError:
                continue
            inputs.append(vector)
            positions.append(position)
            rows.append(k)
    if not rows:
        raise TNMInputError("no sample gives network inputs")
    return np.array(inputs), targets_from_params(np.asarray(params)[rows], positions), np.array(rows)


def measured_copy(T_C: np.ndarray, cp: np.ndarray, variety: MeasurementVariety, heating_rate_K_per_min: float, *,
                  instrument: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One sample's scans (n_rates, n_T) on the estimator's recipe grid ``T_C`` (°C: the
    transition range widened by TRANSITION_MARGIN of it each side) read as a DSC records them, with the
    ``variety`` of the independent assessment: the span cut to the variety's (within the
    recipe's), uneven rows, and with ``instrument`` a baseline tilt and a start-up residue (the
    lag and noise are the caller's).  Returns (rows °C, scans at the rows)."""
    length = (T_C[-1] - T_C[0]) / (1.0 + 2.0 * TRANSITION_MARGIN)
    first, last = T_C[0] + TRANSITION_MARGIN * length, T_C[-1] - TRANSITION_MARGIN * length
    T_first = max(T_C[0], first - rng.uniform(*variety.below_transition) * length)
    T_last = min(T_C[-1], last + rng.uniform(*variety.above_transition) * length)
    spacing = float(np.exp(rng.uniform(*np.log(variety.row_spacing_K))))
    rows = uneven_rows(T_first, T_last, spacing, variety.row_jitter, variety.max_rows, rng)
    measured = np.array([np.interp(rows, T_C, scan) for scan in cp])
    if instrument:
        tau = rng.uniform(*variety.startup_tau_min)
        elapsed_min = rng.uniform(*variety.cut_min) + (rows - rows[0]) / heating_rate_K_per_min
        measured = measured + recorded_residue(
            rows, 0.5 * (first + last), rng.uniform(-variety.tilt_per_100K_max, variety.tilt_per_100K_max),
            rng.uniform(0.0, variety.startup_residue_max), elapsed_min, tau)
    return rows, measured


def train_network(inputs: np.ndarray, targets: np.ndarray, samples: np.ndarray, cooling_rates_K_per_min,
                  heating_rate_K_per_min: float, *, hidden: tuple[int, ...] = HIDDEN, epochs: int = 60, batch_size: int = 256,
                  learning_rate: float = 1e-3, validation_share: float = 0.1, seed: int = 0,
                  verbose: int = 0) -> tuple[NetworkEstimator, dict]:
    """Train the MLP on standardised inputs and targets (Adam, mean squared error, the learning rate
    halved when the validation loss stalls, the best epoch kept).  ``samples`` (m,): the sample
    of each row; ``validation_share`` of the samples, chosen with ``seed``, are held out with all
    their rows.  Returns the estimator and a history dict (loss, val_loss per epoch, seconds,
    rows and samples on each side)."""
    inputs = np.asarray(inputs, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    input_mean, input_std = inputs.mean(axis=0), inputs.std(axis=0)
    input_std = np.where(input_std > 1e-9, input_std, 1.0)
    target_mean, target_std = targets.mean(axis=0), targets.std(axis=0)
    x = ((inputs - input_mean) / input_std).astype(np.float32)
    y = ((targets - target_mean) / target_std).astype(np.float32)
    keras.utils.set_random_seed(seed)
    samples = np.asarray(samples)
    if samples.shape != (len(x),):
        raise TNMInputError(f"expected one sample index per row ({len(x)}), got shape {samples.shape}")
    unique = np.unique(samples)
    held_out = np.random.default_rng(seed).permutation(unique)[:max(1, int(round(validation_share * unique.size)))]
    is_val = np.isin(samples, held_out)
    val, train = np.nonzero(is_val)[0], np.nonzero(~is_val)[0]
    if train.size == 0:
        raise TNMInputError("too few samples to hold some out for validation")
    layers = [keras.Input((x.shape[1],))] + [keras.layers.Dense(width, activation="relu") for width in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(targets.shape[1])])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    callbacks = [keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=4, min_lr=learning_rate / 64),
                 keras.callbacks.EarlyStopping(patience=12, restore_best_weights=True)]
    t0 = time.perf_counter()
    history = model.fit(x[train], y[train], validation_data=(x[val], y[val]), epochs=epochs,
                        batch_size=batch_size, shuffle=True, callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - t0
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    estimator = NetworkEstimator([np.asarray(d.kernel, dtype=np.float64) for d in dense],
                                 [np.asarray(d.bias, dtype=np.float64) for d in dense],
                                 input_mean, input_std, target_mean, target_std,
                                 np.asarray(cooling_rates_K_per_min, dtype=float), float(heating_rate_K_per_min))
    record = {"loss": [float(v) for v in history.history["loss"]],
              "val_loss": [float(v) for v in history.history["val_loss"]], "seconds": seconds,
              "train_rows": int(train.size), "validation_rows": int(val.size),
              "train_samples": int(unique.size - held_out.size), "validation_samples": int(held_out.size)}
    return estimator, record
