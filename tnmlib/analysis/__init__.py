"""Analysis: the paper's metrics (Eqs. 13-15) and tables over evaluation results, as pure functions
(no files, no models)."""
