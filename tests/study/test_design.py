"""The study file: the seven models, the thresholds, and the Makefile reading the same models."""
import subprocess
from pathlib import Path

import pytest

from tnmlib.fingerprint import STAGE_SOURCES, source_files
from tnmlib.study.design import CP_MAX_LIMIT, MODELS, PAPER_LOSS_WEIGHTS, SPLIT_FRACTIONS, THRESHOLDS, model_spec
from tnmlib.study.parameters import BY_NAME, NORM_LOWER, NORM_UPPER, denormalise, normalise
from tnmlib.study.statespace import SUBSETS
from tnmlib.errors import TNMInputError

ROOT = Path(__file__).resolve().parents[2]


def make_var(name: str) -> str:
    return subprocess.run(["make", "-s", f"print-{name}"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_seven_models_of_the_paper():
    assert list(MODELS) == ["LU", "RU", "LB", "RB", "C", "G", "C-wlnA1", "C-raw", "G-aug"]
    assert MODELS["C-raw"].input_scaling == "none" and MODELS["C"].input_scaling == "asinh"
    assert {m.subset for m in MODELS.values()} == set(SUBSETS)
    assert PAPER_LOSS_WEIGHTS == (1.0, 0.1, 3.0, 3.0)
    assert MODELS["C-wlnA1"].subset == "C" and MODELS["C-wlnA1"].loss_weights == (1.0, 1.0, 3.0, 3.0)
    assert all(MODELS[s].loss_weights == PAPER_LOSS_WEIGHTS for s in SUBSETS)
    with pytest.raises(TNMInputError, match="unknown model"):
        model_spec("XY")


def test_study_constants():
    assert CP_MAX_LIMIT == 6.0 and SPLIT_FRACTIONS == (0.7, 0.15, 0.15)
    labels = [t.label for t in THRESHOLDS]
    assert "Δh*: AE < 10 kJ/mol" in labels and "x: AE < 0.02" in labels
    assert next(t for t in THRESHOLDS if t.parameter == "dh").below_stored_units == 10e3  # J/mol


def test_the_makefile_reads_the_same_models_and_sources():
    assert make_var("MODEL_SUBSET").split() == [f"{m.name}:{m.subset}" for m in MODELS.values()]
    for stage, variable in (("data", "DATA_SRC"), ("model", "MODEL_SRC"), ("evaluation", "EVAL_SRC")):
        files = [p.relative_to(ROOT).as_posix() for p in source_files(stage)]
        assert make_var(variable).split() == files
        assert files, STAGE_SOURCES[stage]


def test_normalisation_limits_put_the_reserve_outside_every_range():
    lows = [BY_NAME[n].grid_min for n in ("dh", "ln_A", "x", "beta")]
    highs = [BY_NAME[n].grid_max for n in ("dh", "ln_A", "x", "beta")]
    assert all(NORM_LOWER < lows) and all(NORM_UPPER > highs)
    assert normalise([lows]).min() > 0 and normalise([highs]).max() < 1
    assert denormalise(normalise([highs]))[0] == pytest.approx(highs)


def test_make_help_lists_the_commented_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for target in ("book", "test", "test-slow", "check-book", "lab", "bench", "data", "models", "evaluations"):
        assert f"  {target} " in out


def test_the_comparison_starts_clean_and_augmentation_stays_within_the_compared_distortions():
    from tnmlib.study.design import AUGMENTATION, DISTORTIONS, MODELS

    assert DISTORTIONS[0].label == "clean" and len({d.label for d in DISTORTIONS}) == len(DISTORTIONS)
    assert max(d.noise_fraction for d in DISTORTIONS) <= AUGMENTATION.noise_fraction_max
    assert max(d.lag_s for d in DISTORTIONS) <= AUGMENTATION.lag_s_max
    assert max(abs(d.tilt_per_100K) for d in DISTORTIONS) <= AUGMENTATION.tilt_per_100K_max
    assert [m.name for m in MODELS.values() if m.augment] == ["G-aug"] and MODELS["G-aug"].subset == "G"
