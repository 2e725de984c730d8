"""Synthetic DSC runs written in each vendor format the readers take (``tnm example --format``,
the test fixtures and the fuzzing).

:func:`synthetic_run` builds a run the way the shared TRIOS exports look: a first heat through
the transition, then for each nominal cooling rate a cooling segment (fast ones limited by the
instrument: the sample follows at most :data:`MAX_ACHIEVED_K_PER_MIN` and data stop when the
program reaches its end, above it), a hold with data off, and a heating scan at 10 K/min that
starts with a start-up transient (Cp near zero, then negative, for the first kelvins).  Cp is
glass + (liquid − glass)·Cp^N with Cp^N from the TNM simulator at the cooling rate the sample
actually followed.  The writers put the same run into each format's layout.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import numpy as np

from tnmlib.physics.simulate import simulate_chr_batch

OTP_LIKE = np.array([363e3, -174.0, 0.48, 0.74])
MAX_ACHIEVED_K_PER_MIN = 22.0
HEATING_K_PER_MIN = 10.0
T_LOW_C, T_HIGH_C = -65.0, 5.0


@dataclass
class RunSegment:
    title: str
    time_min: np.ndarray
    T_C: np.ndarray
    heat_flow_W_per_g: np.ndarray
    cp_J_per_gK: np.ndarray


def _cp_line(T, center_C: float = -30.0):
    glass = 1.00 + 0.0035 * (T - center_C)
    liquid = 1.45 + 0.0010 * (T - center_C)
    return glass, liquid


def synthetic_run(rates_K_per_min=(10.0, 40.0, 5.0, 1.0), params=OTP_LIKE, heating_step_K: float = 0.5,
                  startup: bool = True, crystallise_last: bool = False, t_low_C: float | None = None,
                  t_high_C: float | None = None) -> list[RunSegment]:
    """Segments of a run (see module docstring); times in min, T in °C, heat flow in W/g
    (endothermic positive), Cp in J/(g·K) with the instrument's start-up rows (0 and negative).
    ``t_low_C``/``t_high_C``: the run's range (default −65 and 5 °C, around the o-terphenyl-like
    glass's transition)."""
    T_LOW_C = globals()["T_LOW_C"] if t_low_C is None else t_low_C  # noqa: N806 - the run's constants
    T_HIGH_C = globals()["T_HIGH_C"] if t_high_C is None else t_high_C  # noqa: N806
    center = 0.5 * (T_LOW_C + T_HIGH_C)
    segments: list[RunSegment] = []
    t = 0.0

    def heating(title, cooled_at, crystallise=False):
        nonlocal t
        T_grid = np.arange(T_LOW_C, T_HIGH_C + 1e-9, heating_step_K)
        cp_n = simulate_chr_batch(params[None], cooling_rates=[cooled_at], heating_rate=HEATING_K_PER_MIN,
                                  t_min=T_grid[0], t_max=T_grid[-1], step=heating_step_K)[0, 0]
        elapsed = (T_grid - T_grid[0]) / HEATING_K_PER_MIN
        time = t + elapsed
        # the sample lags the program at the start (time constant 0.1 min), as the real exports do
        T = T_grid - (HEATING_K_PER_MIN * 0.1 * (1.0 - np.exp(-elapsed / 0.1)) if startup else 0.0)
        glass, liquid = _cp_line(T, center)
        cp = glass + (liquid - glass) * np.interp(T, T_grid, cp_n)
        if crystallise:
            cp = cp - 0.4 * np.clip((T - T_HIGH_C + 17.0) / 12.0, 0, None) ** 2  # the liquid falls as it crystallises
        hf = cp * HEATING_K_PER_MIN / 60.0
        cp_col = cp.copy()
        if startup:
            ramp = np.clip(elapsed / 0.4, 0.0, 1.0)  # the heat flow builds up over the first 0.4 min
            hf = hf * ramp - 0.05 * np.exp(-elapsed / 0.1)
            cp_col = np.where(elapsed < 0.06, 0.0, np.where(elapsed < 0.2, -0.5, cp_col))
        segments.append(RunSegment(title, time, T, hf, cp_col))
        t = time[-1] + 1.0  # a minute's hold, data off

    def cooling(title, nominal):
        nonlocal t
        achieved = min(nominal, MAX_ACHIEVED_K_PER_MIN)
        program_end_min = (T_HIGH_C - T_LOW_C) / nominal  # when the program reaches its end: data off
        time = t + np.arange(0.0, program_end_min + 1e-9, 0.1)
        T = T_HIGH_C - achieved * (time - t)
        glass, liquid = _cp_line(T, center)
        hf = -liquid * achieved / 60.0  # exothermic on cooling: negative, a rough value
        segments.append(RunSegment(title, time, T, hf, liquid.copy()))
        # the sample reaches T_LOW after the data stop; the hold lasts until a minute after the program's end
        t = t + max((T_HIGH_C - T_LOW_C) / achieved, program_end_min) + 1.0

    heating(f"Ramp {HEATING_K_PER_MIN:.2f} °C/min to {T_HIGH_C:.2f} °C", 10.0)
    for k, q in enumerate(rates_K_per_min):
        cooling(f"Ramp {q:.2f} °C/min to {T_LOW_C:.2f} °C", q)
        heating(f"Ramp {HEATING_K_PER_MIN:.2f} °C/min to {T_HIGH_C:.2f} °C", min(q, MAX_ACHIEVED_K_PER_MIN),
                crystallise=crystallise_last and k == len(rates_K_per_min) - 1)
    return segments


def _fmt(v, digits=3):
    return "" if not np.isfinite(v) else f"{v:.{digits}f}"


def write_trios_text(segments, *, sample_mass_mg=5.0, separator="\t", exotherm="Down", heat_flow="W/g",
                     time_unit="min", newline="\r\n") -> str:
    """A TRIOS text (tab) or CSV (comma) export."""
    head = [f"Filename{separator}synthetic_OTP", f"Sample name{separator}synthetic OTP",
            f"proceduresegments{separator}" + " ; ".join(s.title for s in segments), "[Procedure]",
            f"Sample Mass{separator}{sample_mass_mg:g} mg", "[Configuration]", f"Exotherm Direction{separator}{exotherm}"]
    lines = list(head)
    hf_name, hf_scale = (("Heat Flow (Normalized)", 1.0) if heat_flow == "W/g"
                         else ("Heat Flow", 1e3 * sample_mass_mg * 1e-3))
    sign = -1.0 if exotherm == "Up" else 1.0
    t_scale = 60.0 if time_unit == "s" else 1.0
    for s in segments:
        lines += ["[step]", s.title, separator.join(["Time", "Temperature", hf_name, "Heat Capacity (Normalized)"]),
                  separator.join([time_unit, "°C", heat_flow, "J/(g.°C)"])]
        for row in zip(s.time_min, s.T_C, s.heat_flow_W_per_g, s.cp_J_per_gK):
            lines.append(separator.join([_fmt(row[0] * t_scale, 2), _fmt(row[1], 2), _fmt(sign * row[2] * hf_scale, 4),
                                         _fmt(row[3], 3)]))
        lines.append("")
    return newline.join(lines) + newline


def write_trios_json(segments, *, sample_mass_mg=5.0, exotherm="Down") -> str:
    """A TRIOS JSON export (TA's TRIOSJSONExportSchema)."""
    steps = [{"Id": str(uuid.UUID(int=k + 1)), "Name": s.title} for k, s in enumerate(segments)]
    headers = {"Time_min": {"DisplayName": "Time", "ValueType": "Number", "Unit": {"Name": "min"}},
               "Temperature_°C": {"DisplayName": "Temperature", "ValueType": "Number", "Unit": {"Name": "°C"}},
               "Heat Flow (Normalized)_W/g": {"DisplayName": "Heat Flow (Normalized)", "ValueType": "Number",
                                              "Unit": {"Name": "W/g"}},
               "Results Step Id": {"DisplayName": "Results Step Id", "ValueType": "Uuid"}}
    rows = []
    for step, s in zip(steps, segments):
        for t, T, hf in zip(s.time_min, s.T_C, s.heat_flow_W_per_g):
            rows.append({"Time_min": round(float(t), 4), "Temperature_°C": round(float(T), 3),
                         "Heat Flow (Normalized)_W/g": round(float(hf if exotherm == "Down" else -hf), 5),
                         "Results Step Id": step["Id"]})
    doc = {"Schema": {"Url": "https://software.tainstruments.com/schemas/TRIOSJSONExportSchema"},
           "Sample": {"Name": "synthetic OTP", "Mass": {"Value": sample_mass_mg, "Unit": {"Name": "mg"}}},
           "Procedure": {"Name": "cooling rates", "Steps": [{"Name": s["Name"], "Id": s["Id"]} for s in steps],
                         "Configuration": {"InstrumentConfigurations": [{"Type": "DSC2500", "ExothermDirection": exotherm}]}},
           "Results": {"Original": {"Classification": {"Id": "Unmodified"}, "ResultsSteps": steps,
                                    "ColumnHeaders": headers, "Rows": rows}}}
    return json.dumps(doc, ensure_ascii=False, indent=1)


def write_netzsch(segments, *, sample_mass_mg=5.0, exo="-1", with_segment_column=True) -> str:
    """A NETZSCH Proteus ASCII export (decimal point, semicolons; write it latin-1)."""
    lines = ["#EXPORTTYPE:DATA ALL", "#FORMAT:NETZSCH5", "#FTYPE:ANSI", "#INSTRUMENT:NETZSCH DSC 214 Polyma",
             "#SAMPLE:synthetic OTP", f"#SAMPLE MASS /mg:{sample_mass_mg:g}", "#DECIMAL:POINT", "#SEPARATOR:SEMICOLON",
             f"#EXO:{exo}"]
    for k, s in enumerate(segments, start=1):
        end = float(s.T_C[-1])
        rate = abs(float(np.polyfit(s.time_min, s.T_C, 1)[0]))
        lines.append(f"#SEG. {k}:{s.T_C[0]:.0f}°C/{rate:.1f}(K/min)/{end:.0f}°C")
    lines.append("##Temp./°C;Time/min;DSC/(mW/mg)" + (";Segment" if with_segment_column else ""))
    sign = 1.0 if exo == "-1" else -1.0
    for k, s in enumerate(segments, start=1):
        for t, T, hf in zip(s.time_min, s.T_C, s.heat_flow_W_per_g):
            lines.append(f"{T:.4f};{t:.4f};{sign * hf:.6e}" + (f";{k}" if with_segment_column else ""))
    return "\r\n".join(lines) + "\r\n"


def write_mettler(segments, *, sample_mass_mg=5.0) -> str:
    """A Mettler-Toledo STARe text export (Value in mW, exothermic up)."""
    lines = ["Curve Name:", "  synthetic OTP cooling rates", "Curve Values:",
             "        Index             t            Ts            Tr         Value",
             "                        [s]          [°C]          [°C]          [mW]"]
    index = 0
    for s in segments:
        rate = float(np.polyfit(s.time_min, s.T_C, 1)[0])
        program = s.T_C[0] + rate * (s.time_min - s.time_min[0])
        for t, T, Tr, hf in zip(s.time_min, s.T_C, program, s.heat_flow_W_per_g):
            mW = -hf * sample_mass_mg  # W/g * mg = mW; exothermic up
            lines.append(f"{index:13d}{t * 60:14.3f}{T:14.4f}{Tr:14.4f}{mW:14.6f}")
            index += 1
    lines += ["", "Sample:", f"  synthetic OTP, {sample_mass_mg:.4f} mg", "Method:", "  cooling rates",
              "   [1] -65.0..5.0 °C, 10.00 K/min, N2 50.0 ml/min"]
    return "\n".join(lines) + "\n"


#: The layouts tnm example writes, by name (file suffixes as a user would give them).
FORMATS = ("trios", "trios-csv", "trios-json", "netzsch", "mettler")


def write_export(segments, fmt: str) -> bytes:
    """One run in one layout (:data:`FORMATS`), as bytes in that layout's encoding."""
    return all_formats(segments)[{"trios": "trios.txt", "trios-csv": "trios.csv", "trios-json": "trios.json",
                                  "netzsch": "netzsch.txt", "mettler": "mettler.txt"}[fmt]]


def all_formats(segments) -> dict[str, bytes]:
    """name -> the run written in that layout (what the fixtures and the fuzz start from)."""
    return {
        "trios.txt": write_trios_text(segments).encode("utf-8"),
        "trios.csv": write_trios_text(segments, separator=",", heat_flow="mW", time_unit="s", exotherm="Up").encode("utf-8"),
        "trios.json": write_trios_json(segments).encode("utf-8"),
        "netzsch.txt": write_netzsch(segments).encode("latin-1"),
        "mettler.txt": write_mettler(segments).encode("latin-1"),
    }
