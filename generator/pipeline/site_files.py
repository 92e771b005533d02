"""The files of a site but its agent pages: the index, 404 page, stylesheets, search and machine files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from generator.catalog.history import FileDates
from generator.catalog.model import Catalog
from generator.config import SiteConfig
from generator.store import output

if TYPE_CHECKING:
    import jinja2

    from generator.pipeline.memo import Memo
    from generator.site.entries import EntryRenderer
    from generator.site.plan import PagePlan
    from generator.site.render import SiteContext
    from generator.site.search import SearchIndex


def render_site_files(
    config: SiteConfig, env: jinja2.Environment, catalog: Catalog, dates: dict[Path, FileDates], search: SearchIndex,
    entries: EntryRenderer, with_index: bool = True,
) -> dict[str, str | bytes]:
    """Render every file of the site but the agent pages and static assets, by path below the
    root; without the index page when `with_index` is false (it is kept as it is)."""
    from generator.site import publish
    from generator.site.render import make_site_context, render_index, render_not_found

    site = make_site_context(config)
    by_slug = entries.render(catalog)
    files: dict[str, str | bytes] = {**search.render_files()}
    if with_index:
        files["index.html"] = render_index(env, site, catalog, {slug: e.card for slug, e in by_slug.items()})
    files["404.html"] = render_not_found(env, site)
    files.update(render_generated_css(catalog))
    files.update(publish.render_machine_files(
        site, catalog, dates, {slug: e.catalog_object for slug, e in by_slug.items()},
        {slug: e.llms_line for slug, e in by_slug.items()}))
    files[publish.SCHEMA_NAME] = publish.SCHEMA_PATH.read_bytes()
    if config.cname:
        files["CNAME"] = config.cname + "\n"
    files[output.NOJEKYLL] = ""
    files[output.SITE_MARKER] = output.SITE_MARKER_TEXT
    return files


def render_generated_css(catalog: Catalog) -> dict[str, str]:
    """Render the stylesheets made at build time: code colors and the catalog's own badge colors."""
    from generator.site.render import render_code_css, render_color_css

    return {"assets/pygments.css": render_code_css(), "assets/colors.css": render_color_css(catalog)}


def make_entry_renderer(
    env: jinja2.Environment, site: SiteContext, dates: Mapping[Path, FileDates], cache: Memo | None,
    plans: list[PagePlan], fresh: Iterable[str],
) -> EntryRenderer:
    """Make the entry renderer of a build from `plans`, reusing the entries in `cache`; `fresh`
    are the slugs of the agents this build rendered."""
    from generator.site.entries import EntryKeys, EntryRenderer

    if cache is None:
        return EntryRenderer(env, site, dates)
    keys = EntryKeys({plan.slug: cache.page_key(plan) for plan in plans}, frozenset(fresh))
    return EntryRenderer(env, site, dates, keys, cache.get_entries())
