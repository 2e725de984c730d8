"""Instrument exports read as delivered: the format is detected from the content.

:func:`read_export` returns a :class:`~tnmlib.estimation.measurement.Measurement` for a vendor
export, or None for the project's own curves CSV (read by :mod:`tnmlib.pipeline.scans`).
Accepted: :data:`ACCEPTED`.
"""
from __future__ import annotations

from pathlib import Path

from ...errors import TNMInputError
from ...estimation.measurement import Measurement
from .common import read_text
from .mettler import looks_like_mettler, read_mettler
from .netzsch import looks_like_netzsch, read_netzsch
from .trios import looks_like_trios_json, looks_like_trios_text, read_trios_json, read_trios_text

#: The formats read, as the one-line error for an unknown file names them.
ACCEPTED = ("TA TRIOS text/CSV export", "TA TRIOS JSON export", "NETZSCH Proteus ASCII export",
            "Mettler-Toledo STARe text export", "the curves CSV (T_C and one column per heating scan)")


def _is_curves_csv(text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    return "T_C" in [f.strip() for f in first.split(",")]


def detect_format(path: Path) -> tuple[str, str]:
    """(kind, text): kind one of "trios-text", "trios-json", "netzsch", "mettler", "curves-csv"."""
    text = read_text(Path(path))
    if looks_like_trios_json(text):
        return "trios-json", text
    if looks_like_trios_text(text):
        return "trios-text", text
    if looks_like_netzsch(text):
        return "netzsch", text
    if looks_like_mettler(text):
        return "mettler", text
    if _is_curves_csv(text):
        return "curves-csv", text
    raise TNMInputError(f"{path}: not a format tnm reads; accepted: {'; '.join(ACCEPTED)}")


def read_export(path: str | Path) -> Measurement | None:
    """The run in a vendor export, or None for a curves CSV.  Raises TNMInputError with one line
    for an unknown or malformed file."""
    path = Path(path)
    kind, text = detect_format(path)
    readers = {"trios-json": read_trios_json, "trios-text": read_trios_text, "netzsch": read_netzsch,
               "mettler": read_mettler}
    if kind == "curves-csv":
        return None
    try:
        return readers[kind](path, text)
    except (ValueError, IndexError, KeyError, TypeError, OverflowError) as exc:
        if isinstance(exc, TNMInputError):
            raise
        raise TNMInputError(f"{path}: malformed {kind} export ({type(exc).__name__}: {str(exc)[:80]})") from None
