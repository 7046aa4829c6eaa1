"""Executors: run a pure per-recording job over many inputs, here or on a Ray cluster.

The seam between a batch command and the machines that do its work. A command expands its
inputs (:mod:`casper_qc.executors.inputs`), makes an executor with :func:`make_executor`, and
calls ``executor.map(job, items, listener)``; the job is a pure function of one item (contract
in :mod:`casper_qc.executors.base`) and knows nothing of the executor. Results come back to the
driver one by one, where the command writes them (atomically) as they arrive.

* ``local`` (:class:`~casper_qc.executors.local.LocalExecutor`): this process, or a pool of
  ``workers`` processes;
* ``ray`` (:class:`~casper_qc.executors.ray_executor.RayExecutor`): one task per item on a Ray
  cluster (``pip install 'casper-qc[ray]'``); ``ray`` is imported only when one is made.

Nothing is imported here beyond this module: ``import casper_qc.executors`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .base import Executor

__all__ = ["make_executor", "EXECUTORS"]

#: Names accepted by :func:`make_executor` (and ``--executor``).
EXECUTORS = ("local", "ray")


def make_executor(kind: str = "local", *, workers: int | None = None,
                  max_in_flight: int | None = None, retries: int | None = None,
                  address: str | None = None, connect_timeout: float | None = None,
                  exit_on_timeout: bool = False) -> "Executor":
    """An executor of ``kind`` (``"local"`` or ``"ray"``); close it after use.

    ``workers``: local processes (default 1), or the CPUs of a Ray instance started here
    (default: all). ``address`` and ``connect_timeout`` apply to Ray only.

    Raises:
        InputError: an unknown kind, an option that does not apply to it, a bad value, or (Ray)
            a cluster that cannot be reached.
    """
    from ..errors import InputError
    from .base import DEFAULT_RETRIES

    retries = DEFAULT_RETRIES if retries is None else retries
    if connect_timeout is not None and connect_timeout <= 0:
        raise InputError(f"--connect-timeout must be positive, not {connect_timeout:g}")
    if kind == "local":
        for name, value in (("--address", address), ("--connect-timeout", connect_timeout)):
            if value is not None:
                raise InputError(f"{name} applies to --executor ray only")
        from .local import LocalExecutor

        return LocalExecutor(1 if workers is None else workers, max_in_flight=max_in_flight,
                             retries=retries)
    if kind == "ray":
        from .ray_executor import DEFAULT_CONNECT_TIMEOUT, RayExecutor

        return RayExecutor(address, workers=workers, max_in_flight=max_in_flight, retries=retries,
                           connect_timeout=connect_timeout or DEFAULT_CONNECT_TIMEOUT,
                           exit_on_timeout=exit_on_timeout)
    raise InputError(f"unknown executor {kind!r}: choose one of {', '.join(EXECUTORS)}")
