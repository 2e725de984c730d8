"""`tnm distort`: a seeded, distorted copy of a subset file or a CSV; the clean file is untouched."""
import h5py
import numpy as np
import pytest

from tnmlib.cli import main
from tnmlib.learning.reader import SubsetReader


def test_a_noisy_copy_of_a_subset_file_keeps_everything_but_cp(tmp_path, smoke_c):
    out = tmp_path / "C-noisy.h5"
    args = ["distort", "--data", str(smoke_c), "--out", str(out), "--noise-percent", "1", "--seed", "4"]
    assert main(args) == 0
    with h5py.File(smoke_c) as clean, h5py.File(out) as noisy:
        difference = noisy["cp"][...].astype(float) - clean["cp"][...]
        assert np.std(difference) == pytest.approx(0.01, rel=0.02)
        for name in ("dh", "ln_A", "x", "beta", "T", "cp_max"):
            assert np.array_equal(noisy[name][...], clean[name][...])
        assert noisy.attrs["fingerprint"] != clean.attrs["fingerprint"]
        assert noisy.attrs["distortion"] == "noise 1 %" and noisy.attrs["clean_fingerprint"] == clean.attrs["fingerprint"]
        first = noisy["cp"][...]
    assert main(args) == 0  # seeded: the same copy again
    with h5py.File(out) as again:
        assert np.array_equal(again["cp"][...], first)
    assert SubsetReader(out, "train").indices.size > 0  # a training set like any other


def test_a_csv_gets_lagged_and_the_input_is_refused_as_output(tmp_path):
    scans = tmp_path / "se.csv"
    assert main(["simulate", "--dh", "356", "--ln-a", "-133", "--x", "0.52", "--beta", "0.65", "--step", "0.5",
                 "--out", str(scans)]) == 0
    out = tmp_path / "se-lag.csv"
    assert main(["distort", "--data", str(scans), "--out", str(out), "--lag-s", "5"]) == 0
    clean, lagged = (np.loadtxt(p, delimiter=",", skiprows=1) for p in (scans, out))
    assert np.array_equal(clean[:, 0], lagged[:, 0])
    peak = lambda t: t[np.argmax(t[:, 1:], axis=0), 0]  # noqa: E731  (peak temperature of each scan)
    assert np.all(peak(lagged) > peak(clean))  # the lag moves every peak up
    assert main(["distort", "--data", str(scans), "--out", str(scans), "--noise-percent", "1"]) == 2


@pytest.mark.parametrize("bad", [["--noise-percent", "-1"], ["--out-suffix"]])
def test_bad_settings_are_one_line_errors(tmp_path, smoke_c, capsys, bad):
    out = tmp_path / ("x.csv" if bad == ["--out-suffix"] else "x.h5")
    extra = [] if bad == ["--out-suffix"] else bad
    assert main(["distort", "--data", str(smoke_c), "--out", str(out), *extra]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1 and not out.exists()
