"""python -m tnmlib.bench fit: figures printed and returned, every fit counted."""
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
