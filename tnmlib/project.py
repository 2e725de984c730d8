"""The repository a notebook belongs to: relative paths in the notebooks resolve against its root,
whether the kernel starts there (papermill, make) or in ``notebooks/`` (JupyterLab)."""
from __future__ import annotations

import os
from pathlib import Path


def project_root(start: str | Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: the working directory) that holds both
    ``pyproject.toml`` and ``notebooks/``; None if there is none."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def use_project_root() -> None:
    """Change the working directory to the project root, if there is one above it (a notebook's
    last line: returns nothing, so the page shows no output)."""
    root = project_root()
    if root is not None:
        os.chdir(root)
