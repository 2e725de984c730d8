"""Profiles: how much of the state space a run uses, on what signal grid, for how long.

A profile is data (a small YAML file in ``tnmlib/study/profiles``, or any path), never a code
branch: ``paper`` (full scale), ``quick`` (the default of ``make book``), ``smoke`` (CI).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from ..errors import TNMInputError
from ..physics.grid import SignalGrid
from .protocol import PAPER_STEP_K, PAPER_T_MAX_C, PAPER_T_MIN_C
from .statespace import SUBSETS, Thinning, subset_samples

BUILTIN = ("paper", "quick", "smoke")


@dataclass(frozen=True)
class Profile:
    """A loaded profile: its signal ``grid`` (and ``subset_grids``, a finer grid on the window of
    a subset whose transitions the default grid cannot resolve), the ``thinning`` of the state
    space, dataset chunking and training settings (``optimizer`` "sgd" or "adam", ``momentum``
    for SGD, ``output_range`` "table3" or "training": see MCNNConfig); ``sizes`` are the samples per subset the file promises;
    ``least_squares_samples``: test samples the comparison of estimators fits by least squares;
    ``wholespace_test_samples``, ``wholespace_least_squares_samples``: the whole-space test samples
    the estimator of part 2 reads, and how many of them least squares from the practitioner's
    start fits; ``export_check_runs``: synthetic exports per kind that ``tnm check-exports`` fits
    (the chapter on a real measurement); ``independent_samples_per_seed``: whole-space samples
    drawn per seed that ``tnm assess-independent`` measures by the independent reference."""

    name: str
    description: str
    grid: SignalGrid
    thinning: Thinning
    chunk_samples: int
    epochs: int
    batch_size: int
    learning_rate: float
    sizes: dict = field(default_factory=dict)
    source: str = ""
    subset_grids: dict = field(default_factory=dict)
    optimizer: str = "sgd"
    momentum: float = 0.0
    output_range: str = "table3"
    least_squares_samples: int = 12
    wholespace_test_samples: int = 40
    wholespace_least_squares_samples: int = 8
    export_check_runs: int = 40
    independent_samples_per_seed: int = 10

    def grid_for(self, subset: str) -> SignalGrid:
        """The signal grid of ``subset``: its own window if the profile gives one, else ``grid``."""
        return self.subset_grids.get(subset, self.grid)

    def training_budget(self, subset: str, train_fraction: float) -> int:
        """Sample-passes of one model's training: training-split samples of ``subset`` x epochs."""
        return int(round(self.sizes[subset] * train_fraction)) * self.epochs

    def samples(self, subset: str) -> dict:
        """Parameter sets of ``subset`` under this profile (see statespace.subset_samples)."""
        return subset_samples(subset, self.thinning)

    def as_attrs(self) -> dict:
        """Flat description for file attributes."""
        return {"profile": self.name,
                "profile_pair_stride": self.thinning.pair_stride,
                "profile_xb_stride": self.thinning.xb_stride}


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name (paper, quick, smoke) or a YAML file by path."""
    text_name = str(name_or_path)
    if text_name in BUILTIN:
        text = resources.files("tnmlib.study").joinpath("profiles", f"{text_name}.yaml").read_text()
        source = f"tnmlib/study/profiles/{text_name}.yaml"
    else:
        path = Path(text_name)
        if not path.is_file():
            raise TNMInputError(f"unknown profile {text_name!r}: use one of {', '.join(BUILTIN)} or a YAML file")
        text, source = path.read_text(), str(path)
    try:
        raw = yaml.safe_load(text)
        profile = Profile(
            name=str(raw["name"]), description=str(raw.get("description", "")),
            grid=SignalGrid(float(raw["signal"].get("t_min_C", PAPER_T_MIN_C)),
                            float(raw["signal"].get("t_max_C", PAPER_T_MAX_C)),
                            float(raw["signal"].get("step_K", PAPER_STEP_K))),
            thinning=Thinning(int(raw["thinning"]["pair_stride"]), int(raw["thinning"]["xb_stride"])),
            chunk_samples=int(raw["dataset"]["chunk_samples"]),
            epochs=int(raw["training"]["epochs"]), batch_size=int(raw["training"]["batch_size"]),
            learning_rate=float(raw["training"]["learning_rate"]),
            sizes={k: int(v) for k, v in raw.get("sizes", {}).items()}, source=source,
            subset_grids={k: SignalGrid(float(g["t_min_C"]), float(g["t_max_C"]), float(g["step_K"]))
                          for k, g in (raw.get("subset_signal") or {}).items()},
            optimizer=str(raw["training"].get("optimizer", "sgd")),
            momentum=float(raw["training"].get("momentum", 0.0)),
            output_range=str(raw["training"].get("output_range", "table3")),
            least_squares_samples=int((raw.get("comparison") or {}).get("least_squares_samples", 12)),
            wholespace_test_samples=int((raw.get("wholespace") or {}).get("test_samples", 40)),
            wholespace_least_squares_samples=int((raw.get("wholespace") or {}).get("least_squares_samples", 8)),
            export_check_runs=int((raw.get("export_check") or {}).get("runs_per_kind", 40)),
            independent_samples_per_seed=int((raw.get("independent") or {}).get("samples_per_seed", 10)))
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise TNMInputError(f"profile {source} is malformed: {exc!r}") from None
    if profile.thinning.pair_stride < 1 or profile.thinning.xb_stride < 1 or profile.chunk_samples < 1:
        raise TNMInputError(f"profile {source}: strides and chunk size must be >= 1")
    unknown = set(profile.subset_grids) - set(SUBSETS)
    if unknown:
        raise TNMInputError(f"profile {source}: subset_signal names unknown subsets {sorted(unknown)}")
    if profile.optimizer not in ("sgd", "adam") or not 0.0 <= profile.momentum < 1.0:
        raise TNMInputError(f"profile {source}: optimizer must be sgd or adam and momentum in [0, 1)")
    if profile.output_range not in ("table3", "training"):
        raise TNMInputError(f"profile {source}: output_range must be table3 or training")
    if profile.wholespace_test_samples < 1 or profile.wholespace_least_squares_samples < 0:
        raise TNMInputError(f"profile {source}: wholespace.test_samples must be positive, least_squares_samples >= 0")
    if profile.independent_samples_per_seed < 1:
        raise TNMInputError(f"profile {source}: independent.samples_per_seed must be positive")
    if profile.export_check_runs < 1:
        raise TNMInputError(f"profile {source}: export_check.runs_per_kind must be positive")
    if profile.least_squares_samples < 0:
        raise TNMInputError(f"profile {source}: comparison.least_squares_samples must not be negative")
    if profile.epochs < 1 or profile.batch_size < 1:
        raise TNMInputError(f"profile {source}: epochs and batch size must be positive")
    return profile


def check_sizes(profile: Profile) -> dict:
    """Samples per subset actually produced by the profile's thinning."""
    return {s: len(profile.samples(s)["dh"]) for s in SUBSETS}


def profiles_table():
    """The built-in profiles side by side (grid, sizes, epochs) as a pandas DataFrame."""
    import pandas as pd

    rows = []
    for name in BUILTIN:
        p = load_profile(name)
        finer = ", ".join(f"{s} {g.step_K:g} K ({g.n_T})" for s, g in p.subset_grids.items())
        rows.append({"profile": name, "grid step (K)": p.grid.step_K, "temperatures per scan": p.grid.n_T,
                     "finer subset grids (temperatures)": finer or "none",
                     "samples per box subset": p.sizes["C"], "samples in G": p.sizes["G"],
                     "samples in all 6": sum(p.sizes.values()), "epochs": p.epochs,
                     "batch size": p.batch_size, "optimizer": f"{p.optimizer} {p.learning_rate:g}",
                     "outputs normalised by": p.output_range, "description": p.description})
    return pd.DataFrame(rows).set_index("profile")
