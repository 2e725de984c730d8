"""The study's lists for the Makefile: ``python -m tnmlib.study models|glasses|make-variables``.

``models``: one ``NAME:SUBSET`` per line (study.yaml's models); ``glasses``: the literature-like
glasses' names; ``make-variables``: both as Make assignments (MODEL_SUBSET, GLASSES), which the
Makefile includes instead of parsing study.yaml itself.
"""
from __future__ import annotations

import sys

from .design import LITERATURE_GLASSES, MODELS


def main(argv: list[str]) -> int:
    models = [f"{name}:{spec.subset}" for name, spec in MODELS.items()]
    if argv == ["models"]:
        print("\n".join(models))
    elif argv == ["glasses"]:
        print("\n".join(LITERATURE_GLASSES))
    elif argv == ["make-variables"]:
        print("# made by python -m tnmlib.study make-variables from tnmlib/study/study.yaml; do not edit")
        print(f"MODEL_SUBSET := {' '.join(models)}")
        print(f"GLASSES := {' '.join(LITERATURE_GLASSES)}")
    else:
        print("usage: python -m tnmlib.study models|glasses|make-variables", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
