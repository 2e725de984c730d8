"""What a build cost: seconds per make step (from the log the Makefile keeps) and disk used."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..errors import TNMInputError


def build_costs(profile: str, data_dir: str | Path, model_dir: str | Path, timings_path: str | Path) -> dict:
    """Seconds spent on data and training, and MB of data and models, for one profile's build.

    ``timings_path``: the CSV (label, seconds, status) that ``tools/book.py timed`` appends to;
    the latest run of each step counts.  Training seconds come from the models' metadata.
    """
    seconds = {"data": 0.0, "model": 0.0}
    log = Path(timings_path)
    if log.is_file():
        last = {}
        with open(log) as f:
            for row in csv.DictReader(f):
                last[row["label"]] = float(row["seconds"])
        for label, value in last.items():
            stage = label.split(":")[0]
            seconds[stage] = seconds.get(stage, 0.0) + value
    training = sum(json.loads(meta.read_text()).get("seconds", 0.0)
                   for meta in Path(model_dir).glob(f"*-{profile}.json"))
    data_mb = sum(p.stat().st_size for p in Path(data_dir).glob(f"*-{profile}.h5")) / 1e6
    model_mb = sum(p.stat().st_size for p in Path(model_dir).glob(f"*-{profile}.keras")) / 1e6
    return {"data seconds": seconds["data"], "training seconds": training,
            "model steps seconds (incl. start-up)": seconds["model"], "data MB": data_mb, "models MB": model_mb}


def write_summary(eval_dir: str | Path, out: str | Path, model_names=None,
                  comparison_path: str | Path | None = None) -> dict:
    """Write ``summary.json`` from the evaluation files in ``eval_dir`` (one per model of the study,
    or of ``model_names``): see :func:`tnmlib.analysis.tables.summary` for the keys; with
    ``comparison_path`` (``tnm compare``), the comparison of estimators under "comparison"
    (:func:`tnmlib.analysis.tables.comparison_summary`)."""
    from ..analysis.tables import comparison_summary, summary
    from ..fileutil import atomic_output
    from ..study.design import MODELS
    from .evaluate import evaluation_path, load_evaluation

    names = list(model_names or MODELS)
    results = {}
    for name in names:
        try:
            results[name] = load_evaluation(evaluation_path(eval_dir, name))
        except FileNotFoundError as exc:
            raise TNMInputError(str(exc)) from None
    result = summary(results)
    result["profile"] = str(results[names[0]].attrs.get("profile", "")) if names else ""
    if comparison_path is not None:
        from .compare import load_comparison

        result["comparison"] = comparison_summary(load_comparison(comparison_path))
    with atomic_output(Path(out)) as tmp:
        tmp.write_text(json.dumps(result, indent=2, allow_nan=True))
    return result
