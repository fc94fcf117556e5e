"""Perisai: preserve, triage and report abusive Telegram groups as court-grade evidence."""

import os as _os

# One BLAS/OpenMP thread per process, set before numpy is first imported: triage already runs
# one process per core, and OpenBLAS threads on top oversubscribe the machine (a hash stage ran
# 1.5x slower here) and change float summation order, so PDQ quality could differ by one
# between machines. A value the user set is kept.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")

__version__ = "0.1.0"
