"""Run a job on this machine: in this process (one worker) or in a pool of worker processes.

:class:`LocalExecutor` follows the contract of :mod:`casper_qc.executors.base`. With
``workers=1`` the job runs in the calling process, one item after the other (no pickling, no
start-up; a crash of the job is a crash of the caller). With ``workers=N`` it runs in a
:class:`concurrent.futures.ProcessPoolExecutor` of N processes with at most ``max_in_flight``
items submitted (default ``2 * N``, so every worker has its next item waiting).

Each pool process is one worker on one core: unless the user set them, ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are 1 in the pool's processes (as Ray does for
its one-CPU tasks), so that N workers do not start N thread pools of every core each. This takes
effect where numpy is first imported in the worker (not when the parent had it loaded already).

A worker process that dies breaks the whole pool and every item in flight with it, and the pool
cannot say which item killed it. So the items that were in flight are *suspects*: a fresh pool
runs them one at a time. A suspect that dies alone is the culprit: it is charged one attempt and
run again (alone) until it has had ``1 + retries`` attempts, then reported as failed. The other
suspects finish normally and are not charged; then the remaining items run in parallel again.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from ..threads import limit_numeric_threads
from .base import DEFAULT_RETRIES, Listener, Outcome, check_limits, run_job

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """``workers`` processes on this machine (1: in the calling process).

    Raises:
        InputError: ``workers`` or ``max_in_flight`` below 1, or negative ``retries``.
    """

    def __init__(self, workers: int = 1, *, max_in_flight: int | None = None,
                 retries: int = DEFAULT_RETRIES) -> None:
        from ..errors import InputError

        if workers < 1:
            raise InputError(f"--workers must be at least 1, not {workers}")
        check_limits(max_in_flight, retries)
        self.workers = workers
        self.max_in_flight = max_in_flight or (1 if workers == 1 else 2 * workers)
        self.retries = retries
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, job: Callable[[Any], Any], items: Iterable[Any], listener: Listener,
            *, describe: Callable[[Any], str] = str) -> None:
        if self.workers == 1:
            for item in items:
                listener.started(item)
                listener.finished(item, run_job(job, item, describe(item)))
            return
        _PoolRun(self, job, iter(items), listener, describe).run()

    def _fresh_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_one_thread_each)
        return self._pool


def _one_thread_each() -> None:
    limit_numeric_threads()


class _PoolRun:
    """One :meth:`LocalExecutor.map` over a process pool (state of the run)."""

    def __init__(self, owner: LocalExecutor, job: Callable[[Any], Any], source: Iterator[Any],
                 listener: Listener, describe: Callable[[Any], str]) -> None:
        self.owner, self.job, self.source = owner, job, source
        self.listener, self.describe = listener, describe
        self.pending: dict[Future, tuple[Any, int]] = {}  # future -> (item, attempt number)
        self.suspects: deque[tuple[Any, int]] = deque()  # in flight when the pool broke
        self.exhausted = False
        self.pool = owner._pool or owner._fresh_pool()

    def run(self) -> None:
        while True:
            self._fill()
            if not self.pending:
                return
            done, _ = wait(self.pending, return_when=FIRST_COMPLETED)
            broken: list[tuple[Any, int]] = []
            for future in done:
                item, attempt = self.pending.pop(future)
                if isinstance(future.exception(), BrokenProcessPool):
                    broken.append((item, attempt))
                else:
                    self.listener.finished(item, _result(future, attempt))
            if broken:
                self._recover(broken)

    def _fill(self) -> None:
        """Submit items until ``max_in_flight``; one suspect at a time while there are any."""
        if self.suspects:
            if not self.pending:
                item, attempt = self.suspects.popleft()
                self._submit(item, attempt, announce=False)
            return
        while not self.exhausted and len(self.pending) < self.owner.max_in_flight:
            try:
                item = next(self.source)
            except StopIteration:
                self.exhausted = True
                return
            self._submit(item, 1, announce=True)

    def _submit(self, item: Any, attempt: int, *, announce: bool) -> None:
        if announce:
            self.listener.started(item)
        try:
            future = self.pool.submit(run_job, self.job, item, self.describe(item))
        except BrokenProcessPool as err:  # broke before we noticed: handled like the others
            future = Future()
            future.set_exception(err)
        self.pending[future] = (item, attempt)

    def _recover(self, broken: list[tuple[Any, int]]) -> None:
        """The pool broke: finish or suspect every item in flight, then start a fresh pool."""
        others = list(self.pending.items())
        self.pending.clear()
        if others:
            wait([future for future, _ in others])
        for future, (item, attempt) in others:
            if isinstance(future.exception(), BrokenProcessPool):
                broken.append((item, attempt))
            else:
                self.listener.finished(item, _result(future, attempt))
        if len(broken) == 1:  # the only unfinished item when its worker died: the culprit
            self._charge(*broken[0])
        else:  # cannot tell which: run each alone, nobody charged
            self.suspects.extend(broken)
        self.pool = self.owner._fresh_pool()

    def _charge(self, item: Any, attempt: int) -> None:
        """``item`` killed its worker: run it again alone, or report it after the last try."""
        if attempt <= self.owner.retries:
            self.suspects.appendleft((item, attempt + 1))
            return
        self.listener.finished(item, Outcome(
            error=f"{self.describe(item)}: its worker process died while running it "
                  f"({attempt} attempt{'s' if attempt > 1 else ''})", attempts=attempt))


def _result(future: Future, attempt: int) -> Outcome[Any]:
    outcome = future.result()  # run_job never raises (bar CASPER_QC_DEBUG: then it propagates)
    return outcome if attempt == 1 else Outcome(outcome.result, outcome.error, attempt)
