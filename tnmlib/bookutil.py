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


def finish(notebook: Path, profile: str, title: str | None = None) -> None:
    """Prepare an executed notebook for the book: hide parameter cells, note the profile,
    and optionally replace the page title (the first level-1 heading)."""
    import nbformat

    hide_parameters(notebook)
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            lines = cell.source.lstrip().splitlines()
            if title:
                lines[0] = f"# {title}"
            lines.insert(1, f"\n*Built with the `{profile}` profile.*")
            cell.source = "\n".join(lines)
            break
    nbformat.write(nb, notebook)


def timed(log: Path, label: str, command: list[str]) -> int:
    """Run ``command``, append "label,seconds,exit status" to the CSV ``log``; return its status."""
    import subprocess
    import time

    start = time.perf_counter()
    status = subprocess.call(command)
    log.parent.mkdir(parents=True, exist_ok=True)
    new = not log.exists()
    with open(log, "a") as f:
        if new:
            f.write("label,seconds,status\n")
        f.write(f"{label},{time.perf_counter() - start:.1f},{status}\n")
    return status


def check_html(html: Path) -> int:
    """Every page of the book exists and the notebook pages carry Plotly figures (a static
    check for CI; `make check-book` renders them in a browser)."""
    import re

    import yaml

    toc = yaml.safe_load(Path("_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files += [section["file"] for section in chapter.get("sections", [])]
    problems = []
    for name in files:
        page = html / f"{name}.html"
        if not page.is_file():
            problems.append(f"missing page {page}")
            continue
        text = page.read_text()
        if "executed/" in name and not name.endswith(("02_train_C-wlnA1", "05_reproduce")):
            if not re.search(r'class="plotly-graph-div', text):
                problems.append(f"{page}: no Plotly figure")
        if "cdn.plot.ly" in text or "cdn.jsdelivr.net" in text:
            problems.append(f"{page}: loads a script from a CDN")
    for line in problems:
        print(line, file=sys.stderr)
    print(f"check-html: {len(files)} pages, {'all ok' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


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
    fin = sub.add_parser("finish")
    fin.add_argument("notebook", type=Path)
    fin.add_argument("--profile", required=True)
    fin.add_argument("--title", default=None)
    sub.add_parser("copy-plotly").add_argument("target", type=Path)
    sub.add_parser("copy-mathjax").add_argument("target_dir", type=Path)
    sub.add_parser("check-html").add_argument("html", type=Path)
    t = sub.add_parser("timed")
    t.add_argument("--log", type=Path, required=True)
    t.add_argument("--label", required=True)
    t.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "timed":
        return timed(args.log, args.label, [c for c in args.cmd if c != "--"])
    if args.command == "check-html":
        return check_html(args.html)
    if args.command == "hide-parameters":
        hide_parameters(args.notebook)
    elif args.command == "finish":
        finish(args.notebook, args.profile, args.title)
    elif args.command == "copy-plotly":
        copy_plotly(args.target)
    else:
        copy_mathjax(args.target_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def profile_table():
    """The built-in profiles side by side (sizes, grid, epochs) as a DataFrame."""
    import pandas as pd

    from .profile import BUILTIN, load_profile

    rows = []
    for name in BUILTIN:
        p = load_profile(name)
        rows.append({"profile": name, "grid step (K)": p.step_K,
                     "temperatures per scan": int(round((p.t_max_C - p.t_min_C) / p.step_K)) + 1,
                     "samples per box subset": p.sizes["C"], "samples in G": p.sizes["G"],
                     "samples in all 6": sum(p.sizes.values()), "epochs": p.epochs,
                     "batch size": p.batch_size, "description": p.description})
    return pd.DataFrame(rows).set_index("profile")


def build_costs(profile: str, data_dir: str, model_dir: str, results_dir: str) -> dict:
    """Seconds spent on data and training (from the make log), and disk used, for one build."""
    import csv
    import json

    log = Path(results_dir) / f"timings-{profile}.csv"
    seconds = {"data": 0.0, "model": 0.0}
    if log.is_file():
        last = {}
        with open(log) as f:
            for row in csv.DictReader(f):
                last[row["label"]] = float(row["seconds"])  # the latest run of each step
        for label, value in last.items():
            seconds[label.split(":")[0]] = seconds.get(label.split(":")[0], 0.0) + value
    training = 0.0
    for meta in Path(model_dir).glob(f"*-{profile}.json"):
        training += json.loads(meta.read_text()).get("seconds", 0.0)
    data_mb = sum(p.stat().st_size for p in Path(data_dir).glob(f"*-{profile}.h5")) / 1e6
    model_mb = sum(p.stat().st_size for p in Path(model_dir).glob(f"*-{profile}.keras")) / 1e6
    return {"data seconds": seconds["data"], "training seconds": training,
            "model steps seconds (incl. start-up)": seconds["model"], "data MB": data_mb, "models MB": model_mb}
