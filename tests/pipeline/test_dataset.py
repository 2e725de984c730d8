"""Subset files: schema, resume, determinism, streaming reader, failures."""

import h5py
import numpy as np
import pytest
import xarray as xr

from tnmlib.pipeline import dataset as dsmod
from tnmlib.pipeline.dataset import DatasetSpec, build_dataset
from tnmlib.physics.kernels import STATUS_OK
from tnmlib.study.profile import load_profile
from tnmlib.physics.simulate import simulate_chr_details
from tnmlib.study.statespace import SUBSETS

SMOKE = load_profile("smoke")


def test_schema_and_units(smoke_c):
    ds = xr.open_dataset(smoke_c, engine="h5netcdf")
    assert ds["cp"].dims == ("sample", "cooling_rate", "T") and ds["cp"].dtype == np.float32
    assert ds.sizes["sample"] == SMOKE.sizes["C"] and ds.sizes["T"] == 926
    assert ds["T"].attrs["units"] == "degC" and ds["cooling_rate"].attrs["units"] == "K/min"
    assert ds["dh"].attrs["units"] == "J/mol" and ds["dT_hw"].attrs["units"] == "K"
    for name in ("dh", "ln_A", "x", "beta", "subset", "cp_max", "dT_hw"):
        assert ds[name].dims == ("sample",)
    for key in ("profile", "grid_step_K", "program", "tnmlib_version", "fingerprint"):
        assert key in ds.attrs
    assert ds.attrs["profile"] == "smoke" and set(ds["subset"].values) == {"C"}
    with h5py.File(smoke_c) as f:
        assert f["cp"].compression == "gzip" and f["cp"].chunks is not None


def test_file_matches_direct_simulation(smoke_c):
    ds = xr.open_dataset(smoke_c, engine="h5netcdf")
    k = [0, 77, 224]
    params = np.column_stack([ds[n].values[k] for n in ("dh", "ln_A", "x", "beta")])
    direct = simulate_chr_details(params, step=2.0, dtype=np.float32).cp
    assert np.array_equal(ds["cp"].values[k], direct)


@pytest.mark.parametrize("subset", SUBSETS)
def test_smoke_subsets_are_finite_and_settled(subset):
    s = SMOKE.samples(subset)
    params = np.column_stack([s[n] for n in ("dh", "ln_A", "x", "beta")])
    result = simulate_chr_details(params, step=SMOKE.grid.step_K, dtype=np.float32)
    assert np.all(np.isfinite(result.cp)) and np.all(result.status == STATUS_OK)


def test_complete_file_is_not_recomputed(smoke_c, capsys):
    mtime = smoke_c.stat().st_mtime_ns
    build_dataset("C", SMOKE, smoke_c, progress=True)
    assert smoke_c.stat().st_mtime_ns == mtime
    assert "up to date" in capsys.readouterr().out


def test_resume_redoes_only_missing_parts_and_gives_the_same_file(smoke_c, tmp_path, monkeypatch):
    out = tmp_path / "C.h5"
    spec = DatasetSpec("C", SMOKE)
    parts_dir = tmp_path / "C.h5.parts"
    parts_dir.mkdir()
    bounds = dsmod.chunk_bounds(spec.n_samples, SMOKE.chunk_samples)
    # an interrupted run: part 0 finished, part 1 truncated, a stray temporary file
    dsmod.simulate_part(spec, *bounds[0], parts_dir / "part-00000.h5")
    done_mtime = (parts_dir / "part-00000.h5").stat().st_mtime_ns
    (parts_dir / "part-00001.h5").write_bytes(b"\x89HDF\r\n")
    (parts_dir / ".part-00002.h5.abc.part").write_bytes(b"junk")
    submitted = []
    real = dsmod._run_parts

    def spy(spec_, todo, *args):
        submitted.extend(start for start, _, _ in todo)
        assert (parts_dir / "part-00000.h5").stat().st_mtime_ns == done_mtime
        return real(spec_, todo, *args)

    monkeypatch.setattr(dsmod, "_run_parts", spy)
    build_dataset("C", SMOKE, out, workers=1, progress=False)
    assert 0 not in submitted and bounds[1][0] in submitted
    assert not parts_dir.exists()
    with h5py.File(out) as a, h5py.File(smoke_c) as b:  # determinism: 1 worker vs 2, resumed vs not
        assert np.array_equal(a["cp"][...], b["cp"][...])
        assert a.attrs["fingerprint"] == b.attrs["fingerprint"]


def test_failed_assembly_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    out = tmp_path / "C.h5"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dsmod, "_create", disk_full)
    with pytest.raises(OSError, match="No space"):
        build_dataset("C", SMOKE, out, workers=1, progress=False, limit=10)
    assert not out.exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".C.h5")]


def test_a_dying_worker_gives_a_clear_error_and_no_file(tmp_path):
    from tqdm.auto import tqdm

    from crashing_task import die
    from tnmlib.errors import TNMRunError

    spec = DatasetSpec("C", SMOKE, limit=8)
    part = tmp_path / "part-00000.h5"
    with pytest.raises(TNMRunError, match="worker process died"):
        dsmod._run_parts(spec, [(0, 8, part)], None, 1, False, tqdm, 1, task=die)
    assert not part.exists()


def test_a_dask_cluster_builds_the_same_file(tmp_path, smoke_c):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        out = build_dataset("C", SMOKE, tmp_path / "C.h5", scheduler=cluster.scheduler_address, progress=False)
    with h5py.File(out) as a, h5py.File(smoke_c) as b:
        assert np.array_equal(a["cp"][...], b["cp"][...])


def test_a_sample_off_the_grid_fails_the_build_loudly(tmp_path, monkeypatch):
    from tnmlib.errors import TNMRunError
    from tnmlib.physics.kernels import STATUS_OFF_GRID

    real = dsmod.simulate_part

    def off_grid(spec, start, stop, path):
        stats = real(spec, start, stop, path)
        with h5py.File(path, "r+") as f:
            f["status"][0] = STATUS_OFF_GRID
        return stats

    monkeypatch.setattr(dsmod, "simulate_part", off_grid)
    with pytest.raises(TNMRunError, match="leave the grid"):
        dsmod._check_on_grid([(0, 4, _part(tmp_path, off_grid))], DatasetSpec("C", SMOKE, limit=4))
    assert not (tmp_path / "C.h5").exists()


def _part(tmp_path, task):
    path = tmp_path / "part-00000.h5"
    task(DatasetSpec("C", SMOKE, limit=4), 0, 4, path)
    return path
