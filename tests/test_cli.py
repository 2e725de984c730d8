"""The `tnm` command line: outputs, help, and one-line errors with exit status 2."""
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from tnmlib.cli import main

SE_ARGS = ["--dh", "356", "--ln-a", "-133", "--x", "0.52", "--beta", "0.65"]


def run_tnm(*args):
    return subprocess.run([sys.executable, "-m", "tnmlib.cli", *args], capture_output=True, text=True)


def test_simulate_writes_the_documented_csv(tmp_path):
    out = tmp_path / "se.csv"
    assert main(["simulate", *SE_ARGS, "--step", "0.5", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "T_C,cp_q0.5,cp_q1,cp_q2,cp_q5,cp_q10,cp_q20"
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (3701, 7)
    assert table[0, 0] == -250 and table[-1, 0] == 1600
    assert np.all(table[0, 1:] == 0) and np.all(table[-1, 1:] == 1)
    assert table[:, 1:].max() > 1.5  # the overshoot peak


def test_simulate_csv_follows_the_given_rates(tmp_path):
    out = tmp_path / "two.csv"
    assert main(["simulate", *SE_ARGS, "--cooling-rates", "1,20", "--t-min", "-50", "--t-max", "150",
                 "--step", "1", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "T_C,cp_q1,cp_q20"


def test_simulate_writes_netcdf(tmp_path):
    out = tmp_path / "se.nc"
    assert main(["simulate", *SE_ARGS, "--step", "0.5", "--method", "fast", "--out", str(out)]) == 0
    ds = xr.load_dataset(out, engine="h5netcdf")
    assert ds["cp"].dims == ("cooling_rate", "T") and ds.attrs["x"] == 0.52


def test_help_explains_units():
    result = run_tnm("simulate", "--help")
    assert result.returncode == 0
    for unit in ("kJ/mol", "K/min", "°C", "seconds"):
        assert unit in result.stdout


@pytest.mark.parametrize("bad", [
    ["--x", "1.5"], ["--beta", "0"], ["--dh", "abc"], ["--step", "0"], ["--step", "-1"],
    ["--t-min", "100", "--t-max", "50"], ["--cooling-rates", "1,x"], ["--cooling-rates", "1,-2"],
    ["--heating-rate", "0"], ["--cycle-min", "30", "--cycle-max", "60"], ["--method", "slow"],
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, bad):
    args = dict(zip(SE_ARGS[::2], SE_ARGS[1::2]))
    args.update(dict(zip(bad[::2], bad[1::2])))
    out = tmp_path / "x.csv"
    flat = [item for pair in args.items() for item in pair]
    result = run_tnm("simulate", *flat, "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_unknown_output_format_is_rejected(tmp_path):
    result = run_tnm("simulate", *SE_ARGS, "--out", str(tmp_path / "x.xlsx"))
    assert result.returncode == 2 and "csv" in result.stderr


def test_failed_run_keeps_an_existing_file(tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("precious\n")
    result = run_tnm("simulate", *SE_ARGS, "--beta", "2", "--out", str(out))
    assert result.returncode == 2 and out.read_text() == "precious\n"
