"""``tnm read``: what an instrument export holds — segments, the history the sample followed, which
heating scans can be fitted and why not — and the program it writes (``--program-out``)."""
from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import TNMInputError
from ..estimation.baselines import GUARANTEED, BaselineSettings
from ..estimation.measurement import program_document
from ..estimation.measurement import Measurement
from ..estimation.runs import PreparedRun, prepare_run
from ..fileutil import atomic_output
from .exports import read_export


def read_run(path: str | Path, settings: BaselineSettings = GUARANTEED, *, scans=None,
             include_flagged: bool = False, settling_s: float | None = None, history: str = "measured",
             measurement: Measurement | None = None) -> PreparedRun:
    """Read a vendor export and prepare it (:func:`tnmlib.estimation.runs.prepare_run`);
    ``measurement``: the export already read (so a caller that read it to learn its format does
    not parse it twice)."""
    measurement = measurement or read_export(path)
    if measurement is None:
        raise TNMInputError(f"{path}: a curves CSV holds no segments or history; tnm fit reads it as it is")
    kwargs = {} if settling_s is None else {"settling_s": settling_s}
    return prepare_run(measurement, settings, scans=scans, include_flagged=include_flagged, history=history, **kwargs)


def segment_rows(run: PreparedRun) -> list[dict]:
    """One row per segment: number, title, kind, nominal and achieved rate (K/min), range (°C),
    points, the cooling rate before a heating scan (through the transition), fitted?, why not."""
    rows = []
    for s in run.summaries:
        rows.append({
            "segment": s.index, "title": s.title, "kind": s.kind,
            "nominal_K_per_min": s.nominal_rate_K_per_min,
            "achieved_K_per_min": round(abs(s.achieved_rate_K_per_min), 3),
            "T_start_C": round(s.T_start_C, 2), "T_end_C": round(s.T_end_C, 2), "points": s.points,
            "cooled_at_K_per_min": None if s.cooled_at_K_per_min is None or s.kind != "heating"
            else round(s.cooled_at_K_per_min, 3),
            "fit": s.fit if s.kind == "heating" else None,
            "reason": s.reason if s.kind == "heating" else (s.reason or ""),
            "normalised_alone": run.scan_info.get(s.index, {}).get("alone") if s.kind == "heating" else None,
        })
    return rows


def format_table(run: PreparedRun) -> str:
    """The segment table as aligned text (what ``tnm read`` prints)."""
    m = run.measurement
    head = [f"{m.source}: {m.format}; sample {m.sample or '?'}"
            + (f", {m.sample_mass_mg:g} mg" if m.sample_mass_mg else "")
            + (f"; exotherm {m.exotherm}" if m.exotherm else ""),
            *[f"  note: {n}" for n in m.notes]]
    lines = [f"{'seg':>3}  {'kind':<10} {'nominal':>8} {'achieved':>9} {'from °C':>8} {'to °C':>7} {'points':>6} "
             f"{'cooled at':>9}  {'fit':<4} {'alone':<5} reason / title"]
    for r in segment_rows(run):
        nominal = "-" if r["nominal_K_per_min"] is None else f"{r['nominal_K_per_min']:g}"
        cooled = "" if r["cooled_at_K_per_min"] is None else f"{r['cooled_at_K_per_min']:.2f}"
        fit = "" if r["fit"] is None else ("yes" if r["fit"] else "no")
        alone = "" if r["normalised_alone"] is None else ("yes" if r["normalised_alone"] == "yes" else "no")
        why = r["reason"] if r["kind"] == "heating" else r["title"] + (f" ({r['reason']})" if r["reason"] else "")
        lines.append(f"{r['segment']:>3}  {r['kind']:<10} {nominal:>8} {r['achieved_K_per_min']:>9.2f} "
                     f"{r['T_start_C']:>8.1f} {r['T_end_C']:>7.1f} {r['points']:>6} {cooled:>9}  {fit:<4} {alone:<5} {why}")
    tail = [f"rates in K/min (achieved: from the measured temperature); {len(run.chosen)} heating scans to fit: "
            f"{', '.join(map(str, run.chosen)) or 'none'}",
            "alone: whether the scan's own lines give Cp^N within the tolerance without the model "
            "(tnm fit's JSON says why not)"]
    if run.transition_window_C:
        tail.append(f"glass transition on heating between {run.transition_window_C[0]:.1f} and "
                    f"{run.transition_window_C[1]:.1f} °C (median onset and settling)")
    return "\n".join(head + lines + tail)


def write_program(run: PreparedRun, path: str | Path) -> None:
    """Write the history as YAML (:data:`tnmlib.estimation.measurement.PROGRAM_SCHEMA`)."""
    document = program_document(run.measurement, run.steps, run.summaries)
    with atomic_output(Path(path)) as tmp:
        tmp.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
