"""Evaluation metrics against hand-computed values."""
import numpy as np
import pytest
import xarray as xr

from tnmlib.analysis import metrics
from tnmlib.analysis.tables import MAE_RATIO_TARGETS, cell_means, mae_table, resolution_table, share_table, summary
from tnmlib.study.parameters import NORM_LOWER, NORM_UPPER
from tnmlib.physics.simulate import simulate_chr_batch

TRUE = np.array([[500e3, -200.0, 0.5, 0.5], [800e3, -300.0, 0.3, 0.7]])
PRED = np.array([[510e3, -198.0, 0.52, 0.45], [800e3, -300.0, 0.3, 0.7]])


def test_absolute_errors():
    np.testing.assert_allclose(metrics.absolute_errors(TRUE, PRED)[0], [10e3, 2.0, 0.02, 0.05], rtol=1e-9, atol=1e-12)
    assert np.all(metrics.absolute_errors(TRUE, PRED)[1] == 0)


def test_parameter_sse_uses_the_normalised_values():
    scale = NORM_UPPER - NORM_LOWER
    d = (TRUE[0] - PRED[0]) / scale
    assert metrics.sse_parameters(TRUE, PRED)[0] == pytest.approx(np.sum(d**2))
    assert metrics.sse_parameters(TRUE, PRED, ("x", "beta"))[0] == pytest.approx(d[2] ** 2 + d[3] ** 2)
    assert metrics.sse_parameters(TRUE, PRED)[1] == 0


def test_signal_sse_by_hand_and_zero_for_a_perfect_prediction():
    a = np.zeros((1, 2, 3))
    b = np.array([[[0, 1, 0], [0.5, 0, 0]]])
    assert metrics.sse_signals(a, b)[0] == pytest.approx(1.25)
    cp = simulate_chr_batch(TRUE, step=1.0)
    resim = simulate_chr_batch(metrics.clip_to_domain(TRUE), step=1.0)
    assert np.all(metrics.sse_signals(cp, resim) == 0)
    off = simulate_chr_batch(metrics.clip_to_domain(PRED), step=1.0)
    assert np.all(metrics.sse_signals(cp, off)[:1] > 0)


def test_predictions_outside_the_domain_are_clipped_before_resimulation():
    clipped = metrics.clip_to_domain(np.array([[-5e3, -1000.0, 1.3, -0.2], [5e6, 3.0, 0.01, 0.5]]))
    np.testing.assert_allclose(clipped, [[NORM_LOWER[0], NORM_LOWER[1], 1.0, NORM_LOWER[3]],
                                         [NORM_UPPER[0], NORM_UPPER[1], NORM_LOWER[2], 0.5]])
    cp = simulate_chr_batch(clipped, step=1.0)  # the extreme corners of the box still simulate
    assert np.all(np.isfinite(cp))


def test_cp_max_filter_and_shares():
    assert metrics.keep_mask(np.array([1.2, 6.0, 6.01, 30.0])).tolist() == [True, True, False, False]
    assert metrics.share_below(np.array([0.01, 0.019, 0.02, 0.5]), 0.02) == 0.5


def _results(n=8):
    rng = np.random.default_rng(0)
    ds = xr.Dataset({
        "kept": ("test_sample", np.array([True] * (n - 1) + [False])),
        "ae_x": ("test_sample", np.r_[np.full(n - 1, 0.01), 1.0]), "ae_beta": ("test_sample", np.full(n, 0.03)),
        "ae_dh": ("test_sample", np.full(n, 5e3)), "ae_ln_A": ("test_sample", np.full(n, 3.0)),
        "i_dh": ("test_sample", np.repeat([0, 1], n // 2)), "k_x": ("test_sample", np.tile([0, 1], n // 2)),
        "true_dh": ("test_sample", np.repeat([200e3, 300e3], n // 2)),
        "true_x": ("test_sample", np.tile([0.2, 0.4], n // 2)),
        "sse_signals": ("test_sample", np.arange(n, dtype=float)),
    })
    return ds, rng


def _with_constant(ds):
    """The constant predictor's errors: 0.1 in x, 0.05 in β, 20 kJ/mol, 4 in ln A; a 1 K grid; widths
    R·Tg²/Δh* of 10 K (Tg chosen for it) on half the samples, 2 K on the other half."""
    n = ds.sizes["test_sample"]
    ds = ds.assign(ae_constant_x=("test_sample", np.full(n, 0.1)), ae_constant_beta=("test_sample", np.full(n, 0.05)),
                   ae_constant_dh=("test_sample", np.full(n, 20e3)), ae_constant_ln_A=("test_sample", np.full(n, 4.0)))
    width = np.where(np.arange(n) < n // 2, 10.0, 2.0)
    T_K = np.sqrt(width * ds["true_dh"].values / 8.314462618)
    ds = ds.assign(T_peak_C=("test_sample", T_K - 273.15))
    ds.attrs.update(grid_step_K=1.0, subset="C")
    return ds


def test_share_table_counts_kept_samples_only_for_model_and_constant():
    ds, _ = _results()
    table = share_table({"M": _with_constant(ds)})
    assert table.loc[("x: AE < 0.02", "MCNN"), "M"] == 100.0  # the left-out sample's large error is ignored
    assert table.loc[("β: AE < 0.02", "MCNN"), "M"] == 0.0 and table.loc[("β: AE < 0.05", "MCNN"), "M"] == 100.0
    assert table.loc[("Δh*: AE < 10 kJ/mol", "MCNN"), "M"] == 100.0 and table.loc[("ln A: AE < 2", "MCNN"), "M"] == 0.0
    assert table.loc[("x: AE < 0.02", "constant"), "M"] == 0.0 and table.loc[("Δh*: AE < 50 kJ/mol", "constant"), "M"] == 100.0
    assert table.loc[("x: AE < 0.02", "MCNN"), "paper"].startswith("> 99")


def test_mae_table_and_summary_set_each_model_beside_the_constant():
    ds, _ = _results()
    ds = _with_constant(ds)
    table = mae_table({"M": ds})
    assert table.loc[("M", "x"), "ratio"] == pytest.approx(0.1)        # 0.01 / 0.1 over kept samples
    assert table.loc[("M", "Δh*"), "MAE"] == pytest.approx(5.0)        # kJ/mol
    assert table.loc[("M", "ln A"), "ratio"] == pytest.approx(0.75) and table.loc[("M", "ln A"), "meets target"]
    assert table.loc[("M", "β"), "ratio"] == pytest.approx(0.6) and not table.loc[("M", "β"), "meets target"]
    result = summary({"M": ds})
    m = result["models"]["M"]
    assert set(m["mae"]) == set(m["mae_constant"]) == {"dh_kJ_per_mol", "ln_A", "x", "beta"}
    assert m["mae"]["dh_kJ_per_mol"] == pytest.approx(5.0) and m["mae_constant"]["ln_A"] == pytest.approx(4.0)
    assert m["shares"]["x_0.02"] == 100.0 and m["shares_constant"]["dh_50"] == 100.0
    assert m["left_out"] == 1 and m["test_samples"] == ds.sizes["test_sample"]
    assert m["points_across_median_width"] == pytest.approx(6.0) and m["resolved"] is True  # median of 10 and 2 K
    assert result["mae_ratio_targets"] == MAE_RATIO_TARGETS


def test_resolution_table_counts_points_across_the_median_width():
    table = resolution_table({"A": np.array([0.1, 0.2, 0.3])}, {"1 K": {"A": 1.0}, "fine": {"A": 0.02}})
    assert table.loc["A", "median width (K)"] == 0.2 and table.loc["A", "1 K"] == 0.2 and table.loc["A", "fine"] == 10.0


def test_cell_means_average_each_grid_cell():
    ds, _ = _results()
    va, vb, z = cell_means(ds, "dh", "x", "sse_signals")
    # kept samples 0..6: cell (dh0, x0) has 0, 2; (dh0, x1): 1, 3; (dh1, x0): 4, 6; (dh1, x1): 5
    np.testing.assert_allclose(z, [[1.0, 2.0], [5.0, 5.0]])
    assert va[0, 0] == 200e3 and vb[1, 1] == 0.4


def test_peak_descriptors_on_a_synthetic_peak():
    T = np.arange(0.0, 100.0, 1.0)
    cp = np.zeros((1, 2, T.size))
    cp[0, 0, 40:] = 1.0
    cp[0, 1, 30:50] = np.linspace(0, 3.0, 20)  # rises through 1 between 36 and 37, peaks at 49
    cp[0, 1, 50:] = 1.0
    d = metrics.peak_descriptors(cp, T)
    ref = metrics.peak_descriptors_reference(cp, T)
    assert d["cp_max"][0] == pytest.approx(3.0) and d["T_peak_C"][0] == 49.0
    assert d["dT_hw"][0] == pytest.approx(49.0 - (36 + (1 - cp[0, 1, 36]) / (cp[0, 1, 37] - cp[0, 1, 36])))
    for key in d:
        np.testing.assert_allclose(d[key], ref[key], rtol=1e-9, equal_nan=True)


def test_ratio_table_names_the_parameters_that_miss_their_target():
    from tnmlib.analysis.tables import ratio_table

    ds, _ = _results()
    table = ratio_table(summary({"M": _with_constant(ds)}))
    assert table.loc["M", "x"] == pytest.approx(0.1) and table.loc["M", "β"] == pytest.approx(0.6)
    assert table.loc["M", "misses target"] == "β" and bool(table.loc["M", "grid resolves subset"])


def test_wilson_interval_known_values_and_bounds():
    from tnmlib.analysis.metrics import wilson_interval

    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-3) and hi == 1.0
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.8882, abs=1e-3) and hi == pytest.approx(0.9785, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    for k in range(0, 21):
        lo, hi = wilson_interval(k, 20)
        assert 0.0 <= lo <= k / 20 <= hi <= 1.0
