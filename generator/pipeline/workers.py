"""Worker processes, and how often the garbage collector runs: rarely in the program's main
process, as usual elsewhere.

A build makes hundreds of thousands of objects that all stay alive to the end (readings,
the catalog, the search index), and the collector would scan them again and again as they
are made: about 50 ms of an edit build of 1,000 agents. Rendering pages is different: each
page leaves its Markdown tree's cycles behind, so wherever many pages are rendered (the
workers, a build on one core, `serve`) garbage is collected at the usual pace.
"""

from __future__ import annotations

import gc
import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from generator.errors import SiteError

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

USUAL_THRESHOLDS = gc.get_threshold()
"""As the interpreter set them, taken before anything here changes them."""
RARE_THRESHOLDS = (100_000, 50, 1000)


def collect_rarely() -> None:
    """Collect rarely from now on, and never look at the objects made so far (the modules') again."""
    gc.freeze()
    gc.set_threshold(*RARE_THRESHOLDS)


def collect_as_usual() -> None:
    """Collect at the interpreter's usual pace from now on."""
    gc.set_threshold(*USUAL_THRESHOLDS)


@contextmanager
def usual_collection() -> Iterator[None]:
    """Collect at the usual pace for the duration, then as before."""
    before = gc.get_threshold()
    collect_as_usual()
    try:
        yield
    finally:
        gc.set_threshold(*before)


MIN_PAGES_PER_WORKER = 30
"""Below this many pages for each worker, starting the workers costs more than it saves
(forking one takes about 30 ms; a page about 10 ms)."""
CHUNK_SIZE = 8
"""Pages sent to a worker at once: fewer round trips, yet an even spread at the end."""
CHUNKS_AHEAD = 4
"""Chunks sent ahead to each worker: enough to keep it busy, few enough that the results
waiting for the main process (busier than a worker on a small machine) stay CHUNKS_AHEAD ×
CHUNK_SIZE pages a worker, never the catalog: at 20,000 agents, results piled up by the thousand."""


Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_workers(
    function: Callable[[Item], Result], items: Iterable[Item], workers: int,
    initializer: Callable[..., None] | None = None, initargs: tuple[object, ...] = (),
) -> Generator[Result, None, None]:
    """Apply `function` to every item in `workers` processes, yielding the results in order.
    Closing the generator (or letting it go) stops the workers."""
    import multiprocessing  # here, not above: most builds run no worker
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork shares the loaded modules with the workers; elsewhere they start afresh.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_in_worker, initargs=(initializer, *initargs))
    try:
        yield from _in_order(pool, function, items, workers * CHUNKS_AHEAD)
    except BrokenProcessPool:
        raise SiteError(None, 0, "a worker process died (out of memory?); the site was not changed. "
                                 "Run again, or with fewer cores: taskset -c 0 agentpages build") from None
    except BaseException:  # interrupted, or the caller failed: the work left is not wanted
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def _in_order(
    pool: ProcessPoolExecutor, function: Callable[[Item], Result], items: Iterable[Item], ahead: int,
) -> Iterator[Result]:
    """Apply `function` to `items` in chunks of CHUNK_SIZE, no more than `ahead` chunks sent and
    not yet taken, yielding the results in order (`pool.map` takes every item at once). The
    items are taken in this thread, as they are sent."""
    pending: deque[Future[list[Result]]] = deque()
    remaining = iter(items)
    while chunk := list(itertools.islice(remaining, CHUNK_SIZE)):
        pending.append(pool.submit(_apply_to_chunk, function, chunk))
        if len(pending) >= ahead:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def _apply_to_chunk(function: Callable[[Item], Result], chunk: list[Item]) -> list[Result]:
    return [function(item) for item in chunk]


def _start_in_worker(initializer: Callable[..., None] | None, *initargs: object) -> None:
    collect_as_usual()  # a worker renders page after page
    if initializer is not None:
        initializer(*initargs)


def worker_count(pages: int) -> int:
    """Return how many processes should handle `pages` files: one per core, if each gets enough."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, pages // MIN_PAGES_PER_WORKER))
