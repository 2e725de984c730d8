"""Book tooling the Makefile calls (``python tools/book.py COMMAND``): finishing executed notebooks,
the per-profile table of contents and HTML build, a static HTML check, timing of make steps, and
copying plotly.js and MathJax into the book (nothing is loaded from a CDN).  Not part of the
installed package."""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path


#: Output types a reader sees; a glue record (myst-nb's display=False) has only these mime types.
_GLUE_PREFIX = "application/papermill.record/"


def _shows_something(cell) -> bool:
    """Whether a code cell's outputs show the reader a table, a figure, text or an error."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return True
        if output.get("output_type") in ("display_data", "execute_result"):
            if any(not mime.startswith(_GLUE_PREFIX) for mime in output.get("data", {})):
                return True
    return False


def hide_code(notebook: Path) -> None:
    """Readers of the HTML see prose, tables and figures: a code cell that shows nothing (parameters,
    imports, glue) is tagged 'remove-cell'; one that shows a table or figure 'hide-input' (the code
    folded away under a toggle).  The executed notebook keeps every cell."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.setdefault("tags", [])
        parameters = "parameters" in tags or "injected-parameters" in tags
        tag = "hide-input" if _shows_something(cell) and not parameters else "remove-cell"
        if tag not in tags:
            tags.append(tag)
    nbformat.write(nb, notebook)


def finish(notebook: Path, profile: str, model: str | None = None) -> None:
    """Prepare an executed notebook for the book: hide its code (:func:`hide_code`), note the
    profile, and for a training page title it after its model (the study file's title)."""
    import nbformat

    title = None
    if model is not None:
        from tnmlib.study.design import model_spec

        title = f"Training: {model_spec(model).title}"
    hide_code(notebook)
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


def stage_seconds(log: Path) -> dict:
    """Seconds per stage (the label before ':': data, model, page, ...) from a timings CSV, the
    latest run of each label counted once."""
    import csv

    last = {}
    with open(log) as f:
        for row in csv.DictReader(f):
            last[row["label"]] = float(row["seconds"])
    stages: dict = {}
    for label, seconds in last.items():
        stage = label.split(":")[0]
        stages[stage] = stages.get(stage, 0.0) + seconds
    return dict(sorted(stages.items(), key=lambda item: -item[1]))


def toc_path(profile: str) -> Path:
    return Path("_build") / profile / "_toc.yml"


def html_path(profile: str) -> Path:
    return Path("_build") / profile / "html"


def write_toc(profile: str, out: Path) -> None:
    """The table of contents of one profile's book, from the template ``_toc.yml``: ``{profile}``
    filled in, and an entry naming ``{model}`` repeated for each model of the study file."""
    import yaml

    from tnmlib.study.design import MODELS

    def expand(entries):
        result = []
        for entry in entries:
            entry = dict(entry)
            if "sections" in entry:
                entry["sections"] = expand(entry["sections"])
            if "chapters" in entry:
                entry["chapters"] = expand(entry["chapters"])
            if "file" in entry:
                entry["file"] = entry["file"].replace("{profile}", profile)
                if "{model}" in entry["file"]:
                    result += [{**entry, "file": entry["file"].replace("{model}", m)} for m in MODELS]
                    continue
            result.append(entry)
        return result

    toc = yaml.safe_load(Path("_toc.yml").read_text())
    toc["parts"] = expand(toc["parts"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))


def build(profile: str) -> int:
    """Build one profile's HTML into _build/<profile>/html with Jupyter Book's Sphinx set-up."""
    from jupyter_book.sphinx import build_sphinx

    root = Path(".").absolute()
    result = build_sphinx(root, root / html_path(profile), use_external_toc=True, noconfig=True,
                          path_config=str(root / "_config.yml"),
                          confoverrides={"external_toc_path": (root / toc_path(profile)).as_posix(),
                                         "latex_individualpages": False},
                          doctreedir=root / "_build" / profile / ".doctrees", builder="html", quiet=True)
    if result:
        print(f"book: the Sphinx build failed ({result})", file=sys.stderr)
        return 1
    print(f"book: {html_path(profile) / 'index.html'}")
    return 0


def check_html(profile: str) -> int:
    """Every page of the profile's book exists and the notebook pages carry Plotly figures (a static
    check for CI; `make check-book` renders them in a browser)."""
    import re

    import yaml

    html = html_path(profile)
    toc = yaml.safe_load(toc_path(profile).read_text())
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
        if "executed/" in name and not name.endswith("05_reproduce"):
            if not re.search(r'class="plotly-graph-div', text):
                problems.append(f"{page}: no Plotly figure")
        if "cdn.plot.ly" in text or "cdn.jsdelivr.net" in text:
            problems.append(f"{page}: loads a script from a CDN")
    for line in problems:
        print(line, file=sys.stderr)
    print(f"check-html: {len(files)} pages, {'all ok' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


def archive(profile: str, out: Path) -> Path:
    """A self-contained zip of the profile's HTML book (its pages open from disk, no server):
    the folder ``tnm-book-<profile>/`` with every page and asset."""
    import zipfile

    html = html_path(profile)
    if not (html / "index.html").is_file():
        raise SystemExit(f"archive: no book at {html}: run make book PROFILE={profile}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in html.rglob("*") if p.is_file()):
            zf.write(path, f"tnm-book-{profile}/{path.relative_to(html).as_posix()}")
    tmp.replace(out)
    print(f"archive: {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return out


_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#|\{)", re.IGNORECASE)


def broken_links(root: Path) -> list[str]:
    """Every internal href/src of every HTML page under ``root`` that does not resolve to a file
    (a folder resolves to its index.html); external URLs, fragments, mailto and data URLs are
    skipped.  One line per problem."""
    import urllib.parse

    problems = []
    for page in sorted(root.rglob("*.html")):
        text = page.read_text(errors="replace")
        for target in set(_LINK.findall(text)):
            if _EXTERNAL.match(target):
                continue  # external, mailto, data, javascript; a fragment of this page; a template
            path = urllib.parse.unquote(target.split("#", 1)[0].split("?", 1)[0])
            if not path:
                continue
            resolved = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
            if resolved.is_dir():
                resolved = resolved / "index.html"
            if not resolved.exists():
                problems.append(f"{page.relative_to(root)}: {target} does not resolve")
    for sheet in sorted(root.rglob("*.css")):
        for target in set(_CSS_URL.findall(sheet.read_text(errors="replace"))):
            if _EXTERNAL.match(target):
                continue
            if not (sheet.parent / urllib.parse.unquote(target.split("#", 1)[0].split("?", 1)[0])).exists():
                problems.append(f"{sheet.relative_to(root)}: {target} does not resolve")
    return problems


def check_archive(path: Path) -> int:
    """Unpack the archive in a temporary folder and check that every internal link and asset of
    every page resolves, and that no page loads a script from the network."""
    import re
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(path) as zf:
            zf.extractall(tmp)
        roots = [p for p in Path(tmp).iterdir() if p.is_dir()]
        if len(roots) != 1 or not (roots[0] / "index.html").is_file():
            print(f"check-archive: {path} holds no single book folder with an index.html", file=sys.stderr)
            return 1
        root = roots[0]
        problems = broken_links(root)
        pages = list(root.rglob("*.html"))
        for page in pages:
            if re.search(r"<script[^>]+src=[\"']https?://", page.read_text(errors="replace")):
                problems.append(f"{page.relative_to(root)}: loads a script from the network")
    for line in problems[:50]:
        print(line, file=sys.stderr)
    print(f"check-archive: {len(pages)} pages, {'every link and asset resolves' if not problems else f'{len(problems)} problems'}")
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
    parser = argparse.ArgumentParser(prog="python tools/book.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fin = sub.add_parser("finish", help="hide code cells (glue and imports removed, tables and figures kept), note the profile, title a training page")
    fin.add_argument("notebook", type=Path)
    fin.add_argument("--profile", required=True)
    fin.add_argument("--model", default=None)
    toc = sub.add_parser("toc", help="write the table of contents of one profile's book")
    toc.add_argument("--profile", required=True)
    toc.add_argument("--out", type=Path, required=True)
    sub.add_parser("build", help="build _build/<profile>/html").add_argument("--profile", required=True)
    sub.add_parser("check-html", help="static check of a built book").add_argument("--profile", required=True)
    a = sub.add_parser("archive", help="a self-contained zip of a built book")
    a.add_argument("--profile", required=True)
    a.add_argument("--out", type=Path, required=True)
    sub.add_parser("check-archive", help="unpack a book archive and check every link and asset").add_argument("archive", type=Path)
    sub.add_parser("copy-plotly").add_argument("target", type=Path)
    sub.add_parser("copy-mathjax").add_argument("target_dir", type=Path)
    t = sub.add_parser("timed", help="run a command and log its wall time")
    t.add_argument("--log", type=Path, required=True)
    t.add_argument("--label", required=True)
    t.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("timings", help="seconds per stage of a build, largest first").add_argument("log", type=Path)
    args = parser.parse_args(argv)
    if args.command == "timings":
        stages = stage_seconds(args.log)
        for stage, seconds in stages.items():
            print(f"{stage:12s} {seconds:8.1f} s")
        print(f"{'all':12s} {sum(stages.values()):8.1f} s")
        return 0
    if args.command == "timed":
        return timed(args.log, args.label, [c for c in args.cmd if c != "--"])
    if args.command == "check-html":
        return check_html(args.profile)
    if args.command == "archive":
        archive(args.profile, args.out)
        return 0
    if args.command == "check-archive":
        return check_archive(args.archive)
    if args.command == "build":
        return build(args.profile)
    if args.command == "toc":
        write_toc(args.profile, args.out)
    elif args.command == "finish":
        finish(args.notebook, args.profile, args.model)
    elif args.command == "copy-plotly":
        copy_plotly(args.target)
    else:
        copy_mathjax(args.target_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
