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
from .statespace import SUBSETS, Thinning, subset_samples

BUILTIN = ("paper", "quick", "smoke")


@dataclass(frozen=True)
class Profile:
    """A loaded profile: its signal ``grid``, the ``thinning`` of the state space, dataset chunking
    and training settings; ``sizes`` are the samples per subset the file promises."""

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

    def samples(self, subset: str) -> dict:
        """Parameter sets of ``subset`` under this profile (see statespace.subset_samples)."""
        return subset_samples(subset, self.thinning)

    def as_attrs(self) -> dict:
        """Flat description for file attributes."""
        return {"profile": self.name, "profile_step_K": self.grid.step_K,
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
            grid=SignalGrid(float(raw["signal"]["t_min_C"]), float(raw["signal"]["t_max_C"]),
                            float(raw["signal"]["step_K"])),
            thinning=Thinning(int(raw["thinning"]["pair_stride"]), int(raw["thinning"]["xb_stride"])),
            chunk_samples=int(raw["dataset"]["chunk_samples"]),
            epochs=int(raw["training"]["epochs"]), batch_size=int(raw["training"]["batch_size"]),
            learning_rate=float(raw["training"]["learning_rate"]),
            sizes={k: int(v) for k, v in raw.get("sizes", {}).items()}, source=source)
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise TNMInputError(f"profile {source} is malformed: {exc!r}") from None
    if profile.thinning.pair_stride < 1 or profile.thinning.xb_stride < 1 or profile.chunk_samples < 1:
        raise TNMInputError(f"profile {source}: strides and chunk size must be >= 1")
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
        rows.append({"profile": name, "grid step (K)": p.grid.step_K, "temperatures per scan": p.grid.n_T,
                     "samples per box subset": p.sizes["C"], "samples in G": p.sizes["G"],
                     "samples in all 6": sum(p.sizes.values()), "epochs": p.epochs,
                     "batch size": p.batch_size, "description": p.description})
    return pd.DataFrame(rows).set_index("profile")
