"""Content hashes of a profile's artifacts, to prove a refactoring changed no result.

``python tools/hashes.py --data-dir data --eval-dir reports/smoke --profile smoke`` prints one line
per artifact: the SHA-256 (16 hex digits) of the ``cp`` array of every subset file, of the
predictions (``pred_*``) of every evaluation file and of all its numeric variables, and of every
variable but the seconds of the comparison and assessment files (``comparison.nc``, ``wholespace.nc``).  File
attributes (fingerprints, paths, versions) are left out on purpose: they may change while the
numbers may not.
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import h5py
import numpy as np
import xarray as xr


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/hashes.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--eval-dir", type=Path, required=True, help="folder of eval-<model>.nc files")
    parser.add_argument("--profile", required=True)
    args = parser.parse_args(argv)
    for path in sorted(args.data_dir.glob(f"*-{args.profile}.h5")):
        with h5py.File(path, "r") as f:
            print(f"cp          {path.name:24s} {digest(f['cp'][...])}")
    for path in sorted(args.eval_dir.glob("eval-*.nc")):
        ds = xr.load_dataset(path, engine="h5netcdf")
        names = sorted(v for v in ds.data_vars if np.issubdtype(ds[v].dtype, np.number) or ds[v].dtype == bool)
        preds = [n for n in names if n.startswith("pred_")]
        model = path.stem.removeprefix("eval-").removesuffix(f"-{args.profile}")
        print(f"predictions {model:24s} {digest(*(ds[n].values for n in preds))}")
        print(f"evaluation  {model:24s} {digest(*(ds[n].values for n in names))}")
    for name in ("comparison", "wholespace"):  # the comparison of estimators and the assessment
        path = args.eval_dir / f"{name}.nc"
        if path.is_file():
            ds = xr.load_dataset(path, engine="h5netcdf")
            # seconds are wall clock, never equal twice; everything an estimator returned is compared
            names = sorted(v for v in ds.data_vars if v != "seconds"
                           and (np.issubdtype(ds[v].dtype, np.number) or ds[v].dtype == bool))
            print(f"results     {name:24s} {digest(*(ds[n].values for n in names))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
