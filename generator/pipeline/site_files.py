"""The files of a site but its agent pages and search index: the index, 404 page, stylesheets and machine files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generator.catalog.history import FileDates
from generator.catalog.model import Catalog
from generator.config import SiteConfig
from generator.site.publish import LLMS_NAME
from generator.store import output

INDEX_PAGE = "index.html"
NOT_FOUND_PAGE = "404.html"
CODE_CSS = "assets/pygments.css"
COLOR_CSS = "assets/colors.css"
SCRIPT_STRINGS = "assets/strings.js"

SiteFile = str | bytes | Iterator[str]
"""A file's content: whole, or in parts as it is made."""

if TYPE_CHECKING:
    import jinja2

    from generator.pipeline.memo import Memo
    from generator.site.components import Components
    from generator.site.entries import EntryRenderer
    from generator.site.plan import PagePlan
    from generator.site.render import IndexEntry, SiteContext


def render_site_files(
    config: SiteConfig, env: jinja2.Environment, catalog: Catalog, dates: dict[Path, FileDates],
    entries: EntryRenderer, kept: Collection[str] = (), components: Components | None = None,
) -> dict[str, SiteFile]:
    """Render every file of the site but the agent pages, search index and static assets, by path
    below the root; those in `kept` (see `file_keys`) are not rendered: the output folder holds them.
    The largest (catalog.json, index.html) come in parts, to be written as they are made."""
    from generator.site import publish
    from generator.site.components import index_entries
    from generator.site.render import (
        make_site_context,
        render_code_css,
        render_color_css,
        render_index,
        render_not_found,
        render_script_strings,
    )

    site = make_site_context(config)
    by_slug = entries.render(catalog)
    files: dict[str, SiteFile] = {}
    if INDEX_PAGE not in kept:
        files[INDEX_PAGE] = render_index(env, site, catalog, by_slug.cards(), index_entries(components))
    if NOT_FOUND_PAGE not in kept:
        files[NOT_FOUND_PAGE] = render_not_found(env, site)
    if CODE_CSS not in kept:
        files[CODE_CSS] = render_code_css()
    if COLOR_CSS not in kept:
        files[COLOR_CSS] = render_color_css(catalog)
    files[SCRIPT_STRINGS] = render_script_strings(env)
    llms_lines = by_slug.llms_lines if LLMS_NAME not in kept else None
    files.update(publish.render_machine_files(site, catalog, dates, by_slug.catalog_objects(), llms_lines, components))
    files[publish.SCHEMA_NAME] = publish.SCHEMA_PATH.read_bytes()
    if config.cname:
        files["CNAME"] = config.cname + "\n"
    files[output.NOJEKYLL] = ""
    files[output.SITE_MARKER] = output.SITE_MARKER_TEXT
    return files


def file_keys(
    config: SiteConfig, catalog: Catalog, catalog_key: Callable[[], str], components: Sequence[IndexEntry] = (),
) -> dict[str, str]:
    """Return, for each file that `render_site_files` can leave out, a digest of what it is made
    of beside the templates and code (which every memo key starts with); `components` are the
    plugins, commands and skills the index lists."""
    colors = sorted({(agent.color.tone, agent.color.hex) for agent in catalog.agents})
    index = catalog_key() + (f" {hashlib.sha256(repr(list(components)).encode()).hexdigest()}" if components else "")
    # llms.txt says of each agent and component what the index shows of it, from the same config.
    return {INDEX_PAGE: index, LLMS_NAME: index, NOT_FOUND_PAGE: repr(config), CODE_CSS: "", COLOR_CSS: repr(colors)}


def make_entry_renderer(
    env: jinja2.Environment, site: SiteContext, dates: Mapping[Path, FileDates], cache: Memo | None,
    plans: list[PagePlan], fresh: Iterable[str],
) -> EntryRenderer:
    """Make the entry renderer of a build from `plans`, reusing the entries in `cache`; `fresh`
    are the slugs of the agents this build rendered."""
    from generator.site.entries import EntryKeys, EntryRenderer

    if cache is None:
        return EntryRenderer(env, site, dates)
    keys = EntryKeys({plan.slug: cache.page_key(plan) for plan in plans}, frozenset(fresh),
                     {plan.slug: dates.get(plan.raw.path) for plan in plans})
    return EntryRenderer(env, site, dates, keys, cache)
