"""`tnm predict`: streams subset files in batches, refuses other grids, flags estimates outside the
parameter box the model was trained on."""
import h5py
import numpy as np
import pytest

from tnmlib.cli import main
from tnmlib.learning.model import MCNNConfig, build_model
from tnmlib.pipeline.predict import BOX_MARGIN
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN

TINY = MCNNConfig(filters=(2, 2, 2), dense_units=8, n_interp=100, dropout=0.0)
SMOKE_GRID = {"t_min_C": -250.0, "step_K": 2.0, "n_T": 926, "cooling_rates": list(PAPER_COOLING_RATES_K_PER_MIN)}


def _model(tmp_path, n_T=926, box=None, **grid):
    meta = {**SMOKE_GRID, "n_T": n_T, **grid}
    if box is not None:
        meta["train_lower"], meta["train_upper"] = box
    path = tmp_path / f"m{n_T}.keras"
    # An untrained network with random last-layer weights: outputs vary from sample to sample.
    model = build_model(6, n_T, TINY, meta)
    layer = model.get_layer("normalised_parameters")
    layer.kernel.assign(np.random.default_rng(0).normal(0, 0.3, layer.kernel.shape))
    model.save(path)
    return path


def _read(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_a_subset_file_is_streamed_in_batches_with_the_same_result(tmp_path, smoke_c):
    model = _model(tmp_path)
    outs = {}
    for batch in (50, 1000):
        outs[batch] = tmp_path / f"p{batch}.csv"
        assert main(["predict", "--model", str(model), "--data", str(smoke_c), "--out", str(outs[batch]),
                     "--batch-size", str(batch)]) == 0
    header, small = _read(outs[50])
    _, large = _read(outs[1000])
    assert header == ["sample", "dh_kJ_per_mol", "ln_A", "x", "beta", "outside_trained_box"]
    with h5py.File(smoke_c) as f:
        assert np.array_equal(small[:, 0], f["sample"][...])
    # float32 sums differ with the batch shape: ~1e-4 absolute, more than 1e-4 relative near zero
    np.testing.assert_allclose(small, large, rtol=1e-4, atol=1e-3)


def test_a_file_on_another_grid_is_refused_in_one_line(tmp_path, smoke_c, capsys):
    model = _model(tmp_path, n_T=1851, step_K=1.0)
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(model), "--data", str(smoke_c), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different grid" in err[0] and not out.exists()


def test_estimates_outside_the_trained_box_are_flagged(tmp_path, smoke_c, capsys):
    lower, upper = [600e3, -400.0, 0.2, 0.2], [610e3, -390.0, 1.0, 1.0]
    model = _model(tmp_path, box=(lower, upper))
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(model), "--data", str(smoke_c), "--out", str(out)]) == 0
    _, table = _read(out)
    lo, hi = np.array(lower) / [1e3, 1, 1, 1], np.array(upper) / [1e3, 1, 1, 1]
    margin = BOX_MARGIN * (hi - lo)
    inside = ((table[:, 1:5] >= lo - margin) & (table[:, 1:5] <= hi + margin)).all(axis=1)
    assert np.array_equal(table[:, 5] == 1, ~inside) and (~inside).any()
    assert "outside the parameter box" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_a_bad_batch_size_is_refused(tmp_path, smoke_c, bad, capsys):
    assert main(["predict", "--model", str(_model(tmp_path)), "--data", str(smoke_c), "--out",
                 str(tmp_path / "p.csv"), "--batch-size", bad]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
