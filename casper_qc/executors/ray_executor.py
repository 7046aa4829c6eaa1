"""Run a job on a Ray cluster: one task per item, a bounded number in flight.

:class:`RayExecutor` follows the contract of :mod:`casper_qc.executors.base`. It needs Ray
(``pip install 'casper-qc[ray]'``); ``ray`` is imported when an executor is made, never when this
package is imported.

Where it runs (:func:`connect`):

* ``address`` given (``HOST:PORT`` of the head's GCS, ``ray://HOST:PORT`` for Ray Client, or
  ``auto``): joins that cluster. Before :func:`ray.init` a TCP connection to the address must
  open within ``min(connect_timeout, 10)`` seconds (Ray itself retries a dead address for
  minutes), so a wrong address fails at once with one line naming it. With
  ``exit_on_timeout`` (the CLI), a join that has not succeeded after ``connect_timeout``
  seconds ends the process with that message and exit code 2 (:func:`ray.init` cannot be
  interrupted otherwise); a library caller gets Ray's own (slow) failure instead;
* no address but ``RAY_ADDRESS`` set: joins that cluster (Ray's convention), the same way;
* otherwise: starts a private single-node Ray instance on this machine with ``workers`` CPUs
  (default: all), listening on loopback only when Ray is first imported here, and stops it in
  :meth:`RayExecutor.close`. It never attaches to another user's cluster found in ``/tmp/ray``.

How it runs: the job is put in the object store once; each item becomes one task
(``num_cpus=1``) that runs :func:`casper_qc.executors.base.run_job` on a worker, so an input
error comes back as a value and is not retried. A task whose worker process or node dies is
retried by Ray up to ``retries`` times (``max_retries``; application errors are not retried);
after that its item is reported failed with the cause. At most ``max_in_flight`` tasks are
submitted and unfinished (default: twice the cluster's CPUs when the run starts), so neither the
driver nor the cluster queues grow with the number of items; results are fetched as they
complete (:func:`ray.wait`) and dropped once handed to the listener. Errors from workers end with
``(on node IP)``, so a file missing from one machine's view of the storage is easy to place.

A caller that initialised Ray itself keeps its connection: the executor uses it and
:meth:`RayExecutor.close` leaves it open.

Every worker must be able to import this version of casper-qc (install it on every node, or ship
it with a ``runtime_env``) and read the input paths as the driver names them (shared storage
mounted at the same place).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sys
import threading
from typing import Any, Callable, Iterable, Iterator

from ..errors import InputError
from .base import DEFAULT_RETRIES, Listener, Outcome, check_limits, one_line, run_job

__all__ = ["RayExecutor", "connect", "DEFAULT_CONNECT_TIMEOUT", "DEFAULT_GCS_PORT"]

#: Seconds to wait for a cluster address to answer (and, from the CLI, for ray.init to join it).
DEFAULT_CONNECT_TIMEOUT = 30.0
#: Port of a head node's GCS when an address names none (``ray start --head`` default).
DEFAULT_GCS_PORT = 6379


def _import_ray(local: bool) -> Any:
    """``import ray``; for a private instance, the first import here makes Ray bind and
    advertise 127.0.0.1 only (it reads this variable once, at import, and then keeps it)."""
    key = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
    loopback = local and "ray" not in sys.modules and key not in os.environ
    if loopback:
        os.environ[key] = "0"
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs Ray: pip install 'casper-qc[ray]'") from None
    finally:
        if loopback:
            del os.environ[key]
    return ray


def split_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``HOST[:PORT]``, ``[IPv6]:PORT`` or ``ray://HOST:PORT``.

    Raises:
        InputError: no host, or a port that is not a number.
    """
    text = address.split("://", 1)[1] if "://" in address else address
    text = text.rstrip("/")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    default = 10001 if address.startswith("ray://") else DEFAULT_GCS_PORT
    if not host or (port_text and not port_text.isdigit()):
        raise InputError("expected HOST:PORT (or ray://HOST:PORT)",
                         where=f"Ray cluster address {address!r}")
    return host, int(port_text) if port_text else default


def probe(address: str, timeout: float) -> None:
    """Open (and close) a TCP connection to a cluster address.

    Raises:
        InputError: ``"Ray cluster at ADDR: <cause>"`` — unknown host, refused, no answer.
    """
    host, port = split_address(address)
    where = f"Ray cluster at {address}"
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror:
        raise InputError(f"unknown host {host!r}", where=where) from None
    except ConnectionRefusedError:
        raise InputError(f"connection refused (no Ray head is listening on port {port})",
                         where=where) from None
    except TimeoutError:
        raise InputError(f"no answer within {timeout:g} s", where=where) from None
    except OSError as err:
        raise InputError(f"cannot connect: {err.strerror or err}", where=where) from None


@contextlib.contextmanager
def _deadline(seconds: float, message: str, exit_on_timeout: bool) -> Iterator[None]:
    """With ``exit_on_timeout``: print ``message`` and end the process (exit 2) if the block
    has not finished after ``seconds`` — ray.init cannot be interrupted any other way."""
    if not exit_on_timeout:
        yield
        return

    def expire() -> None:
        print(f"casper-qc: error: {message}", file=sys.stderr, flush=True)
        os._exit(2)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def connect(address: str | None = None, *, workers: int | None = None,
            connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
            exit_on_timeout: bool = False) -> bool:
    """Initialise Ray in this process (rules in the module docstring); returns True when this
    call initialised it (the caller then owns the connection, and :func:`ray.shutdown` also
    stops a private instance), False when Ray was initialised already (by a library caller:
    that connection is used as it is).

    Raises:
        InputError: Ray is not installed; ``workers`` given with an address; the address does
            not answer or Ray cannot join it (one line naming the address and the cause).
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address == "local":
        address = None
    if address is not None and workers is not None:
        raise InputError("--workers sets the CPUs of a local Ray instance; with a cluster address "
                         "its CPUs decide (use --max-in-flight to bound the work in flight)")
    ray = _import_ray(local=address is None)
    if ray.is_initialized():  # a library caller connected already: use that
        return False
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        where = "local Ray instance"
        options.update(address="local", num_cpus=workers, include_dashboard=False)
    else:
        where = f"Ray cluster at {address}"
        if address != "auto":
            probe(address, min(connect_timeout, 10.0))
        options["address"] = address
    try:
        late = (f"did not start within {connect_timeout:g} s" if address is None else
                f"could not join it within {connect_timeout:g} s "
                "(is it a Ray head of this Ray version?)")
        with _deadline(connect_timeout, f"{where}: {late}", exit_on_timeout):
            ray.init(**options)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # Ray ends a hopeless join with SystemExit
        with contextlib.suppress(Exception):
            ray.shutdown()
        raise InputError(f"cannot {'start' if address is None else 'join'} it: {_join_error(err)}",
                         where=where) from None
    return True


_RAISED = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def _join_error(err: BaseException) -> str:
    """One line for a failed ray.init: the innermost ``SomeError: message`` Ray reported (it
    hides the real cause, such as a missing token, in a chained traceback's text)."""
    if isinstance(err, SystemExit):
        text = f"Ray gave up (exit status {err.code})"
    else:
        text = one_line(err)
    cause = err.__cause__ or err.__context__
    while cause is not None:
        found = _RAISED.findall(str(cause))
        if found:
            name, message = found[-1]
            text = f"{name}: {message.split('. ')[0].rstrip('.')}"
        cause = cause.__cause__ or cause.__context__
    if "AuthenticationError" in text or "InvalidAuthToken" in text:
        text += (" (this driver needs the cluster's token: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or "
                 "~/.ray/auth_token)")
    return text


def _entry(job: Callable[[Any], Any], item: Any, where: str) -> Outcome[Any]:
    """What a Ray task runs: the job, its errors as values, naming the node they happened on."""
    outcome = run_job(job, item, where)
    if outcome.error is None:
        return outcome
    import ray.util

    return Outcome(error=f"{outcome.error} (on node {ray.util.get_node_ip_address()})")


def _failure(where: str, err: BaseException, attempts: int) -> str:
    """One line for a task Ray gave up on."""
    import ray.exceptions as rex

    if isinstance(err, rex.RayTaskError):  # raised on the worker outside the job (e.g. import)
        cause = err.cause if getattr(err, "cause", None) is not None else err
        return f"{where}: failed on the cluster: {type(cause).__name__}: {one_line(cause)}"
    if isinstance(err, rex.OutOfMemoryError):
        reason = "its node ran out of memory (Ray's memory monitor killed the worker)"
    elif isinstance(err, rex.WorkerCrashedError):
        reason = "its worker process died while running it"
    elif isinstance(err, (rex.NodeDiedError, rex.LocalRayletDiedError)):
        reason = "its node died"
    elif isinstance(err, rex.ObjectLostError):
        reason = "its result was lost with the node that held it"
    else:
        reason = f"{type(err).__name__}: {one_line(err)}"
    return f"{where}: {reason} ({attempts} attempt{'s' if attempts > 1 else ''})"


class RayExecutor:
    """One task per item on a Ray cluster (module docstring for where and how).

    Raises:
        InputError: as :func:`connect`; ``max_in_flight`` below 1 or negative ``retries``.
    """

    def __init__(self, address: str | None = None, *, workers: int | None = None,
                 max_in_flight: int | None = None, retries: int = DEFAULT_RETRIES,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 exit_on_timeout: bool = False) -> None:
        check_limits(max_in_flight, retries)
        if workers is not None and workers < 1:
            raise InputError(f"--workers must be at least 1, not {workers}")
        self.retries = retries
        self._owns = connect(address, workers=workers, connect_timeout=connect_timeout,
                             exit_on_timeout=exit_on_timeout)
        import ray

        self._ray = ray
        #: CPUs of the cluster when the executor was made (what the tasks can use at once).
        self.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.max_in_flight = max_in_flight or 2 * self.cpus

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect if this executor connected (stopping the local instance it started)."""
        if self._owns:
            self._owns = False
            self._ray.shutdown()

    def map(self, job: Callable[[Any], Any], items: Iterable[Any], listener: Listener,
            *, describe: Callable[[Any], str] = str) -> None:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=False)(_entry)
        job_ref = ray.put(job)
        in_flight: dict[Any, Any] = {}  # ObjectRef -> item
        source = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < self.max_in_flight:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                listener.started(item)
                in_flight[remote.remote(job_ref, item, describe(item))] = item
            if not in_flight:
                return
            ready, rest = ray.wait(list(in_flight), num_returns=1)
            if rest:  # take every other result that is already there, without waiting
                more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                ready += more
            for ref in ready:
                item = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as err:
                    system = not isinstance(err, ray.exceptions.RayTaskError)
                    attempts = 1 + self.retries if system else 1
                    outcome = Outcome(error=_failure(describe(item), err, attempts),
                                      attempts=attempts)
                listener.finished(item, outcome)
