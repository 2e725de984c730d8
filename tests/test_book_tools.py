"""The book's tooling: the archive check finds a broken link or asset, and passes a sound book."""
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import book  # noqa: E402


def _book(root: Path, broken: bool) -> Path:
    (root / "_static").mkdir(parents=True)
    (root / "_static" / "style.css").write_text("body { background: url('img/dot.png'); }\n")
    (root / "_static" / "img").mkdir()
    (root / "_static" / "img" / "dot.png").write_bytes(b"png")
    (root / "chapter").mkdir()
    (root / "index.html").write_text('<a href="chapter/page.html#top">next</a><link href="_static/style.css">'
                                     '<a href="https://example.org">out</a><a href="#here">here</a>')
    target = "../_static/missing.js" if broken else "../_static/style.css"
    (root / "chapter" / "page.html").write_text(f'<script src="{target}"></script><a href="../">up</a>')
    return root


def test_a_sound_book_passes_and_a_broken_link_is_named(tmp_path):
    assert book.broken_links(_book(tmp_path / "good", broken=False)) == []
    problems = book.broken_links(_book(tmp_path / "bad", broken=True))
    assert problems == ["chapter/page.html: ../_static/missing.js does not resolve"]


def test_check_archive_unpacks_and_checks(tmp_path):
    root = _book(tmp_path / "html", broken=False)
    archive = tmp_path / "book.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in root.rglob("*"):
            if path.is_file():
                zf.write(path, f"tnm-book-x/{path.relative_to(root).as_posix()}")
    assert book.check_archive(archive) == 0
    (root / "_static" / "img" / "dot.png").unlink()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in root.rglob("*"):
            if path.is_file():
                zf.write(path, f"tnm-book-x/{path.relative_to(root).as_posix()}")
    assert book.check_archive(archive) == 1
