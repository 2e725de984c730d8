"""Which source files make each artifact, and their hash: one list per pipeline stage.

A subset file depends on the physics, the state space and the dataset builder; a model on the
learning layer, its reader included, and on the distortions augmented training draws (and on its
data, whose fingerprint it records);
an evaluation on the evaluation stage and the metrics (and on its model and data); the comparison
of estimators on the classical methods, the distortions and the simulator; the whole-space
estimator's network and its assessment on the estimator, its training and the simulator.  The
Makefile asks this module for the same lists (``python3 tnmlib/fingerprint.py files data``),
so make and the package agree on what makes an artifact stale.  Standard library only: it runs
as a plain script before the environment exists.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
#: Per stage: files or folders, relative to the package, whose content determines the artifact.
STAGE_SOURCES = {
    "data": ("physics", "study/protocol.py", "study/statespace.py", "study/parameters.py", "study/data",
             "pipeline/dataset.py"),
    "model": ("learning", "physics/instrument.py"),  # instrument: the distortions of augmented training
    "evaluation": ("pipeline/evaluate.py", "analysis"),
    "comparison": ("pipeline/compare.py", "pipeline/results.py", "estimation/classical.py", "physics",
                   "study/protocol.py", "study/study.yaml", "analysis/metrics.py"),
    "estimator": ("estimation/network.py", "estimation/classical.py", "physics", "study/protocol.py",
                  "study/statespace.py", "study/study.yaml", "learning/estimator_training.py", "pipeline/estimator.py"),
    "wholespace": ("pipeline/assess.py", "pipeline/estimator.py", "pipeline/results.py", "estimation", "physics",
                   "study/protocol.py", "study/study.yaml", "analysis/metrics.py"),
    "independent": ("pipeline/independent.py", "pipeline/estimator.py", "pipeline/results.py", "estimation",
                    "physics", "study/protocol.py", "study/statespace.py", "study/study.yaml", "analysis/metrics.py"),
}
#: Per stage: files inside the folders above that do not make the artifact (a subset file holds
#: clean scans: the instrument's distortions are applied later, by the stages that use them).
STAGE_EXCLUDES = {"data": ("physics/instrument.py",)}
_SUFFIXES = (".py", ".csv", ".yaml", ".npz")


def source_files(stage: str) -> list[Path]:
    """The source files of ``stage`` (a key of STAGE_SOURCES), sorted, as absolute paths."""
    files = []
    for entry in STAGE_SOURCES[stage]:
        path = PACKAGE_ROOT / entry
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.suffix in _SUFFIXES and "__pycache__" not in p.parts]
        else:
            files.append(path)
    excluded = {PACKAGE_ROOT / entry for entry in STAGE_EXCLUDES.get(stage, ())}
    return sorted(p for p in files if p not in excluded)


def source_hash(stage: str) -> str:
    """16 hex digits of SHA-256 over the relative path and content of each source file of ``stage``."""
    digest = hashlib.sha256()
    for path in source_files(stage):
        digest.update(path.relative_to(PACKAGE_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


if __name__ == "__main__":  # python3 tnmlib/fingerprint.py files STAGE
    if len(sys.argv) != 3 or sys.argv[1] != "files" or sys.argv[2] not in STAGE_SOURCES:
        sys.exit(f"usage: python3 {sys.argv[0]} files {{{','.join(STAGE_SOURCES)}}}")
    root = PACKAGE_ROOT.parent
    print(" ".join(p.relative_to(root).as_posix() for p in source_files(sys.argv[2])))
