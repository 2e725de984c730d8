"""The history a sample followed, from its measured temperature: achieved rates, gaps bridged by
the programmed step, heating scans paired with the cooling before them, Cp with the start-up
left out."""
import numpy as np
import pytest

from tnmlib.pipeline.exports.write import MAX_ACHIEVED_K_PER_MIN, synthetic_run
from tnmlib.errors import TNMInputError
from tnmlib.estimation.measurement import (Measurement, Segment, achieved_rate, heating_scan_cp,
                                           program_document, segment_kind, thermal_history)
from tnmlib.estimation.runs import prepare_run


@pytest.fixture(scope="module")
def run():
    segments = [Segment(k + 1, s.title, s.time_min, s.T_C, s.heat_flow_W_per_g, s.cp_J_per_gK)
                for k, s in enumerate(synthetic_run(heating_step_K=1.0))]
    return Measurement("synthetic", "test", "OTP-like", 5.0, "down", segments)


def test_kinds_and_rates_come_from_the_measured_temperature(run):
    kinds = [segment_kind(s) for s in run.segments]
    assert kinds == ["heating", "cooling", "heating", "cooling", "heating", "cooling", "heating", "cooling", "heating"]
    fast = run.segments[3]
    assert fast.nominal["rate_K_per_min"] == 40.0
    assert achieved_rate(fast) == pytest.approx(-MAX_ACHIEVED_K_PER_MIN, rel=1e-6)


def test_gaps_are_bridged_by_the_programmed_step_and_time_adds_up(run):
    steps, summaries = thermal_history(run)
    assert steps[0].source == "measured"
    bridged = [s for s in steps if s.source.startswith("bridged")]
    assert bridged, "the holds with data off must appear"
    # after the fast cooling (data end at about -32 °C), the sample goes on to the programmed -65 °C
    after_fast = [s for s in steps if s.kind == "ramp" and s.source.startswith("bridged: programmed")]
    assert any(abs(s.T_end_C + 65.0) < 1e-9 and s.rate_K_per_min == pytest.approx(-22.0) for s in after_fast)
    total = sum(s.duration_min for s in steps)
    first, last = run.segments[0], run.segments[-1]
    assert total == pytest.approx(last.time_min[-1] - first.time_min[0], abs=1e-6)
    for a, b in zip(steps[:-1], steps[1:]):
        assert b.T_start_C == pytest.approx(a.T_end_C, abs=0.5)  # the program is continuous


def test_each_heating_scan_is_paired_with_the_cooling_before_it(run):
    prepared = prepare_run(run)
    cooled = {s.index: s.cooled_at_K_per_min for s in prepared.summaries if s.kind == "heating"}
    assert cooled[1] is None  # the first heat: history unknown
    assert [round(cooled[k], 2) for k in (3, 5, 7, 9)] == [10.0, 22.0, 5.0, 1.0]
    assert prepared.chosen == [3, 5, 7, 9]
    doc = program_document(run, prepared.steps, prepared.summaries)
    assert [h["segment"] for h in doc["heating_scans"]] == [1, 3, 5, 7, 9]


def test_the_start_up_is_left_out_and_cp_comes_from_the_trustworthy_source(run):
    scan = run.segments[2]
    T, cp, info = heating_scan_cp(scan, settling_s=20.0)
    assert info["startup_end_C"] > scan.T_C[0] + 4.0  # the first 0.4 min build up the heat flow
    assert info["cp_source"] == "heat-capacity column"
    assert np.all(cp > 0.5)
    broken = Segment(scan.index, scan.title, scan.time_min, scan.T_C, scan.heat_flow_W_per_g,
                     np.where(scan.T_C > -20, np.nan, scan.cp_J_per_gK))
    _, cp2, info2 = heating_scan_cp(broken, settling_s=20.0)
    assert info2["cp_source"] == "heat flow / measured heating rate"
    np.testing.assert_allclose(cp2, cp, rtol=1e-3)  # heat flow / rate is the same Cp here


def test_a_cooling_segment_is_not_a_heating_scan(run):
    with pytest.raises(TNMInputError, match="not a heating scan"):
        heating_scan_cp(run.segments[1])


def test_a_run_without_heating_or_history_says_so():
    cooling = Segment(1, "Ramp 10 °C/min to -50 °C", np.linspace(0, 5, 50), np.linspace(0, -50, 50), np.zeros(50))
    with pytest.raises(TNMInputError, match="no heating scan"):
        prepare_run(Measurement("x", "test", "", None, None, [cooling]))
