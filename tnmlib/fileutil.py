"""File helpers: atomic output (write beside the target, rename when complete), HDF5 attributes."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_output(target: str | Path):
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    On any failure the temporary file is removed and an existing ``target`` is untouched.
    The file gets the usual permissions (0666 less the umask), not mkstemp's 0600.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def int_attr(value) -> int:
    """An integer HDF5 attribute (h5netcdf writes scalars as one-element arrays)."""
    return int(np.asarray(value).ravel()[0])


def float_attr(value) -> float:
    """A float HDF5 attribute (h5netcdf writes scalars as one-element arrays)."""
    return float(np.asarray(value).ravel()[0])
