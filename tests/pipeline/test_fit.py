"""tnm fit on measured-like curves: a CSV in any row order and on any grid, Cp^N or raw Cp; and
bad files or options end in one line and exit code 2, never a traceback."""
import json
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tnmlib.cli import main
from tnmlib.errors import TNMInputError
from tnmlib.physics.transition import simulate_transition_scans
from tnmlib.estimation.measured import Curves, normalize_curves
from tnmlib.pipeline.scans import read_curves_csv
from tnmlib.study.protocol import PAPER_COOLING_RATES_K_PER_MIN

RATES = list(PAPER_COOLING_RATES_K_PER_MIN)
SE = np.array([356e3, -133.0, 0.52, 0.65])


@pytest.fixture(scope="module")
def se():
    scans = simulate_transition_scans(SE[None], n_points=300)
    return scans.T_C(0), scans.cp[0]


def _write(path, T, columns: dict, order=None):
    order = np.arange(T.size) if order is None else order
    header = ",".join(["T_C", *columns])
    rows = [",".join([f"{T[i]:.6f}", *(f"{v[i]:.8g}" for v in columns.values())]) for i in order]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_rows_in_any_order_and_rates_from_the_names(se, tmp_path):
    T, cp = se
    order = np.random.default_rng(0).permutation(T.size)
    path = _write(tmp_path / "se.csv", T, {f"cp_q{q:g}": cp[k] for k, q in enumerate(RATES)}, order)
    curves = read_curves_csv(path)
    np.testing.assert_allclose(curves.T_C, np.round(T, 6))
    np.testing.assert_allclose(curves.values, cp, atol=1e-7)
    assert curves.cooling_rates_K_per_min.tolist() == RATES
    other = _write(tmp_path / "plain.csv", T, {f"scan{k}": cp[k] for k in range(6)})
    assert read_curves_csv(other, RATES).cooling_rates_K_per_min.tolist() == RATES
    with pytest.raises(TNMInputError, match="carry no rates"):
        read_curves_csv(other)
    with pytest.raises(TNMInputError, match="differ from those in the column names"):
        read_curves_csv(path, [1, 2, 3, 4, 5, 6])


def test_normalize_recovers_cp_n_from_raw_cp_or_says_it_may_not(se):
    """The fit's practitioner ranges on Se's scans, cropped to the transition: each scan's Cp^N is
    within 0.02 of the truth, or its guaranteed check says it is not shown to be."""
    T, cp = se
    glass = 0.30 + 0.0010 * T
    liquid = 0.45 + 0.0004 * T
    raw = glass + (liquid - glass) * cp
    curves = Curves(T, raw, np.array(RATES, dtype=float), [f"cp_q{q:g}" for q in RATES])
    normalised = normalize_curves(curves)
    keep = (T >= normalised.T_C[0]) & (T <= normalised.T_C[-1])
    for k, column in enumerate(curves.columns):
        scan = normalised.baselines["per_scan"][column]
        assert scan["glass_range_C"][1] < scan["liquid_range_C"][0]
        error = np.max(np.abs(normalised.values[k] - cp[k, keep]))
        assert error <= 0.02 or scan["normalised_alone"] != "yes", (column, error)


def test_normalize_with_given_ranges_uses_them(se):
    T, cp = se
    glass = 0.30 + 0.0010 * T
    liquid = 0.45 + 0.0004 * T
    curves = Curves(T, glass + (liquid - glass) * cp, np.array(RATES, dtype=float), [f"cp_q{q:g}" for q in RATES])
    normalised = normalize_curves(curves, (T[0], T[0] + 10.0), (T[-1] - 10.0, T[-1]))
    keep = (T >= normalised.T_C[0]) & (T <= normalised.T_C[-1])
    np.testing.assert_allclose(normalised.values, cp[:, keep], atol=5e-3)


def test_tnm_fit_recovers_se_and_writes_json_and_an_offline_plot(se, tmp_path):
    T, cp = se
    path = _write(tmp_path / "se.csv", T, {f"cp_q{q:g}": cp[k] for k, q in enumerate(RATES)})
    out, plot = tmp_path / "fit.json", tmp_path / "fit.html"
    assert main(["fit", str(path), "--out", str(out), "--plot", str(plot)]) == 0
    result = json.loads(out.read_text())
    assert result["dh_kJ_per_mol"] == pytest.approx(356, abs=1) and result["ln_A"] == pytest.approx(-133, abs=0.5)
    assert result["x"] == pytest.approx(0.52, abs=0.005) and result["beta"] == pytest.approx(0.65, abs=0.005)
    for key in ("dh_kJ_per_mol_stderr", "ln_A_stderr", "x_stderr", "beta_stderr", "T_ref_C", "residual_rms",
                "correlation", "method", "tnmlib_version"):
        assert key in result
    assert len(result["correlation"]["matrix"]) == 4
    html = plot.read_text()
    assert "Cp^N" in html and len(html) > 1_000_000            # plotly.js inside the file
    assert '<script src="http' not in html                     # nothing fetched when it opens


# ---- malformed files and options: one line, exit code 2 ------------------------------------
BASE_T = np.linspace(20.0, 60.0, 24)
BASE_CP = np.clip((BASE_T[None, :] - np.array([30, 31, 32, 33, 34, 35])[:, None]) / 5.0, 0, 1)


def _base_rows():
    header = ["T_C"] + [f"cp_q{q:g}" for q in RATES]
    rows = [[f"{t:.3f}"] + [f"{v:.4f}" for v in BASE_CP[:, i]] for i, t in enumerate(BASE_T)]
    return header, rows


def _corrupt(kind, header, rows, draw):
    """Apply one corruption that makes the file or the call invalid: (header, rows, extra args,
    or a whole replacement text)."""
    args, text = [], None
    r = draw(st.integers(0, len(rows) - 1)) if rows else 0
    c = draw(st.integers(1, len(header) - 1)) if len(header) > 1 else 0
    if kind == "no T_C":
        header = ["T"] + header[1:]
    elif kind == "non-numeric" and rows:
        rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(st.sampled_from(["abc", "", "--", "1e", "0x1", "1;2"]))
    elif kind == "nan" and rows and c:
        rows[r][c] = draw(st.sampled_from(["nan", "NaN", "inf", "-inf"]))
    elif kind == "one scan":
        header, rows = header[:2], [row[:2] for row in rows]
    elif kind == "duplicate T" and rows:
        rows.append(list(rows[r]))
    elif kind == "rates mismatch":
        args = ["--cooling-rates", draw(st.sampled_from(["1,2", "0.5,1,2,5,10,30", "1,2,3,4,5,6,7"]))]
    elif kind == "bad rate name" and c:
        header[c] = "cp_q0"
    elif kind == "mixed names" and c:
        header[c] = "scan"
    elif kind == "no transition":
        rows = [[row[0]] + ["0.0"] * (len(row) - 1) for row in rows]
    elif kind == "raw without normalize":
        rows = [[row[0]] + [_shifted(v) for v in row[1:]] for row in rows]
    elif kind == "too few rows":
        rows = rows[:draw(st.integers(0, 5))]
    elif kind == "ragged" and rows:
        rows[r] = rows[r][:-1]
    elif kind == "empty":
        text = ""
    elif kind == "duplicate column" and c:
        header[c] = header[1 if c != 1 else 2] if len(header) > 2 else "T_C"
    elif kind == "garbage":
        text = draw(st.text(string.printable, max_size=200)).replace("T_C", "TC")
    elif kind == "bad option":
        args = draw(st.sampled_from([["--heating-rate", "-1"], ["--heating-rate", "nan"], ["--lag-s", "99"],
                                     ["--glass-range", "0,10"], ["--liquid-range", "5,1"], ["--no-refine", "--fit-lag"],
                                     ["--cooling-rates", "a,b"], ["--model", "/nonexistent.npz"],
                                     ["--normalize", "--glass-range", "50,55", "--liquid-range", "20,25"]]))
    else:  # the corruption needs rows or columns another one removed: make the file empty instead
        text = ""
    return header, rows, args, text


def _shifted(text: str) -> str:
    """A Cp^N cell as raw Cp (2 added); a cell that is not a number stays as it is."""
    try:
        return f"{2.0 + float(text):.4f}"
    except ValueError:
        return text


def _run(argv):
    """The entry point as the console script runs it: argparse errors exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


KINDS = ["no T_C", "non-numeric", "nan", "one scan", "duplicate T", "rates mismatch", "bad rate name", "mixed names",
         "no transition", "raw without normalize", "too few rows", "ragged", "empty", "duplicate column", "garbage",
         "bad option"]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_malformed_files_and_options_end_in_one_line_and_exit_code_2(tmp_path, capsys, data):
    """1,000 generated files and calls, each with one to three faults: missing, repeated or
    misnamed columns, text or NaN in a cell, one scan, repeated temperatures, rates that do not
    match, no transition, raw Cp without --normalize, too few or ragged rows, empty or random
    files, bad options."""
    header, rows = _base_rows()
    kinds = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))
    extra, text = [], None
    for kind in kinds:
        header, rows, args, replacement = _corrupt(kind, header, rows, data.draw)
        extra += args
        text = replacement if replacement is not None else text
    if text is None:
        text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    path = tmp_path / "curves.csv"
    path.write_text(text)
    out = tmp_path / "fit.json"
    code = _run(["fit", str(path), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 2, (kinds, extra, captured.err)
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not out.exists()


def test_refined_lines_recover_a_raw_example(tmp_path):
    """Raw Cp with sloped lines and noise (tnm example --kind raw): fitting the lines with the model
    takes out the practitioner's lines' bias."""
    from tnmlib.pipeline.example import write_example

    path = tmp_path / "se-raw.csv"
    write_example("Se", "raw", path)
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--normalize", "--refine-lines", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["x"] == pytest.approx(0.52, abs=0.01) and result["beta"] == pytest.approx(0.65, abs=0.01)
    assert result["dh_kJ_per_mol"] == pytest.approx(356, abs=5)
    assert set(result["refined_lines"]["per_scan"]) == {f"cp_J_per_gK_q{q:g}" for q in RATES}



def test_the_hold_out_baseline_interpolates_inside_and_takes_the_nearest_scan_outside():
    from tnmlib.pipeline.fit import _determined, _interpolated

    log_q = np.log([10.0, 10.02, 10.05, 1.0])
    values = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [0.0, 0.0]])
    # beyond the fastest rate: the nearest scan, not an extrapolation from two rates 0.3 % apart
    np.testing.assert_allclose(_interpolated(log_q, values, np.log(23.4)), [3.0, 3.0])
    np.testing.assert_allclose(_interpolated(log_q, values, np.log(0.5)), [0.0, 0.0])
    w = (np.log(5.0) - np.log(1.0)) / (np.log(10.0) - np.log(1.0))
    np.testing.assert_allclose(_interpolated(log_q, values, np.log(5.0)), [w, w])
    assert _determined(2.0, 1.0) and not _determined(6.0, 1.0) and not _determined(None, 1.0)
