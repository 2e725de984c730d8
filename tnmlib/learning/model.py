"""The multi-scale 1-D CNN (MCNN) of the paper (Section 2.2, Figs 4-7), in Keras 3 on JAX.

Input: raw Cp^N scans (batch, n_rates=6, n_T).  Inside the graph:

1. preprocessing (:mod:`tnmlib.preprocess`): the attention segment resampled to 1000 points,
   the signal downsampled by 3, and the original signal;
2. three extraction branches, identical but for the kernel size (4, 12, 24): each scan is a
   separate channel with its own 3 x [Conv1D + ReLU -> MaxPooling1D] stack; the six stacks are
   flattened and joined, then Dense(tanh) and Dropout;
3. transformation: concatenation -> Dense(32, tanh) -> Dense(32, tanh) -> Dense(4, linear),
   the four min-max normalised parameters (Eq. 8), then a fixed affine layer that returns
   physical units: (Δh* J/mol, ln A, x, β).

The loss is the paper's weighted mean squared error of the normalised parameters (Eqs. 9-12),
computed from physical outputs and targets with the same normalisation.

Hyperparameters the paper does not give (filters, pool size, dense width, dropout) live in
:class:`MCNNConfig`; the book's method page justifies them.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from ..errors import TNMInputError
from ..study.design import PAPER_LOSS_WEIGHTS
from ..study.parameters import NORM_LOWER, NORM_UPPER, denormalise, normalise  # noqa: F401  (re-exported)
from . import preprocess


INPUT_SCALINGS = ("asinh", "none")
OPTIMIZERS = ("sgd", "adam")
OUTPUT_RANGES = ("table3", "training")


@dataclass(frozen=True)
class MCNNConfig:
    """Architecture and preprocessing settings.

    Given by the paper: kernel sizes (4, 12, 24), k_down = 3, cubic attention with 1000
    points, Dense(32, tanh) x 2, linear output.  Our choices (the paper omits them):
    ``filters`` per scan and layer (8, 16, 16): enough to resolve peak shape while six
    separate stacks per branch stay affordable on a CPU; ``pool`` 4: three poolings shrink
    18501 points to 289; ``dense_units`` 64 per branch; ``dropout`` 0.2; ``epsilon`` 0.01 for
    the attention segment bounds.  ``input_scaling`` "asinh": the three views pass through
    asinh after preprocessing (identity near 0-1, logarithmic above), so peaks of Cp^N up to
    several hundred do not drive the tanh layers into saturation; "none" feeds them raw (the
    ablation).  ``optimizer`` "sgd" (the paper's) or "adam"; ``momentum`` for SGD.
    ``output_range`` "table3": outputs and loss errors normalised by the paper's Table 3 ranges;
    "training": by the range of the training targets (a box subset's Δh* then spans the whole
    output range instead of a tenth of it, and its share of the loss is not 100 times smaller).
    """

    kernel_sizes: tuple = (4, 12, 24)
    filters: tuple = (8, 16, 16)
    pool: int = 4
    dense_units: int = 64
    dropout: float = 0.2
    head_units: tuple = (32, 32)
    k_down: int = preprocess.K_DOWN
    n_interp: int = preprocess.N_INTERP
    epsilon: float = preprocess.EPSILON
    attention: str = "cubic"
    input_scaling: str = "asinh"
    loss_weights: tuple = PAPER_LOSS_WEIGHTS
    optimizer: str = "sgd"
    momentum: float = 0.0
    output_range: str = "table3"

    def __post_init__(self):
        if self.attention not in preprocess.METHODS:
            raise TNMInputError(f"attention must be one of {preprocess.METHODS}, got {self.attention!r}")
        if self.input_scaling not in INPUT_SCALINGS:
            raise TNMInputError(f"input scaling must be one of {INPUT_SCALINGS}, got {self.input_scaling!r}")
        if self.output_range not in OUTPUT_RANGES:
            raise TNMInputError(f"output range must be one of {OUTPUT_RANGES}, got {self.output_range!r}")
        if self.optimizer not in OPTIMIZERS:
            raise TNMInputError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if len(self.loss_weights) != 4 or any(w < 0 for w in self.loss_weights) or sum(self.loss_weights) <= 0:
            raise TNMInputError(f"loss weights must be 4 non-negative numbers, got {self.loss_weights}")


@keras.saving.register_keras_serializable(package="tnmlib")
class Preprocess(layers.Layer):
    """Raw scans (b, n_rates, n_T) -> (attention, downsampled, original), channels last."""

    def __init__(self, k_down=preprocess.K_DOWN, n_interp=preprocess.N_INTERP, epsilon=preprocess.EPSILON,
                 method="cubic", scaling="none", **kwargs):
        super().__init__(**kwargs)
        self.k_down, self.n_interp, self.epsilon, self.method = k_down, n_interp, epsilon, method
        self.scaling = scaling

    def call(self, x):
        att = preprocess.attention(x, self.n_interp, self.epsilon, self.method)
        down = preprocess.downsample(x, self.k_down)
        views = (att, down, x)
        if self.scaling == "asinh":  # segment bounds above are found on the raw signal
            views = tuple(ops.arcsinh(v) for v in views)
        return tuple(ops.transpose(v, (0, 2, 1)) for v in views)

    def compute_output_spec(self, x):
        b, c, n = x.shape
        return (keras.KerasTensor((b, self.n_interp, c)), keras.KerasTensor((b, -(-n // self.k_down), c)),
                keras.KerasTensor((b, n, c)))

    def get_config(self):
        return {**super().get_config(), "k_down": self.k_down, "n_interp": self.n_interp,
                "epsilon": self.epsilon, "method": self.method, "scaling": self.scaling}


@keras.saving.register_keras_serializable(package="tnmlib")
class Denormalise(layers.Layer):
    """Normalised (b, 4) -> physical units; also carries the model's metadata (grid, rates)."""

    def __init__(self, lower=tuple(NORM_LOWER), upper=tuple(NORM_UPPER), metadata=None, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = tuple(float(v) for v in lower), tuple(float(v) for v in upper)
        self.metadata = dict(metadata or {})

    def call(self, y):
        lower = ops.convert_to_tensor(np.array(self.lower, dtype="float32"))
        upper = ops.convert_to_tensor(np.array(self.upper, dtype="float32"))
        return y * (upper - lower) + lower

    def get_config(self):
        return {**super().get_config(), "lower": list(self.lower), "upper": list(self.upper),
                "metadata": self.metadata}


@keras.saving.register_keras_serializable(package="tnmlib")
class WeightedNormalisedMSE(keras.losses.Loss):
    """Eqs. (9)-(11): mean over the four parameters of w_k * (normalised error_k)^2."""

    def __init__(self, weights=PAPER_LOSS_WEIGHTS, scale=tuple(NORM_UPPER - NORM_LOWER), name="weighted_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = tuple(float(w) for w in weights)
        self.scale = tuple(float(v) for v in scale)

    def call(self, y_true, y_pred):
        scale = ops.convert_to_tensor(np.array(self.scale, dtype="float32"))
        w = ops.convert_to_tensor(np.array(self.weights, dtype="float32"))
        d = (ops.cast(y_true, "float32") - y_pred) / scale
        return ops.mean(w * d * d, axis=-1)

    def get_config(self):
        return {**super().get_config(), "weights": list(self.weights), "scale": list(self.scale)}


@keras.saving.register_keras_serializable(package="tnmlib")
class NormalisedMAE(keras.metrics.MeanMetricWrapper):
    """The validation metric: mean absolute error of the normalised parameters."""

    def __init__(self, name="normalised_mae", **kwargs):
        super().__init__(fn=_normalised_abs_error, name=name, **kwargs)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="tnmlib")
def _normalised_abs_error(y_true, y_pred):
    scale = ops.convert_to_tensor(np.array(NORM_UPPER - NORM_LOWER, dtype="float32"))
    return ops.mean(ops.abs((ops.cast(y_true, "float32") - y_pred) / scale), axis=-1)


def _branch(x, kernel: int, config: MCNNConfig, name: str):
    """One extraction branch: a separate conv stack per scan, then Dense(tanh) and Dropout."""
    stacks = []
    for c in range(x.shape[-1]):
        y = x[:, :, c:c + 1]
        for depth, filters in enumerate(config.filters):
            y = layers.Conv1D(filters, kernel, padding="same", activation="relu", name=f"{name}_scan{c}_conv{depth}")(y)
            y = layers.MaxPooling1D(config.pool, padding="same", name=f"{name}_scan{c}_pool{depth}")(y)
        stacks.append(layers.Flatten(name=f"{name}_scan{c}_flat")(y))
    h = layers.Concatenate(name=f"{name}_join")(stacks)
    h = layers.Dense(config.dense_units, activation="tanh", name=f"{name}_dense")(h)
    return layers.Dropout(config.dropout, name=f"{name}_dropout")(h)


def build_model(n_rates: int, n_T: int, config: MCNNConfig = MCNNConfig(), metadata: dict | None = None,
                learning_rate: float = 0.01, output_bias=None, output_range=None) -> keras.Model:
    """The compiled MCNN for scans of shape (n_rates, n_T): weighted MSE, normalised MAE.

    ``output_range``: (lower, upper), each (4,) in physical units, that the network's outputs
    and the loss's errors are normalised by (Eq. 8); default the paper's Table 3 ranges.
    ``output_bias``: (4,) normalised parameters the untrained network outputs (its last layer
    starts with zero weights and this bias): the mean of the training targets, so training
    starts from the constant predictor rather than from an arbitrary point of the box.
    """
    lower, upper = (NORM_LOWER, NORM_UPPER) if output_range is None else (np.asarray(v, float) for v in output_range)
    if lower.shape != (4,) or upper.shape != (4,) or not np.all(upper > lower):
        raise TNMInputError(f"output range must be two sets of 4 numbers, upper above lower; got {output_range}")
    raw = keras.Input((n_rates, n_T), name="cp")
    att, down, orig = Preprocess(config.k_down, config.n_interp, config.epsilon, config.attention,
                                 config.input_scaling, name="preprocess")(raw)
    branches = [_branch(view, k, config, name) for view, k, name in
                zip((att, down, orig), config.kernel_sizes, ("attention", "downsampled", "original"))]
    h = layers.Concatenate(name="concat")(branches)
    for k, units in enumerate(config.head_units):
        h = layers.Dense(units, activation="tanh", name=f"head{k}")(h)
    bias = np.full(4, 0.5) if output_bias is None else np.asarray(output_bias, dtype=float)
    if bias.shape != (4,) or not np.all(np.isfinite(bias)):
        raise TNMInputError(f"output bias must be 4 finite numbers, got {output_bias}")
    normalised = layers.Dense(4, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant(bias.tolist()),
                              name="normalised_parameters")(h)
    meta = dict(metadata or {})
    meta["config"] = json.loads(json.dumps(asdict(config)))
    meta["output_lower"], meta["output_upper"] = lower.tolist(), upper.tolist()
    out = Denormalise(tuple(lower), tuple(upper), metadata=meta, name="parameters")(normalised)
    model = keras.Model(raw, out, name="mcnn")
    optimizer = (keras.optimizers.Adam(learning_rate) if config.optimizer == "adam"
                 else keras.optimizers.SGD(learning_rate, momentum=config.momentum))
    model.compile(optimizer=optimizer, loss=WeightedNormalisedMSE(config.loss_weights, tuple(upper - lower)),
                  metrics=[NormalisedMAE()])
    return model


def load_model(path: str | Path) -> keras.Model:
    """Load a saved MCNN (Keras safe mode: no arbitrary code is deserialised)."""
    path = Path(path)
    if not path.is_file():
        raise TNMInputError(f"no model file at {path}")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, KeyError) as exc:
        raise TNMInputError(f"{path} is not a loadable tnmlib model: {exc}") from None


def metadata(model: keras.Model) -> dict:
    """Metadata saved with a model: grid (t_min_C, step_K, n_T), cooling_rates, config, data."""
    return dict(model.get_layer("parameters").metadata)


def predict(model: keras.Model, cp: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Physical parameters (n, 4) of (Δh* J/mol, ln A, x, β) from raw scans (n, n_rates, n_T)."""
    cp = preprocess.check_signals(cp)
    expected = tuple(model.input_shape[1:])
    if cp.shape[1:] != expected:
        raise TNMInputError(f"the model reads scans of shape {expected}, got {cp.shape[1:]}")
    return np.asarray(model.predict(cp, batch_size=batch_size, verbose=0), dtype=float)


def describe(model: keras.Model) -> list[dict]:
    """Parameter counts per block (preprocessing, each branch, head) of an MCNN."""
    blocks: dict[str, int] = {}
    for layer in model.layers:
        name = layer.name
        block = ("preprocessing" if name == "preprocess" else
                 next((f"{b} branch" for b in ("attention", "downsampled", "original") if name.startswith(b)), "head"))
        blocks[block] = blocks.get(block, 0) + layer.count_params()
    rows = [{"block": b, "trainable parameters": n} for b, n in blocks.items()]
    rows.append({"block": "total", "trainable parameters": model.count_params()})
    return rows
