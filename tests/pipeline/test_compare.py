"""`tnm compare`: every estimator on the same samples, clean and distorted; and its table."""
import json

import numpy as np
import pytest
import xarray as xr

from tnmlib.analysis.tables import comparison_table
from tnmlib.cli import main
from tnmlib.physics.instrument import Distortion
from tnmlib.learning.model import MCNNConfig, build_model
from tnmlib.learning.reader import split_indices
from tnmlib.pipeline.compare import (CONSTANT, LOOKUP, LS_GOOD_START, LS_PRACTITIONER, MOYNIHAN, compare_estimators,
                                     mcnn_method)
from tnmlib.pipeline.results import NOT_RUN
from tnmlib.study.design import THRESHOLDS

TINY = MCNNConfig(filters=(2, 2, 2), dense_units=8, n_interp=100, dropout=0.0)


def test_every_estimator_reads_every_copy_of_the_same_samples(tmp_path, smoke_c):
    model_path = tmp_path / "tiny.keras"
    build_model(6, 926, TINY, {"t_min_C": -250.0, "step_K": 2.0, "subset": "C", "profile": "smoke"}).save(model_path)
    out = tmp_path / "comparison.nc"
    distortions = (Distortion(), Distortion(noise_fraction=0.01))
    ds = compare_estimators(smoke_c, {"tiny": model_path}, out, least_squares_samples=2, distortions=distortions,
                            workers=1, progress=False)
    test = split_indices(225)["test"]
    assert list(ds["distortion"].values) == ["clean", "noise 1 %"]
    assert list(ds["estimator"].values) == [CONSTANT, mcnn_method("tiny"), MOYNIHAN, LOOKUP, LS_PRACTITIONER, LS_GOOD_START]
    assert np.array_equal(ds["sample_index"].values, test)
    status = ds["status"]
    for method in (CONSTANT, mcnn_method("tiny"), MOYNIHAN, LOOKUP):
        assert np.all(status.sel(estimator=method).values != NOT_RUN)  # all samples
    for method in (LS_PRACTITIONER, LS_GOOD_START):
        ran = status.sel(estimator=method).values != NOT_RUN
        assert np.array_equal(ran, np.broadcast_to(ds["least_squares_subsample"].values, ran.shape))
        assert ran.sum(axis=1).tolist() == [2, 2]
    constant = np.array(json.loads(ds.attrs["constant_prediction"]))
    np.testing.assert_allclose(ds["estimate"].sel(estimator=CONSTANT).values[0], np.broadcast_to(constant, (test.size, 4)))
    # least squares from a good start on clean scans finds the truth on the subsample
    good = ds["estimate"].sel(estimator=LS_GOOD_START, distortion="clean").values
    rows = ds["least_squares_subsample"].values
    ok = status.sel(estimator=LS_GOOD_START, distortion="clean").values[rows] == 0
    np.testing.assert_allclose(good[rows][ok][:, 2:], ds["true"].values[rows][ok][:, 2:], atol=0.02)
    # the noisy copy differs from the clean one for the network, and the file is reused unchanged
    net = ds["estimate"].sel(estimator=mcnn_method("tiny")).values
    assert np.all(np.isfinite(net))
    mtime = out.stat().st_mtime_ns
    compare_estimators(smoke_c, {"tiny": model_path}, out, least_squares_samples=2, distortions=distortions,
                       workers=1, progress=False)
    assert out.stat().st_mtime_ns == mtime


def _synthetic(statuses, estimates, true):
    """A comparison file of one distortion, one method per row of ``statuses``."""
    statuses, estimates = np.asarray(statuses)[None], np.asarray(estimates, dtype=float)[None]
    n = statuses.shape[-1]
    return xr.Dataset(
        {"estimate": (("distortion", "estimator", "sample", "parameter"), estimates),
         "status": (("distortion", "estimator", "sample"), statuses.astype(np.int8)),
         "seconds": (("distortion", "estimator", "sample"), np.ones(statuses.shape)),
         "true": (("sample", "parameter"), np.asarray(true, dtype=float)),
         "kept": ("sample", np.ones(n, bool)), "least_squares_subsample": ("sample", np.arange(n) < 2)},
        coords={"distortion": ["clean"], "estimator": [f"m{k}" for k in range(statuses.shape[1])],
                "parameter": ["dh", "ln_A", "x", "beta"]})


def test_a_failure_is_a_miss_and_an_unestimated_parameter_has_no_share():
    true = np.tile([200e3, -50.0, 0.5, 0.5], (4, 1))
    exact = true.copy()
    dh_only = true.copy()
    dh_only[:, 1:] = np.nan
    ds = _synthetic([[0, 0, 0, 4], [0, 0, 0, 0], [0, 0, -1, -1]], [exact, dh_only, exact], true)
    table = comparison_table(ds)
    x_label = next(t.label for t in THRESHOLDS if t.parameter == "x")
    dh_label = next(t.label for t in THRESHOLDS if t.parameter == "dh")
    assert table.loc[("clean", "m0"), x_label] == 75.0  # the failed sample (status 4) counts as a miss
    assert table.loc[("clean", "m0"), "failures (%)"] == 25.0
    assert np.isnan(table.loc[("clean", "m1"), x_label]) and table.loc[("clean", "m1"), dh_label] == 100.0
    assert table.loc[("clean", "m2"), "samples"] == 2  # not-run samples are not counted
    common = comparison_table(ds, least_squares_subsample=True)
    assert (common["samples"] == 2).all()


def test_compare_refuses_a_missing_model_in_one_line(tmp_path, smoke_c, capsys):
    code = main(["compare", "--data", str(smoke_c), "--model", f"G={tmp_path / 'none.keras'}",
                 "--out", str(tmp_path / "c.nc")])
    assert code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:  # argparse's own one-line usage error
        main(["compare", "--data", str(smoke_c), "--model", "no-equals-sign", "--out", str(tmp_path / "c.nc")])
    assert exc.value.code == 2
    assert main(["compare", "--data", str(smoke_c), "--out", str(tmp_path / "c.txt")]) == 2
    assert not (tmp_path / "c.nc").exists()


def test_summary_refuses_a_missing_comparison(tmp_path, capsys):
    assert main(["summary", "--eval-dir", str(tmp_path), "--comparison", str(tmp_path / "none.nc"),
                 "--out", str(tmp_path / "s.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not (tmp_path / "s.json").exists()


def test_the_summary_rows_of_the_comparison_keep_unestimated_shares_empty():
    from tnmlib.analysis.tables import comparison_summary

    true = np.tile([200e3, -50.0, 0.5, 0.5], (4, 1))
    dh_only = true.copy()
    dh_only[:, 1:] = np.nan
    rows = comparison_summary(_synthetic([[0, 0, 0, 0]], [dh_only], true))
    assert set(rows) == {"all kept samples", "least-squares subsample"}
    entry = rows["all kept samples"]["clean"]["m0"]
    assert entry["shares"]["dh_10"] == 100.0 and entry["shares"]["x_0.02"] is None
    assert rows["least-squares subsample"]["clean"]["m0"]["samples"] == 2
    json.dumps(rows)  # the summary file is JSON
