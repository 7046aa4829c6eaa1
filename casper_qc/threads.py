"""One thread per process for the numerical libraries.

casper-qc's array work is many small operations (10 ms frames, short matrix products). A
multi-threaded BLAS spins up its thread pool for each of them and costs more than it saves:
measured on a 10-minute stereo file, ``casper-qc prelabel`` took 0.67 s wall / 0.72 s CPU with
OpenBLAS's default threads and 0.38 s / 0.32 s with one thread. Parallelism comes from running
several processes (``--workers``, the Ray executor, gunicorn workers) instead.

BLAS libraries read these variables when they are loaded, so :func:`limit_numeric_threads` must
run before numpy is first imported; it never overrides a value the user has set.
"""

from __future__ import annotations

import os

__all__ = ["THREAD_VARIABLES", "limit_numeric_threads"]

#: Thread-pool sizes of OpenMP, OpenBLAS and MKL.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_numeric_threads() -> None:
    """Set each of :data:`THREAD_VARIABLES` to 1 unless the environment already sets it."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
