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
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import TypeVar
from pathlib import Path, PurePosixPath

import jinja2

from generator import output
from generator.cache import BuildCache, compress_page
from generator.catalog import PagePlan, make_agent
from generator.collect import collect_as_usual, usual_collection
from generator.config import SiteConfig
from generator.errors import SiteError
from generator.load import read_again
from generator.markup import MarkdownRenderer
from generator.model import Agent
from generator.render import make_environment, make_site_context, render_agent_page
from generator.search import PageTerms, SearchIndex, index_terms

log = logging.getLogger(__name__)

MIN_PAGES_PER_WORKER = 30
"""Below this many pages for each worker, starting the workers costs more than it saves
(forking one takes about 30 ms; a page about 10 ms)."""
CHUNK_SIZE = 8
"""Pages sent to a worker at once: fewer round trips, yet an even spread at the end."""


Item = TypeVar("Item")
Result = TypeVar("Result")
Progress = Callable[[int, int], None]
"""Called as pages are written, with how many are done and how many there are."""
RenderedPage = tuple[Agent, bytes | None, PageTerms]
"""An agent without its body, its page compressed for the cache (None without a cache), and
the words search finds it by."""


class PageWriter:
    """Renders agent pages and writes them below `root`; one in each process that renders."""

    def __init__(
        self, config: SiteConfig, slugs: dict[PurePosixPath, str], root: Path, for_cache: bool,
        env: jinja2.Environment | None = None,
    ) -> None:
        self.config = config
        self.slugs = slugs
        self.root = root
        self.for_cache = for_cache
        self.env = env or make_environment(config)
        self.site = make_site_context(config)
        self.renderer = MarkdownRenderer()

    def render(self, plan: PagePlan) -> tuple[Agent, str, bytes]:
        """Render one agent's page; return the agent (with its body), the page and the file's bytes."""
        raw, source = read_again(plan.raw, self.config.max_file_size)
        try:
            agent = make_agent(raw, self.slugs, self.renderer)
            page = render_agent_page(self.env, self.site, agent, (plan.previous, plan.next), self.config.edit_base)
        except SiteError:
            raise
        except Exception as exc:  # a bug of ours; name the file that showed it
            log.debug("while rendering %s", raw.path, exc_info=True)
            raise SiteError(raw.path, raw.body_line,
                            f"internal error while rendering this agent: {exc!r}") from None
        return agent, page, source

    def write(self, plan: PagePlan) -> RenderedPage:
        """Render one agent's page, write it and its raw file; return the agent without its body."""
        agent, page, source = self.render(plan)
        output.write_file(self.root, agent.url, page)
        output.write_file(self.root, agent.raw_url, source)
        compressed = compress_page(page) if self.for_cache else None
        return without_body(agent), compressed, index_terms(agent)


def without_body(agent: Agent) -> Agent:
    """Return the agent as the index, catalog.json and the cache keep it: without rendered HTML."""
    return replace(agent, body_html="", summary_html="")


def write_agent_pages(
    config: SiteConfig,
    plans: list[PagePlan],
    slugs: dict[PurePosixPath, str],
    root: Path,
    cache: BuildCache | None = None,
    progress: Progress = lambda done, total: None,
    search: SearchIndex | None = None,
) -> tuple[list[Agent], list[str]]:
    """Write every planned page, from the cache or rendered afresh; return the agents in order,
    and the slugs of those rendered afresh.

    Each page's words go to `search` in the plans' order, so the index does not depend on
    which pages came from the cache, and no list of them grows.
    """
    agents: list[Agent | None] = [None] * len(plans)
    keys = [cache.page_key(plan) for plan in plans] if cache else []
    missing = []
    for index, plan in enumerate(plans):
        cached = cache.get(plan, keys[index], slugs) if cache else None
        if cached is None:
            missing.append(index)
            continue
        output.write_file(root, cached.agent.url, cached.html)
        output.copy_file(plan.raw.path, root, cached.agent.raw_url)
        agents[index] = cached.agent
    done = len(plans) - len(missing)
    progress(done, len(plans))
    rendered = _render(config, [plans[i] for i in missing], slugs, root, cache is not None)
    fresh = set(missing)
    fallback: PageWriter | None = None
    for index, plan in enumerate(plans):
        if index in fresh:
            agent, compressed, terms = next(rendered)
            agents[index] = agent
            if cache is not None and compressed is not None:
                cache.put(plan, keys[index], slugs, agent, compressed, terms)
            done += 1
            progress(done, len(plans))
        elif search is not None:
            terms = cache.get_terms(plan, keys[index]) if cache else None
            if terms is None:  # the cache failed since: render the page again for its words
                fallback = fallback or PageWriter(config, slugs, root, for_cache=False)
                terms = fallback.write(plan)[2]
        if search is not None:
            search.add(plan.slug, terms)
    if cache is not None:
        cache.stats.hits, cache.stats.misses = len(plans) - len(missing), len(missing)
    return [agent for agent in agents if agent is not None], [plans[index].slug for index in missing]


def _render(
    config: SiteConfig, plans: list[PagePlan], slugs: dict[PurePosixPath, str], root: Path, for_cache: bool
) -> Iterator[RenderedPage]:
    """Render and write the pages, in order, in worker processes when there are enough of them."""
    workers = worker_count(len(plans))
    if workers < 2:
        writer = PageWriter(config, slugs, root, for_cache)
        with usual_collection():
            yield from (writer.write(plan) for plan in plans)
        return
    yield from map_in_workers(_write_page, plans, workers, _start_worker, (config, slugs, root, for_cache))


def map_in_workers(
    function: Callable[[Item], Result], items: list[Item], workers: int,
    initializer: Callable[..., None] | None = None, initargs: tuple[object, ...] = (),
) -> Iterator[Result]:
    """Apply `function` to every item in `workers` processes, yielding the results in order."""
    # fork shares the loaded modules with the workers; elsewhere they start afresh.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_in_worker,
                                 initargs=(initializer, *initargs)) as pool:
            yield from pool.map(function, items, chunksize=CHUNK_SIZE)
    except BrokenProcessPool:
        raise SiteError(None, 0, "a worker process died (out of memory?); the site was not changed. "
                                 "Run again, or with fewer cores: taskset -c 0 agentpages build") from None


def _start_in_worker(initializer: Callable[..., None] | None, *initargs: object) -> None:
    collect_as_usual()  # a worker renders page after page
    if initializer is not None:
        initializer(*initargs)


def worker_count(pages: int) -> int:
    """Return how many processes should handle `pages` files: one per core, if each gets enough."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, pages // MIN_PAGES_PER_WORKER))


_writer: PageWriter | None = None
"""The worker process's own writer, made once by `_start_worker`."""


def _start_worker(config: SiteConfig, slugs: dict[PurePosixPath, str], root: Path, for_cache: bool) -> None:
    global _writer
    _writer = PageWriter(config, slugs, root, for_cache)


def _write_page(plan: PagePlan) -> RenderedPage:
    assert _writer is not None, "the pool's initializer makes the writer"
    return _writer.write(plan)
