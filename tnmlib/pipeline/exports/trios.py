"""TA Instruments TRIOS exports: the text/CSV export and the JSON export.

Text/CSV (TRIOS "Export → Text/CSV"): header lines ``key<TAB>value``, sections ``[Name]``
(``[Procedure]`` holds ``Sample Mass``, ``[Configuration]`` ``Exotherm Direction``), then one
``[step]`` block per segment: its title ("Ramp 10.00 °C/min to 0.00 °C"), a row of column names,
a row of units, and rows of numbers ended by a blank line.  Separators are tabs (text), commas
or semicolons (CSV); the decimal mark is read from the numbers.

JSON (TRIOS "Export → JSON", TA's TRIOSJSONExportSchema): ``Sample.Mass``,
``Procedure.Configuration.InstrumentConfigurations[].ExothermDirection``, and
``Results.Original`` (else ``Processed``): ``ResultsSteps`` (Id, Name), ``ColumnHeaders``
(DisplayName, Unit.Name) and ``Rows`` (one object per row with a ``Results Step Id``).  TA's
own reader of this schema (``tadatakit``) pins pandas below 3 and builds its classes from the
schema at import; the few fields needed here are read with :mod:`json` instead (README).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from ...errors import TNMInputError
from ...estimation.measurement import Measurement, Segment
from .common import (decimal_mark, number, segment_from_columns, to_celsius, to_joules_per_gram_kelvin,
                     to_minutes, to_watts_per_gram)

_MASS = re.compile(r"^\s*([-+]?[0-9]*[.,]?[0-9]+)\s*(mg|g)?\s*$", re.IGNORECASE)


def looks_like_trios_text(text: str) -> bool:
    return "[step]" in text[:2_000_000].lower() and re.search(r"^\s*\[step\]\s*$", text, re.MULTILINE | re.IGNORECASE) is not None


def looks_like_trios_json(text: str) -> bool:
    head = text.lstrip()[:4000]
    return head.startswith("{") and ("TRIOSJSONExportSchema" in head or '"Results"' in text[:10_000_000])


def _mass_mg(text: str | None, where: str) -> float | None:
    if text is None:
        return None
    match = _MASS.match(text)
    if not match:
        raise TNMInputError(f"{where}: sample mass {text.strip()[:40]!r} is not a number with unit mg or g")
    value = float(match.group(1).replace(",", "."))
    value *= 1000.0 if (match.group(2) or "mg").lower() == "g" else 1.0
    if not value > 0:
        raise TNMInputError(f"{where}: the sample mass must be positive, got {text.strip()!r}")
    return value


def _exotherm(text: str | None, where: str) -> str | None:
    if text is None:
        return None
    value = text.strip().lower()
    if value not in ("up", "down"):
        raise TNMInputError(f"{where}: Exotherm Direction {text.strip()[:20]!r} (expected Up or Down)")
    return value


def _column_role(name: str) -> str | None:
    n = name.strip().lower()
    if n in ("time", "step time") or n.startswith("time "):
        return "time"
    if n in ("temperature", "sample temperature") or n.startswith("temperature "):
        return "temperature"
    if n.startswith("heat flow") and "reversing" not in n and "phase" not in n:
        return "heat_flow"
    if n.startswith("heat capacity") and "reversing" not in n and "total" not in n:
        return "cp"
    return None


def _columns(names: list[str], units: list[str], rows: np.ndarray, mass_mg, where: str, notes: list[str]):
    roles: dict[str, int] = {}
    for k, name in enumerate(names):
        role = _column_role(name)
        if role and role not in roles:
            roles[role] = k
    missing = [r for r in ("time", "temperature", "heat_flow") if r not in roles]
    if missing:
        raise TNMInputError(f"{where}: no {' / '.join(m.replace('_', ' ') for m in missing)} column "
                            f"(columns: {', '.join(names)[:200]})")
    unit = (lambda role: units[roles[role]] if roles[role] < len(units) else "")
    time_min = to_minutes(rows[:, roles["time"]], unit("time"), where)
    T_C = to_celsius(rows[:, roles["temperature"]], unit("temperature"), where)
    hf, note = to_watts_per_gram(rows[:, roles["heat_flow"]], unit("heat_flow"), mass_mg, where)
    if note and note not in notes:
        notes.append(note)
    cp = to_joules_per_gram_kelvin(rows[:, roles["cp"]], unit("cp"), mass_mg, where) if "cp" in roles else None
    return time_min, T_C, hf, cp


def _apply_exotherm(segments: list[Segment], exotherm: str | None, notes: list[str]) -> None:
    if exotherm == "up":
        for s in segments:
            s.heat_flow_W_per_g = -s.heat_flow_W_per_g
        notes.append("exotherm up: heat flow negated so that endothermic is positive")
    elif exotherm is None:
        notes.append("no exotherm direction in the export: heat flow taken as endothermic positive (exotherm down)")


def read_trios_text(path: Path, text: str) -> Measurement:
    """A TRIOS text or CSV export (module docstring) as a :class:`Measurement`."""
    lines = text.splitlines()
    header: dict[str, str] = {}
    separator = None
    i = 0
    while i < len(lines) and lines[i].strip().lower() != "[step]":
        line = lines[i]
        if not line.strip().startswith("["):
            sep = "\t" if "\t" in line else (";" if ";" in line else ("," if "," in line else None))
            if sep:
                key, _, value = line.partition(sep)
                header.setdefault(key.strip(), value.strip().strip(sep).strip())
        i += 1
    mass_mg = _mass_mg(header.get("Sample Mass"), f"{path}: [Procedure]")
    exotherm = _exotherm(header.get("Exotherm Direction"), f"{path}: [Configuration]")
    notes: list[str] = []
    segments: list[Segment] = []
    decimal = None
    while i < len(lines):
        if lines[i].strip().lower() != "[step]":
            i += 1
            continue
        start = i + 1
        if start + 2 >= len(lines):
            raise TNMInputError(f"{path}: line {start}: a [step] without title, column and unit rows")
        title, names_line, units_line = lines[start], lines[start + 1], lines[start + 2]
        separator = separator or ("\t" if "\t" in names_line else (";" if ";" in names_line else ","))
        names = [n.strip() for n in names_line.split(separator)]
        units = [u.strip() for u in units_line.split(separator)]
        j = start + 3
        body: list[list[str]] = []
        while j < len(lines) and lines[j].strip() and lines[j].strip().lower() != "[step]":
            fields = lines[j].split(separator)
            if len(fields) > len(names):
                raise TNMInputError(f"{path}: line {j + 1} has {len(fields)} fields, the column row {len(names)}")
            body.append(fields + [""] * (len(names) - len(fields)))
            j += 1
        where = f"{path}: segment {len(segments) + 1} ({title.strip()[:40]})"
        if decimal is None and body:
            decimal = decimal_mark([f for row in body[:200] for f in row], separator)
        rows = np.array([[number(f, decimal or ".", f"{path}: line {start + 4 + r}") for f in row]
                         for r, row in enumerate(body)], dtype=float).reshape(len(body), len(names))
        time_min, T_C, hf, cp = _columns(names, units, rows, mass_mg, where, notes)
        segments.append(segment_from_columns(len(segments) + 1, title.strip(), time_min, T_C, hf, cp))
        i = j
    if not segments:
        raise TNMInputError(f"{path}: a TRIOS export without [step] data")
    _apply_exotherm(segments, exotherm, notes)
    procedure = [s.strip() for s in header.get("proceduresegments", "").split(";") if s.strip()]
    fmt = "TA TRIOS text export" if separator == "\t" else "TA TRIOS CSV export"
    return Measurement(str(path), fmt, header.get("Sample Name", header.get("Sample name", "")), mass_mg, exotherm,
                       segments, procedure, notes)


def _numeric(value, where: str) -> float | None:
    if isinstance(value, dict):
        value = value.get("Value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TNMInputError(f"{where}: {str(value)[:30]!r} is not a finite number")
    return float(value)


def read_trios_json(path: Path, text: str) -> Measurement:
    """A TRIOS JSON export (module docstring) as a :class:`Measurement`."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise TNMInputError(f"{path}: not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Results"), dict):
        raise TNMInputError(f"{path}: a JSON file without TRIOS Results")
    sample = doc.get("Sample") if isinstance(doc.get("Sample"), dict) else {}
    mass = sample.get("Mass")
    mass_mg = None
    if isinstance(mass, dict) and mass.get("Value") is not None:
        unit = ((mass.get("Unit") or {}).get("Name") or "mg") if isinstance(mass.get("Unit") or {}, dict) else "mg"
        mass_mg = _mass_mg(f"{_numeric(mass, f'{path}: Sample.Mass')} {unit}", f"{path}: Sample.Mass")
    exotherm = None
    configs = (((doc.get("Procedure") or {}).get("Configuration") or {}).get("InstrumentConfigurations") or []) \
        if isinstance(doc.get("Procedure"), dict) else []
    for config in configs if isinstance(configs, list) else []:
        if isinstance(config, dict) and config.get("ExothermDirection") is not None:
            exotherm = _exotherm(str(config["ExothermDirection"]), f"{path}: ExothermDirection")
    results = doc["Results"]
    data = results.get("Original") or results.get("Processed")
    if not isinstance(data, dict):
        raise TNMInputError(f"{path}: Results holds neither Original nor Processed data")
    steps, headers, rows = data.get("ResultsSteps"), data.get("ColumnHeaders"), data.get("Rows")
    if not isinstance(steps, list) or not isinstance(headers, dict) or not isinstance(rows, list) or not steps:
        raise TNMInputError(f"{path}: Results needs ResultsSteps, ColumnHeaders and Rows")
    keys, names, units = [], [], []
    for key, head in headers.items():
        if not isinstance(head, dict):
            raise TNMInputError(f"{path}: column header {key[:40]!r} is not an object")
        keys.append(key)
        names.append(str(head.get("DisplayName", key)))
        unit = head.get("Unit")
        units.append(str(unit.get("Name", "")) if isinstance(unit, dict) else "")
    step_key = next((k for k, n in zip(keys, names) if n == "Results Step Id"), "Results Step Id")
    notes: list[str] = []
    segments: list[Segment] = []
    by_step: dict[str, list[dict]] = {}
    for r, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TNMInputError(f"{path}: row {r + 1} is not an object")
        by_step.setdefault(str(row.get(step_key)), []).append(row)
    numeric = [k for k, n in zip(keys, names) if n != "Results Step Id"]
    for step in steps:
        if not isinstance(step, dict) or "Id" not in step:
            raise TNMInputError(f"{path}: a ResultsSteps entry without Id")
        step_rows = by_step.get(str(step["Id"]), [])
        if not step_rows:
            continue
        where = f"{path}: step {step.get('Name', step['Id'])!s:.40}"
        table = np.array([[_value(row.get(k)) for k in numeric] for row in step_rows], dtype=float)
        time_min, T_C, hf, cp = _columns([names[keys.index(k)] for k in numeric],
                                         [units[keys.index(k)] for k in numeric], table, mass_mg, where, notes)
        segments.append(segment_from_columns(len(segments) + 1, str(step.get("Name", "")), time_min, T_C, hf, cp))
    if not segments:
        raise TNMInputError(f"{path}: no rows belong to any of the ResultsSteps")
    _apply_exotherm(segments, exotherm, notes)
    procedure = [str(s.get("Name", "")).strip() for s in ((doc.get("Procedure") or {}).get("Steps") or [])
                 if isinstance(s, dict)]
    return Measurement(str(path), "TA TRIOS JSON export", str(sample.get("Name", "")), mass_mg, exotherm,
                       segments, procedure, notes)


def _value(value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(str(value))
        except ValueError:
            return math.nan  # text columns (status bits) are not read
    return float(value) if math.isfinite(value) else math.nan
