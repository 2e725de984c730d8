"""tnm simulate --program: a program written by hand or by tnm read --program-out, followed in the
continuous limit."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from tnmlib.cli import main
from tnmlib.errors import TNMInputError
from tnmlib.physics.program import Hold, Ramp, program_from_document

EXPORT = Path(__file__).parent.parent / "data" / "exports" / "synthetic_otp_trios.txt"


def test_both_layouts_become_programs():
    hand = program_from_document({"start_C": 80, "segments": [{"ramp": {"to_C": 20, "rate_K_per_min": 10}},
                                                              {"hold": {"duration_h": 2}}]})
    assert hand.start_C == 80 and hand.segments == (Ramp(20.0, 10.0), Hold(7200.0))
    read = program_from_document({"steps": [
        {"kind": "ramp", "T_start_C": 5.0, "T_end_C": -30.0, "rate_K_per_min": -22.0, "duration_min": 1.6},
        {"kind": "hold", "T_start_C": -30.0, "T_end_C": -30.0, "rate_K_per_min": 0.0, "duration_min": 1.0}]})
    assert read.start_C == 5.0 and read.segments[0].rate_K_per_min == 22.0 and read.segments[1].duration_s == 60.0
    for bad in ({"start_C": 80}, {"start_C": 80, "segments": [{"soak": {}}]}, {"steps": []}, [1, 2],
                {"start_C": 80, "segments": [{"hold": {"minutes": 3}}]}):
        with pytest.raises(TNMInputError):
            program_from_document(bad)


def test_tnm_simulate_follows_the_history_tnm_read_wrote(tmp_path, capsys):
    program, out = tmp_path / "program.yaml", tmp_path / "tf.csv"
    assert main(["read", str(EXPORT), "--program-out", str(program)]) == 0
    assert main(["simulate", "--dh", "363", "--ln-a", "-174", "--x", "0.48", "--beta", "0.74",
                 "--program", str(program), "--step", "0.5", "--out", str(out)]) == 0
    table = np.genfromtxt(out, delimiter=",", names=True)
    steps = yaml.safe_load(program.read_text())["steps"]
    assert int(table["segment"].max()) + 1 == len([s for s in steps if s["kind"] == "hold" or s["T_end_C"] != s["T_start_C"]])
    heating = np.isfinite(table["cp_n"]) & (np.gradient(table["T_C"]) > 0)
    assert np.nanmax(table["cp_n"][heating]) > 1.0  # overshoots on heating after the coolings
    assert np.all(np.abs(table["Tf_C"][-5:] - table["T_C"][-5:]) < 0.1)  # the liquid at the end


def test_a_bad_program_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("start_C: [\n")
    assert main(["simulate", "--dh", "363", "--ln-a", "-174", "--x", "0.48", "--beta", "0.74",
                 "--program", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the program" in err and not (tmp_path / "x.csv").exists()
