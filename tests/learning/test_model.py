"""Preprocessing, the MCNN, its loss, saving, training and resuming."""
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from tnmlib.learning import preprocess
from tnmlib.errors import TNMInputError
from tnmlib.learning.model import (NORM_LOWER, NORM_UPPER, MCNNConfig, Preprocess, WeightedNormalisedMSE, build_model,
                                   denormalise, load_model, metadata, normalise, predict)
from tnmlib.physics.simulate import simulate_chr_batch

TINY = MCNNConfig(filters=(2, 2, 2), dense_units=8, n_interp=100, dropout=0.0)


def synthetic_scan(n=400, rise=100, peak=150, settle=220):
    """0 until `rise`, up to a peak of 2 at `peak`, down to exactly 1 at `settle`, then 1."""
    x = np.zeros(n)
    x[rise:peak + 1] = np.linspace(0, 2, peak - rise + 1)
    x[peak:settle + 1] = np.linspace(2, 1, settle - peak + 1)
    x[settle:] = 1.0
    return x


def test_segment_bounds_on_a_synthetic_scan():
    x = synthetic_scan()
    start, end = preprocess.segment_bounds(x[None].astype("float32"))
    # rise at 100: the first point >= 0.01 is 101, so the segment starts at 100; it settles at 220
    assert int(np.asarray(start)[0]) == 100 and int(np.asarray(end)[0]) == 220


@pytest.mark.parametrize("method", ["cubic", "linear"])
def test_vectorised_attention_matches_the_reference(method):
    cp = simulate_chr_batch([[356e3, -133.0, 0.52, 0.65], [1200e3, -400.0, 0.3, 0.9], [200e3, -40.0, 0.9, 0.3]],
                            step=1.0).astype("float32")
    rows = cp.reshape(-1, cp.shape[-1])
    got = np.asarray(preprocess.attention(rows, method=method))
    for row, out in zip(rows, got):
        expected, _, _ = preprocess.attention_reference(row, method=method)
        assert np.max(np.abs(out - expected)) < 2e-3


def test_linear_attention_is_exact_at_the_segment_ends():
    x = synthetic_scan()
    out = np.asarray(preprocess.attention(x[None].astype("float32"), n_interp=121, method="linear"))[0]
    assert out[0] == pytest.approx(x[100]) and out[-1] == pytest.approx(x[220]) and out.max() <= 2.0 + 1e-6


def test_degenerate_scans():
    step = np.zeros(50, dtype="float32")
    step[25:] = 1.0  # a two-point transition: widened to 4 points
    start, end = preprocess.segment_bounds(step[None])
    assert int(np.asarray(end)[0]) - int(np.asarray(start)[0]) >= 3
    tiny = np.zeros(50, dtype="float32")
    tiny[10] = 1e-3  # never reaches epsilon: the whole scan
    start, end = preprocess.segment_bounds(tiny[None])
    assert (int(np.asarray(start)[0]), int(np.asarray(end)[0])) == (0, 49)
    for bad in (np.zeros((1, 6, 50)), np.full((1, 6, 50), np.nan)):
        with pytest.raises(TNMInputError):
            preprocess.check_signals(bad)
    assert np.all(np.isfinite(np.asarray(preprocess.attention(np.stack([step, tiny])))))


def test_downsampling_takes_every_third_point():
    x = np.arange(18501.0)
    assert np.array_equal(preprocess.downsample(x), x[::3]) and preprocess.downsample(x).size == 6167


def test_normalisation_round_trip_and_corrected_reserve():
    p = np.array([[200e3, -630.0, 0.2, 0.2], [1200e3, -18.0, 1.0, 1.0], [650e3, -250.0, 0.5, 0.7]])
    np.testing.assert_allclose(denormalise(normalise(p)), p, rtol=1e-12)
    n = normalise(p)
    assert np.all(n > 0) and np.all(n < 1)  # the 20 % reserve lies outside the parameter ranges
    assert NORM_LOWER[1] == pytest.approx(-756.0) and NORM_UPPER[1] == pytest.approx(-15.0)


def test_loss_weights_give_the_hand_computed_loss():
    scale = NORM_UPPER - NORM_LOWER
    y_true = np.array([[650e3, -250.0, 0.5, 0.5]], dtype="float32")
    dn = np.array([0.1, 0.2, 0.01, 0.02])  # normalised errors
    y_pred = (y_true + dn * scale).astype("float32")
    loss = WeightedNormalisedMSE((1.0, 0.1, 3.0, 3.0))(y_true, y_pred)
    expected = (1.0 * 0.1**2 + 0.1 * 0.2**2 + 3.0 * 0.01**2 + 3.0 * 0.02**2) / 4
    assert float(loss) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("n_T", [1851, 18501])
def test_output_shapes_for_quick_and_paper_inputs(n_T):
    model = build_model(6, n_T, MCNNConfig())
    cp = simulate_chr_batch([[356e3, -133.0, 0.52, 0.65]] * 2, step=1850.0 / (n_T - 1)).astype("float32")
    assert cp.shape == (2, 6, n_T)
    assert model.predict(cp, verbose=0).shape == (2, 4)
    assert model.get_layer("preprocess").compute_output_spec(model.input)[0].shape[1:] == (1000, 6)


def test_saved_model_predicts_identically_and_keeps_its_metadata(tmp_path, smoke_c):
    import h5py

    with h5py.File(smoke_c) as f:
        cp = f["cp"][:8]
    model = build_model(6, cp.shape[2], TINY, {"t_min_C": -250.0, "step_K": 2.0})
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert np.array_equal(predict(model, cp), predict(loaded, cp))
    assert metadata(loaded)["step_K"] == 2.0 and metadata(loaded)["config"]["n_interp"] == 100


@pytest.mark.slow
def test_a_small_model_overfits_64_samples(smoke_c):
    import h5py
    import keras

    keras.utils.set_random_seed(1)
    with h5py.File(smoke_c) as f:
        cp = f["cp"][:64]
        y = np.column_stack([f[k][:64] for k in ("dh", "ln_A", "x", "beta")]).astype("float32")
    model = build_model(6, cp.shape[2], replace(TINY, filters=(4, 8, 8), dense_units=32))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=model.loss)  # capacity, not the optimiser
    first = model.evaluate(cp, y, verbose=0, return_dict=True)["loss"]
    model.fit(cp, y, batch_size=16, epochs=150, verbose=0)
    last = model.evaluate(cp, y, verbose=0, return_dict=True)["loss"]
    assert last < 0.01 * first and last < 2e-3


def test_training_resumes_after_an_interruption(tmp_path, smoke_c, monkeypatch):
    from tnmlib.learning import train

    out = tmp_path / "m.keras"
    real_end = train._Checkpoint.on_epoch_end

    def crash_after_first_epoch(self, epoch, logs=None):
        real_end(self, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(train._Checkpoint, "on_epoch_end", crash_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        train.train_model(smoke_c, out, epochs=2, progress=False)
    assert not out.exists() and (tmp_path / "m.checkpoint.keras").exists()
    monkeypatch.setattr(train._Checkpoint, "on_epoch_end", real_end)
    meta = train.train_model(smoke_c, out, epochs=2, progress=False)
    history = train.read_history(tmp_path / "m.history.csv")
    assert history["epoch"].tolist() == [0.0, 1.0]  # one row per epoch, none repeated
    assert out.exists() and not (tmp_path / "m.checkpoint.keras").exists()
    assert json.loads((tmp_path / "m.json").read_text())["fingerprint"] == meta["fingerprint"]
    assert set(meta["validation_mae"]) == set(meta["validation_mae_constant"]) == {"dh_kJ_per_mol", "ln_A", "x", "beta"}
    curve = train.read_history(tmp_path / "m.curve.csv")
    assert len(set(curve["step"])) == len(curve["step"]) and np.all(np.diff(curve["step"]) > 0)  # none repeated
    assert curve["step"][-1] == 2 * -(-meta["train_samples"] // 32)  # the whole run: 2 epochs of smoke batches
    again = train.train_model(smoke_c, out, epochs=2, progress=False)  # up to date: not retrained
    assert again["seconds"] == meta["seconds"]


@pytest.mark.parametrize("args", [
    ["train", "--data", "missing.h5", "--out", "m.keras"],
    ["train", "--data", "x.h5", "--out", "m.keras", "--loss-weights", "1,2"],
    ["train", "--data", "x.h5", "--out", "m.txt"],
    ["predict", "--model", "missing.keras", "--data", "x.csv", "--out", "p.csv"],
])
def test_cli_train_and_predict_errors_are_one_line(tmp_path, args):
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    result = subprocess.run([sys.executable, "-m", "tnmlib.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_untrained_model_is_the_constant_predictor_it_starts_from():
    """Zero last-layer weights and the output bias: every input gives the given parameters."""
    lower, upper = np.array([400e3, -300.0, 0.2, 0.2]), np.array([600e3, -200.0, 1.0, 1.0])
    start = np.array([0.25, 0.5, 0.5, 0.75])
    model = build_model(6, 926, TINY, output_bias=start, output_range=(lower, upper))
    cp = np.random.default_rng(0).uniform(0, 3, (3, 6, 926)).astype("float32")
    np.testing.assert_allclose(model.predict(cp, verbose=0), np.tile(lower + start * (upper - lower), (3, 1)), rtol=1e-5)
    with pytest.raises(TNMInputError):
        build_model(6, 926, TINY, output_range=(upper, lower))


def test_the_loss_normalises_by_the_output_range():
    """Errors of a tenth of the range cost the same whatever the range."""
    narrow = WeightedNormalisedMSE((1, 1, 1, 1), scale=(100e3, 10.0, 0.5, 0.5))
    true = np.array([[500e3, -200.0, 0.5, 0.5]], dtype="float32")
    pred = true + np.array([[10e3, 1.0, 0.05, 0.05]], dtype="float32")
    assert float(narrow(true, pred)) == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize("scaling", ["asinh", "none"])
def test_input_scaling_is_applied_to_all_three_views(scaling):
    layer = Preprocess(k_down=3, n_interp=50, method="linear", scaling=scaling)
    x = np.zeros((1, 6, 90), "float32")
    x[..., 40:50] = 40.0
    x[..., 50:] = 1.0
    att, down, orig = (np.asarray(v) for v in layer(x))
    top = np.arcsinh(40.0) if scaling == "asinh" else 40.0
    for view in (att, down, orig):
        assert view.max() == pytest.approx(top, rel=1e-5)


def test_augmented_batches_are_distorted_reproducibly_and_the_labels_kept(smoke_c):
    from tnmlib.learning import train
    from tnmlib.learning.reader import SubsetReader
    from tnmlib.study.design import AUGMENTATION

    reader = SubsetReader(smoke_c, "train", 32)
    clean = next(train._epoch_stream(reader, 0))
    first = next(train._epoch_stream(reader, 0, AUGMENTATION, 2.0, 10.0))
    again = next(train._epoch_stream(reader, 0, AUGMENTATION, 2.0, 10.0))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], clean[1])  # seeded per epoch
    changed = np.any(np.abs(first[0] - clean[0]) > 1e-6, axis=(1, 2))
    assert 0 < changed.sum() < changed.size  # most samples distorted, some (a quarter expected) clean
    later = next(train._epoch_stream(reader, 1, AUGMENTATION, 2.0, 10.0))
    assert not np.array_equal(later[0], train._epoch_stream(reader, 1).__next__()[0])


def test_an_augmented_model_records_its_augmentation_and_is_a_different_model(tmp_path, smoke_c):
    from tnmlib.learning import train

    plain = train.train_model(smoke_c, tmp_path / "plain.keras", epochs=1, progress=False)
    augmented = train.train_model(smoke_c, tmp_path / "aug.keras", epochs=1, augment=True, progress=False)
    assert plain["augmentation"] is None and augmented["augmentation"]["lag_s_max"] > 0
    assert plain["fingerprint"] != augmented["fingerprint"]
