"""The package's layers import only downward (README, "What is here")."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tnmlib"
#: The layers from the bottom up, each its own rank: a module may import modules of its own layer
#: and of layers below it.  A layer is a top-level module or subpackage, or a module named on its
#: own (study.protocol: the paper's protocol as plain numbers, which the simulator's defaults read).
#: The foundation modules import nothing from tnmlib (test_foundation_imports_nothing_of_tnmlib).
ORDER = ["errors", "version", "fileutil", "fingerprint", "project",
         "study.protocol", "physics", "study", "estimation", "learning", "analysis", "pipeline", "plots", "explore", "bench",
         "cli", "__init__"]
LAYERS = {name: rank for rank, name in enumerate(ORDER)}
FOUNDATION = ("errors", "version", "fileutil", "fingerprint", "project")
#: Third-party packages a layer must not use (physics and estimation: no learning, no files).
NO_LEARNING_NO_FILES = {"keras", "jax", "h5py", "h5netcdf", "dask"}
FORBIDDEN = {"physics": NO_LEARNING_NO_FILES, "estimation": NO_LEARNING_NO_FILES, "study": {"keras", "jax"},
             "study.protocol": NO_LEARNING_NO_FILES | {"numpy", "yaml"},
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
    """The layer of a dotted tnmlib module name: its longest prefix named in ORDER."""
    parts = module.split(".")[1:] or ["__init__"]
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return ".".join(parts[:n])
    raise AssertionError(f"{module} has no layer: add it to ORDER in tests/test_layers.py")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path):
    own = _layer_of(_module_name(path))
    for module, third_party in _imports(path):
        if module is not None:
            other = _layer_of(module)
            assert LAYERS[other] <= LAYERS[own], f"{path.name} ({own}) imports {module} ({other}), a higher layer"
        elif third_party in FORBIDDEN.get(own, ()):
            pytest.fail(f"{path.name} ({own}) imports {third_party}")


def test_every_module_has_a_layer():
    for path in _modules():
        _layer_of(_module_name(path))  # raises for a module no layer names


def test_foundation_imports_nothing_of_tnmlib():
    for name in FOUNDATION:
        path = PACKAGE / f"{name}.py"
        assert not [m for m, _ in _imports(path) if m is not None], f"{name}.py imports from tnmlib"


def test_the_protocol_imports_nothing_of_tnmlib():
    assert not [m for m, _ in _imports(PACKAGE / "study" / "protocol.py") if m is not None]


def test_a_higher_layer_is_refused():
    """The check itself: estimation importing learning, or physics importing study.design, is upward."""
    assert LAYERS[_layer_of("tnmlib.learning.train")] > LAYERS[_layer_of("tnmlib.estimation.network")]
    assert LAYERS[_layer_of("tnmlib.study.design")] > LAYERS[_layer_of("tnmlib.physics.simulate")]
    assert LAYERS[_layer_of("tnmlib.study.protocol")] < LAYERS[_layer_of("tnmlib.physics.simulate")]
