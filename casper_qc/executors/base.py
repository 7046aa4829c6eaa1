"""The executor contract: map a pure job over inputs, report each input once, in the driver.

A *job* is a picklable module-level callable (or a :func:`functools.partial` of one),
``job(item) -> result``. It is pure: it reads what its item names, returns a small picklable
result (text, numbers) and writes nothing; writing is the caller's business, in the driver, as
results arrive. A job raises :class:`~casper_qc.errors.InputError` for a bad input — final, not
retried, since the same input fails the same way again — and any other exception is a bug
(final too, reported as an internal error).

An *executor* (:class:`Executor`) runs ``job`` over ``items``:

* it consumes ``items`` lazily, with at most ``max_in_flight`` items submitted and unfinished,
  so the driver's memory does not grow with the number of inputs;
* it calls ``listener.started(item)`` when an item is submitted and
  ``listener.finished(item, outcome)`` exactly once per item, in the driver's thread, in
  completion order (not input order);
* when the process running an item dies (killed, out of memory, segfault, lost node), the item
  is run again, up to ``retries`` more times; then it is reported as failed;
* a failed item never stops the others: :meth:`Executor.map` returns when every item has been
  reported. It raises only for a problem of the executor as a whole.

Implementations: :class:`casper_qc.executors.local.LocalExecutor` (in-process, or a process pool)
and :class:`casper_qc.executors.ray_executor.RayExecutor` (a Ray cluster).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Protocol, TypeVar

from ..errors import InputError

__all__ = ["Outcome", "Listener", "Executor", "run_job", "one_line", "DEFAULT_RETRIES"]

Item = TypeVar("Item")
R = TypeVar("R")

#: Runs of an item after the first when its worker process dies (Ray's own default).
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What became of one item: its ``result``, or ``error`` — one line that names the input
    and the cause. ``attempts`` counts the runs (more than 1 when a worker died)."""

    result: R | None = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


class Listener(Protocol):
    """Receives an executor's events, in the driver's thread."""

    def started(self, item: Any) -> None:
        """``item`` was submitted (it counts as in flight until :meth:`finished`)."""

    def finished(self, item: Any, outcome: Outcome[Any]) -> None:
        """``item`` is done (once per item); an exception raised here stops the run."""


class Executor(Protocol):
    """Runs a pure job over items (contract in this module's docstring)."""

    #: Items it keeps submitted and unfinished at most.
    max_in_flight: int

    def map(self, job: Callable[[Any], Any], items: Iterable[Any], listener: Listener,
            *, describe: Callable[[Any], str] = str) -> None:
        """Run ``job`` on every item; ``describe(item)`` names the input in error messages."""

    def close(self) -> None:
        """Release workers and connections (idempotent)."""


def one_line(value: object) -> str:
    """The last non-blank line of ``str(value)`` with inner whitespace collapsed (tracebacks
    and multi-line messages end with the line that says what happened)."""
    lines = [" ".join(line.split()) for line in str(value).splitlines() if line.strip()]
    return lines[-1] if lines else type(value).__name__


def run_job(job: Callable[[Item], R], item: Item, where: str) -> Outcome[R]:
    """Run ``job(item)`` and turn what it raises into an :class:`Outcome` (never raises, except
    with ``CASPER_QC_DEBUG`` set, where a bug propagates with its traceback).

    ``where`` names the input in the messages of errors that do not name it themselves.
    """
    try:
        return Outcome(result=job(item))
    except InputError as err:
        return Outcome(error=str(err))
    except MemoryError:
        return Outcome(error=f"{where}: out of memory")
    except Exception as err:  # a bug: one line, the other items go on
        if os.environ.get("CASPER_QC_DEBUG"):
            raise
        return Outcome(error=f"{where}: internal error: {type(err).__name__}: {one_line(err)}")


def check_limits(max_in_flight: int | None, retries: int) -> None:
    """Raises InputError for a non-positive ``max_in_flight`` or negative ``retries``."""
    if max_in_flight is not None and max_in_flight < 1:
        raise InputError(f"--max-in-flight must be at least 1, not {max_in_flight}")
    if retries < 0:
        raise InputError(f"--retries must not be negative, not {retries}")
