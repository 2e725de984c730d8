"""``tnm simulate``: the heating scans of one parameter set, written as CSV or netCDF."""
from __future__ import annotations

import warnings
from pathlib import Path

import xarray as xr

from ..fileutil import atomic_output
from ..physics.simulate import LN_TAU_STEP, WindowWarning, simulate_chr
from .scans import write_scans_csv


def simulate_to_file(out_path: str | Path, dh_J_per_mol: float, ln_a: float, x: float, beta: float, *,
                     ln_tau_step: float | None = None, **options) -> xr.Dataset:
    """Simulate the CHR scans of one parameter set (:func:`tnmlib.physics.simulate.simulate_chr`;
    ``options`` are its keyword arguments) and write them to ``out_path``: .csv (T_C and one
    cp_q<rate> column per cooling rate) or .nc.  Returns the Dataset; its ``status`` attribute is
    not 0 when the signal does not settle inside the grid."""
    out_path = Path(out_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WindowWarning)
        ds = simulate_chr(dh_J_per_mol, ln_a, x, beta, ln_tau_step=LN_TAU_STEP if ln_tau_step is None else ln_tau_step,
                          **options)
    with atomic_output(out_path) as tmp:
        if out_path.suffix.lower() == ".csv":
            write_scans_csv(ds, tmp)
        else:
            ds.to_netcdf(tmp, engine="h5netcdf")
    return ds
