"""NETZSCH Proteus ASCII exports: ``#KEY:value`` header lines (``#EXO``, ``#SAMPLE MASS /mg``,
``#SEG. n:`` segment programs, ``#DECIMAL``, ``#SEPARATOR``), then a column row starting ``##``
(``##Temp./°C;Time/min;DSC/(mW/mg)`` and optionally ``Segment``), then ``;``-separated rows,
usually latin-1.  Without a Segment column, segments are cut where the measured temperature turns.

``#EXO:1`` is read as exothermic effects up (positive), ``#EXO:-1`` as down; since exports are
seen with either convention, the sign is checked against the data: on heating through a glass
transition Cp must rise (:func:`tnmlib.estimation.baselines.scan_baselines` refuses a liquid
line below the glass line and says to check the exotherm direction).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import TNMInputError
from ...estimation.measurement import Measurement
from .common import decimal_mark, number, segment_from_columns, to_celsius, to_minutes, to_watts_per_gram
from .segments import split_by_direction

_UNIT = re.compile(r"^(.*?)/\(?([^()/]*(?:/[^()]*)?)\)?$")


def looks_like_netzsch(text: str) -> bool:
    return re.search(r"^##.*temp", text[:200_000], re.MULTILINE | re.IGNORECASE) is not None and text.lstrip().startswith("#")


def _name_unit(column: str) -> tuple[str, str]:
    column = column.strip().lstrip("#").strip()
    if "/" not in column:
        return column, ""
    name, _, unit = column.partition("/")
    return name.strip(), unit.strip().strip("()")


def read_netzsch(path: Path, text: str) -> Measurement:
    """A NETZSCH Proteus ASCII export (module docstring) as a :class:`Measurement`."""
    header: dict[str, str] = {}
    programs: list[str] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines) and not lines[k].startswith("##"):
        line = lines[k].strip()
        if line.startswith("#") and ":" in line:
            key, _, value = line[1:].partition(":")
            header[key.strip().upper()] = value.strip().strip(";").strip()
            if key.strip().upper().startswith("SEG."):
                programs.append(value.strip())
        k += 1
    if k == len(lines):
        raise TNMInputError(f"{path}: no ## column row")
    separator = {"SEMICOLON": ";", "COMMA": ",", "TAB": "\t"}.get(header.get("SEPARATOR", "").upper(), ";")
    columns = [c for c in lines[k][2:].split(separator)]
    names_units = [_name_unit(c) for c in columns]
    lowered = [n.lower() for n, _ in names_units]

    def find(*prefixes):
        return next((i for i, n in enumerate(lowered) if any(n.startswith(p) for p in prefixes)), None)

    i_T, i_t, i_dsc, i_seg = find("temp"), find("time"), find("dsc", "heat flow"), find("segment")
    if None in (i_T, i_t, i_dsc):
        raise TNMInputError(f"{path}: the ## row needs Temp., Time and DSC columns, got {lines[k][:120]!r}")
    body = [ln for ln in lines[k + 1:] if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise TNMInputError(f"{path}: no data rows after the ## column row")
    declared = {"COMMA": ",", "POINT": "."}.get(header.get("DECIMAL", "").upper())
    decimal = declared or decimal_mark([f for row in body[:200] for f in row.split(separator)], separator)
    table = np.full((len(body), len(columns)), np.nan)
    for r, row in enumerate(body):
        fields = row.split(separator)
        if len(fields) > len(columns) + 1 or len(fields) < 3:
            raise TNMInputError(f"{path}: data row {r + 1} has {len(fields)} fields, the ## row {len(columns)}")
        for c, f in enumerate(fields[:len(columns)]):
            table[r, c] = number(f, decimal, f"{path}: data row {r + 1}")
    mass_key = next((key for key in header if key.startswith("SAMPLE MASS")), None)
    mass_mg = None
    if mass_key:
        mass_mg = number(header[mass_key], "," if "," in header[mass_key] else ".", f"{path}: #{mass_key}")
        mass_mg *= 1000.0 if mass_key.endswith("/G") else 1.0
        if not mass_mg > 0:
            raise TNMInputError(f"{path}: #{mass_key} must be positive")
    where = f"{path}"
    T_C = to_celsius(table[:, i_T], names_units[i_T][1], where)
    time_min = to_minutes(table[:, i_t], names_units[i_t][1], where)
    hf, note = to_watts_per_gram(table[:, i_dsc], names_units[i_dsc][1], mass_mg, where)
    notes = [note] if note else []
    exo = header.get("EXO")
    exotherm = None
    if exo is not None:
        if exo.strip() not in ("1", "-1", "+1"):
            raise TNMInputError(f"{path}: #EXO:{exo[:10]} (expected 1 or -1)")
        exotherm = "up" if exo.strip() in ("1", "+1") else "down"
        if exotherm == "up":
            hf = -hf
            notes.append("#EXO:1 (exothermic up): DSC signal negated so that endothermic is positive")
    else:
        notes.append("no #EXO line: DSC signal taken as endothermic positive")
    if i_seg is not None:
        seg = table[:, i_seg]
        if np.any(~np.isfinite(seg)):
            raise TNMInputError(f"{path}: the Segment column has empty fields")
        cuts = np.nonzero(np.diff(seg) != 0)[0] + 1
        bounds = [0, *cuts.tolist(), len(seg)]
        segments = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            number_ = int(seg[a])
            title = programs[number_ - 1] if 0 < number_ <= len(programs) else ""
            segments.append(segment_from_columns(len(segments) + 1, _title(title), time_min[a:b], T_C[a:b], hf[a:b]))
    else:
        segments = split_by_direction(time_min, T_C, hf)
        notes.append("no Segment column: segments cut where the measured temperature turns")
    return Measurement(str(path), "NETZSCH Proteus ASCII export", header.get("SAMPLE", ""), mass_mg, exotherm,
                       segments, programs, notes)


def _title(program: str) -> str:
    """'-50°C/10.0(K/min)/0°C' -> 'Ramp 10.0 K/min to 0 °C' (the form the history reads);
    anything else as it is."""
    match = re.match(r"\s*([-+0-9.,]+)\s*°?C\s*/\s*([0-9.,]+)\s*\(K/min\)\s*/\s*([-+0-9.,]+)\s*°?C", program)
    if match:
        return f"Ramp {match.group(2)} K/min to {match.group(3)} °C"
    return program
