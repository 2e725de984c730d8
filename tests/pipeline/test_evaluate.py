"""`tnm evaluate`: the evaluation stage writes per-sample results with units, once."""
import numpy as np
import xarray as xr

from tnmlib.cli import main
from tnmlib.learning.model import MCNNConfig, build_model
from tnmlib.learning.reader import split_indices
from tnmlib.study.design import CP_MAX_LIMIT

TINY = MCNNConfig(filters=(2, 2, 2), dense_units=8, n_interp=100, dropout=0.0)


def test_evaluate_writes_the_test_split_with_units(tmp_path, smoke_c):
    model_path = tmp_path / "tiny.keras"
    build_model(6, 926, TINY, {"t_min_C": -250.0, "step_K": 2.0, "subset": "C", "profile": "smoke"}).save(model_path)
    out = tmp_path / "eval-tiny.nc"
    assert main(["evaluate", "--model", str(model_path), "--data", str(smoke_c), "--out", str(out)]) == 0
    ds = xr.load_dataset(out, engine="h5netcdf")
    assert ds.sizes["test_sample"] == split_indices(225)["test"].size
    assert np.array_equal(ds["sample"].values, split_indices(225)["test"])
    assert ds["true_dh"].attrs["units"] == "J/mol" and ds["ae_x"].attrs["units"] == "1"
    np.testing.assert_allclose(ds["ae_x"], np.abs(ds["true_x"] - ds["pred_x"]))
    assert np.array_equal(ds["kept"].values, ds["cp_max"].values <= CP_MAX_LIMIT)
    for name in ("sse_signals", "sse_parameters", "sse_dh_ln_A", "sse_x_beta"):
        assert np.all(np.isfinite(ds[name].values)) and np.all(ds[name].values >= 0)
    mtime = out.stat().st_mtime_ns
    assert main(["evaluate", "--model", str(model_path), "--data", str(smoke_c), "--out", str(out)]) == 0
    assert out.stat().st_mtime_ns == mtime  # up to date: not recomputed


def test_evaluate_refuses_a_wrong_output_name(tmp_path, capsys):
    assert main(["evaluate", "--model", "m.keras", "--data", "d.h5", "--out", str(tmp_path / "e.txt")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_evaluation_uses_the_models_own_split_and_its_constant(tmp_path, smoke_c):
    import h5py

    model_path = tmp_path / "tiny.keras"
    build_model(6, 926, TINY, {"t_min_C": -250.0, "step_K": 2.0, "subset": "C", "profile": "smoke", "seed": 7}).save(model_path)
    out = tmp_path / "eval.nc"
    assert main(["evaluate", "--model", str(model_path), "--data", str(smoke_c), "--out", str(out)]) == 0
    ds = xr.load_dataset(out, engine="h5netcdf")
    split = split_indices(225, 7)
    assert np.array_equal(ds["sample"].values, split["test"]) and ds.attrs["split_seed"] == 7
    with h5py.File(smoke_c) as f:
        median_x = np.median(f["x"][...][split["train"]])
    np.testing.assert_allclose(ds["ae_constant_x"], np.abs(ds["true_x"] - median_x))
    assert ds.attrs["grid_step_K"] == 2.0 and np.all(np.isfinite(ds["T_peak_C"].values))
