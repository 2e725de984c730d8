"""The reconstructed state space, its subsets and the profiles."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from tnmlib.study import statespace as ss
from tnmlib.physics.kernels import STATUS_OK
from tnmlib.study.profile import BUILTIN, check_sizes, load_profile
from tnmlib.physics.simulate import simulate_chr_details


def test_full_grid_size():
    assert ss.full_size() == 13_752_261


@pytest.mark.parametrize("name", ["LU", "RU", "LB", "RB", "C"])
def test_box_subsets_hold_121_pairs_at_paper_scale(name):
    assert len(ss.subset_pairs(name)) == 121
    assert len(ss.subset_samples(name)["dh"]) == 121 * 1681 == 203_401


def test_grid_subset_holds_80_pairs_spread_over_the_space():
    pairs = ss.subset_pairs("G")
    assert len(pairs) == 80 and len(ss.subset_samples("G")["dh"]) == 134_480
    assert pairs[:, 0].min() == 0 and pairs[:, 0].max() == 100
    assert pairs[:, 1].min() == 0 and pairs[:, 1].max() == 80


def test_subset_corners_match_the_paper_layout():
    lu, ru, lb = ss.subset_samples("LU"), ss.subset_samples("RU"), ss.subset_samples("LB")
    assert lu["dh"].max() == 300e3 and lb["dh"].min() == 1100e3
    assert ru["ln_A"].min() > lu["ln_A"].max()  # RU is the high-temperature corner


def test_ln_a_table_obeys_the_limits():
    table = ss.ln_a_table()
    assert table.shape == (101, 3)
    assert np.all(table[:, 1] >= -630.0) and np.all(table[:, 2] <= -18.0)
    assert np.all(table[:, 2] - table[:, 1] > 100.0)
    assert np.all(np.diff(table[:, 2]) < 0)  # higher dh needs a more negative ln A to stay below 1600 °C


@pytest.mark.parametrize("i_dh", [0, pytest.param(50, marks=pytest.mark.slow), pytest.param(100, marks=pytest.mark.slow)])
def test_shipped_table_is_what_the_rule_gives(i_dh):
    """Regenerating a row (from its own bracket, as `python -m tnmlib.study.statespace` does) gives
    the shipped bounds to the bisection's precision, about 0.01 in ln A."""
    dh, lo, hi = ss.ln_a_table()[i_dh]
    assert ss.reconstruct_ln_a_range(dh, guess=(lo, hi)) == pytest.approx((lo, hi), abs=0.02)


def test_the_binding_xb_is_searched_off_the_corners():
    """At the upper bound of Δh* = 200 kJ/mol the window reaching furthest belongs to an (x, β) of
    the grid found by the search, and no (x, β) of a coarse grid reaches further."""
    dh, _, hi = ss.ln_a_table()[0]
    (x, beta), highest = ss._extreme_pair(dh, hi, 1)
    _, uppers = ss.window_edges_C(dh, hi, np.array([(a, b) for a in ss.X_VALUES[::8] for b in ss.BETA_VALUES[::8]]))
    assert highest >= uppers.max() and highest <= ss.PAPER_GRID.t_max_C - ss.MARGIN_K + 1.0


def test_extreme_corners_stay_inside_the_grid():
    """The state-space corners, simulated at every (x, beta) corner, fit -250..1600 °C."""
    rows = []
    for i in (0, 100):
        for j in (0, 80):
            dh, ln_a = ss.DH_J_PER_MOL[i], ss.ln_a_values(i)[j]
            rows += [(dh, ln_a, x, b) for x in (0.2, 0.6, 1.0) for b in (0.2, 0.6, 1.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = simulate_chr_details(np.array(rows), step=0.5)
    assert np.all(result.status == STATUS_OK)
    assert result.window_C.min() >= -250 and result.window_C.max() <= 1600
    assert np.all(np.isfinite(result.cp))


@pytest.mark.parametrize("name", BUILTIN)
def test_profiles_record_their_true_sizes(name):
    profile = load_profile(name)
    assert profile.sizes == check_sizes(profile)


def test_paper_profile_is_the_paper_setting():
    p = load_profile("paper")
    assert (p.grid.step_K, p.grid.n_T, p.epochs, p.batch_size, p.learning_rate) == (0.1, 18501, 200, 128, 0.01)


def test_unknown_profile_is_a_clear_error(tmp_path):
    from tnmlib.errors import TNMInputError

    with pytest.raises(TNMInputError, match="unknown profile"):
        load_profile("huge")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsignal: {}\n")
    with pytest.raises(TNMInputError, match="malformed"):
        load_profile(bad)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("subset", ss.SUBSETS)
def test_thinned_subsets_keep_their_extent(name, subset):
    """A profile thins a subset but never shrinks it: the first and last Δh*, ln A, x and β index
    of the full subset are always in."""
    full, thinned = ss.subset_samples(subset), load_profile(name).samples(subset)
    for key in ("i_dh", "j_ln_a", "k_x", "l_beta"):
        assert thinned[key].min() == full[key].min() and thinned[key].max() == full[key].max(), key


@pytest.mark.parametrize("stride", [1, 2, 3, 4, 5, 7, 10, 50])
def test_thin_keeps_the_ends_and_spreads_evenly(stride):
    values = np.arange(41)
    kept = ss.thin(values, stride)
    assert kept[0] == 0 and kept[-1] == 40
    assert np.all(np.diff(kept) <= stride) and kept.size == -(-40 // stride) + 1


def test_paper_profile_keeps_the_papers_optimiser_and_one_grid():
    p = load_profile("paper")
    assert (p.optimizer, p.momentum, p.output_range, p.subset_grids) == ("sgd", 0.0, "table3", {})
    assert all(p.grid_for(s) == p.grid for s in ss.SUBSETS)


def test_profile_subset_grids_are_validated(tmp_path):
    from tnmlib.errors import TNMInputError

    text = (Path(__file__).parents[2] / "tnmlib/study/profiles/quick.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("subset_signal:\n", "subset_signal:\n  XX: {t_min_C: 0, t_max_C: 10, step_K: 1}\n"))
    with pytest.raises(TNMInputError, match="unknown subsets"):
        load_profile(bad)
    bad.write_text(text.replace("optimizer: adam", "optimizer: rmsprop"))
    with pytest.raises(TNMInputError, match="optimizer"):
        load_profile(bad)


@pytest.mark.parametrize("subset", ["LU", "LB", "C"])
def test_quick_subset_grids_hold_and_resolve_their_corners(subset):
    """The finer windows of the quick profile hold the cycles of the subset's extreme samples
    (box corners in (Δh*, ln A), x and β at their ends) and put >= 5 points across their widths."""
    from tnmlib.physics.descriptors import peak_descriptors, transition_width_K

    profile = load_profile("quick")
    grid = profile.grid_for(subset)
    assert grid != profile.grid
    samples = ss.subset_samples(subset, profile.thinning)
    ends = {name: (samples[name].min(), samples[name].max()) for name in ("i_dh", "j_ln_a", "k_x", "l_beta")}
    pick = np.ones(len(samples["dh"]), dtype=bool)
    for name, (lo, hi) in ends.items():
        pick &= np.isin(samples[name], (lo, hi))
    params = np.column_stack([samples[k][pick] for k in ("dh", "ln_A", "x", "beta")])
    result = simulate_chr_details(params, t_min=grid.t_min_C, t_max=grid.t_max_C, step=grid.step_K)
    assert np.all(result.status == STATUS_OK)
    peak = peak_descriptors(result.cp, grid.T_C)["T_peak_C"]
    width = transition_width_K(params[:, 0], peak)
    assert np.median(width) / grid.step_K >= 5.0
