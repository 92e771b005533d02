"""The index's search data: a chunked Pagefind index of the agent pages.

Pagefind (a Rust binary shipped in the `pagefind-bin` wheel) reads the built agent pages
and splits its index into small pieces, so a query loads only what it needs however large
the catalog. What it indexes is marked in the templates: `data-pagefind-body` on an agent
page's main content, `data-pagefind-ignore` on what is not about the agent. Filters stay
on the index page's cards: Pagefind writes its own filter data in a random order, and the
same input must give the same site.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
from pathlib import Path

from generator.errors import SiteError

log = logging.getLogger(__name__)

SEARCH_FOLDER = "pagefind"
# Pagefind's own search interfaces; the index page has its own, so these are never loaded.
_UNUSED_FILES = (
    "pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
    "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js",
    "wasm.unknown.pagefind",
)  # fmt: skip


def find_pagefind() -> Path | None:
    """Return the Pagefind binary: $PAGEFIND_BINARY_PATH, the `pagefind-bin` wheel's, or None."""
    configured = os.environ.get("PAGEFIND_BINARY_PATH")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("pagefind_bin")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "pagefind"
    return binary if binary.is_file() else None


def write_search_index(site: Path, background: bool = False) -> bool:
    """Index the agent pages below `site` into `site/pagefind/`; False when Pagefind is missing.

    In the `background` (while serving) it runs at a lower priority than page rebuilds.
    """
    binary = find_pagefind()
    if binary is None:
        log.warning("search index skipped: install pagefind-bin; the index page falls back to its own text")
        return False
    command = [
        str(binary), "--site", str(site), "--glob", "agents/*/index.html",
        "--output-subdir", SEARCH_FOLDER, "--force-language", "en", "--silent",
    ]  # fmt: skip
    lower_priority = (lambda: os.nice(10)) if background and hasattr(os, "nice") else None
    result = subprocess.run(command, capture_output=True, text=True, check=False, preexec_fn=lower_priority)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise SiteError(site / SEARCH_FOLDER, 1, f"Pagefind failed: {message[-1] if message else result.returncode}")
    for name in _UNUSED_FILES:
        (site / SEARCH_FOLDER / name).unlink(missing_ok=True)
    shutil.rmtree(site / SEARCH_FOLDER / "playground", ignore_errors=True)
    return True
