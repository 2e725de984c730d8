"""tnmlib: Tool-Narayanaswamy-Moynihan relaxation, simulated and learned.

Reference implementation of the study of the multi-scale CNN that reads the TNM parameters
(ln A, Δh*, x, β) from six simulated DSC heating scans.  Units throughout: Δh* in J/mol in
the API (kJ/mol on the command line and in figures), ln A with A in seconds, temperatures
in °C, rates in K/min.

Layers, each importing only those before it: ``physics`` (simulation; no learning, no files),
``study`` (the design as data), ``learning`` (preprocessing, MCNN, training; Keras on JAX),
``analysis`` (metrics and tables, pure functions), ``pipeline`` (the stages that read and write
files: datasets, evaluation, scans), then ``plots`` and ``cli``.
"""
from .errors import TNMInputError, TNMRunError
from .physics import (R_J_PER_MOL_K, ZERO_CELSIUS_K, Hold, Program, Ramp, SignalGrid, chr_program,
                      simulate_chr, simulate_chr_batch, simulate_chr_details, simulate_program)
from .study.parameters import PARAMETERS
from .version import __version__

__all__ = [
    "Hold", "PARAMETERS", "Program", "R_J_PER_MOL_K", "Ramp", "SignalGrid", "TNMInputError", "TNMRunError",
    "ZERO_CELSIUS_K", "chr_program", "simulate_chr", "simulate_chr_batch", "simulate_chr_details",
    "simulate_program", "__version__",
]
