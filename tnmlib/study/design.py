"""The study design as data (``study.yaml``): the seven models, the split, the share thresholds,
the evaluation's Cp_max rule, the distortions of the comparison and of augmented training,
the whole-space estimator's training and test copies, and the literature-like glasses.  Loaded once at import; every other place reads it from here."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml

from ..errors import TNMInputError
from ..physics.instrument import Augmentation, Distortion
from .parameters import BY_NAME
from .statespace import SUBSETS


@dataclass(frozen=True)
class ModelSpec:
    """One of the study's models: trained on ``subset`` with ``loss_weights`` (Δh*, ln A, x, β)
    and ``input_scaling`` ("asinh", or "none" for the ablation that feeds raw Cp^N); ``augment``:
    trained on scans distorted by :data:`AUGMENTATION`."""

    name: str
    subset: str
    loss_weights: tuple[float, float, float, float]
    title: str
    input_scaling: str = "asinh"
    augment: bool = False


@dataclass(frozen=True)
class Threshold:
    """A row of the share table: AE of ``parameter`` below ``below`` (display units)."""

    parameter: str
    below: float
    paper: str

    @property
    def below_stored_units(self) -> float:
        """The threshold in the units the parameter is stored in (Δh*: J/mol)."""
        return self.below * BY_NAME[self.parameter].units_per_display

    @property
    def key(self) -> str:
        """Short name of the threshold in result files and glue names, e.g. ``x_0.02``, ``dh_10``."""
        return f"{self.parameter}_{self.below:g}"

    @property
    def label(self) -> str:
        """Row label of share tables, e.g. ``x: AE < 0.02``, ``Δh*: AE < 10 kJ/mol``."""
        p = BY_NAME[self.parameter]
        units = "" if p.display_units == "1" else f" {p.display_units}"
        return f"{p.label}: AE < {self.below:g}{units}"


def _load() -> tuple[dict, dict, tuple, float]:
    raw = yaml.safe_load(resources.files("tnmlib.study").joinpath("study.yaml").read_text())
    weights = {k: tuple(float(w) for w in v) for k, v in raw["loss_weights"].items()}
    models = {}
    for name, spec in raw["models"].items():
        if spec["subset"] not in SUBSETS:
            raise RuntimeError(f"study.yaml: model {name} names an unknown subset {spec['subset']!r}")
        models[str(name)] = ModelSpec(str(name), spec["subset"], weights[spec["loss_weights"]], spec["title"],
                                      str(spec.get("input_scaling", "asinh")), bool(spec.get("augment", False)))
    thresholds = tuple(Threshold(t["parameter"], float(t["below"]), t["paper"]) for t in raw["thresholds"])
    split = (int(raw["split"]["seed"]), tuple(float(f) for f in raw["split"]["fractions"]))
    distortions = tuple(Distortion(float(d.get("noise_percent", 0)) / 100, float(d.get("lag_s", 0)),
                                   float(d.get("tilt_percent_per_100K", 0)) / 100) for d in raw["distortions"])
    a = raw["augmentation"]
    augmentation = Augmentation(float(a["noise_percent_max"]) / 100, float(a["lag_s_max"]),
                                float(a["tilt_percent_per_100K_max"]) / 100, float(a["clean_share"]))
    e = raw["estimator"]
    estimator = EstimatorSpec(int(e["train_samples"]), int(e["points_per_scan"]), int(e["draw_seed"]),
                              int(e["distortion_seed"]), int(e["training_seed"]), int(e["epochs"]),
                              float(e["noise_percent_max"]) / 100, float(e["lag_s_max"]),
                              float(e["validation_share"]), bool(e.get("measured_rows", False)))
    copies = tuple(Distortion(float(d.get("noise_percent", 0)) / 100, float(d.get("lag_s", 0)),
                              float(d.get("tilt_percent_per_100K", 0)) / 100) for d in raw["wholespace_copies"])
    glasses = {str(name): (float(g["dh_kJ_per_mol"]) * 1e3, float(g["ln_A"]), float(g["x"]), float(g["beta"]))
               for name, g in raw["literature_glasses"].items()}
    references = {str(name): tuple({"quantity": str(e["quantity"]), "value": float(e["value"]),
                                    "source": str(e["source"])} for e in entries)
                  for name, entries in raw.get("reference_values", {}).items()}
    v = raw["measurement_variety"]
    variety = MeasurementVariety(
        tuple(float(r) for r in v["row_spacing_K"]), float(v["row_jitter"]), int(v["max_rows"]),
        float(v["noise_percent"]) / 100, tuple(float(r) for r in v["lag_s"]),
        float(v["tilt_percent_per_100K_max"]) / 100, float(v["startup_residue_percent_max"]) / 100,
        tuple(float(r) for r in v["hold_min"]), tuple(float(r) for r in v["startup_tau_min"]), tuple(float(r) for r in v["cut_min"]),
        tuple(float(r) for r in v["below_transition"]), tuple(float(r) for r in v["above_transition"]))
    return (weights, models, thresholds, float(raw["cp_max_limit"]), split, distortions, augmentation,
            estimator, copies, glasses, references, variety)


@dataclass(frozen=True)
class EstimatorSpec:
    """How the whole-space estimator's network is trained: samples drawn, points per scan on each
    sample's own grid, the seeds of the draw, of the distortions and of the training (weights and
    the validation split, which is by sample), epochs, the largest noise (fraction of the jump)
    and lag (s) of the distorted copy of each sample, the share of samples held out for
    validation, and whether both copies are read on measured rows (the study's
    MeasurementVariety: cut spans, uneven rows, tilt and start-up residue on the distorted copy)."""

    train_samples: int
    points_per_scan: int
    draw_seed: int
    distortion_seed: int
    training_seed: int
    epochs: int
    noise_fraction_max: float
    lag_s_max: float
    validation_share: float
    measured_rows: bool = False


@dataclass(frozen=True)
class MeasurementVariety:
    """How a DSC measures a whole-space sample in the independent assessment of part 2 (and what
    the estimator's training rows vary over): rows every ``row_spacing_K`` (log-uniform between
    the two, K) with ±``row_jitter`` relative jitter, at most ``max_rows`` per scan; noise
    ``noise_fraction`` of the jump, a sensor lag uniform in ``lag_s`` (s), a baseline tilt up to
    ``tilt_per_100K_max`` (fraction of the jump per 100 K) and a heat-flow start-up residue up to
    ``startup_residue_max`` of the jump; a hold of ``hold_min`` (min) at the bottom of each
    cycle; the start-up's time constant in ``startup_tau_min`` and
    the first row ``cut_min`` (min) into the heating; the recorded span from ``below_transition``
    transition ranges below the transition to ``above_transition`` ranges above it (uniform)."""

    row_spacing_K: tuple
    row_jitter: float
    max_rows: int
    noise_fraction: float
    lag_s: tuple
    tilt_per_100K_max: float
    startup_residue_max: float
    hold_min: tuple
    startup_tau_min: tuple
    cut_min: tuple
    below_transition: tuple
    above_transition: tuple


(LOSS_WEIGHTS, MODELS, THRESHOLDS, CP_MAX_LIMIT, (SPLIT_SEED, SPLIT_FRACTIONS), DISTORTIONS,
 AUGMENTATION, ESTIMATOR, WHOLESPACE_COPIES, LITERATURE_GLASSES, REFERENCE_VALUES, MEASUREMENT_VARIETY) = _load()
#: MEASUREMENT_VARIETY: how the independent copies of part 2 are measured (MeasurementVariety).
#: ESTIMATOR: the training of the whole-space estimator's network; WHOLESPACE_COPIES: the copies
#: (clean first) of the whole-space test set it is assessed on; LITERATURE_GLASSES: {name:
#: (dh J/mol, ln A, x, β)} of the glasses `tnm fit` is checked on; REFERENCE_VALUES: {glass:
#: ({quantity, value, source}, ...)} published values the book sets real fits beside.
#: DISTORTIONS: the clean test set and its distorted copies every estimator is compared on (the
#: first is clean); AUGMENTATION: the distortions drawn while an ``augment`` model trains.
#: The thresholds by key (``x_0.02``, ...): where the book picks one.
THRESHOLD_BY_KEY = {t.key: t for t in THRESHOLDS}
#: Loss weights (Δh*, ln A, x, β) of the paper's Eq. 12.
PAPER_LOSS_WEIGHTS = LOSS_WEIGHTS["paper"]


def model_spec(name: str) -> ModelSpec:
    """The study's model ``name`` (LU, RU, LB, RB, C, G, C-wlnA1, C-raw)."""
    try:
        return MODELS[name]
    except KeyError:
        raise TNMInputError(f"unknown model {name!r}; the study's models are {', '.join(MODELS)}") from None
