"""Batches for training and evaluation: the seeded train/validation/test split of a subset file and
the reader that feeds the network from it."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..errors import TNMInputError
from ..fileutil import int_attr
from ..study.design import SPLIT_FRACTIONS, SPLIT_SEED
from ..study.parameters import PARAMETER_NAMES

#: Splits up to this size are held in memory, so every batch is drawn from the whole split.
MEMORY_LIMIT_BYTES = 4 * 2**30


def split_indices(n_samples: int, seed: int = SPLIT_SEED, fractions=SPLIT_FRACTIONS) -> dict[str, np.ndarray]:
    """Seeded shuffled split of sample indices into train/validation/test (sorted within each)."""
    order = np.random.default_rng(seed).permutation(n_samples)
    n_train = int(round(fractions[0] * n_samples))
    n_val = int(round(fractions[1] * n_samples))
    return {"train": np.sort(order[:n_train]), "validation": np.sort(order[n_train:n_train + n_val]),
            "test": np.sort(order[n_train + n_val:])}


class SubsetReader:
    """(signals, parameters) batches of one split of a subset file, shuffled over the whole split.

    Subset files are ordered by (Δh*, ln A, x, β), so a reader that mixes only neighbouring
    samples feeds each batch a handful of (Δh*, ln A) pairs.  Here every epoch is a fresh
    seeded permutation of the whole split:

    - a split of at most ``memory_limit_bytes`` is read once, block by block (whole HDF5 chunks,
      each decompressed once), and held in memory; each batch is then drawn from all of it;
    - a larger split (the paper's scale) is read each epoch in a seeded random order of blocks
      through a buffer of ``memory_limit_bytes``, so a batch mixes the samples of as many blocks
      as the buffer holds (4 GiB: about 9,000 samples on the 0.1 K grid, a uniform draw of
      blocks from the whole split).

    Every sample of the split appears exactly once per epoch.  signals: float32
    (b, n_rates, n_T); parameters: float64 (b, 4) of (dh J/mol, ln A, x, beta).
    """

    def __init__(self, path: str | Path, split: str = "train", batch_size: int = 128, *,
                 seed: int = SPLIT_SEED, shuffle: bool = True, memory_limit_bytes: int = MEMORY_LIMIT_BYTES,
                 block_samples: int | None = None):
        self.path = Path(path)
        if split not in ("train", "validation", "test", "all"):
            raise TNMInputError(f"split must be train, validation, test or all, got {split!r}")
        try:
            with h5py.File(self.path, "r") as f:
                if int_attr(f.attrs.get("complete", 0)) != 1:
                    raise TNMInputError(f"{self.path} is not a complete subset file")
                n = f["cp"].shape[0]
                chunk = f["cp"].chunks[0] if f["cp"].chunks else 256
                self.params = np.column_stack([f[k][...] for k in PARAMETER_NAMES])
                self.signal_shape = f["cp"].shape[1:]
        except (OSError, KeyError) as exc:
            raise TNMInputError(f"cannot read subset file {self.path}: {exc}") from None
        self.n_total = n
        self.indices = np.arange(n) if split == "all" else split_indices(n, seed)[split]
        self.batch_size, self.seed, self.shuffle = batch_size, seed, shuffle
        self.block = block_samples or chunk * max(1, 256 // chunk)
        self.sample_bytes = 4 * int(np.prod(self.signal_shape))
        self.in_memory = self.indices.size * self.sample_bytes <= memory_limit_bytes
        self.buffer_blocks = max(1, memory_limit_bytes // (self.block * self.sample_bytes))
        member = np.zeros(n, dtype=bool)
        member[self.indices] = True
        self._members = [np.nonzero(member[s:s + self.block])[0] + s for s in range(0, n, self.block)]
        self._file = None
        self._signals = None  # the whole split (in-memory mode), rows in the order of self.indices

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

    def _read_blocks(self, blocks) -> tuple[np.ndarray, np.ndarray]:
        """Signals and sample indices of the split's members in ``blocks`` (one read per block)."""
        cp = self._h5()["cp"]
        xs, idx = [], []
        for b in blocks:
            members = self._members[b]
            if members.size:
                start = b * self.block
                xs.append(cp[start:start + self.block][members - start])
                idx.append(members)
        if not xs:
            return np.empty((0, *self.signal_shape), np.float32), np.empty(0, int)
        return np.concatenate(xs), np.concatenate(idx)

    def batches(self, epoch: int = 0):
        """Yield (signals, parameters) for one epoch (a seeded permutation of the split)."""
        rng = np.random.default_rng((self.seed, epoch))
        if self.in_memory:
            if self._signals is None:
                self._signals, _ = self._read_blocks(range(len(self._members)))
                self.close()
            order = rng.permutation(self.indices.size) if self.shuffle else np.arange(self.indices.size)
            for s in range(0, order.size, self.batch_size):
                rows = order[s:s + self.batch_size]
                yield self._signals[rows], self.params[self.indices[rows]]
            return
        blocks = rng.permutation(len(self._members)) if self.shuffle else np.arange(len(self._members))
        carry_x, carry_i = np.empty((0, *self.signal_shape), np.float32), np.empty(0, int)
        for g in range(0, blocks.size, self.buffer_blocks):
            x, idx = self._read_blocks(blocks[g:g + self.buffer_blocks])
            x, idx = np.concatenate([carry_x, x]), np.concatenate([carry_i, idx])
            if self.shuffle:
                perm = rng.permutation(idx.size)
                x, idx = x[perm], idx[perm]
            last_group = g + self.buffer_blocks >= blocks.size
            n_full = idx.size if last_group else (idx.size // self.batch_size) * self.batch_size
            for s in range(0, n_full, self.batch_size):
                yield x[s:s + self.batch_size], self.params[idx[s:s + self.batch_size]]
            carry_x, carry_i = x[n_full:], idx[n_full:]

    def targets(self) -> np.ndarray:
        """Parameters (n, 4) of the split, physical units, in the order of ``indices``."""
        return self.params[self.indices]
