"""The whole-space estimator on copies made by the independent reference: the copies are
converged, differ from the fit's own simulator only by what a DSC adds, stay in their stated
ranges, and every kept sample is read and counted."""
import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from tnmlib.analysis.tables import independent_shares, independent_table
from tnmlib.cli import main
from tnmlib.estimation.classical import scans_on_grid
from tnmlib.physics.simulate import program_scans
from tnmlib.pipeline.estimator import HEATING, RATES
from tnmlib.pipeline.independent import (KINDS, LOWEST_C, METHODS, NETWORK, REFINED, VARIETY,
                                         assess_independent, copy_program, copy_rows_C, draw_copy, draw_of,
                                         first_row_C, reference_copy, transition_ranges)
from tnmlib.pipeline.results import STATUSES
from tnmlib.study.statespace import draw_whole_space

SEED = 11


@pytest.fixture(scope="module")
def samples():
    true = draw_whole_space(6, SEED)
    transition, cp_max = transition_ranges(true)
    keep = cp_max <= 6
    return true[keep][:4], transition[keep][:4], np.nonzero(keep)[0][:4]


def test_halving_the_references_step_changes_a_copy_by_less_than_1e_3(samples):
    true, transition, index = samples
    for params, span, k in zip(true, transition, index):
        draw = draw_copy(SEED, int(k), span, "clean")
        rows, cp = reference_copy(params, draw, "clean")
        rows_fine, cp_fine = reference_copy(params, draw, "clean", step_K=draw.reference_step_K / 2)
        np.testing.assert_array_equal(rows, rows_fine)
        assert np.max(np.abs(cp_fine - cp)) < 1e-3


def test_the_reference_agrees_with_the_continuous_marcher_on_the_same_program(samples):
    """Two routes to the same physics (staircase extrapolated; the fit's marcher at a step ten
    times finer) agree, so what the fit meets below is the DSC's doing, not a simulator's."""
    true, transition, index = samples
    for params, span, k in zip(true[:2], transition[:2], index[:2]):
        draw = draw_copy(SEED, int(k), span, "clean")
        rows, cp = reference_copy(params, draw, "clean")
        program, steady = copy_program(draw)
        step = draw.reference_step_K
        marched = program_scans(program, params, steady, rows + step / 2, step, ln_tau_step=0.001)
        assert np.max(np.abs(marched - cp)) < 3e-3


def test_a_clean_copy_is_not_the_fits_model_at_the_truth(samples):
    """No inverse crime: at the true parameters the fit's model misses a clean copy by far more
    than rounding (another simulator; hold, start-up, cut span, rows), and by little (the
    model's fine grid resolves narrow peaks between sparse rows)."""
    true, transition, index = samples
    for params, span, k in zip(true, transition, index):
        draw = draw_copy(SEED, int(k), span, "clean")
        rows, cp = reference_copy(params, draw, "clean")
        model = scans_on_grid(rows, RATES, HEATING)
        misfit = np.max(np.abs(model(params) - cp))
        assert 1e-6 < misfit < 5e-3


@settings(max_examples=40, deadline=None)
@given(sample=st.integers(0, 10_000), first=st.floats(-250.0, 300.0), length=st.floats(0.5, 400.0),
       kind=st.sampled_from(KINDS))
def test_draws_stay_in_their_stated_ranges(sample, first, length, kind):
    draw = draw_copy(SEED, sample, (first, first + length), kind)
    other = draw_copy(SEED, sample, (first, first + length), KINDS[1 - KINDS.index(kind)])
    # span, rows and start-up belong to the sample, the instrument to the kind
    for name in ("T_low_C", "T_high_C", "row_spacing_K", "startup_tau_min", "cut_min", "hold_low_min"):
        assert getattr(draw, name) == getattr(other, name)
    assert max(first - 0.6 * length - 20.0, LOWEST_C) <= draw.T_low_C
    assert draw.T_low_C < first - 0.1 * length or draw.T_low_C == LOWEST_C  # 5 K: the coldest a cycle goes
    assert first + length <= draw.T_high_C <= first + 1.3 * length + 1e-9
    assert VARIETY.row_spacing_K[0] <= draw.row_spacing_K <= VARIETY.row_spacing_K[1]
    assert first_row_C(draw) < first
    program, _ = copy_program(draw)  # a valid program: every target above absolute zero
    rows = copy_rows_C(draw)
    assert rows.size <= 2 * VARIETY.max_rows and np.all(np.diff(rows) > 0) and rows[-1] <= draw.T_high_C
    if kind == "clean":
        assert draw.lag_s == 0 and draw.tilt_per_100K == 0 and draw.startup_residue == 0
    else:
        assert 1.0 <= draw.lag_s <= 5.0 and abs(draw.tilt_per_100K) <= 0.02 and 0 <= draw.startup_residue <= 0.05


def test_the_start_up_builds_the_rate_up_and_the_rows_start_after_it(samples):
    _, transition, index = samples
    draw = draw_copy(SEED, int(index[0]), transition[0], "clean")
    program, steady = copy_program(draw)
    assert len(steady) == len(RATES)
    startup = program.segments[steady[0] - 8:steady[0]]
    rates = [s.rate_K_per_min for s in startup]
    assert np.all(np.diff(rates) > 0) and rates[-1] < HEATING
    assert program.segments[steady[0]].rate_K_per_min == HEATING
    assert startup[-1].to_C < first_row_C(draw) == pytest.approx(copy_rows_C(draw)[0])


@pytest.fixture(scope="module")
def assessment(tmp_path_factory):
    out = tmp_path_factory.mktemp("independent") / "independent.nc"
    return out, assess_independent(None, out, samples_per_seed=2, seeds=(SEED, 12), workers=1, progress=False)


def test_every_kept_sample_is_read_in_every_kind(assessment):
    _, ds = assessment
    assert list(ds["kind"].values) == list(KINDS) and list(ds["estimator"].values) == list(METHODS)
    kept = ds["kept"].values
    status = ds["status"].values
    assert np.all((status[:, 1:] >= 0) == kept[None, None, :])
    assert set(np.unique(status[status >= 0])) <= set(range(len(STATUSES)))
    assert list(ds["seed"].values) == [SEED, SEED, 12, 12]
    refined = ds["estimate"].sel(kind="clean", estimator=REFINED).values[kept]
    assert np.all(np.abs(refined[:, 2:] - ds["true"].values[kept][:, 2:]) < 0.05)
    lag = ds["lag_s"].sel(kind="noisy-lag", estimator=REFINED).values[kept]
    assert np.all(np.isfinite(lag))


def test_a_sample_can_be_measured_again_from_the_file(assessment):
    _, ds = assessment
    k = int(np.nonzero(ds["kept"].values)[0][0])
    draw = draw_of(ds, "noisy-lag", k)
    assert draw == draw_copy(draw.seed, draw.sample, (draw.transition_first_C, draw.transition_last_C), "noisy-lag")
    rows, _ = reference_copy(ds["true"].values[k], draw, "noisy-lag")
    assert rows.size == int(ds["n_rows"].values[1, k])


def test_an_unchanged_assessment_is_reused(assessment, capsys):
    out, ds = assessment
    before = out.stat().st_mtime_ns
    again = assess_independent(None, out, samples_per_seed=2, seeds=(SEED, 12), workers=1)
    assert out.stat().st_mtime_ns == before and "up to date" in capsys.readouterr().out
    np.testing.assert_array_equal(again["estimate"].values, ds["estimate"].values)


def _fake(estimates, stderr, status, true):
    n = true.shape[0]
    return xr.Dataset(
        {"estimate": (("kind", "estimator", "sample", "parameter"), estimates),
         "stderr": (("kind", "estimator", "sample", "parameter"), stderr),
         "status": (("kind", "estimator", "sample"), status),
         "true": (("sample", "parameter"), true), "kept": ("sample", np.ones(n, bool))},
        coords={"kind": ["clean"], "estimator": ["constant", NETWORK, REFINED]})


def test_shares_count_failures_as_misses_and_give_wilson_intervals():
    true = np.tile([400e3, -200.0, 0.5, 0.5], (4, 1))
    estimates = np.repeat(true[None, None], 3, axis=1).copy()
    estimates[0, 1, :2, 2] += 0.03          # the network misses x < 0.02 on two samples
    estimates[0, 2, 0, 2] += 0.03           # the refinement fixes one of them
    stderr = np.full(estimates.shape, np.nan)
    stderr[0, 2] = 0.01
    status = np.zeros((1, 3, 4), dtype=np.int8)
    status[0, 2, 3] = STATUSES.index("failed")
    shares = independent_shares(_fake(estimates, stderr, status, true))
    row = shares.loc[("clean", REFINED, "x: AE < 0.02")]
    assert (row["hits"], row["trials"]) == (2, 4)  # one far, one failed
    assert row["lower (%)"] < 50 < row["upper (%)"]
    fixed = shares.loc[("clean", NETWORK, "x: AE < 0.02 fixed by refinement")]
    assert (fixed["hits"], fixed["trials"]) == (1, 4)
    lost = shares.loc[("clean", NETWORK, "x: AE < 0.02 lost by refinement")]
    assert (lost["hits"], lost["trials"]) == (1, 4)  # the failed fit of a sample the start read well
    assert shares.loc[("clean", REFINED, "failures"), "hits"] == 1
    assert shares.loc[("clean", REFINED, "x within 2 stderr"), "hits"] == 2
    assert ("clean", NETWORK, "x within 2 stderr") not in shares.index  # no standard errors
    table = independent_table(_fake(estimates, stderr, status, true))
    assert table.loc["samples", ("clean", REFINED)] == "4"
    assert table.loc["x: AE < 0.02", ("clean", REFINED)].startswith("50.0 [")
    assert table.loc["x within 2 stderr", ("clean", NETWORK)] == ""


@pytest.mark.parametrize("argv", [
    ["assess-independent", "--out", "x.txt"], ["assess-independent", "--out", "x.nc", "--workers", "0"],
    ["assess-independent", "--out", "x.nc", "--samples-per-seed", "0"],
    ["assess-independent", "--out", "x.nc", "--network", "/nonexistent.npz"],
    ["assess-independent", "--out", "x.nc", "--profile", "nonesuch"],
])
def test_bad_options_are_one_line_with_exit_code_2(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_the_reference_step_follows_the_transition():
    narrow = draw_copy(SEED, 0, (0.0, 2.0), "clean")
    broad = draw_copy(SEED, 0, (0.0, 400.0), "clean")
    assert narrow.reference_step_K == pytest.approx(2.0 / 2000) and broad.reference_step_K == 0.05
    assert math.isfinite(narrow.range_K)
