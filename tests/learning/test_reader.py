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


def test_reader_yields_every_training_sample_once_per_epoch(smoke_c):
    reader = SubsetReader(smoke_c, "train", batch_size=16, block_samples=32, buffer_blocks=2)
    seen = []
    with h5py.File(smoke_c) as f:
        cp = f["cp"][...]
        params = np.column_stack([f[n][...] for n in ("dh", "ln_A", "x", "beta")])
    for epoch in (0, 1):
        seen = []
        for x, y in reader.batches(epoch):
            assert x.shape[1:] == (6, 926) and x.dtype == np.float32 and y.shape[1] == 4
            rows = [int(np.nonzero((params == yy).all(axis=1))[0][0]) for yy in y]
            assert np.array_equal(x, cp[rows])
            seen += rows
        assert sorted(seen) == sorted(reader.indices.tolist())
    assert len(reader) == -(-len(reader.indices) // 16)
    reader.close()


def test_reader_rejects_incomplete_files(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("cp", data=np.zeros((2, 6, 3), np.float32))
    with pytest.raises(TNMInputError):
        SubsetReader(path)
