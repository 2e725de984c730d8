"""python -m tnmlib.bench: figures measured, printed before and after side by side, every fit counted."""
import pytest

from tnmlib.bench import bench_fit


def test_the_fit_benchmark_counts_every_fit_and_prints_its_figures(capsys):
    figures = bench_fit(n_samples=4, seed=3, workers=1)
    printed = capsys.readouterr().out
    assert "median" in printed and "±2 se covers the truth" in printed and "fitted lag within 1 s" in printed
    for label, row in figures.items():
        assert sum(row["statuses"].values()) == row["samples"] >= 3
        assert 0 < row["median_s"] <= row["p90_s"]
        for share, low, high in row["coverage_2se"].values():
            assert 0.0 <= low <= share <= high <= 1.0


def test_the_simulator_benchmark_measures_bands_ratio_and_accuracy():
    from tnmlib.bench import CP_MAX_BANDS, measure_simulate

    figures = measure_simulate(n_batch=6, n_accuracy=1, n_direct=1)
    bands = [figures[f"band {low:g}-{high:g}"] for low, high in CP_MAX_BANDS]
    assert sum(b["samples"] for b in bands) == 6
    assert figures["ms_per_sample_per_core"] > 0 and figures["one_thread_ms_per_sample"] > 0
    assert figures["direct_ms_per_sample"] > 10 * figures["fast_same_samples_ms"] > 0
    assert 0 < figures["worst_error"] <= 1e-3


def test_before_and_after_are_printed_side_by_side_with_their_speed_up(capsys):
    from tnmlib.bench import CP_MAX_BANDS, print_simulate

    def figures(ms):
        bands = {f"band {low:g}-{high:g}": {"samples": 1, "seconds": ms / 1e3, "ms_per_sample": ms}
                 for low, high in CP_MAX_BANDS}
        return {"threads": 2, "samples": 4, "ms_per_sample_per_core": ms, "one_thread_ms_per_sample": ms,
                "worst_error": 1e-4, "median_error": 1e-5, "accuracy_samples": 1, **bands}

    before, after = figures(8.0), figures(2.0)
    before.update(direct_ms_per_sample=1000.0, fast_same_samples_ms=4.0)
    print_simulate(after, before, "abc1234")
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "ms per sample per core" in row)
    assert line.split()[-3:] == ["8.00", "2.00", "4.00x"]
    assert "before (abc1234)" in out and "speed-up" in out
    # the direct sum measured once, each side's ratio from its own cost
    ratio = next(row for row in out.splitlines() if "direct / fast batched per core" in row)
    assert ratio.split()[-2:] == ["125x", "500x"]


def test_a_before_that_cannot_be_had_leaves_only_the_after_column(capsys):
    from tnmlib.bench import _measure_before

    assert _measure_before("simulate", "no-such-commit-0000", ["--batch", "2"]) is None
    assert "no 'before' column" in capsys.readouterr().out


@pytest.mark.slow
def test_the_before_column_is_measured_on_the_commit_before_the_speed_work(capsys):
    """The whole comparison: the old tree in a fresh process (its kernels compile), this tree here."""
    from tnmlib.bench import BEFORE_COMMIT, bench_simulate

    figures = bench_simulate(n_batch=4, before=BEFORE_COMMIT)
    assert figures["before"]["samples"] == figures["after"]["samples"] == 4
    assert figures["before"]["ms_per_sample_per_core"] > 0
    assert f"before ({BEFORE_COMMIT})" in capsys.readouterr().out
