"""Set-up files agree with each other."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda names of PyPI packages where they differ, and PyPI extras conda splits out
CONDA_NAMES = {"dask[distributed]": ["dask", "distributed"], "jax[cpu]": ["jax[cpu]"]}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("test", "book", "lab", "publish"):
        wanted += project["optional-dependencies"][extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed += [d for d in dep["pip"] if not d.startswith("-e")]
        else:
            listed.append(dep)
    listed_names = {_name(d) for d in listed} - {"python", "pip"}
    wanted_names = set()
    for req in wanted:
        wanted_names.update(CONDA_NAMES.get(_name(req), [_name(req)]))
    assert listed_names == wanted_names


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make book" in head and "make test" in head


def test_a_notebook_started_in_notebooks_resolves_paths_against_the_repository(tmp_path):
    """JupyterLab starts kernels in notebooks/: outputs must still land in the repository's data/."""
    import shutil

    import papermill

    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copy(ROOT / "notebooks" / "00_simulator.ipynb", tmp_path / "notebooks")
    papermill.execute_notebook(str(tmp_path / "notebooks" / "00_simulator.ipynb"), str(tmp_path / "out.ipynb"),
                               parameters={"step_K": 0.5, "scans_out": "data/simulator/se.nc"},
                               cwd=str(tmp_path / "notebooks"), kernel_name="python3", progress_bar=False,
                               stdout_file=None)
    assert (tmp_path / "data" / "simulator" / "se.nc").is_file()
    assert not (tmp_path / "notebooks" / "data").exists()
