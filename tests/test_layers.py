"""The package's layers import only downward (README, "What is here")."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tnmlib"
#: Layer of each top-level module or subpackage; a module may import its own layer and lower ones.
LAYERS = {"errors": 0, "fileutil": 0, "fingerprint": 0, "project": 0, "version": 0, "physics": 1, "instrument": 1, "study": 2, "classical": 2, "estimator": 2, "learning": 3,
          "analysis": 4, "pipeline": 5, "plots": 6, "cli": 7, "bench": 7, "__init__": 7}
#: Third-party packages a layer must not use (physics: no learning, no files).
FORBIDDEN = {"physics": {"keras", "jax", "h5py", "h5netcdf", "dask"},
             "instrument": {"keras", "jax", "h5py", "h5netcdf", "dask"},
             "classical": {"keras", "jax", "h5py", "h5netcdf", "dask"}, "study": {"keras", "jax"},
             "estimator": {"keras", "jax", "h5py", "h5netcdf", "dask"},
             "analysis": {"keras", "jax", "h5py", "h5netcdf"}}


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path):
    """(absolute tnmlib module, third-party top-level name) of every import in a file."""
    relative_to = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = relative_to[:-1] if path.name != "__init__.py" else relative_to[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ((node.module,) if node.module else ()))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                yield from ((n, None) for n in names)
            elif node.module.split(".")[0] == "tnmlib":
                yield node.module, None
            else:
                yield None, node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                yield (alias.name, None) if top == "tnmlib" else (None, top)


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path):
    own = _layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    for module, third_party in _imports(path):
        if module is not None:
            other = _layer_of(module)
            assert LAYERS[other] <= LAYERS[own], f"{path.name} ({own}) imports {module} ({other}), a higher layer"
        elif third_party in FORBIDDEN.get(own, ()):
            pytest.fail(f"{path.name} ({own}) imports {third_party}")


def test_every_top_level_module_has_a_layer():
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert names <= set(LAYERS), f"no layer for {names - set(LAYERS)}"
