"""The four TNM parameters, defined once: names, labels, units and min-max normalisation.

Arrays of parameters are always ordered as :data:`PARAMETER_NAMES` = (dh, ln_A, x, beta),
with Δh* in J/mol and A in seconds.  The normalisation is the paper's Eq. 8 with the limits of
its Table 3; Table 3 divides the negative ln A minimum by 1.2 and multiplies the maximum, which
moves both limits inside the range, so the 20 % reserve is put on the outer side of every range.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Parameter:
    """One TNM parameter.

    ``name`` is its key in files and arrays; values are stored in ``units`` and shown to people
    in ``display_units`` (stored / ``units_per_display``), under ``display_key`` in tables,
    CSV and JSON.  ``grid_min``/``grid_max`` bound the state space, ``norm_lower``/``norm_upper``
    the min-max normalisation (Eq. 8, Table 3 with its reserve).
    """

    name: str
    label: str
    long_name: str
    units: str
    display_units: str
    units_per_display: float
    display_key: str
    grid_min: float
    grid_max: float
    norm_lower: float
    norm_upper: float

    @property
    def axis_label(self) -> str:
        """Label with units for axes and table headers, e.g. "Δh* (kJ/mol)"."""
        return self.label if self.display_units == "1" else f"{self.label} ({self.display_units})"

    def to_display(self, values):
        """Stored values -> display units (Δh*: J/mol -> kJ/mol)."""
        return np.asarray(values, dtype=float) / self.units_per_display


#: The 20 % reserve of Table 3.
RESERVE = 1.2

PARAMETERS = (
    Parameter("dh", "Δh*", "apparent activation energy Δh*", "J/mol", "kJ/mol", 1e3, "dh_kJ_per_mol",
              200e3, 1200e3, 200e3 / RESERVE, 1200e3 * RESERVE),
    Parameter("ln_A", "ln A", "ln of the pre-exponential factor A (A in s)", "1", "1", 1.0, "ln_A",
              -630.0, -18.0, -630.0 * RESERVE, -18.0 / RESERVE),
    Parameter("x", "x", "non-linearity parameter x", "1", "1", 1.0, "x",
              0.2, 1.0, 0.2 / RESERVE, 1.0 * RESERVE),
    Parameter("beta", "β", "non-exponentiality parameter β", "1", "1", 1.0, "beta",
              0.2, 1.0, 0.2 / RESERVE, 1.0 * RESERVE),
)
PARAMETER_NAMES = tuple(p.name for p in PARAMETERS)
BY_NAME = {p.name: p for p in PARAMETERS}
#: Index of each parameter in (Δh*, ln A, x, β) arrays.
PARAMETER_INDEX = {p.name: k for k, p in enumerate(PARAMETERS)}
NORM_LOWER = np.array([p.norm_lower for p in PARAMETERS])
NORM_UPPER = np.array([p.norm_upper for p in PARAMETERS])


def normalise(params: np.ndarray) -> np.ndarray:
    """Physical (n, 4) of (Δh* J/mol, ln A, x, β) -> min-max normalised (Eq. 8)."""
    return (np.asarray(params, dtype=float) - NORM_LOWER) / (NORM_UPPER - NORM_LOWER)


def denormalise(normalised: np.ndarray) -> np.ndarray:
    """Min-max normalised (n, 4) -> physical units (the inverse of :func:`normalise`)."""
    return np.asarray(normalised, dtype=float) * (NORM_UPPER - NORM_LOWER) + NORM_LOWER
