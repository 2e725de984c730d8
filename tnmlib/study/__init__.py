"""The study design as data: the four parameters, the state space and its subsets, the
profiles, and the study file with the seven models (:mod:`.design`)."""
