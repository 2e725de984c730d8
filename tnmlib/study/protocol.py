"""The paper's measurement protocol as plain numbers, defined once (Table 1 and Section 2).

Six constant-heating-rate cycles: cool at each rate, heat back at one rate; every heating scan
is sampled on one temperature grid (the profiles' grids are steps over its range, in
``profiles/*.yaml``).  This module imports nothing from tnmlib: the simulator's defaults
(:mod:`tnmlib.physics`) read it, so it sits below the physics layer (tests/test_layers.py).
"""

#: Cooling rates (K/min) of the six cycles, in the paper's order.
PAPER_COOLING_RATES_K_PER_MIN = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
#: Heating rate (K/min) of every heating scan.
PAPER_HEATING_RATE_K_PER_MIN = 10.0
#: The paper's signal grid: T_MIN_C ... T_MAX_C (°C) in steps of PAPER_STEP_K (18501 points per scan).
PAPER_T_MIN_C = -250.0
PAPER_T_MAX_C = 1600.0
PAPER_STEP_K = 0.1
