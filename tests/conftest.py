"""Shared fixtures: parameter sets that span the state space and its corners, and the smoke
subset file of C, built once per test session."""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# helpers the tests share (synthetic exports, synthetic raw scans): tests/support
sys.path.insert(0, str(Path(__file__).parent / "support"))

settings.register_profile("ci", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("ci")

#: (dh J/mol, ln A) at the edges of the state space: low/high dh, low/high temperature.
DH_LN_A_EDGES = [
    (200e3, -300.0),   # low dh, low T (Tg about -190 °C)
    (200e3, -25.0),    # low dh, high T: broad transitions (Tg about 600 °C)
    (1200e3, -630.0),  # high dh, the lowest ln A: narrow, Tg about -45 °C
    (1200e3, -95.0),   # high dh, high T (Tg about 1250 °C)
    (356e3, -133.0),   # Se-like, the middle
]
XB_CORNERS = [(0.2, 0.2), (0.2, 1.0), (1.0, 0.2), (1.0, 1.0), (0.5, 0.5), (0.52, 0.65), (0.3, 0.9), (0.9, 0.3)]


@pytest.fixture(scope="session")
def corner_sets():
    """40 parameter sets: every (dh, ln A) edge with every (x, beta) corner."""
    rows = [(dh, ln_a, x, b) for (dh, ln_a), (x, b) in itertools.product(DH_LN_A_EDGES, XB_CORNERS)]
    return np.array(rows)


SE = dict(dh=356e3, ln_a=-133.0, x=0.52, beta=0.65)


@pytest.fixture(scope="session")
def smoke_c(tmp_path_factory):
    """The C subset under the smoke profile (225 samples, 2 K grid), simulated once per session.
    Read-only for the tests: copy it before changing it."""
    from tnmlib.pipeline.dataset import build_dataset

    path = tmp_path_factory.mktemp("data") / "C-smoke.h5"
    build_dataset("C", "smoke", path, workers=2, progress=False)
    return path
