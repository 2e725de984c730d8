"""Moynihan's relation: Δh* from the shift of the limiting fictive temperature with cooling rate."""
from __future__ import annotations

import numpy as np

from ..errors import TNMInputError
from .constants import R_J_PER_MOL_K, ZERO_CELSIUS_K


def moynihan_dh_J_per_mol(cooling_rates_K_per_min, tf_prime_C, *, t_squared: bool = True) -> float:
    """Δh* (J/mol) from the shift of the limiting fictive temperature Tf' with cooling rate.

    Moynihan's relation d ln|q_c| / d(1/Tf') = -Δh*/R holds to first order in R*Tf'/Δh*:
    the time a ramp needs to cross the transition is (R Tf'^2/Δh*)/q, so it is q/Tf'^2,
    not q, that scales with exp(-Δh*/(R Tf')).  With ``t_squared`` (default) the slope of
    ln(q/Tf'^2) is used, which removes the textbook form's bias of about +2 R Tf'
    (1.4 % for Se); ``t_squared=False`` gives the textbook form.
    ``tf_prime_C`` (°C) are the limiting fictive temperatures after cooling at
    ``cooling_rates_K_per_min``; the slope is a least-squares line.
    """
    q = np.asarray(cooling_rates_K_per_min, dtype=float).ravel()
    tf = np.asarray(tf_prime_C, dtype=float).ravel() + ZERO_CELSIUS_K
    if q.size != tf.size or q.size < 2:
        raise TNMInputError("need at least two cooling rates with one Tf' each")
    if np.any(q <= 0) or np.any(tf <= 0):
        raise TNMInputError("cooling rates and absolute fictive temperatures must be positive")
    y = np.log(q / tf**2) if t_squared else np.log(q)
    slope = np.polyfit(1.0 / tf, y, 1)[0]
    return float(-slope * R_J_PER_MOL_K)
