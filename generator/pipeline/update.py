"""Update the last build's site in place when only a few pages changed.

A full build writes every file into a staging folder and swaps it in whole. After one
edit in a large catalog that is nearly all copying pages that did not change. So when the
output folder is exactly as the last build left it (every file's name, size and time), and
the templates, config and code are the same, the pages to render are rendered first, in
memory, and then only the files whose content changed are replaced, each through a rename,
and the pages of removed agents deleted. The search index is updated with the changed
pages' words alone. Anything else takes the full way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator.catalog.model import Agent, Catalog, page_url, raw_file_url
from generator.errors import SiteError
from generator.pipeline.memo import Manifest, compress_page
from generator.site.search import SEARCH_FOLDER
from generator.store import output

if TYPE_CHECKING:
    import jinja2

    from generator.config import SiteConfig
    from generator.pipeline.memo import Memo
    from generator.pipeline.pages import Progress
    from generator.site.entries import EntryChanges
    from generator.site.plan import PagePlan, SitePlan
    from generator.site.search import PageTerms, SearchIndex

log = logging.getLogger(__name__)

MAX_PAGES = 60
"""More pages to render than this, and a full build in worker processes is quicker."""


@dataclass(frozen=True)
class WrittenSite:
    """What a build wrote: the catalog, the search index and every agent's entries."""

    catalog: Catalog
    search: SearchIndex
    entry_changes: EntryChanges | None
    """What changed of every agent's parts of the index, catalog.json and llms.txt; None without a cache."""


@dataclass(frozen=True)
class FreshPage:
    """A page rendered by this update."""

    agent: Agent
    """Without its body, as the catalog keeps it."""
    html: str
    source: bytes
    """The agent file as read for this page, for its raw copy."""
    terms: PageTerms


def make_manifest(
    config: SiteConfig, cache: Memo, plans: list[PagePlan], slugs: dict[PurePosixPath, str], stamp: str
) -> Manifest:
    """Describe the site a build just finished writing from `plans`."""
    return Manifest(
        str(config.out_dir), cache.fingerprint, stamp, dict(slugs),
        {page_url(plan.slug): cache.page_key(plan) for plan in plans},
        {raw_file_url(plan.slug): plan.raw.digest for plan in plans},
    )


def update_site(
    config: SiteConfig, site_plan: SitePlan, cache: Memo, site_files: output.SiteFiles,
    progress: Progress = lambda done, total: None,
) -> WrittenSite | None:
    """Render what changed and replace only the files that differ; None when this cannot be done.

    `site_files` describes the output folder as it is now, and is brought up to date with what
    the update writes; `progress` hears when the pages are done.
    """
    from generator.pipeline.site_files import make_entry_renderer, render_site_files
    from generator.site.render import (
        make_environment,
        make_site_context,
    )

    plans, slugs, dates = site_plan.pages, site_plan.slugs, site_plan.dates
    last_written, last_result = cache.last_written(), cache.last_result()
    if last_written is None or last_result is None:
        return None
    manifest, last_search = last_written
    if (manifest.out_dir, manifest.fingerprint, manifest.stamp) != (str(config.out_dir), cache.fingerprint, site_files.stamp()):
        return None  # another folder, other templates or code, or somebody changed the site since
    kept = _unchanged_pages(cache, plans, slugs, manifest, last_result[1])
    if len(plans) - len(kept) > MAX_PAGES:
        return None
    # Rendered before anything is written: an error leaves the site as it was.
    env = make_environment(config)
    stale = {index: plan for index, plan in enumerate(plans) if index not in kept}
    fresh = _render_pages(config, env, slugs, stale)
    progress(len(plans), len(plans))
    search = _updated_search(cache, plans, fresh, manifest, last_search)
    if search is None:
        return None
    catalog = Catalog.from_agents([kept[i] if i in kept else fresh[i].agent for i in range(len(plans))])
    entries = make_entry_renderer(env, make_site_context(config), dates, cache, plans, [plans[i].slug for i in fresh])
    files = render_site_files(config, env, catalog, dates, search, entries)
    _replace_files(site_files, plans, fresh, files, manifest)
    for index, page in fresh.items():
        cache.put(plans[index], cache.page_key(plans[index]), slugs, page.agent, compress_page(page.html), page.terms)
    cache.stats.hits, cache.stats.misses = len(kept), len(fresh)
    log.debug("updated %d pages of %s in place", len(fresh), config.out_dir)
    return WrittenSite(catalog, search, entries.changes)


def _unchanged_pages(
    cache: Memo, plans: list[PagePlan], slugs: dict[PurePosixPath, str], manifest: Manifest,
    last_catalog: Catalog,
) -> dict[int, Agent]:
    """Return the agents, by plan number, whose pages and raw files on disk are still right: made
    from the same file, slug and neighbours, and linking files whose slugs did not change."""
    by_file = {agent.rel_path: agent for agent in last_catalog.agents}
    kept = {}
    for index, plan in enumerate(plans):
        agent = by_file.get(plan.raw.rel_path)
        if (agent is not None and manifest.pages.get(page_url(plan.slug)) == cache.page_key(plan)
                and manifest.raws.get(agent.raw_url) == plan.raw.digest
                and all(manifest.slugs.get(target) == slugs.get(target) for target in agent.linked_files)):
            kept[index] = agent
    return kept


def _render_pages(
    config: SiteConfig, env: jinja2.Environment, slugs: dict[PurePosixPath, str], plans: dict[int, PagePlan]
) -> dict[int, FreshPage]:
    from generator.pipeline.pages import PageWriter, without_body
    from generator.site.search import index_terms

    if not plans:
        return {}
    writer = PageWriter(config, slugs, config.out_dir, for_cache=True, env=env)
    fresh = {}
    for index, plan in plans.items():
        agent, html, source = writer.render(plan)
        fresh[index] = FreshPage(without_body(agent), html, source, index_terms(agent))
    return fresh


def _updated_search(
    cache: Memo, plans: list[PagePlan], fresh: dict[int, FreshPage], manifest: Manifest,
    last_search: SearchIndex,
) -> SearchIndex | None:
    """Return the search index with the fresh pages' words: the last one changed where the pages
    are the same, else merged afresh from the cache. None if the cache lacks some page's words."""
    from generator.site.search import SearchIndex

    if last_search.slugs == [plan.slug for plan in plans]:
        # The words each fresh page had in the last build's index, as stored under its old key.
        old = {i: cache.get_terms(plans[i], manifest.pages.get(page_url(plans[i].slug), "")) for i in fresh}
        if all(terms is not None for terms in old.values()):
            for index, terms in old.items():
                last_search.replace(index, terms, fresh[index].terms)  # type: ignore[arg-type]
            return last_search
    search = SearchIndex()
    for index, plan in enumerate(plans):
        terms = fresh[index].terms if index in fresh else cache.get_terms(plan, cache.page_key(plan))
        if terms is None:
            return None
        search.add(plan.slug, terms)
    return search


def _replace_files(
    site_files: output.SiteFiles, plans: list[PagePlan], fresh: dict[int, FreshPage], files: dict[str, str | bytes],
    manifest: Manifest,
) -> None:
    """Write the fresh pages and their raw files, then the site files; delete what is gone; then
    describe in `site_files` what was written and removed.

    A file that cannot be written stops the update with its name; the site may then be partly
    updated, and since its files no longer match the manifest, the next build writes it whole.
    """
    root = site_files.root
    pages = {page_url(plan.slug) for plan in plans}
    raws = {raw_file_url(plan.slug) for plan in plans}
    gone = [*(url for url in manifest.pages if url not in pages), *(url for url in manifest.raws if url not in raws)]
    search_files = {path: content for path, content in files.items() if path.startswith(f"{SEARCH_FOLDER}/")}
    others = [path for path in files if path not in search_files]
    try:
        for page in fresh.values():
            output.replace_file(root, page.agent.url, page.html)
            output.replace_file(root, page.agent.raw_url, page.source)
        output.replace_folder(root, SEARCH_FOLDER, search_files)
        for path in others:
            output.replace_file(root, path, files[path])
        for url in gone:
            output.remove_agent_page(root, url)
    except OSError as exc:
        raise SiteError(Path(exc.filename or root), 1, f"cannot update the site: {exc.strerror}; "
                        "the next build writes it whole again") from None
    written = [path for page in fresh.values() for path in (page.agent.url, page.agent.raw_url)]
    page_folders = [str(PurePosixPath(url).parent) for url in gone if url.endswith("/index.html")]
    site_files.look_again([*written, *others, *gone], [SEARCH_FOLDER, *page_folders])
