"""tnmlib: Tool-Narayanaswamy-Moynihan relaxation, simulated and learned.

Reference implementation of the study of the multi-scale CNN that reads the TNM parameters
(ln A, Δh*, x, β) from six simulated DSC heating scans.  Units throughout: Δh* in J/mol in
the API (kJ/mol on the command line and in figures), ln A with A in seconds, temperatures
in °C, rates in K/min.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tnmlib")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from .errors import TNMInputError
from .program import Hold, Program, Ramp, chr_program
from .simulate import (R_J_PER_MOL_K, SignalGrid, simulate_chr, simulate_chr_batch,
                       simulate_chr_details, simulate_program)

__all__ = [
    "Hold", "Program", "R_J_PER_MOL_K", "Ramp", "SignalGrid", "TNMInputError", "chr_program",
    "simulate_chr", "simulate_chr_batch", "simulate_chr_details", "simulate_program",
    "__version__",
]
