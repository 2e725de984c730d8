"""What every export reader shares: decoding the bytes, numbers with either decimal mark, and the
units of time, temperature, heat flow and heat capacity."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ...errors import TNMInputError
from ...estimation.measurement import Segment

#: Largest export read (bytes): a DSC run is megabytes, not gigabytes.
MAX_EXPORT_BYTES = 200_000_000


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, else latin-1 (Windows
    exports); a file with NUL bytes and no UTF-16 BOM is binary and refused."""
    try:
        size = path.stat().st_size
        if size > MAX_EXPORT_BYTES:
            raise TNMInputError(f"{path}: larger than {MAX_EXPORT_BYTES // 1_000_000} MB; is it a DSC export?")
        data = path.read_bytes()
    except OSError as exc:
        raise TNMInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise TNMInputError(f"{path}: the file is empty")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise TNMInputError(f"{path}: declares UTF-16 but is not valid UTF-16") from None
    if b"\x00" in data:
        raise TNMInputError(f"{path}: a binary file, not a text export")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")


def number(text: str, decimal: str, where: str) -> float:
    """A finite number written with ``decimal`` as its decimal mark; NaN for an empty field."""
    text = text.strip()
    if not text:
        return math.nan
    if not _NUMBER.match(text) or (decimal == "." and "," in text) or (decimal == "," and "." in text):
        raise TNMInputError(f"{where}: {text[:30]!r} is not a number with {decimal!r} as decimal mark")
    value = float(text.replace(",", "."))
    if not math.isfinite(value):
        raise TNMInputError(f"{where}: {text[:30]!r} is not a finite number")
    return value


def decimal_mark(fields: list[str], separator: str) -> str:
    """The decimal mark of a table's numbers: "," only where the separator is not a comma and
    some number has a comma and none a point (a table with both is refused by :func:`number`)."""
    if separator == ",":
        return "."
    has_comma = any("," in f for f in fields)
    has_point = any(re.search(r"\d\.\d|^\.\d|\d\.$", f.strip()) for f in fields)
    return "," if has_comma and not has_point else "."


def to_minutes(values: np.ndarray, unit: str, where: str) -> np.ndarray:
    unit = unit.strip().lower()
    if unit in ("min", "minute", "minutes"):
        return values
    if unit in ("s", "sec", "second", "seconds"):
        return values / 60.0
    if unit in ("h", "hr", "hour", "hours"):
        return values * 60.0
    raise TNMInputError(f"{where}: time unit {unit!r} (expected min, s or h)")


def to_celsius(values: np.ndarray, unit: str, where: str) -> np.ndarray:
    unit = unit.strip().replace("°", "").replace("deg", "").strip()
    if unit in ("C", "c"):
        return values
    if unit in ("K", "k"):
        return values - 273.15
    raise TNMInputError(f"{where}: temperature unit {unit!r} (expected °C or K)")


def _compact(unit: str) -> str:
    return (unit.replace(" ", "").replace("·", ".").replace("*", ".").replace("(", "").replace(")", "")
            .replace("°C", "K").replace("°", "").replace("µ", "u").replace("μ", "u").lower())


def to_watts_per_gram(values: np.ndarray, unit: str, mass_mg: float | None, where: str) -> tuple[np.ndarray, str]:
    """Heat flow in W/g, and a note of the conversion.  W/g and mW/mg pass; mW, W and µW need the
    sample mass."""
    u = _compact(unit)
    per_mass = {"w/g": 1.0, "mw/mg": 1.0, "mw/g": 1e-3, "w/kg": 1e-3}
    if u in per_mass:
        return values * per_mass[u], ""
    absolute = {"mw": 1e-3, "w": 1.0, "uw": 1e-6}
    if u in absolute:
        if mass_mg is None or not (mass_mg > 0):
            raise TNMInputError(f"{where}: heat flow in {unit} needs the sample mass, and the export gives none")
        return values * absolute[u] / (mass_mg * 1e-3), f"heat flow {unit} divided by the sample mass {mass_mg:g} mg"
    raise TNMInputError(f"{where}: heat-flow unit {unit!r} (expected W/g, mW/mg, mW or W)")


def to_joules_per_gram_kelvin(values: np.ndarray, unit: str, mass_mg: float | None, where: str) -> np.ndarray | None:
    """A heat-capacity column in J/(g·K); None (column not used) for a unit it cannot convert."""
    u = _compact(unit)
    if u in ("j/g.k", "j/g/k", "j/gk", "j/kg.k", "j/kg/k"):
        return values * (1e-3 if "kg" in u else 1.0)
    if u in ("j/k", "mj/k") and mass_mg and mass_mg > 0:
        return values * (1e-3 if u.startswith("mj") else 1.0) / (mass_mg * 1e-3)
    return None


def segment_from_columns(index: int, title: str, time_min, T_C, heat_flow_W_per_g, cp_J_per_gK=None) -> Segment:
    """A :class:`Segment` from equal-length columns (converted to float arrays)."""
    as_array = [np.asarray(v, dtype=float) for v in (time_min, T_C, heat_flow_W_per_g)]
    cp = None if cp_J_per_gK is None else np.asarray(cp_J_per_gK, dtype=float)
    return Segment(index, title, *as_array, cp)
