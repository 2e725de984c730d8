"""The temperature grid a heating scan is sampled on: t_min_C ... t_max_C in steps of step_K."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import TNMInputError
from ..study.protocol import PAPER_STEP_K, PAPER_T_MAX_C, PAPER_T_MIN_C
from .constants import ZERO_CELSIUS_K


@dataclass(frozen=True)
class SignalGrid:
    """The temperature grid of a signal: t_min_C .. t_max_C (°C) in steps of step_K (K).

    The paper's grid (:mod:`tnmlib.study.protocol`) is the default.
    """

    t_min_C: float = PAPER_T_MIN_C
    t_max_C: float = PAPER_T_MAX_C
    step_K: float = PAPER_STEP_K

    def __post_init__(self):
        for name in ("t_min_C", "t_max_C", "step_K"):
            if not math.isfinite(getattr(self, name)):
                raise TNMInputError(f"{name} must be a finite number, got {getattr(self, name)}")
        if self.step_K <= 0:
            raise TNMInputError(f"step must be positive, got {self.step_K} K")
        if not self.t_min_C < self.t_max_C:
            raise TNMInputError(f"t_min ({self.t_min_C} °C) must be below t_max ({self.t_max_C} °C)")
        if self.t_min_C <= -ZERO_CELSIUS_K:
            raise TNMInputError(f"t_min ({self.t_min_C} °C) must be above absolute zero")
        intervals = (self.t_max_C - self.t_min_C) / self.step_K
        if abs(intervals - round(intervals)) > 1e-6 * max(1.0, intervals):
            raise TNMInputError(f"t_max - t_min ({self.t_max_C - self.t_min_C} K) is not a multiple of step ({self.step_K} K)")

    @property
    def n_T(self) -> int:
        """Number of grid temperatures."""
        return int(round((self.t_max_C - self.t_min_C) / self.step_K)) + 1

    @property
    def T_C(self) -> np.ndarray:
        """Grid temperatures (°C), shape (n_T,)."""
        return self.t_min_C + np.arange(self.n_T) * self.step_K

    def index_of(self, T_C: float) -> int:
        """Lattice index of the grid point nearest to T_C (may lie outside the grid)."""
        return int(round((T_C - self.t_min_C) / self.step_K))

    def as_dict(self) -> dict:
        """{"t_min_C", "t_max_C", "step_K", "n_T"}: for file attributes and model metadata."""
        return {"t_min_C": self.t_min_C, "t_max_C": self.t_max_C, "step_K": self.step_K, "n_T": self.n_T}
