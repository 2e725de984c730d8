"""The ``tnm`` command line.

Every sub-command reports bad input as one line on stderr and exits with status 2;
nothing is written under the output name unless the command succeeds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import TNMInputError, TNMRunError
from .fileutil import atomic_output
from .study.parameters import PARAMETERS
from .study.protocol import (PAPER_COOLING_RATES_K_PER_MIN, PAPER_HEATING_RATE_K_PER_MIN, PAPER_STEP_K,
                             PAPER_T_MAX_C, PAPER_T_MIN_C)

#: The paper's cooling rates as the command line writes them (0.5,1,2,5,10,20).
_PAPER_RATES_TEXT = ",".join(f"{q:g}" for q in PAPER_COOLING_RATES_K_PER_MIN)


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage block) with exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _require_suffix(path: Path, option: str, *suffixes: str) -> None:
    """Refuse an output file whose name does not end in one of ``suffixes`` (lower case, with the dot)."""
    if path.suffix.lower() not in suffixes:
        raise TNMInputError(f"{option} must end in {' or '.join(suffixes)}, got {path.name!r}")


def _require_at_least_one(args, *names: str) -> None:
    """Refuse a count option (``--workers``, ``--samples``, ...) below 1; None means its default."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise TNMInputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def _list_of(kind, what: str):
    """An argparse type: comma-separated values of ``kind`` (float, int), at least one."""
    def parse(text: str) -> list:
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}s, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError(f"expected at least one {what}")
        return values
    return parse


_float_list = _list_of(float, "number")
#: segment numbers, as tnm read lists them
_int_list = _list_of(int, "segment number")


def _add_simulate(sub) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate the DSC heating scans (Cp^N) of one TNM parameter set",
        description=(
            "Simulate the Tool-Narayanaswamy-Moynihan response to constant-heating-rate cycles: "
            "for each cooling rate the sample is cooled from cycle-max to cycle-min and heated "
            "back at the heating rate, in one continuous history. Writes Cp^N = dTf/dT of every "
            "heating scan on the grid T = t-min, t-min+step, ..., t-max (°C): 0 below and 1 "
            "above the simulated window."),
        epilog="Example: tnm simulate --dh 356 --ln-a -133 --x 0.52 --beta 0.65 --out se.csv",
    )
    p.add_argument("--dh", type=float, required=True, metavar="KJ_PER_MOL",
                   help="apparent activation energy Δh* in kJ/mol (e.g. 356)")
    p.add_argument("--ln-a", type=float, required=True, metavar="LN_A",
                   help="natural logarithm of the pre-exponential factor A (A in seconds), e.g. -133")
    p.add_argument("--x", type=float, required=True, help="non-linearity parameter x, in (0, 1]")
    p.add_argument("--beta", type=float, required=True, help="non-exponentiality parameter β, in (0, 1]")
    p.add_argument("--cooling-rates", type=_float_list, default=list(PAPER_COOLING_RATES_K_PER_MIN),
                   metavar="Q1,Q2,...", help=f"cooling rates in K/min, one cycle each (default {_PAPER_RATES_TEXT})")
    p.add_argument("--heating-rate", type=float, default=PAPER_HEATING_RATE_K_PER_MIN, metavar="K_PER_MIN",
                   help=f"heating rate of every scan in K/min (default {PAPER_HEATING_RATE_K_PER_MIN:g})")
    p.add_argument("--t-min", type=float, default=PAPER_T_MIN_C, metavar="C",
                   help=f"lowest grid temperature in °C (default {PAPER_T_MIN_C:g})")
    p.add_argument("--t-max", type=float, default=PAPER_T_MAX_C, metavar="C",
                   help=f"highest grid temperature in °C (default {PAPER_T_MAX_C:g})")
    p.add_argument("--step", type=float, default=PAPER_STEP_K, metavar="K",
                   help=f"grid step in K (default {PAPER_STEP_K:g}); each value is the bin average of the continuous solution")
    p.add_argument("--cycle-min", type=float, default=None, metavar="C",
                   help="lower cycle temperature T0 in °C (default: chosen so every scan starts in the glass)")
    p.add_argument("--cycle-max", type=float, default=None, metavar="C",
                   help="upper cycle temperature T1 in °C (default: chosen so every scan ends in the liquid)")
    p.add_argument("--method", choices=("fast", "exact", "staircase"), default="fast",
                   help="fast: the continuous ramp (about a millisecond); exact: Eq. 4's staircase of jumps of "
                        "one grid step, summed directly, O(N^2) (seconds); staircase: the same with the Prony "
                        "recursion")
    p.add_argument("--ln-tau-step", type=float, default=None, metavar="D",
                   help="fast only: change of ln tau per internal step (default 0.05: max |dCp^N| below 1e-3 "
                        "against the continuous limit; the error falls as its square)")
    p.add_argument("--program", type=Path, default=None, metavar="PROGRAM.yaml",
                   help="follow this program instead of the CHR cycles (ramps and holds, as written by hand or "
                        "by tnm read --program-out), in the continuous limit; writes time_s, T_C, Tf_C, segment, cp_n "
                        "every --step K along ramps and at log-spaced times within holds")
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="output file: .csv (T_C and one cp_q<rate> column per cooling rate) or .nc (netCDF4)")
    p.set_defaults(run=_run_simulate)


def _run_simulate(args) -> None:
    from .pipeline.simulate import simulate_to_file

    _require_suffix(args.out, "--out", ".csv", ".nc")
    if args.program is not None:
        from .pipeline.simulate import simulate_program_file

        ds = simulate_program_file(args.program, args.out, args.dh * 1e3, args.ln_a, args.x, args.beta, step_K=args.step)
        print(f"wrote {args.out}: {ds.sizes['step']} points along {int(ds.segment.values.max()) + 1} segments, "
              f"Tf from {ds.Tf_C.values[0]:.2f} to {ds.Tf_C.values[-1]:.2f} °C")
        return
    ds = simulate_to_file(args.out, args.dh * 1e3, args.ln_a, args.x, args.beta, cooling_rates=args.cooling_rates,
                          heating_rate=args.heating_rate, t_min=args.t_min, t_max=args.t_max, step=args.step,
                          cycle_min=args.cycle_min, cycle_max=args.cycle_max, method=args.method,
                          ln_tau_step=args.ln_tau_step)
    if ds.attrs["status"] != 0:
        print(f"tnm simulate: warning: the signal does not settle to 0 and 1 inside the grid "
              f"[{args.t_min:g}, {args.t_max:g}] °C (status {ds.attrs['status']}); "
              "widen --t-min/--t-max", file=sys.stderr)
    print(f"wrote {args.out} ({ds.sizes['cooling_rate']} scans x {ds.sizes['T']} temperatures; "
          f"cycles {ds.attrs['cycle_min_C']:.1f} .. {ds.attrs['cycle_max_C']:.1f} °C)")


def _add_dataset(sub) -> None:
    p = sub.add_parser(
        "dataset",
        help="simulate a subset of the state space into a compressed HDF5 file",
        description=(
            "Simulate one of the paper's subsets (LU, RU, LB, RB, C, G) under a profile (paper, "
            "quick, smoke, or a YAML file) in local worker processes (or on a dask cluster) and write an xarray Dataset "
            "(netCDF4/HDF5): cp(sample, cooling_rate, T) and the parameters of each sample "
            "(dh in J/mol, ln_A with A in s, x, beta). Interrupted runs resume where they stopped; "
            "a complete file is not recomputed."),
        epilog="Example: tnm dataset --subset C --profile quick --out data/C-quick.h5",
    )
    p.add_argument("--subset", required=True, choices=("LU", "RU", "LB", "RB", "C", "G"),
                   help="subset of the (Δh*, ln A) grid")
    p.add_argument("--profile", default="quick", metavar="NAME|FILE",
                   help="paper, quick (default), smoke, or a profile YAML file")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.h5", help="output file (.h5 or .nc)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running dask scheduler (default: worker processes on this machine)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_dataset)


def _run_dataset(args) -> None:
    from .pipeline.dataset import build_dataset

    _require_at_least_one(args, "workers")
    path = build_dataset(args.subset, args.profile, args.out, scheduler=args.scheduler,
                         workers=args.workers, progress=not args.quiet)
    print(f"wrote {path}")


def _weights(text: str) -> tuple[float, ...]:
    values = _float_list(text)
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected 4 weights (dh, ln_A, x, beta), got {len(values)}")
    return tuple(values)


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train", help="train the MCNN on a subset file",
        description=(
            "Train the multi-scale CNN on a subset file made by `tnm dataset`: the optimiser, learning "
            "rate, batch size and output normalisation of the data's profile (paper: SGD, 0.01, 128, "
            "Table 3 ranges), a seeded 70/15/15 split, weighted MSE of the normalised parameters, "
            "MAE as validation metric. Every epoch shuffles the whole training split; the network "
            "starts from the mean training target. Writes the learning curve (validation MAE and "
            "shares at budgets from 1/64 of the run to the end) and the constant predictor's MAE "
            "beside the model, a checkpoint after every epoch, and resumes from it; a model whose "
            "data, settings and code are unchanged is not trained again."),
        epilog="Example: tnm train --model C --data data/C-quick.h5 --out models/C-quick.keras")
    p.add_argument("--data", type=Path, required=True, metavar="FILE.h5", help="subset file (tnm dataset)")
    p.add_argument("--out", type=Path, required=True, metavar="MODEL.keras",
                   help="model file; <stem>.json (metadata), <stem>.history.csv and <stem>.curve.csv are written beside it")
    p.add_argument("--model", dest="model_name", default=None, metavar="NAME",
                   help="one of the study's models (LU, RU, LB, RB, C, G, C-wlnA1, C-raw, G-aug in study.yaml): "
                        "its loss weights, input scaling and augmentation, and a check that the data is its subset")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the data's profile)")
    p.add_argument("--loss-weights", type=_weights, default=None, metavar="W_DH,W_LNA,W_X,W_BETA",
                   help="loss weights of the normalised Δh*, ln A, x, β (default 1,0.1,3,3)")
    p.add_argument("--attention", choices=("cubic", "linear"), default="cubic",
                   help="resampling of the attention segment: the paper's cubic fit, or linear (ablation)")
    p.add_argument("--augment", action="store_true",
                   help="distort every training batch afresh (noise up to 2 %%, lag up to 5 s, tilt up to "
                        "2 %%/100 K per sample, a quarter left clean: study.yaml's augmentation)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=_run_train)


def _run_train(args) -> None:
    from .learning.train import train_model

    meta = train_model(args.data, args.out, model_name=args.model_name, epochs=args.epochs,
                       loss_weights=args.loss_weights, attention=args.attention, augment=args.augment,
                       progress=not args.quiet)
    mae = meta["validation_mae"]
    const = meta.get("validation_mae_constant", {})
    ratios = ", ".join(f"{k} {mae[k] / const[k]:.2f}" for k in mae if const.get(k))
    print(f"{args.out}: {meta['epochs']} epochs, {meta['seconds_per_epoch']:.1f} s/epoch; validation MAE "
          f"Δh* {mae['dh_kJ_per_mol']:.1f} kJ/mol, ln A {mae['ln_A']:.2f}, x {mae['x']:.3f}, β {mae['beta']:.3f}"
          + (f"; over the constant predictor's: {ratios}" if ratios else ""))


def _add_predict(sub) -> None:
    p = sub.add_parser(
        "predict", help="read TNM parameters from scans with a trained model",
        description=(
            "Apply a trained model to the scans of a subset file (.h5) or of a CSV in the layout of "
            "`tnm simulate` (T_C and one cp_q<rate> column per cooling rate, the model's rates); a CSV "
            "is resampled to the model's temperature grid (0 below, 1 above its range). A subset file is "
            "read in batches and must be on the model's grid. Writes dh_kJ_per_mol, ln_A (A in s), x, "
            "beta per sample, with the sample id for .h5 input, and outside_trained_box = 1 where an "
            "estimate leaves the parameter box of the model's training data (widened by 5 %% of its range per side)."),
        epilog="Example: tnm predict --model models/C-quick.keras --data se.csv --out se-params.csv")
    p.add_argument("--model", type=Path, required=True, metavar="MODEL.keras")
    p.add_argument("--data", type=Path, required=True, metavar="FILE.h5|FILE.csv")
    p.add_argument("--out", type=Path, required=True, metavar="PREDICTIONS.csv")
    p.add_argument("--batch-size", type=int, default=1024, metavar="N",
                   help="samples of a subset file read and predicted at a time (default 1024)")
    p.set_defaults(run=_run_predict)


def _run_predict(args) -> None:
    from .pipeline.predict import predict_file

    result = predict_file(args.model, args.data, args.out, batch_size=args.batch_size)
    note = (f"; {result['outside']} outside the parameter box the model was trained on "
            "(column outside_trained_box): do not trust those") if result["outside"] else ""
    print(f"wrote {args.out} ({result['rows']} predictions{note})")


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="evaluate a trained model on the test split of its subset file",
        description=(
            "Apply a trained model to the test split (15 %%) of a subset file and write, per test sample, "
            "the true and predicted parameters, their absolute errors (Eq. 13), the SSE of the normalised "
            "parameters over all four and over pairs (Eq. 14), and the SSE of the signals between the scans "
            "and scans re-simulated from the prediction (Eq. 15), as netCDF with units. Samples whose "
            "highest peak exceeds the study's Cp_max limit are flagged (kept = 0). An up-to-date file is "
            "not recomputed."),
        epilog="Example: tnm evaluate --model models/C-quick.keras --data data/C-quick.h5 --out reports/quick/eval-C.nc")
    p.add_argument("--model", type=Path, required=True, metavar="MODEL.keras")
    p.add_argument("--data", type=Path, required=True, metavar="FILE.h5", help="the model's subset file")
    p.add_argument("--out", type=Path, required=True, metavar="EVAL.nc", help="evaluation file (.nc)")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args) -> None:
    from .pipeline.evaluate import evaluate_model

    _require_suffix(args.out, "--out", ".nc")
    result = evaluate_model(args.model, args.data, args.out)
    print(f"wrote {args.out} ({result.sizes['test_sample']} test samples, "
          f"{int(result['kept'].values.sum())} kept)")


def _add_distort(sub) -> None:
    p = sub.add_parser(
        "distort", help="a distorted copy of scans: noise, instrument lag, baseline tilt",
        description=(
            "Copy a subset file (.h5) or a scans CSV and distort every scan as a real DSC would: a "
            "first-order instrument lag (the sensor follows the sample with a time constant in s), a "
            "linear baseline tilt left by the normalisation (percent of the Cp jump per 100 K, zero at "
            "each scan's limiting fictive temperature), "
            "then Gaussian noise (percent of the Cp jump). Seeded: the same seed gives the same copy. "
            "The copy of a subset file gets a new fingerprint, so models and evaluations of the clean "
            "file are never reused for it."),
        epilog="Example: tnm distort --data data/G-quick.h5 --out data/G-quick-noise1.h5 --noise-percent 1")
    p.add_argument("--data", type=Path, required=True, metavar="FILE.h5|FILE.csv")
    p.add_argument("--out", type=Path, required=True, metavar="OUT.h5|OUT.csv")
    p.add_argument("--noise-percent", type=float, default=0.0, metavar="P", help="noise σ in %% of the Cp jump (e.g. 1)")
    p.add_argument("--lag-s", type=float, default=0.0, metavar="S", help="instrument time constant in s (e.g. 3)")
    p.add_argument("--tilt-percent-per-100K", dest="tilt_percent_per_100K", type=float, default=0.0, metavar="P",
                   help="baseline tilt in %% of the Cp jump per 100 K (e.g. 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--heating-rate", type=float, default=None, metavar="K_PER_MIN",
                   help=f"heating rate of a CSV's scans for the lag (default {PAPER_HEATING_RATE_K_PER_MIN:g}; "
                        "a subset file records its own)")
    p.set_defaults(run=_run_distort)


def _run_distort(args) -> None:
    from .physics.instrument import Distortion
    from .pipeline.distort import distort_file

    distortion = Distortion(args.noise_percent / 100.0, args.lag_s, args.tilt_percent_per_100K / 100.0)
    result = distort_file(args.data, args.out, distortion, args.seed, args.heating_rate)
    print(f"wrote {args.out} ({result['samples']} samples, {result['label']})")


def _add_summary(sub) -> None:
    p = sub.add_parser(
        "summary", help="collect the evaluations of a build into one summary.json",
        description=(
            "Read eval-<model>.nc of every model of the study from a folder and write, per model and "
            "parameter, the MAE of the network and of the constant predictor (median of the training "
            "split), the shares under the study's thresholds, the left-out samples and whether the "
            "grid resolves the subset's transitions (>= 5 points across the median width)."),
        epilog="Example: tnm summary --eval-dir reports/quick --out reports/quick/summary.json")
    p.add_argument("--eval-dir", type=Path, required=True, metavar="DIR")
    p.add_argument("--comparison", type=Path, default=None, metavar="COMPARISON.nc",
                   help="also the comparison of estimators (tnm compare): shares, failures, s/sample")
    p.add_argument("--out", type=Path, required=True, metavar="SUMMARY.json")
    p.set_defaults(run=_run_summary)


def _run_summary(args) -> None:
    from .pipeline.summary import write_summary

    _require_suffix(args.out, "--out", ".json")
    result = write_summary(args.eval_dir, args.out, comparison_path=args.comparison)
    print(f"wrote {args.out} ({len(result['models'])} models)")


def _model_pair(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=MODEL.keras, got {text!r}")
    return name, Path(path)


def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare", help="every estimator on the same whole-space samples, clean and distorted",
        description=(
            "Run the constant predictor, the given networks, Moynihan's Δh*, the look-up table (5 "
            "nearest neighbours among the training split's peak descriptors) and bounded least "
            "squares (from the practitioner's start and from truth ± 10 %%) on the test split of the "
            "whole-space subset G and on its distorted copies (study.yaml's distortions: noise, "
            "instrument lag, baseline tilt). Least squares runs on a seeded subsample of the kept "
            "test samples, in worker processes. Writes estimates, statuses and seconds per sample; "
            "an unchanged comparison is not run again."),
        epilog="Example: tnm compare --data data/G-quick.h5 --model G=models/G-quick.keras "
               "--model G-aug=models/G-aug-quick.keras --out reports/quick/comparison.nc")
    p.add_argument("--data", type=Path, required=True, metavar="FILE.h5", help="the subset file of G")
    p.add_argument("--model", dest="models", type=_model_pair, action="append", default=[], metavar="NAME=MODEL.keras",
                   help="a network to include (repeat for several)")
    p.add_argument("--out", type=Path, required=True, metavar="COMPARISON.nc")
    p.add_argument("--least-squares-samples", type=int, default=None, metavar="N",
                   help="test samples fitted by least squares (default: the data's profile)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes for least squares (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the distortions and the subsample (default 0)")
    p.set_defaults(run=_run_compare)


def _run_compare(args) -> None:
    import h5py

    from .pipeline.compare import compare_estimators
    from .study.profile import load_profile

    _require_suffix(args.out, "--out", ".nc")
    _require_at_least_one(args, "workers")
    samples = args.least_squares_samples
    if samples is None:
        try:
            with h5py.File(args.data, "r") as f:
                samples = load_profile(str(f.attrs.get("profile", "quick"))).least_squares_samples
        except OSError as exc:
            raise TNMInputError(f"cannot read {args.data}: {exc}") from None
    result = compare_estimators(args.data, dict(args.models), args.out, least_squares_samples=samples,
                                seed=args.seed, workers=args.workers)
    print(f"wrote {args.out} ({result.sizes['estimator']} methods x {result.sizes['distortion']} distortions "
          f"x {result.sizes['sample']} samples)")


def _add_estimator(sub) -> None:
    p = sub.add_parser(
        "estimator", help="train the whole-space estimator's network (the one tnm fit starts from)",
        description=(
            "Draw the training samples of study.yaml's `estimator` block uniformly over the whole state "
            "space, simulate each on a grid spanning its own transition, and train the network that "
            "gives tnm fit its start. Minutes on 2 cores; the package ships the result as "
            "tnmlib/data/estimator.npz (make estimator rebuilds it)."),
        epilog="Example: tnm estimator --out tnmlib/data/estimator.npz")
    p.add_argument("--out", type=Path, required=True, metavar="ESTIMATOR.npz")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="training samples to draw (default: study.yaml's estimator.train_samples)")
    p.add_argument("--epochs", type=int, default=None, metavar="N", help="training epochs (default: study.yaml's)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="processes for the simulation (default 2)")
    p.set_defaults(run=_run_estimator)


def _run_estimator(args) -> None:
    import dataclasses

    from .pipeline.estimator import build_estimator
    from .study.design import ESTIMATOR

    _require_suffix(args.out, "--out", ".npz")
    _require_at_least_one(args, "samples", "epochs", "workers")
    spec = dataclasses.replace(ESTIMATOR, train_samples=args.samples or ESTIMATOR.train_samples,
                               epochs=args.epochs or ESTIMATOR.epochs)
    build_estimator(args.out, spec, workers=args.workers)


def _add_assess(sub) -> None:
    p = sub.add_parser(
        "assess", help="the whole-space estimator against the paper's MCNN and least squares",
        description=(
            "Draw test samples over the whole state space, simulate each on a grid spanning its "
            "transition, and read them clean, with 1 %% noise and with 1 %% noise and a 3 s lag "
            "(study.yaml's wholespace_copies) by the constant predictor, the paper's MCNN G (on its "
            "own grid), the new network, the network refined by least squares, and least squares "
            "from the practitioner's start. An unchanged assessment is not run again."),
        epilog="Example: tnm assess --profile quick --g-model models/G-quick.keras --out reports/quick/wholespace.nc")
    p.add_argument("--out", type=Path, required=True, metavar="WHOLESPACE.nc")
    p.add_argument("--profile", default="quick", help="sizes from this profile (default quick)")
    p.add_argument("--network", type=Path, default=None, metavar="ESTIMATOR.npz",
                   help="the network (default: the one shipped with tnmlib)")
    p.add_argument("--g-model", type=Path, default=None, metavar="G.keras", help="the paper's MCNN G of the profile")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes (default 2)")
    p.set_defaults(run=_run_assess)


def _run_assess(args) -> None:
    from .pipeline.assess import assess_estimator
    from .study.profile import load_profile

    _require_suffix(args.out, "--out", ".nc")
    _require_at_least_one(args, "workers")
    profile = load_profile(args.profile)
    result = assess_estimator(args.network, args.out, test_samples=profile.wholespace_test_samples,
                              least_squares_samples=profile.wholespace_least_squares_samples,
                              g_model=args.g_model, g_grid=profile.grid_for("G"), workers=args.workers)
    print(f"wrote {args.out} ({result.sizes['estimator']} estimators x {result.sizes['copy']} copies "
          f"x {result.sizes['sample']} samples)")


def _add_assess_independent(sub) -> None:
    p = sub.add_parser(
        "assess-independent", help="the whole-space estimator on copies made by the independent reference",
        description=(
            "Draw whole-space test samples (three seeds the network never saw) and measure each as a DSC "
            "would, by the independent reference (Prony staircase extrapolated to zero jump, not the fit's "
            "simulator): a hold and a start-up transient before every heating scan, a span cut to what is "
            "recorded, uneven rows every 0.02-0.5 K; clean, and with 1 %% noise, a 1-5 s lag, a baseline "
            "tilt and a start-up residue drawn per sample.  Reads every copy with the constant predictor, "
            "the network alone and the network refined by least squares, and prints the shares (with "
            "95 %% Wilson intervals) and the coverage of the standard errors.  An unchanged assessment "
            "is not run again."),
        epilog="Example: tnm assess-independent --profile quick --out reports/quick/independent.nc")
    p.add_argument("--out", type=Path, required=True, metavar="INDEPENDENT.nc")
    p.add_argument("--profile", default="quick", help="samples per seed from this profile (default quick)")
    p.add_argument("--samples-per-seed", type=int, default=None, metavar="N",
                   help="whole-space samples drawn per seed (default: the profile's)")
    p.add_argument("--network", type=Path, default=None, metavar="ESTIMATOR.npz",
                   help="the network (default: the one shipped with tnmlib)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes (default 2)")
    p.set_defaults(run=_run_assess_independent)


def _run_assess_independent(args) -> None:
    import pandas as pd

    from .analysis.tables import independent_table
    from .pipeline.independent import assess_independent
    from .study.profile import load_profile

    _require_suffix(args.out, "--out", ".nc")
    _require_at_least_one(args, "workers", "samples_per_seed")
    samples = args.samples_per_seed or load_profile(args.profile).independent_samples_per_seed
    result = assess_independent(args.network, args.out, samples_per_seed=samples, workers=args.workers)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(independent_table(result).to_string())
    print(f"wrote {args.out} ({int(result['kept'].sum())} kept of {result.sizes['sample']} samples x "
          f"{result.sizes['kind']} kinds, {result.attrs['seconds']:.0f} s)")


def _add_example(sub) -> None:
    p = sub.add_parser(
        "example", help="write example measured curves of a literature-like glass (to try tnm fit)",
        description=(
            "Simulate the six heating scans of one of study.yaml's literature-like glasses (Se, "
            "PS-like, B2O3-like) over its transition region and write them as a measurement would: "
            "clean Cp^N; Cp^N with 1 %% noise and a 3 s instrument lag on an uneven grid, rows "
            "shuffled; or raw Cp in J/(g K) with sloped glass and liquid lines (fit it with --normalize)."),
        epilog="Example: tnm example --glass Se --kind raw --out se-raw.csv && tnm fit se-raw.csv --normalize --out se.json")
    p.add_argument("--glass", default=None,
                   help="one of study.yaml's literature_glasses (e.g. Se); with --format and no --glass: an "
                        "o-terphenyl-like run with the procedure and quirks of a real TRIOS export")
    p.add_argument("--kind", default="clean", help="clean, noisy-lag or raw (default clean)")
    p.add_argument("--format", dest="export_format", default=None,
                   choices=("trios", "trios-csv", "trios-json", "netzsch", "mettler"),
                   help="write a whole synthetic run as this instrument's export instead (first heat, cooling at "
                        "10, 40 (followed at 22), 5 and 1 K/min, heating scans with start-up transients)")
    p.add_argument("--seed", type=int, default=0, help="seed of noise and grid (default 0)")
    p.add_argument("--out", type=Path, required=True, metavar="CURVES.csv|EXPORT")
    p.set_defaults(run=_run_example)


def _run_example(args) -> None:
    from .pipeline.example import write_example, write_example_export, write_otp_like_export

    if args.export_format is not None and args.glass is None:
        size = write_otp_like_export(args.export_format, args.out, args.seed)
        print(f"wrote {args.out} (an o-terphenyl-like {args.export_format} export simulated by the independent "
              f"reference, {size:,} bytes)")
        return
    if args.glass is None:
        raise TNMInputError("--glass is needed for example curves (only --format writes a run without it)")
    if args.export_format is not None:
        size = write_example_export(args.glass, args.export_format, args.out)
        print(f"wrote {args.out} ({args.glass}, a synthetic {args.export_format} export, {size:,} bytes)")
        return
    _require_suffix(args.out, "--out", ".csv")
    T, columns = write_example(args.glass, args.kind, args.out, args.seed)
    print(f"wrote {args.out} ({args.glass}, {args.kind}: {len(columns)} scans x {T.size} temperatures)")


def _add_check_exports(sub) -> None:
    p = sub.add_parser(
        "check-exports", help="tnm fit on synthetic exports with a known truth from an independent simulation",
        description=(
            "Draw RUNS synthetic DSC runs per kind (clean; 1 %% noise and a 1-6 s sensor lag) — a glass, a "
            "program with instrument-limited coolings and sometimes ageing, spans and row spacings — simulate "
            "them with the independent reference (Prony staircase extrapolated to zero jump, not the fit's "
            "simulator), write each in one of the five export layouts and fit it as tnm fit does, with fixed and "
            "with refined lines.  Writes one row per run, kind and line mode (.nc) and prints the shares."),
        epilog="Example: tnm check-exports --runs 40 --out check.nc")
    p.add_argument("--runs", type=int, default=None, help="runs per kind (default: the profile's, else 40)")
    p.add_argument("--profile", default=None, help="take the runs per kind from this profile (smoke, quick, paper)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    p.add_argument("--out", type=Path, required=True, metavar="CHECK.nc")
    p.set_defaults(run=_run_check_exports)


def _run_check_exports(args) -> None:
    import pandas as pd

    from .pipeline.export_check import check_exports, failure_reasons, share_table

    _require_suffix(args.out, "--out", ".nc")
    runs = args.runs
    if runs is None:
        from .study.profile import load_profile

        runs = load_profile(args.profile).export_check_runs if args.profile else 40
    ds = check_exports(args.out, runs=runs, seed=args.seed, workers=args.workers)
    frame = ds.to_dataframe()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(share_table(frame).T.to_string())
        reasons = failure_reasons(frame)
        if len(reasons):
            print("failures:\n" + reasons.to_string())
    print(f"wrote {args.out} ({ds.attrs['runs_per_kind']} runs per kind, {ds.attrs['wall_seconds']:.0f} s)")


def _range(text: str) -> tuple[float, float]:
    values = _float_list(text)
    if len(values) != 2 or not values[0] < values[1]:
        raise argparse.ArgumentTypeError(f"expected LO,HI with LO < HI (°C), got {text!r}")
    return values[0], values[1]


def _add_export_options(p) -> None:
    """Options of tnm read and tnm fit for instrument exports."""
    from .estimation.baselines import MIN_WIDTH_K, STEP_TOLERANCE, TOLERANCE
    from .estimation.measurement import SETTLING_S

    p.add_argument("--min-width-K", dest="min_width_K", type=float, default=MIN_WIDTH_K, metavar="K",
                   help=f"narrowest glass or liquid range in K (default {MIN_WIDTH_K:g})")
    p.add_argument("--settling-s", type=float, default=SETTLING_S, metavar="S",
                   help=f"seconds left out after a heating scan's rate has settled (default {SETTLING_S:g})")
    p.add_argument("--step-tolerance", type=float, default=STEP_TOLERANCE, metavar="FRACTION",
                   help=f"flag a scan whose Cp step differs from the median by more (default {STEP_TOLERANCE:g})")
    p.add_argument("--tolerance", type=float, default=TOLERANCE, metavar="CP_N",
                   help=f"largest error of Cp^N the lines may cause (default {TOLERANCE:g})")
    p.add_argument("--scans", type=_int_list, default=None, metavar="N,N,...",
                   help="fit these heating scans (segment numbers, as tnm read lists them); default: all that pass")
    p.add_argument("--include-flagged", action="store_true",
                   help="also fit scans flagged for a Cp step off the median or a bending liquid line")


def _export_settings(args):
    import math

    from .estimation.baselines import BaselineSettings

    for name, value, low in (("--min-width-K", args.min_width_K, 0.5), ("--settling-s", args.settling_s, 0.0),
                             ("--step-tolerance", args.step_tolerance, 0.0), ("--tolerance", args.tolerance, 0.0)):
        if not (math.isfinite(value) and value >= low):
            raise TNMInputError(f"{name} must be a number ≥ {low:g}, got {value}")
    return BaselineSettings(min_width_K=args.min_width_K, tolerance=args.tolerance, step_tolerance=args.step_tolerance)


def _add_read(sub) -> None:
    p = sub.add_parser(
        "read", help="what an instrument export holds: segments, achieved rates, scans to fit and why not",
        description=(
            "Read a DSC export as delivered (TA TRIOS text/CSV/JSON, NETZSCH Proteus ASCII, Mettler-Toledo "
            "STARe text; the format is detected from the content) and print a table: each segment as "
            "programmed and as the sample followed it (rates from the measured temperature), and for "
            "each heating scan the cooling rate before it, whether tnm fit will use it and why not."),
        epilog="Example: tnm read run.txt --program-out program.yaml")
    p.add_argument("export", type=Path, metavar="FILE", help="the instrument export")
    p.add_argument("--program-out", type=Path, default=None, metavar="PROGRAM.yaml",
                   help="also write the thermal history the sample followed (YAML; schema in the README)")
    _add_export_options(p)
    p.set_defaults(run=_run_read)


def _run_read(args) -> None:
    from .pipeline.read import format_table, read_run, write_program

    if args.program_out is not None:
        _require_suffix(args.program_out, "--program-out", ".yaml", ".yml")
    run = read_run(args.export, _export_settings(args), scans=args.scans, include_flagged=args.include_flagged,
                   settling_s=args.settling_s)
    print(format_table(run))
    if args.program_out is not None:
        write_program(run, args.program_out)
        print(f"wrote {args.program_out}")


def _add_fit(sub) -> None:
    p = sub.add_parser(
        "fit", help="TNM parameters with uncertainties from measured heating scans (an export or a CSV)",
        description=(
            "Read heating scans from an instrument export (TA TRIOS text/CSV/JSON, NETZSCH Proteus ASCII, "
            "Mettler-Toledo STARe text: scans, cooling and heating rates from the measured temperature, "
            "glass and liquid lines per scan; tnm read shows the choices) or from a CSV (a T_C column and "
            "one column per scan, any grid, rows in any order; column names cp_q<rate> give the cooling "
            "rates in K/min), estimate Δh*, ln A, x and β with the whole-space network and refine them by "
            "bounded least squares on the TNM simulator. Writes the parameters, their standard errors "
            "and correlations, the temperature where τ_eq = 100 s and the residual as JSON."),
        epilog="Example: tnm fit run.txt --out fit.json --plot fit.html")
    p.add_argument("curves", type=Path, metavar="FILE", help="the instrument export or curves CSV")
    p.add_argument("--out", type=Path, required=True, metavar="RESULT.json", help="where the result goes")
    p.add_argument("--cooling-rates", type=_float_list, default=None, metavar="Q1,Q2,...",
                   help="CSV only: cooling rate (K/min) of each scan column, in column order (default: from the column names)")
    p.add_argument("--heating-rate", type=float, default=None, metavar="K_PER_MIN",
                   help=f"CSV only: heating rate of the scans in K/min (default {PAPER_HEATING_RATE_K_PER_MIN:g})")
    p.add_argument("--normalize", action="store_true",
                   help="CSV only: the columns are raw Cp or heat flow: fit glass and liquid lines and convert to Cp^N")
    p.add_argument("--glass-range", type=_range, default=None, metavar="LO,HI",
                   help="with --normalize: °C range of the glass line (default: found below the transition); "
                        "write --glass-range=-20,-5 when LO is negative")
    p.add_argument("--liquid-range", type=_range, default=None, metavar="LO,HI",
                   help="with --normalize: °C range of the liquid line (default: found above the transition)")
    _add_export_options(p)
    p.add_argument("--history", choices=("measured", "nominal"), default="measured",
                   help="exports: simulate the program the sample followed (measured: achieved rates, holds, gaps "
                        "bridged; the default) or constant-rate cycles at the paired cooling rates (nominal)")
    p.add_argument("--hold-out", action="store_true",
                   help="exports: also fit without each scan in turn, predict it along its history, and report its "
                        "rms beside interpolation between its neighbours in log q and the leave-one-out spread")
    p.add_argument("--refine-lines", action=argparse.BooleanOptionalAction, default=None,
                   help="refine each scan's glass and liquid lines together with the model, from the fit with the "
                        "provisional lines (reported beside it in the JSON); default: yes for an instrument export "
                        "(checked on independent synthetic exports, see the book), no for a CSV "
                        "(--no-refine-lines keeps the provisional lines)")
    p.add_argument("--model", type=Path, default=None, metavar="ESTIMATOR.npz",
                   help="the network that gives the start (default: the one shipped with tnmlib)")
    p.add_argument("--no-refine", action="store_true", help="report the network's reading without least squares")
    p.add_argument("--lag-s", type=float, default=0.0, metavar="S",
                   help="known first-order instrument lag in s (default 0); with --fit-lag, its start")
    p.add_argument("--fit-lag", action=argparse.BooleanOptionalAction, default=None,
                   help="fit the instrument lag as a fifth parameter (0-30 s); default: yes for an instrument "
                        "export (its heat flow passed through the sensor) unless --lag-s gives it, no for a CSV")
    p.add_argument("--plot", type=Path, default=None, metavar="FIT.html",
                   help="also write an offline HTML figure of data, fit and residuals")
    p.set_defaults(run=_run_fit)


def _run_fit(args) -> None:
    import math

    from .estimation.classical import LAG_MAX_S
    from .pipeline.fit import fit_file

    _require_suffix(args.out, "--out", ".json")
    if args.plot is not None:
        _require_suffix(args.plot, "--plot", ".html", ".htm")
    if args.heating_rate is not None and not (math.isfinite(args.heating_rate) and args.heating_rate > 0):
        raise TNMInputError(f"--heating-rate must be a positive number of K/min, got {args.heating_rate}")
    if not (math.isfinite(args.lag_s) and 0 <= args.lag_s <= LAG_MAX_S):
        raise TNMInputError(f"--lag-s must lie in [0, {LAG_MAX_S:g}] s, got {args.lag_s}")
    if (args.glass_range or args.liquid_range) and not args.normalize:
        raise TNMInputError("--glass-range and --liquid-range need --normalize")
    if args.no_refine and args.fit_lag:
        raise TNMInputError("--fit-lag needs the refinement (drop --no-refine)")
    result, curves, model, run = fit_file(
        args.curves, args.out, cooling_rates_K_per_min=args.cooling_rates, heating_rate_K_per_min=args.heating_rate,
        normalize=args.normalize, glass_range_C=args.glass_range, liquid_range_C=args.liquid_range,
        network_path=args.model, refine=not args.no_refine, lag_s=args.lag_s, fit_lag=args.fit_lag,
        settings=_export_settings(args), scans=args.scans, include_flagged=args.include_flagged,
        settling_s=args.settling_s, refine_lines=args.refine_lines, history=args.history,
        hold_out_scans=args.hold_out)
    if args.plot is not None:
        from .plots import fit_figure

        figures = [fit_figure(curves, model, result)]
        if run is not None:
            from .plots import run_figure

            figures.append(run_figure(run))
        parts = [f.to_html(full_html=False, include_plotlyjs=(k == 0)) for k, f in enumerate(figures)]
        with atomic_output(args.plot) as tmp:
            tmp.write_text("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>tnm fit</title></head><body>"
                           + "".join(parts) + "</body></html>\n", encoding="utf-8")
    unshown = _not_guaranteed(result)
    if unshown and not result.get("refined_lines"):
        print(f"tnm fit: warning: the lines of {', '.join(unshown)} are not shown to give Cp^N within "
              f"{args.tolerance:g} on their own (normalised_alone in {args.out}); --refine-lines fits them "
              "with the model", file=sys.stderr)
    if result.get("hold_out"):
        for row in result["hold_out"]["scans"]:
            print(f"held out {row['scan']} (cooled at {row['cooled_at_K_per_min']:.3g} K/min): model rms "
                  f"{row['model_rms']:.4f}, interpolation rms {row['interpolation_rms']:.4f}")
        print("leave-one-scan-out sd: " + ", ".join(f"{k} {v:.3g}" for k, v in result["hold_out"]["leave_one_out_sd"].items()))
    if result.get("provisional_lines_fit"):
        other = result["provisional_lines_fit"]
        print("with the provisional lines instead: " + ", ".join(f"{p.display_key} = {other[p.display_key]:.4g}"
                                                                  for p in PARAMETERS)
              + f" (residual rms {other['residual_rms']:.3g})")
    shown = ", ".join(f"{p.display_key} = {result[p.display_key]:.4g}"
                      + (f" ± {stderr:.2g}" if (stderr := result.get(f"{p.display_key}_stderr")) is not None else "")
                      for p in PARAMETERS)
    print(f"wrote {args.out}: {shown}; T_ref = {result['T_ref_C']:.2f} °C; "
          f"residual rms {result['residual_rms']:.3g} ({result['status']}, {result['seconds']:.2f} s)")


def _not_guaranteed(result: dict) -> list[str]:
    """The fitted scans whose guaranteed normalisation does not hold (from tnm fit's result)."""
    if result.get("run"):
        alone = result["run"]["normalised_alone"]
        return [f"segment {k}" for k in result["run"]["scans_fitted"] if alone.get(str(k)) != "yes"]
    per_scan = (result.get("baselines") or {}).get("per_scan", {})
    return [column for column, scan in per_scan.items() if scan.get("normalised_alone", "yes") != "yes"]


def build_parser() -> argparse.ArgumentParser:
    """The ``tnm`` argument parser with all sub-commands."""
    from .version import __version__

    parser = _Parser(prog="tnm", description=(
        "Tool-Narayanaswamy-Moynihan relaxation: simulate DSC heating scans, build datasets, "
        "train and apply the multi-scale CNN. Units: Δh* in kJ/mol, ln A with A in s, "
        "temperatures in °C, rates in K/min."))
    parser.add_argument("--version", action="version", version=f"tnmlib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_simulate(sub)
    _add_dataset(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_predict(sub)
    _add_summary(sub)
    _add_distort(sub)
    _add_compare(sub)
    _add_estimator(sub)
    _add_assess(sub)
    _add_assess_independent(sub)
    _add_read(sub)
    _add_fit(sub)
    _add_example(sub)
    _add_check_exports(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tnm`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except TNMInputError as exc:
        print(f"tnm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TNMRunError as exc:
        print(f"tnm {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"tnm {args.command}: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tnm {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
