"""The seeded split and the streaming reader that feeds training."""
import h5py
import numpy as np
import pytest

from tnmlib.errors import TNMInputError
from tnmlib.learning.reader import SubsetReader, split_indices


def test_split_is_seeded_disjoint_and_70_15_15():
    s = split_indices(1000, seed=3)
    assert [len(s[k]) for k in ("train", "validation", "test")] == [700, 150, 150]
    assert len(np.unique(np.concatenate(list(s.values())))) == 1000
    assert np.array_equal(split_indices(1000, seed=3)["test"], s["test"])
    assert not np.array_equal(split_indices(1000, seed=4)["test"], s["test"])


@pytest.mark.parametrize("memory_limit_bytes", [2**30, 3 * 32 * 6 * 926 * 4])
def test_reader_yields_every_training_sample_once_per_epoch(smoke_c, memory_limit_bytes):
    """In memory (the whole split) and streaming (a buffer of three 32-sample blocks) alike."""
    reader = SubsetReader(smoke_c, "train", batch_size=16, block_samples=32, memory_limit_bytes=memory_limit_bytes)
    assert reader.in_memory == (memory_limit_bytes == 2**30)
    with h5py.File(smoke_c) as f:
        cp = f["cp"][...]
        params = np.column_stack([f[n][...] for n in ("dh", "ln_A", "x", "beta")])
    orders = []
    for epoch in (0, 1):
        seen = []
        for x, y in reader.batches(epoch):
            assert x.shape[1:] == (6, 926) and x.dtype == np.float32 and y.shape[1] == 4
            rows = [int(np.nonzero((params == yy).all(axis=1))[0][0]) for yy in y]
            assert np.array_equal(x, cp[rows])
            seen += rows
        assert sorted(seen) == sorted(reader.indices.tolist())
        orders.append(seen)
    assert orders[0] != orders[1]  # a fresh permutation each epoch
    assert len(reader) == -(-len(reader.indices) // 16)
    reader.close()


def test_in_memory_batches_are_drawn_from_the_whole_split(smoke_c):
    """The file is ordered by (Δh*, ln A, x, β); a global shuffle gives every batch of 32 many
    (Δh*, ln A) pairs, where reading in file order gives two or three."""
    pairs_per_batch = {}
    for shuffle in (True, False):
        reader = SubsetReader(smoke_c, "train", batch_size=32, shuffle=shuffle)
        counts = [len({(a, b) for a, b in y[:, :2]}) for _, y in reader.batches(0)]
        pairs_per_batch[shuffle] = np.median(counts)
    n_pairs = len({(a, b) for a, b in reader.targets()[:, :2]})
    assert pairs_per_batch[False] <= 3  # about 17 training samples per pair in the smoke file
    assert pairs_per_batch[True] >= 0.5 * min(32, n_pairs)


def test_reader_rejects_incomplete_files(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("cp", data=np.zeros((2, 6, 3), np.float32))
    with pytest.raises(TNMInputError):
        SubsetReader(path)
