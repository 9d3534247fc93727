"""Running independent pieces of work here, in local processes, or on a Dask cluster.

One helper for every runner that fans work out (the accuracy benchmark, the information
plane's table): :func:`run_all` yields each item with its result as results arrive, in
whatever order they finish. Worker processes get one numba thread and one BLAS thread
each, so that ``jobs`` processes use ``jobs`` cores.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

Item = TypeVar("Item")

#: Environment of the worker processes: one thread per process for numba and BLAS.
SINGLE_THREAD_ENVIRONMENT = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def usable_cores() -> int:
    """The cores the operating system lets this process run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_budget() -> int:
    """Threads this process should use for work side by side: its usable cores, capped by
    ``OMP_NUM_THREADS`` where that is set (1 in the runners' worker processes, and in a
    Dask nanny's workers, so that a process per core does not oversubscribe them)."""
    cores = usable_cores()
    with contextlib.suppress(KeyError, ValueError):
        cores = min(cores, max(1, int(os.environ["OMP_NUM_THREADS"])))
    return cores


def check_jobs(jobs: Any) -> int:
    """``jobs`` if it is a positive int, else a ``ValueError`` naming ``--jobs``."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"--jobs must be a positive integer; got {jobs!r}")
    return jobs


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore them."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_all(
    function: Callable[[Item], Any],
    items: Sequence[Item],
    *,
    jobs: int = 1,
    scheduler: Any = None,
) -> Iterator[tuple[Item, Any]]:
    """``(item, function(item))`` for every item, as each finishes.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled to the workers).
    items : sequence
        Picklable arguments, one call each.
    jobs : int, optional
        Local worker processes; 1 runs here, in this process.
    scheduler : str or object, optional
        Address of a Dask scheduler (``tcp://host:8786``) or a Dask cluster or client
        object; the calls then run on its workers and ``jobs`` is ignored.

    Yields
    ------
    tuple
        An item and its result. An exception raised by ``function`` is raised here.
    """
    check_jobs(jobs)
    if scheduler is not None:
        return _run_dask(function, items, scheduler)
    if jobs > 1 and len(items) > 1:
        return _run_processes(function, items, jobs)
    return ((item, function(item)) for item in items)


def _run_processes(
    function: Callable[[Item], Any], items: Sequence[Item], jobs: int
) -> Iterator[tuple[Item, Any]]:
    # spawn, not fork: numba's thread pool does not survive a fork; the environment is
    # read by each new process before it imports numba.
    context = multiprocessing.get_context("spawn")
    # Workers start at submit, so the environment stays set while they are submitted.
    with environment(SINGLE_THREAD_ENVIRONMENT):
        executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        try:
            futures = {executor.submit(function, item): item for item in items}
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


def _mi_toolkit_version() -> str:
    from mi_toolkit import __version__

    return __version__


def _dask_client(scheduler: Any) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "--scheduler needs Dask: pip install 'mi-toolkit[dask]' (or pip install "
            "'dask[distributed]'), here and on the cluster's workers"
        ) from None
    try:
        return Client(scheduler)
    except (OSError, TimeoutError) as error:
        raise OSError(
            f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error}); start it "
            "with 'dask scheduler' and check the address"
        ) from None


def _run_dask(
    function: Callable[[Item], Any], items: Sequence[Item], scheduler: Any
) -> Iterator[tuple[Item, Any]]:
    client = _dask_client(scheduler)
    from distributed import as_completed as dask_completed

    with client:
        ours = _mi_toolkit_version()
        theirs = client.submit(_mi_toolkit_version, pure=False).result()
        if theirs != ours:
            raise ValueError(
                f"--scheduler {scheduler}: the workers run mi-toolkit {theirs}, this machine "
                f"{ours}; install the same version on both"
            )
        futures = client.map(function, list(items), pure=False)
        by_key = dict(zip((f.key for f in futures), items, strict=True))
        try:
            for future in dask_completed(futures):
                yield by_key[future.key], future.result()
        finally:
            client.cancel(futures)
