"""Physics: TNM relaxation along temperature programs, simulated exactly and fast.

Knows nothing of learning, files or the study: temperature programs (:mod:`.program`), the
signal grid (:mod:`.grid`), Prony series of the KWW function (:mod:`.prony`), numba kernels
(:mod:`.kernels`), the public simulator (:mod:`.simulate`), peak descriptors
(:mod:`.descriptors`) and Moynihan's relation (:mod:`.moynihan`).
"""
from .constants import R_J_PER_MOL_K, ZERO_CELSIUS_K
from .grid import SignalGrid
from .program import Hold, Program, Ramp, chr_program
from .simulate import simulate_chr, simulate_chr_batch, simulate_chr_details, simulate_program

__all__ = ["Hold", "Program", "R_J_PER_MOL_K", "Ramp", "SignalGrid", "ZERO_CELSIUS_K", "chr_program",
           "simulate_chr", "simulate_chr_batch", "simulate_chr_details", "simulate_program"]
