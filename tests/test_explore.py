"""The playground's model and widgets, and the book's kernel-free explorer (the browser test is
tests/test_playground_browser.py)."""
import json
import math

import numpy as np
import pytest

from tnmlib.explore import (START, explore_grid_error, ln_A_for, model_curves, static_explorer,
                            t_ref_C)
from tnmlib.physics.constants import ZERO_CELSIUS_K


def test_t_ref_and_ln_a_are_inverse():
    assert ln_A_for(START[0], t_ref_C(START[0], START[1])) == pytest.approx(START[1], abs=1e-9)


def test_model_curves_obey_the_tnm_identities():
    c = model_curves(*START)
    assert c.cp_n.shape == (6, c.T_C.size) and np.all(np.diff(c.T_C) > 0)
    # glass at the start (Tf frozen at Tf'), liquid at the end (Tf follows T, Cp^N = 1)
    np.testing.assert_allclose(c.cp_n[:, :5], 0.0, atol=2e-3)
    np.testing.assert_allclose(c.cp_n[:, -5:], 1.0, atol=2e-3)
    np.testing.assert_allclose(c.tf_C[:, -1], c.T_C[-1], atol=0.02)
    # in the liquid τ is the equilibrium one, 100 s at T_ref
    dh_R = START[0] * 1e3 / 8.314462618
    ln_tau_eq = START[1] + dh_R / (c.T_C + ZERO_CELSIUS_K)
    liquid = c.T_C > c.T_ref_C + 15  # Tf lags T there by q·τ, a few hundredths of a kelvin
    np.testing.assert_allclose(c.log10_tau_s[:, liquid] * math.log(10), np.broadcast_to(ln_tau_eq[liquid], c.log10_tau_s[:, liquid].shape),
                               atol=0.01)
    lagged = model_curves(*START, lag_s=10.0)
    assert np.max(np.abs(lagged.cp_n - c.cp_n)) > 0.05  # a lag shifts and smooths the peaks


def test_the_playground_grid_is_converged():
    error = explore_grid_error()
    assert error["bin_average_error"] < 1e-3


def test_the_static_explorer_has_a_slider_over_precomputed_frames():
    fig = static_explorer()
    assert len(fig.frames) == 25 + 4 and len(fig.layout.sliders[0].steps) == 29
    assert all(len(frame.data) == 6 for frame in fig.frames)
    shapes = {tuple(np.round(np.concatenate([d.y for d in frame.data]), 4)) for frame in fig.frames}
    assert len(shapes) == 29  # every frame draws something else


@pytest.fixture
def playground(tmp_path):
    pytest.importorskip("ipywidgets")
    pytest.importorskip("anywidget")
    from tnmlib.explore import Playground

    return Playground(work_dir=tmp_path)


def test_a_slider_move_redraws_the_scans(playground):
    before = np.array(playground.figure.data[0].y)
    playground.x.value = 0.3
    after = np.array(playground.figure.data[0].y)
    assert not np.allclose(before, after) and playground.last_redraw_s < 0.5


def test_the_t_ref_slider_holds_the_transition_while_dh_moves(playground):
    playground.ridge.value = "T_ref"
    t_ref = playground.t_ref.value
    playground.dh.value = 500
    dh, ln_a, _, _ = playground.parameters()
    assert t_ref_C(dh, ln_a) == pytest.approx(t_ref, abs=1e-9)
    assert playground.ln_a.layout.display == "none"


def test_a_measurement_is_drawn_fitted_and_saved_as_tnm_fit_writes(playground, tmp_path):
    from pathlib import Path

    from tnmlib.cli import main

    export = Path(__file__).parent / "data" / "exports" / "synthetic_otp_trios.txt"
    playground.load_file(export)
    assert not playground.fit_button.disabled
    assert any(t.meta == "measured" for t in playground.figure.data)
    result = playground.fit()
    assert playground.parameters()[0] == pytest.approx(result["dh_kJ_per_mol"])
    saved = playground.save(tmp_path / "saved.json")
    assert main(["fit", str(export), "--out", str(tmp_path / "cli.json")]) == 0
    ours, theirs = json.loads(saved.read_text()), json.loads((tmp_path / "cli.json").read_text())
    for key in ("dh_kJ_per_mol", "ln_A", "x", "beta"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9)


def test_an_unreadable_file_is_named_in_the_panel(playground, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("nothing here\n")
    playground.load_file(bad)
    assert "cannot read notes.txt" in playground.result_box.value and playground.fit_button.disabled
