"""Mettler-Toledo STARe text exports ("Export → other format", reconstructed from vendor
documentation; no public example could be found): a ``Curve Name:`` block, a ``Curve Values:``
block whose column row is ``Index t Ts Tr Value`` and unit row ``[s] [°C] [°C] [mW]`` (or
``[Wg^-1]``), whitespace-separated rows, and ``Sample:`` (``name, 5.2130 mg``) and ``Method:``
blocks.  STARe draws exothermic effects up by default, so the Value column is negated unless the
header says ``endo up``; the data check in the normaliser catches the other case.  Segments are
cut where the program temperature Tr turns.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import TNMInputError
from ...estimation.measurement import Measurement
from .common import number, to_celsius, to_minutes, to_watts_per_gram
from .segments import split_by_direction

_MASS = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s*(mg|g)\b", re.IGNORECASE)


def looks_like_mettler(text: str) -> bool:
    head = text[:200_000]
    return "Curve Values" in head or re.search(r"^\s*Index\s+t\s+Ts\s+Tr\s+Value", head, re.MULTILINE) is not None


def read_mettler(path: Path, text: str) -> Measurement:
    """A STARe text export (module docstring) as a :class:`Measurement`."""
    lines = text.splitlines()
    k = next((i for i, ln in enumerate(lines) if re.match(r"^\s*Index\s+t\s+Ts", ln)), None)
    if k is None or k + 1 >= len(lines):
        raise TNMInputError(f"{path}: no 'Index t Ts Tr Value' column row")
    names = lines[k].split()
    units = re.findall(r"\[([^\]]*)\]", lines[k + 1])
    if len(units) != len(names) - 1:
        raise TNMInputError(f"{path}: the unit row has {len(units)} units for {len(names) - 1} columns")
    rows = []
    for r, line in enumerate(lines[k + 2:], start=k + 3):
        fields = line.split()
        if not fields:
            if rows:
                break
            continue
        if not re.match(r"^[-+]?\d", fields[0]):
            break
        if len(fields) != len(names):
            raise TNMInputError(f"{path}: line {r} has {len(fields)} fields, the column row {len(names)}")
        rows.append([number(f, ".", f"{path}: line {r}") for f in fields])
    if not rows:
        raise TNMInputError(f"{path}: no data rows under the column row")
    table = np.array(rows)
    unit = dict(zip(names[1:], units))
    col = {name: i for i, name in enumerate(names)}
    for needed in ("t", "Ts", "Value"):
        if needed not in col:
            raise TNMInputError(f"{path}: no {needed} column (columns: {' '.join(names)})")
    text_after = "\n".join(lines[:k] + lines[k + 2 + len(rows):])
    sample_block = re.search(r"Sample:\s*\n\s*(.+)", text_after)
    mass_mg, sample = None, ""
    if sample_block:
        sample = sample_block.group(1).split(",")[0].strip()
        m = _MASS.search(sample_block.group(1))
        if m:
            mass_mg = float(m.group(1).replace(",", ".")) * (1000.0 if m.group(2).lower() == "g" else 1.0)
    where = str(path)
    time_min = to_minutes(table[:, col["t"]], unit["t"], where)
    T_C = to_celsius(table[:, col["Ts"]], unit["Ts"], where)
    hf_unit = unit["Value"].replace("Wg^-1", "W/g").replace("mWmg^-1", "mW/mg")
    hf, note = to_watts_per_gram(table[:, col["Value"]], hf_unit, mass_mg, where)
    notes = [note] if note else []
    endo_up = re.search(r"endo\s*up", text_after, re.IGNORECASE) is not None
    exotherm = "down" if endo_up else "up"
    if not endo_up:
        hf = -hf
        notes.append("STARe convention exo up: Value negated so that endothermic is positive")
    program = T_C if "Tr" not in col else to_celsius(table[:, col["Tr"]], unit["Tr"], where)
    if np.any(~np.isfinite(time_min)) or np.any(~np.isfinite(program)):
        raise TNMInputError(f"{path}: empty time or temperature fields in the curve values")
    # cut on the program temperature (it turns cleanly), then give each segment the measured one
    segments = split_by_direction(time_min, program, hf)
    # the split drops pieces too short to be a segment, so the rows are found again by their time
    # (the curve values are in time order), not by counting
    if not np.all(np.diff(time_min) >= 0):
        raise TNMInputError(f"{path}: the time column of the curve values must not decrease")
    for s in segments:
        s.T_C = T_C[np.searchsorted(time_min, s.time_min, side="left")]
    method = re.search(r"Method:\s*\n((?:\s+.+\n?)+)", text_after)
    procedure = [ln.strip() for ln in method.group(1).splitlines() if ln.strip()] if method else []
    return Measurement(str(path), "Mettler-Toledo STARe text export", sample, mass_mg, exotherm, segments,
                       procedure, notes)
