"""Small helpers the Makefile calls while building the book (python -m tnmlib.bookutil)."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def hide_parameters(notebook: Path) -> None:
    """Tag papermill's parameter cells 'remove-cell' so the book does not show them."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, notebook)


def copy_plotly(target: Path) -> None:
    """Copy plotly.js from the installed plotly package (the book never loads it from a CDN)."""
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def copy_mathjax(target_dir: Path) -> None:
    """Copy MathJax 3 (es5 build) from the django-static-mathjax wheel into the book's _static."""
    import mathjax

    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if target_dir.exists():
        shutil.rmtree(target_dir)
    shutil.copytree(source, target_dir)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tnmlib.bookutil")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hide-parameters").add_argument("notebook", type=Path)
    sub.add_parser("copy-plotly").add_argument("target", type=Path)
    sub.add_parser("copy-mathjax").add_argument("target_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "hide-parameters":
        hide_parameters(args.notebook)
    elif args.command == "copy-plotly":
        copy_plotly(args.target)
    else:
        copy_mathjax(args.target_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
