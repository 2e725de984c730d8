"""Estimation: the TNM parameters from heating scans, without training anything.

Between the study design and learning: the classical estimators, least squares on the fast
simulator and the model of a scan on a grid (:mod:`.classical`); the whole-space estimator, a
network evaluated in NumPy and refined by least squares (:mod:`.network`); measured curves,
their glass and liquid lines (Eq. 3) and the fit's result (:mod:`.measured`).  No Keras, no
files: training the network is :mod:`tnmlib.learning.estimator_training`'s, reading exports the
pipeline's.
"""
