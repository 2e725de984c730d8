"""Profiles: how much of the state space a run uses, on what signal grid, for how long.

A profile is data (a small YAML file in ``tnmlib/profiles``, or any path), never a code
branch: ``paper`` (full scale), ``quick`` (the default of ``make book``), ``smoke`` (CI).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from .errors import TNMInputError
from .statespace import SUBSETS, Thinning, subset_samples

BUILTIN = ("paper", "quick", "smoke")


@dataclass(frozen=True)
class Profile:
    """A loaded profile; ``sizes`` are the samples per subset the file promises."""

    name: str
    description: str
    t_min_C: float
    t_max_C: float
    step_K: float
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
        return {"profile": self.name, "profile_step_K": self.step_K,
                "profile_pair_stride": self.thinning.pair_stride,
                "profile_xb_stride": self.thinning.xb_stride}


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name (paper, quick, smoke) or a YAML file by path."""
    text_name = str(name_or_path)
    if text_name in BUILTIN:
        text = resources.files("tnmlib").joinpath("profiles", f"{text_name}.yaml").read_text()
        source = f"tnmlib/profiles/{text_name}.yaml"
    else:
        path = Path(text_name)
        if not path.is_file():
            raise TNMInputError(f"unknown profile {text_name!r}: use one of {', '.join(BUILTIN)} or a YAML file")
        text, source = path.read_text(), str(path)
    try:
        raw = yaml.safe_load(text)
        profile = Profile(
            name=str(raw["name"]), description=str(raw.get("description", "")),
            t_min_C=float(raw["signal"]["t_min_C"]), t_max_C=float(raw["signal"]["t_max_C"]),
            step_K=float(raw["signal"]["step_K"]),
            thinning=Thinning(int(raw["thinning"]["pair_stride"]), int(raw["thinning"]["xb_stride"])),
            chunk_samples=int(raw["dataset"]["chunk_samples"]),
            epochs=int(raw["training"]["epochs"]), batch_size=int(raw["training"]["batch_size"]),
            learning_rate=float(raw["training"]["learning_rate"]),
            sizes={k: int(v) for k, v in raw.get("sizes", {}).items()}, source=source)
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise TNMInputError(f"profile {source} is malformed: {exc!r}") from None
    if profile.thinning.pair_stride < 1 or profile.thinning.xb_stride < 1 or profile.chunk_samples < 1:
        raise TNMInputError(f"profile {source}: strides and chunk size must be >= 1")
    if profile.epochs < 1 or profile.batch_size < 1 or profile.step_K <= 0:
        raise TNMInputError(f"profile {source}: epochs, batch size and step must be positive")
    return profile


def check_sizes(profile: Profile) -> dict:
    """Samples per subset actually produced by the profile's thinning."""
    return {s: len(profile.samples(s)["dh"]) for s in SUBSETS}
