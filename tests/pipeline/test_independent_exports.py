"""Synthetic exports with a known truth made by the independent reference, and tnm fit on them:
the draws stay in their stated ranges, the chain export → reader → model reproduces the reference
at the truth, fits recover it, and the assessment counts every run with Wilson intervals."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tnmlib.cli import main
from tnmlib.estimation.baselines import GUARANTEED
from tnmlib.estimation.measured import line_gaps
from tnmlib.pipeline.export_check import (
    XB_TOLERANCE,
    check_exports,
    failure_reasons,
    load_check,
    share_table,
)
from tnmlib.pipeline.exports.independent import (
    KINDS,
    draw_run,
    otp_like_draw,
    reference_run,
    run_program,
    transition_width_K,
)
from tnmlib.pipeline.exports.write import FORMATS, write_export
from tnmlib.pipeline.fit import _rms_with_own_lines, fit_file
from tnmlib.pipeline.read import read_run


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6), kind=st.sampled_from(KINDS))
def test_draws_stay_in_their_stated_ranges(seed, kind):
    d = draw_run(seed, kind)
    assert d == draw_run(seed, kind)  # reproducible
    assert 200e3 <= d.dh_J_per_mol <= 900e3 and -60 <= d.T_ref_C <= 180
    assert 0.3 <= d.x <= 0.75 and 0.4 <= d.beta <= 0.9
    rates = sorted(d.cooling_nominal_K_per_min)
    assert 3 <= len(rates) <= 6 and all(b / a >= 1.55 for a, b in zip(rates, rates[1:]))
    width = transition_width_K(d.dh_J_per_mol, d.T_ref_C)
    assert d.T_low_C < d.T_ref_C - 2 * width and d.T_high_C >= d.T_ref_C + 2 * width - 1e-9
    assert (d.lag_s > 0) == (d.noise_fraction > 0) == (kind == "noisy-lag")
    assert d.row_spacing_K * 60 / d.heating_K_per_min >= 0.6 - 1e-9  # rows at least 0.6 s apart
    assert d.format in FORMATS and d.liquid_J_per_gK[0] > d.glass_J_per_gK[0]
    if d.ageing is not None:
        cycle, T_a, minutes = d.ageing
        assert d.achieved_K_per_min(d.cooling_nominal_K_per_min[cycle]) == d.cooling_nominal_K_per_min[cycle]
        assert d.T_low_C < T_a < d.T_ref_C and 10 <= minutes <= 90


@pytest.mark.parametrize("seed", [10, 14, 26])  # sparse rows at 20 K/min; ageing; a tall peak at 1.74 K/min
def test_the_model_along_the_read_history_reproduces_the_reference_at_the_truth(seed, tmp_path):
    """What the fit compares, at the true parameters: the data read from the export (rows binned)
    against the model along the history read from the same export (simulated finer, sampled at
    the rows, binned alike), each scan's lines refitted — the chain adds < 0.006 in Cp^N."""
    draw = draw_run(seed, "clean")
    path = tmp_path / "run.txt"
    path.write_bytes(write_export(reference_run(draw), draw.format))
    run = read_run(path, GUARANTEED)
    curves = run.curves
    model = curves.history_model(draw.params, 0.0)
    gaps = line_gaps(curves)
    worst = max(_rms_with_own_lines(curves.values[k], model[k], curves.T_C, gaps[k]) for k in range(len(model)))
    assert worst < 0.006, worst
    program, _ = run_program(draw)
    assert len(run.program.segments) >= len(program.segments) - 1  # bridges add steps, none is lost


def test_fits_of_independent_exports_recover_x_and_beta(tmp_path):
    """Three clean runs the fit has not seen (a sparse-row 20 K/min run, an aged one, one with six
    rates), fitted with refined lines: x and β within 0.02."""
    for seed in (10, 14, 26):
        draw = draw_run(seed, "clean")
        path = tmp_path / f"run{seed}.txt"
        path.write_bytes(write_export(reference_run(draw), draw.format))
        result, *_ = fit_file(path, tmp_path / f"fit{seed}.json", fit_lag=None, refine_lines=True)
        assert abs(result["x"] - draw.x) < 0.02 and abs(result["beta"] - draw.beta) < 0.02, (seed, result["x"], result["beta"])
        assert "then the fit with the provisional lines" in result["method"]


def test_check_exports_counts_every_run_and_reports_wilson_intervals(tmp_path):
    out = tmp_path / "check.nc"
    check_exports(out, runs=2, seed=3, workers=1, progress=False)
    frame = load_check(out)
    assert len(frame) == 2 * len(KINDS) * 2 and set(frame["lines"]) == {"fixed lines", "refined lines"}
    table = share_table(frame)
    assert list(table["runs"]) == [2, 2, 2, 2]
    assert set(table["x, β tolerance"]) == set(XB_TOLERANCE.values())
    assert all("[" in cell for cell in table["x and β within tolerance"])
    frame.loc[frame.index[0], ["ok", "reason"]] = [False, "the export: 0 heating scan(s) can be fitted, need 2 (x)"]
    assert failure_reasons(frame).to_dict() == {"0 heating scan(s) can be fitted, need 2": 1}
    assert json.loads(frame["draw"].iloc[0])["seed"] == 3


def test_the_otp_like_example_has_the_real_exports_quirks(tmp_path, capsys):
    out = tmp_path / "otp.txt"
    assert main(["example", "--format", "trios", "--out", str(out)]) == 0
    assert "independent reference" in capsys.readouterr().out
    run = read_run(out)
    draw = otp_like_draw()
    cooled = {s.index: s.cooled_at_K_per_min for s in run.summaries if s.kind == "heating"}
    assert round(cooled[4], 1) == 22.0 and round(cooled[6], 1) == 22.0  # 35 and 25 programmed
    assert run.chosen == [2, 4, 6, 8, 10, 12]  # the 0.5 K/min scan crystallises
    assert "bends" in next(s.reason for s in run.summaries if s.index == 14)
    assert draw.crystallise_last and len(draw.cooling_nominal_K_per_min) == 7
    assert main(["example", "--out", str(tmp_path / "x.csv")]) == 2
    assert "--glass is needed" in capsys.readouterr().err
    assert main(["check-exports", "--runs", "0", "--out", str(tmp_path / "c.nc")]) == 2
