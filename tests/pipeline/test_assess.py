"""The assessment of the whole-space estimator: every estimator reads every copy of the same
samples, the refinement recovers clean samples, and the file is reused."""
import numpy as np
import pytest

from tnmlib.cli import main
from tnmlib.pipeline.results import STATUSES
from tnmlib.pipeline.assess import CONSTANT, NETWORK, PRACTITIONER, REFINED, assess_estimator


@pytest.fixture(scope="module")
def assessment(tmp_path_factory):
    out = tmp_path_factory.mktemp("wholespace") / "wholespace.nc"
    return out, assess_estimator(None, out, test_samples=5, least_squares_samples=2, workers=1, progress=False)


def test_every_estimator_reads_every_copy_of_the_same_samples(assessment):
    _, ds = assessment
    assert list(ds["estimator"].values) == [CONSTANT, NETWORK, REFINED, PRACTITIONER]
    assert ds.sizes["copy"] == 3 and ds.sizes["sample"] == 5
    kept = ds["kept"].values
    status = ds["status"].values
    assert np.all(status[:, 1] >= 0)                               # the network reads every sample
    assert np.all((status[:, 2] >= 0) == kept[None, :])            # the refinement every kept one
    assert np.all((status[:, 3] >= 0).sum(axis=1) == 2)            # the practitioner's start: the subsample
    assert set(np.unique(status[status >= 0])) <= set(range(len(STATUSES)))
    assert np.all(np.isfinite(ds["stderr"].values[:, 2][:, kept]))
    lagged = ds["lag_s"].sel(estimator=REFINED).values[-1][kept]
    assert ds["copy_lag_s"].values[-1] == 3 and np.all(np.isfinite(lagged))


def test_the_refinement_recovers_clean_samples(assessment):
    _, ds = assessment
    kept = ds["kept"].values
    clean = ds["estimate"].sel(estimator=REFINED).values[0][kept]
    true = ds["true"].values[kept]
    assert np.all(np.abs(clean[:, 2:] - true[:, 2:]) < 0.02)
    assert np.all(np.abs(clean[:, 0] - true[:, 0]) < 10e3)


def test_an_unchanged_assessment_is_reused(assessment, capsys):
    out, ds = assessment
    before = out.stat().st_mtime_ns
    again = assess_estimator(None, out, test_samples=5, least_squares_samples=2, workers=1)
    assert out.stat().st_mtime_ns == before and "up to date" in capsys.readouterr().out
    np.testing.assert_array_equal(again["estimate"].values, ds["estimate"].values)


@pytest.mark.parametrize("argv", [
    ["assess", "--out", "x.txt"], ["assess", "--out", "x.nc", "--workers", "0"],
    ["assess", "--out", "x.nc", "--network", "/nonexistent.npz"],
    ["estimator", "--out", "x.txt"], ["estimator", "--out", "x.npz", "--samples", "0"],
    ["example", "--glass", "unobtainium", "--out", "x.csv"], ["example", "--glass", "Se", "--kind", "wet", "--out", "x.csv"],
])
def test_bad_options_are_one_line_with_exit_code_2(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_tnm_example_writes_a_file_tnm_fit_reads(tmp_path):
    path = tmp_path / "se-raw.csv"
    assert main(["example", "--glass", "Se", "--kind", "raw", "--out", str(path)]) == 0
    header = path.read_text().splitlines()[0].split(",")
    assert header[0] == "T_C" and header[1] == "cp_J_per_gK_q0.5" and len(header) == 7
