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


def simulate_program_file(program_path: str | Path, out_path: str | Path, dh_J_per_mol: float, ln_a: float, x: float,
                          beta: float, *, step_K: float) -> xr.Dataset:
    """Follow the program in ``program_path`` (YAML, :func:`tnmlib.physics.program.program_from_document`)
    in the continuous limit and write CSV (.csv: time_s, T_C, Tf_C, segment, cp_n — Cp^N = dTf/dT
    on ramps, empty on holds) or netCDF (.nc).  Returns the Dataset."""
    import numpy as np
    import yaml

    from ..errors import TNMInputError
    from ..physics.program import program_from_document
    from ..physics.simulate import simulate_program

    try:
        document = yaml.safe_load(Path(program_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TNMInputError(f"cannot read the program {program_path}: {str(exc).splitlines()[0]}") from None
    program = program_from_document(document)
    ds = simulate_program(program, dh_J_per_mol, ln_a, x, beta, step=step_K)
    T, tf, segment = ds.T_C.values, ds.Tf_C.values, ds.segment.values
    dT = np.diff(T, prepend=program.start_C)
    with np.errstate(divide="ignore", invalid="ignore"):
        cp_n = np.where(np.abs(dT) > 1e-12, np.diff(tf, prepend=program.start_C) / dT, np.nan)
    ds["cp_n"] = ("step", cp_n, {"long_name": "Cp^N = dTf/dT over the step (ramps only)"})
    out_path = Path(out_path)
    with atomic_output(out_path) as tmp:
        if out_path.suffix.lower() == ".csv":
            table = np.column_stack([ds.time_s.values, T, tf, segment, cp_n])
            np.savetxt(tmp, table, delimiter=",", header="time_s,T_C,Tf_C,segment,cp_n", comments="", fmt="%.10g")
        else:
            ds.to_netcdf(tmp, engine="h5netcdf")
    return ds

