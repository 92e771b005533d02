"""Render and write every agent page: spread over worker processes when the catalog is large.

Converting Markdown costs several milliseconds a page in pure Python, so a large catalog's
pages are rendered by one worker per core. Each worker renders a page and writes it at
once, and sends back the agent without its rendered body: the main process never holds
every page, and memory stays flat however large the catalog.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath

from generator import output
from generator.catalog import PagePlan, make_agent
from generator.config import SiteConfig
from generator.errors import SiteError
from generator.markup import MarkdownRenderer
from generator.model import Agent
from generator.render import make_environment, make_site_context, render_agent_page

log = logging.getLogger(__name__)

MIN_PAGES_PER_WORKER = 100
"""Below this many pages for each extra worker, starting the workers costs more than it saves."""
CHUNK_SIZE = 8
"""Pages sent to a worker at once: fewer round trips, yet an even spread at the end."""


class PageWriter:
    """Renders agent pages and writes them below `root`; one in each process that renders."""

    def __init__(self, config: SiteConfig, slugs: dict[PurePosixPath, str], root: Path) -> None:
        self.config = config
        self.slugs = slugs
        self.root = root
        self.env = make_environment(config)
        self.site = make_site_context(config)
        self.renderer = MarkdownRenderer()

    def write(self, plan: PagePlan) -> Agent:
        """Render one agent's page, write it and its raw file, and return the agent without its body."""
        agent = _make_agent_or_say_which(plan, self.slugs, self.renderer)
        page = render_agent_page(self.env, self.site, agent, (plan.previous, plan.next), self.config.edit_base)
        output.write_file(self.root, agent.url, page)
        output.copy_file(agent.path, self.root, agent.raw_url)
        return replace(agent, body_html="", summary_html="")


def _make_agent_or_say_which(plan: PagePlan, slugs: dict[PurePosixPath, str], renderer: MarkdownRenderer) -> Agent:
    try:
        return make_agent(plan.raw, slugs, renderer)
    except Exception as exc:  # a bug of ours; name the file that showed it
        log.debug("while rendering %s", plan.raw.path, exc_info=True)
        raise SiteError(plan.raw.path, plan.raw.body_line, f"internal error while rendering this agent: {exc!r}") from exc


def write_agent_pages(
    config: SiteConfig,
    plans: list[PagePlan],
    slugs: dict[PurePosixPath, str],
    root: Path,
    on_page: Callable[[], None] = lambda: None,
) -> list[Agent]:
    """Render and write every planned page, in order; return the agents without their bodies."""
    workers = worker_count(len(plans))
    if workers < 2:
        writer = PageWriter(config, slugs, root)
        return [_counted(writer.write(plan), on_page) for plan in plans]
    return list(_write_in_workers(config, plans, slugs, root, workers, on_page))


def worker_count(pages: int) -> int:
    """Return how many processes should render `pages` pages: one per core, if each gets enough."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, pages // MIN_PAGES_PER_WORKER))


def _write_in_workers(
    config: SiteConfig, plans: list[PagePlan], slugs: dict[PurePosixPath, str], root: Path, workers: int,
    on_page: Callable[[], None],
) -> Iterator[Agent]:
    # fork shares the loaded modules with the workers; elsewhere they start afresh.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(config, slugs, root)) as pool:
        for agent in pool.map(_write_page, plans, chunksize=CHUNK_SIZE):
            yield _counted(agent, on_page)


def _counted(agent: Agent, on_page: Callable[[], None]) -> Agent:
    on_page()
    return agent


_writer: PageWriter | None = None
"""The worker process's own writer, made once by `_start_worker`."""


def _start_worker(config: SiteConfig, slugs: dict[PurePosixPath, str], root: Path) -> None:
    global _writer
    _writer = PageWriter(config, slugs, root)


def _write_page(plan: PagePlan) -> Agent:
    assert _writer is not None, "the pool's initializer makes the writer"
    return _writer.write(plan)
