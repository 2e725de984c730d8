"""Batches for training and evaluation: the seeded train/validation/test split of a subset file and
the streaming reader that feeds the network from it."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..errors import TNMInputError
from ..fileutil import int_attr
from ..study.design import SPLIT_FRACTIONS, SPLIT_SEED
from ..study.parameters import PARAMETER_NAMES


def split_indices(n_samples: int, seed: int = SPLIT_SEED, fractions=SPLIT_FRACTIONS) -> dict[str, np.ndarray]:
    """Seeded shuffled split of sample indices into train/validation/test (sorted within each)."""
    order = np.random.default_rng(seed).permutation(n_samples)
    n_train = int(round(fractions[0] * n_samples))
    n_val = int(round(fractions[1] * n_samples))
    return {"train": np.sort(order[:n_train]), "validation": np.sort(order[n_train:n_train + n_val]),
            "test": np.sort(order[n_train + n_val:])}


class SubsetReader:
    """Streams (signals, parameters) batches of one split from a subset file.

    The file is read block by block (blocks of whole HDF5 chunks, so each read decompresses
    each chunk once); each epoch visits the blocks in a seeded random order and shuffles the
    samples of ``buffer_blocks`` consecutive blocks, so memory stays bounded by
    ``buffer_blocks`` blocks whatever the file size.  Every sample of the split appears exactly
    once per epoch.  signals: float32 (b, n_rates, n_T); parameters: float64 (b, 4) of
    (dh J/mol, ln A, x, beta).
    """

    def __init__(self, path: str | Path, split: str = "train", batch_size: int = 128, *,
                 seed: int = SPLIT_SEED, shuffle: bool = True, buffer_blocks: int = 4, block_samples: int | None = None):
        self.path = Path(path)
        if split not in ("train", "validation", "test", "all"):
            raise TNMInputError(f"split must be train, validation, test or all, got {split!r}")
        with h5py.File(self.path, "r") as f:
            if int_attr(f.attrs.get("complete", 0)) != 1:
                raise TNMInputError(f"{self.path} is not a complete subset file")
            n = f["cp"].shape[0]
            chunk = f["cp"].chunks[0]
            self.params = np.column_stack([f[k][...] for k in PARAMETER_NAMES])
            self.signal_shape = f["cp"].shape[1:]
        self.n_total = n
        self.indices = np.arange(n) if split == "all" else split_indices(n, seed)[split]
        self.batch_size, self.seed, self.shuffle, self.buffer_blocks = batch_size, seed, shuffle, buffer_blocks
        self.block = block_samples or chunk * max(1, 256 // chunk)
        member = np.zeros(n, dtype=bool)
        member[self.indices] = True
        self._members = [np.nonzero(member[s:s + self.block])[0] + s for s in range(0, n, self.block)]
        self._file = None

    def __len__(self) -> int:
        return -(-self.indices.size // self.batch_size)

    def _h5(self):
        if self._file is None:
            self._file = h5py.File(self.path, "r")
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def batches(self, epoch: int = 0):
        """Yield (signals, parameters) for one epoch."""
        rng = np.random.default_rng((self.seed, epoch))
        order = rng.permutation(len(self._members)) if self.shuffle else np.arange(len(self._members))
        cp = self._h5()["cp"]
        pending_x, pending_i = [], []
        for g in range(0, order.size, self.buffer_blocks):
            for b in order[g:g + self.buffer_blocks]:
                members = self._members[b]
                if members.size == 0:
                    continue
                start = b * self.block
                block = cp[start:start + self.block]
                pending_x.append(block[members - start])
                pending_i.append(members)
            x = np.concatenate(pending_x) if pending_x else np.empty((0, *self.signal_shape), np.float32)
            idx = np.concatenate(pending_i) if pending_i else np.empty(0, int)
            if self.shuffle:
                perm = rng.permutation(idx.size)
                x, idx = x[perm], idx[perm]
            last_group = g + self.buffer_blocks >= order.size
            n_full = idx.size if last_group else (idx.size // self.batch_size) * self.batch_size
            for s in range(0, n_full, self.batch_size):
                yield x[s:s + self.batch_size], self.params[idx[s:s + self.batch_size]]
            pending_x, pending_i = [x[n_full:]], [idx[n_full:]]
