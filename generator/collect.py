"""How often the garbage collector runs: rarely in the program's main process, as usual elsewhere.

A build makes hundreds of thousands of objects that all stay alive to the end (readings,
the catalog, the search index), and the collector would scan them again and again as they
are made: about 50 ms of an edit build of 1,000 agents. Rendering pages is different: each
page leaves its Markdown tree's cycles behind, so wherever many pages are rendered (the
workers, a build on one core, `serve`) garbage is collected at the usual pace.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

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
