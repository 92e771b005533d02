"""The render stage: every file of the site, from the plan, into a SiteWriter.

Each agent page is taken, in this order of preference, from the output folder (it holds
the page at the version the plan asks for), from the memo (rendered by an earlier build
under the same key), or rendered afresh (in worker processes when there are many). The
search index is changed with the re-rendered pages' words alone when the pages are the
same as last time, and the index, catalog.json and llms.txt are joined from each agent's
entries, rendered only for agents whose key changed. What changed, not what there is,
decides what is rendered: one code path for a cold build, a warm one and one edit.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator.catalog.load import file_digest, read_agent_bytes
from generator.catalog.model import Agent, Catalog, page_url, share_paths
from generator.config import SiteConfig, builtin_templates_dir
from generator.errors import Report, SiteError
from generator.pipeline.memo import Manifest, Memo
from generator.pipeline.site_files import (
    file_keys,
    make_entry_renderer,
    render_site_files,
)
from generator.site.plan import PagePlan, SitePlan
from generator.store.output import SiteWriter

if TYPE_CHECKING:
    import jinja2

    from generator.pipeline.component_terms import ComponentPage
    from generator.pipeline.components import ComponentFile
    from generator.pipeline.pages import PageWriter, Progress, RenderedPage
    from generator.site.components import Components
    from generator.site.entries import EntryChanges, EntryRenderer
    from generator.site.search import SearchIndex
    from generator.site.search_terms import PageTerms

log = logging.getLogger(__name__)

SITE_FILE_VALUE = "site file"
"""The memo values naming what a site file was made from, and its version, by path."""
MAX_REPLACED_PAGES = 60
"""Up to this many re-rendered pages (or a tenth of the catalog), the last search index has their
words replaced; more, and it is made afresh, which is as quick and keeps no list of words."""


@dataclass(frozen=True)
class RenderedSite:
    """What the render stage made: the catalog, the search index and every agent's entries."""

    catalog: Catalog
    search: SearchIndex
    entry_changes: EntryChanges | None
    """What changed of every agent's parts of the index, catalog.json and llms.txt; None without a memo."""
    page_keys: dict[str, str]
    """Each agent page's path below the site root and the memo key it was rendered under."""


@dataclass
class _Pages:
    """Every planned page's agent and words, by plan number, as the render stage gathers them."""

    agents: list[Agent | None]
    rendered: list[int]
    """Plan numbers of the pages rendered afresh."""


def render_site(
    config: SiteConfig, site_plan: SitePlan, memo: Memo | None, writer: SiteWriter,
    last: tuple[Manifest, SearchIndex] | None, progress: Progress, components: Components | None = None,
) -> RenderedSite:
    """Render every file of the site into `writer`; `last` is what the last build left in the
    output folder, when the writer trusts it; `components` are the commands, skills and plugins."""
    from generator.pipeline.component_terms import component_pages
    from generator.site.components import index_entries
    from generator.site.render import make_environment, make_site_context

    plans = site_plan.pages
    keys = [memo.page_key(plan) for plan in plans] if memo else [""] * len(plans)
    env = memo.environment(config) if memo else make_environment(config)
    pages = _recall_pages(config, plans, keys, site_plan.slugs, memo, writer, last[0] if last else None)
    progress(len(plans) - len(pages.rendered), len(plans))
    entries = make_entry_renderer(env, make_site_context(config), site_plan.dates, memo, plans,
                                  [plans[index].slug for index in pages.rendered])
    extra = component_pages(components)
    search = _render_search(config, site_plan, keys, memo, writer, pages, last, progress, env, entries, extra)
    catalog = Catalog.from_agents([agent for agent in pages.agents if agent is not None])
    writer.add_tree(builtin_templates_dir() / "assets", "assets")
    if config.theme_dir:
        writer.add_tree(config.theme_dir / "assets", "assets")
        _warn_of_a_base_without_strings(config.theme_dir)
    add_extra_assets(config, writer)
    listed = index_entries(components)
    inputs = file_keys(config, catalog, lambda: memo.catalog_key(catalog, repr(config)), listed) if memo else {}
    kept = {path for path, key in inputs.items() if _keep_file(memo, writer, path, key)}
    for path, content in render_site_files(config, env, catalog, site_plan.dates, entries, kept, components).items():
        if isinstance(content, (str, bytes)):
            writer.add(path, content)
        else:
            writer.add_parts(path, content)
    for path in inputs.keys() - kept:  # remember what each was made from
        memo.put_value(f"{SITE_FILE_VALUE} {path}", [inputs[path], writer.versions[path]])  # type: ignore[union-attr]
    if components:
        _render_components(config, env, site_plan, components, memo, writer)
    if memo is not None:
        memo.stats.hits, memo.stats.misses = len(plans) - len(pages.rendered), len(pages.rendered)
    return RenderedSite(catalog, search, entries.changes, {page_url(plan.slug): key for plan, key in zip(plans, keys)})


def _warn_of_a_base_without_strings(theme_dir: Path) -> None:
    """Say when a theme's own base.html leaves out assets/strings.js: the scripts would show keys."""
    base = theme_dir / "base.html"
    try:
        lacks = base.is_file() and "assets/strings.js" not in base.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if lacks:
        log.warning("%s: the theme's base.html has no <script defer src=\"{{ root }}assets/strings.js\"> before "
                    "site.js, so the scripts show their texts' keys instead of their words: add it", base)


def add_extra_assets(config: SiteConfig, writer: SiteWriter) -> None:
    """Publish the catalog's own stylesheets and scripts (`extra_css`, `extra_js`)."""
    from generator.site.render import extra_asset_path

    for file in (*config.extra_css, *config.extra_js):
        try:
            writer.add(extra_asset_path(file), file.read_bytes())
        except OSError as error:
            raise SiteError(file, 1, f"cannot read it for the site: {error.strerror or error}") from None


def _render_components(
    config: SiteConfig, env: jinja2.Environment, site_plan: SitePlan, components: Components, memo: Memo | None,
    writer: SiteWriter,
) -> None:
    """Put every page of the commands, skills and plugins into the writer: kept where the output
    folder holds it as made from the same inputs, else rendered."""
    from generator.pipeline.components import agents_by_plugin, render_component_files

    agents = agents_by_plugin(site_plan.pages)
    kept = functools.partial(_keep_component, memo, writer)
    for file, content in render_component_files(config, env, components, agents, site_plan.slugs,
                                                site_plan.relations, kept):
        writer.add(file.path, content)
        if memo is not None:
            memo.put_value(f"{SITE_FILE_VALUE} {file.path}", [file.key, writer.versions[file.path]])


def _keep_component(memo: Memo | None, writer: SiteWriter, file: ComponentFile) -> bool:
    return _keep_file(memo, writer, file.path, file.key)


def _keep_file(memo: Memo | None, writer: SiteWriter, path: str, key: str) -> bool:
    """Keep a file the output folder holds when it was made from the same inputs (`key`); a page
    listing every agent is kept while no agent changed what it says."""
    stored = memo.get_value(f"{SITE_FILE_VALUE} {path}") if memo else None
    if not isinstance(stored, list) or len(stored) != 2 or stored[0] != key or writer.wants(path, stored[1]):
        return False
    writer.keep(path, stored[1])
    return True


def page_version(key: str, agent: Agent, slugs: dict[PurePosixPath, str]) -> str:
    """Return what an agent page's content follows from: its memo key and the slugs of the files it links to."""
    if not agent.linked_files:
        return key  # most pages link to no file: no digest to make for each of them
    links = "\n".join(f"{target}\0{slugs.get(target)}" for target in sorted(agent.linked_files))
    return hashlib.sha256(f"{key}\n{links}".encode("utf-8", "surrogateescape")).hexdigest()


def _recall_pages(
    config: SiteConfig, plans: list[PagePlan], keys: list[str], slugs: dict[PurePosixPath, str], memo: Memo | None,
    writer: SiteWriter, last: Manifest | None,
) -> _Pages:
    """Take every page the output folder or the memo has; the others are left to render.

    A page the output folder holds under the same key takes its agent from the last build's
    catalog, read once; any other asks the memo for its own.
    """
    pages = _Pages([None] * len(plans), [])
    on_disk = _agents_on_disk(memo, last)
    for index, plan in enumerate(plans):
        url = page_url(plan.slug)
        kept = on_disk.get(str(plan.raw.rel_path)) if last and last.pages.get(url) == keys[index] else None
        stored = memo.get(plan, keys[index], slugs, with_html=False) if memo and kept is None else None
        agent = kept or (stored.agent if stored else None)
        if agent is None or memo is None:
            pages.rendered.append(index)
            continue
        share_paths(agent, plan.raw.path, plan.raw.rel_path)
        pages.agents[index] = agent
        version = page_version(keys[index], agent, slugs)
        if not writer.wants(agent.url, version):
            writer.keep(agent.url, version)
        else:
            with_html = memo.get(plan, keys[index], slugs)
            if with_html is None:  # the cache failed since
                pages.agents[index] = None
                pages.rendered.append(index)
                continue
            writer.add(agent.url, with_html.html, version)
        if writer.wants(agent.raw_url, plan.raw.digest):
            writer.add(agent.raw_url, _checked_bytes(config, plan), plan.raw.digest)
        else:
            writer.keep(agent.raw_url, plan.raw.digest)
    return pages


def _agents_on_disk(memo: Memo | None, last: Manifest | None) -> dict[str, Agent]:
    """Return the last build's agents by the text of their file's path below the agents folder,
    when the output folder is as that build left it."""
    return memo.last_agents_by_file() if memo and last else {}


def _checked_bytes(config: SiteConfig, plan: PagePlan) -> bytes:
    """Read an agent file again for its raw copy, refusing bytes other than the ones checked."""
    data = plan.raw.source if plan.raw.source is not None else read_agent_bytes(plan.raw.path, Report(), config.max_file_size)
    if data is None or file_digest(data) != plan.raw.digest:
        raise SiteError(plan.raw.path, 1, "the file changed while the site was being built: build again")
    return data


def _old_terms(
    plans: list[PagePlan], rendered: list[int], memo: Memo | None, manifest: Manifest | None,
) -> dict[int, PageTerms | None]:
    """Return the words the pages about to be rendered had in the last build's search index (read
    before their new pages replace them in the memo)."""
    if memo is None or manifest is None:
        return {}
    return {index: memo.get_terms(plans[index], manifest.pages.get(page_url(plans[index].slug), ""))
            for index in rendered}


def _render_search(
    config: SiteConfig, site_plan: SitePlan, keys: list[str], memo: Memo | None, writer: SiteWriter, pages: _Pages,
    last: tuple[Manifest, SearchIndex] | None, progress: Progress, env: jinja2.Environment, entries: EntryRenderer,
    extra: list[ComponentPage],
) -> SearchIndex:
    """Render the pages no earlier build left, and put the search index with every page's words
    (the agents', then `extra`: the commands', skills' and plugins') into the writer: its changed
    chunks written, the others kept."""
    from generator.pipeline.component_terms import COMPONENT_TERMS_VALUE, pages_digest
    from generator.site.search import ChunkMissing

    digest = pages_digest(extra)
    same_extra = memo is not None and memo.get_value(COMPONENT_TERMS_VALUE) == digest
    try:
        search = _render_missing(config, site_plan, keys, memo, writer, pages, last if same_extra else None,
                                 progress, env, entries, extra)
        write_search(writer, search)
    except ChunkMissing as missing:
        log.warning("the build cache lost part of the last search index (%s); it is made afresh", missing)
        search = _fresh_index(config, site_plan, keys, memo, env, writer, extra)
        write_search(writer, search)
    if memo is not None:
        memo.put_value(COMPONENT_TERMS_VALUE, digest)
    return search


def write_search(writer: SiteWriter, search: SearchIndex) -> None:
    changed, kept = search.render_changes()
    for path, text in changed.items():
        writer.add(path, text)
    for path, version in kept.items():
        if writer.wants(path, version):
            writer.add(path, search.chunk_text(path), version)
        else:
            writer.keep(path, version)


def _fresh_index(
    config: SiteConfig, site_plan: SitePlan, keys: list[str], memo: Memo | None, env: jinja2.Environment,
    writer: SiteWriter, extra: list[ComponentPage],
) -> SearchIndex:
    """Make the search index afresh from every page's words, as the memo has them, writing each
    page's fragment."""
    from generator.site.search import SearchIndex

    search = SearchIndex()
    kept_terms = _KeptTerms(config, site_plan, memo, env)
    for plan, key in zip(site_plan.pages, keys):
        terms = kept_terms.of(plan, key)
        add_fragment(writer, plan.slug, terms)
        search.add(plan.slug, terms)
    _add_components(writer, search, extra)
    return search


def _add_components(writer: SiteWriter, search: SearchIndex, extra: list[ComponentPage]) -> None:
    for key, terms in extra:
        add_fragment(writer, key, terms)
        search.add(key, terms)


def add_fragment(writer: SiteWriter, slug: str, terms: PageTerms) -> None:
    """Put a page's search fragment (its sections' text, for snippets) into the writer."""
    from generator.site.search import page_fragment, page_fragment_path

    writer.add(page_fragment_path(slug), page_fragment(terms))


def _keep_fragment(writer: SiteWriter, slug: str, terms: Callable[[], PageTerms]) -> None:
    """Keep the search fragment of a page whose words did not change, as the output folder holds
    it (or write it from its `terms`, should the folder not hold it)."""
    from generator.site.search import page_fragment_path

    path = page_fragment_path(slug)
    version = writer.on_disk.get(path) if writer.on_disk is not None else None
    if version is None:
        add_fragment(writer, slug, terms())
    else:
        writer.keep(path, version)


class _KeptTerms:
    """The words of pages rendered by an earlier build: from the memo, or, should the memo have
    failed since, by rendering the page again (writing nothing)."""

    def __init__(self, config: SiteConfig, site_plan: SitePlan, memo: Memo | None, env: jinja2.Environment) -> None:
        self.config, self.slugs, self.memo, self.env = config, site_plan.slugs, memo, env
        self._renderer: PageWriter | None = None

    def of(self, plan: PagePlan, key: str) -> PageTerms:
        terms = self.memo.get_terms(plan, key) if self.memo else None
        if terms is None:
            from generator.pipeline.pages import PageWriter

            self._renderer = self._renderer or PageWriter(self.config, self.slugs, self.config.out_dir,
                                                          for_cache=False, env=self.env)
            terms = self._renderer.terms(plan)
        return terms


def _render_missing(
    config: SiteConfig, site_plan: SitePlan, keys: list[str], memo: Memo | None, writer: SiteWriter, pages: _Pages,
    last: tuple[Manifest, SearchIndex] | None, progress: Progress, env: jinja2.Environment, entries: EntryRenderer,
    extra: list[ComponentPage],
) -> SearchIndex:
    """Render the pages no earlier build left, each written into the writer's staging folder, and
    return the search index with every page's words, the components' (`extra`) last. Each agent's entries are rendered as its
    page comes, and the agent kept as the memo has it (see `Memo.put`).

    When few pages changed in a site whose index has the same pages, the last index has their
    words replaced; otherwise it is made afresh, in the plans' order, each page's words added
    as its page comes (no list of every page's words is kept: at 5,000 agents it would be
    over 100 MB).
    """
    from generator.pipeline.pages import render_pages
    from generator.site.search import ChunkMissing, SearchIndex

    plans, slugs = site_plan.pages, site_plan.slugs
    rendered = set(pages.rendered)
    old_terms = _old_terms(plans, pages.rendered, memo, last[0] if last else None)
    in_place = (last is not None and len(rendered) <= max(MAX_REPLACED_PAGES, len(plans) // 10)
                and _is_same_index(plans, keys, rendered, old_terms, [key for key, _ in extra], *last))
    search = last[1] if in_place and last is not None else SearchIndex()
    # Pages are compressed for a memo that later builds read; a scratch one keeps no page.
    results = render_pages(config, [plans[i] for i in pages.rendered], slugs, writer.root,
                           memo is not None and memo.remembers, env)
    lost = False
    kept_terms = _KeptTerms(config, site_plan, memo, env)
    done = len(plans) - len(rendered)
    with contextlib.closing(results):  # on any failure here, the workers stop before the staging folder goes
        for index, plan in enumerate(plans):
            if index in rendered:
                terms = _take_rendered(next(results), index, plan, keys[index], slugs, memo, writer, pages, entries)
                add_fragment(writer, plan.slug, terms)
                done += 1
                progress(done, len(plans))
                if in_place:
                    try:
                        search.replace(index, old_terms[index], terms)  # type: ignore[arg-type]
                    except ChunkMissing:
                        lost = True  # every page is still rendered; the index is made afresh after
                    continue
            elif in_place:
                _keep_fragment(writer, plan.slug, functools.partial(kept_terms.of, plan, keys[index]))
                continue
            else:
                terms = kept_terms.of(plan, keys[index])
                add_fragment(writer, plan.slug, terms)
            search.add(plan.slug, terms)
    if lost:
        raise ChunkMissing("a chunk of the last index")
    if in_place:  # the components' words are as the last index has them (see `_render_search`)
        for key, terms in extra:
            _keep_fragment(writer, key, lambda terms=terms: terms)
    else:
        _add_components(writer, search, extra)
    return search


def _take_rendered(
    result: RenderedPage, index: int, plan: PagePlan, key: str, slugs: dict[PurePosixPath, str], memo: Memo | None,
    writer: SiteWriter, pages: _Pages, entries: EntryRenderer,
) -> PageTerms:
    """Take a page a worker rendered and wrote: name its files to the writer, render its agent's
    entries while the whole agent is at hand, keep the agent as the memo has it; return its words."""
    agent, compressed, terms = result
    pages.agents[index] = agent
    writer.staged(agent.url, page_version(key, agent, slugs))
    writer.staged(agent.raw_url, plan.raw.digest)
    if memo is not None:
        entries.render_early(agent)
        pages.agents[index] = memo.put(plan, key, slugs, agent, compressed, terms)
    return terms


def _is_same_index(
    plans: list[PagePlan], keys: list[str], rendered: set[int], old_terms: dict[int, PageTerms | None],
    extra: list[str], manifest: Manifest, index: SearchIndex,
) -> bool:
    """Tell whether the last index has these pages in this order (the agents', then `extra`, the
    components' keys), each page not rendered again under its key of then, and the old words of
    each one rendered again."""
    if index.slugs != [*(plan.slug for plan in plans), *extra] or any(old_terms.get(i) is None for i in rendered):
        return False
    return all(manifest.pages.get(page_url(plan.slug)) == keys[i] for i, plan in enumerate(plans) if i not in rendered)


def make_manifest(config: SiteConfig, memo: Memo, writer: SiteWriter, rendered: RenderedSite, stamp: str) -> Manifest:
    """Describe the site the writer just committed, for the next build's writer and search index."""
    return Manifest(str(config.out_dir), memo.fingerprint, stamp, dict(writer.versions), rendered.page_keys)

