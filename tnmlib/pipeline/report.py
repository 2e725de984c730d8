"""What a build cost: seconds per make step (from the log the Makefile keeps) and disk used."""
from __future__ import annotations

import csv
import json
from pathlib import Path


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
