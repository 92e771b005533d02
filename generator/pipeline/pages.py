"""Render agent pages, each written as it is done: spread over worker processes when there are many.

Converting Markdown costs several milliseconds a page in pure Python, so a large catalog's
pages are rendered by one worker per core. Each worker renders a page and writes it at
once, and sends back the agent without its rendered body: the main process never holds
every page, and memory stays flat however large the catalog.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path, PurePosixPath

import jinja2

from generator.catalog.interpret import make_agent
from generator.catalog.load import read_again
from generator.catalog.model import Agent
from generator.config import SiteConfig
from generator.errors import SiteError
from generator.markdown.markup import MarkdownRenderer
from generator.pipeline.stage_memo import compress_page
from generator.pipeline.workers import map_in_workers, usual_collection, worker_count
from generator.site.plan import PagePlan
from generator.site.render import make_environment, make_site_context, render_agent_page, strings_of
from generator.site.search_terms import PageTerms, index_terms
from generator.store import output

log = logging.getLogger(__name__)

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
        self.renderer = MarkdownRenderer(strings_of(self.env).plain("link_to_section"))

    def render(self, plan: PagePlan) -> tuple[Agent, str, bytes]:
        """Render one agent's page; return the agent (with its body), the page and the file's bytes."""
        raw, source = read_again(plan.raw, self.config.max_file_size)
        try:
            agent = make_agent(raw, self.slugs, self.renderer, plan.plugin, plan.plugin_category, plan.category_position)
            page = render_agent_page(self.env, self.site, agent, (plan.previous, plan.next), self.config.edit_base,
                                     plan.relations, plan.updated)
        except SiteError:
            raise
        except Exception as exc:  # a bug of ours; name the file that showed it
            log.debug("while rendering %s", raw.path, exc_info=True)
            raise SiteError(raw.path, raw.body_line,
                            f"internal error while rendering this agent: {exc!r}") from None
        return agent, page, source

    def terms(self, plan: PagePlan) -> PageTerms:
        """Render one agent and return the words search finds it by, writing nothing."""
        return index_terms(self.render(plan)[0])

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


FEW_PAGES = 60
"""Up to this many pages rendered in the main process, garbage is collected as rarely as in the
rest of it (see `workers`): so few leave little behind."""


def render_pages(
    config: SiteConfig, plans: list[PagePlan], slugs: dict[PurePosixPath, str], root: Path, for_cache: bool,
    env: jinja2.Environment | None = None,
) -> Generator[RenderedPage, None, None]:
    """Render the pages and write each, with its raw file, below `root` (a SiteWriter's staging
    folder), in order; in worker processes when there are enough of them (each with its own
    environment), else in this one with `env`."""
    # A reading from the cache decodes its frontmatter here, as its page is rendered (not in the
    # thread that sends it to a worker), into a copy let go once the page is done.
    sent = (replace(plan, raw=plan.raw.with_front_matter()) for plan in plans)
    workers = worker_count(len(plans))
    if workers < 2:
        writer = PageWriter(config, slugs, root, for_cache, env)
        # The first collection at the usual pace scans every object the build made so far (0.2 s
        # at 20,000 agents): worth it where many pages leave their garbage, not for an edit's few.
        with usual_collection() if len(plans) > FEW_PAGES else contextlib.nullcontext():
            yield from (writer.write(plan) for plan in sent)
        return
    yield from map_in_workers(_write_page, sent, workers, _start_worker, (config, slugs, root, for_cache))


_writer: PageWriter | None = None
"""The worker process's own writer, made once by `_start_worker`."""


def _start_worker(config: SiteConfig, slugs: dict[PurePosixPath, str], root: Path, for_cache: bool) -> None:
    global _writer
    _writer = PageWriter(config, slugs, root, for_cache)


def _write_page(plan: PagePlan) -> RenderedPage:
    assert _writer is not None, "the pool's initializer makes the writer"
    return _writer.write(plan)
