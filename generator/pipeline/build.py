"""build(config): load every agent, model the catalog, render every page, then swap the site in."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator.catalog.history import FileDates, read_file_dates, repository_stamps
from generator.catalog.model import Catalog
from generator.config import SiteConfig
from generator.errors import BuildFailed, Report, count_findings
from generator.pipeline.memo import Memo
from generator.pipeline.read import list_agent_files, load_and_check
from generator.pipeline.site_files import (
    copy_static_assets,
    make_entry_renderer,
    render_site_files,
)
from generator.pipeline.update import WrittenSite, make_manifest, update_site
from generator.store import output
from generator.store.cache import CacheStats

# The rendering modules (Markdown, Jinja2, Pygments) are imported where they are
# used: a build with nothing changed answers without them, in a fraction of their import time.
if TYPE_CHECKING:

    from generator.pipeline.pages import Progress
    from generator.site.plan import PagePlan, SitePlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What a finished build made."""

    catalog: Catalog
    report: Report
    out_dir: Path
    cache: CacheStats | None = None
    """Pages taken from the cache and pages rendered; None when the build ran without it."""
    unchanged: bool = False
    """Nothing had changed since the last build, so nothing was written."""


def build(
    config: SiteConfig, report: Report | None = None, progress: Progress = lambda done, total: None,
    use_cache: bool = True, cache_dir: Path | None = None,
) -> BuildResult:
    """Build the whole site into `config.out_dir`, or leave the old one untouched on failure.

    `progress` hears how many agent pages are written. With `use_cache`, unchanged pages come
    from the build cache (in `cache_dir`, else the user's cache folder), and a build with
    nothing changed writes nothing at all.
    """
    report = report or Report()
    output.check_out_dir(config.out_dir, config.agents_dir)
    cache = Memo.open(config, cache_dir) if use_cache else None
    try:
        # No file changed since the last build (same sizes and times, same commit): repeat its result.
        # The files are looked at before they are read, so an edit made during the build is not missed.
        site_files = output.SiteFiles(config.out_dir) if cache else None
        site_stamp = site_files.stamp() if site_files else ""
        listing = list_agent_files(config) if cache else None
        inputs = _input_state(config, listing.stamps) if listing else ""
        quick = _quick_state(cache, config, inputs, site_stamp) if cache else ""
        repeated = _repeat_last_result(cache, quick, report) if cache else None
        if cache and repeated is not None:
            if config.strict and report.findings:
                raise BuildFailed(None, 0, _failure_message(report))
            return BuildResult(repeated, report, config.out_dir, cache.stats, unchanged=True)

        from generator.site.plan import SitePlan, plan_pages

        # Read and check every agent before writing anything; strict mode stops on any finding.
        raw_agents = load_and_check(config, report, cache, listing)
        if config.strict and report.findings:
            raise BuildFailed(None, 0, _failure_message(report))
        plans, slugs = plan_pages(raw_agents)
        dates = read_file_dates([plan.raw.path for plan in plans], config.agents_dir, cache)

        state = _site_state(cache, config, plans, dates) if cache else ""
        unchanged = _unchanged_catalog(cache, plans, slugs, f"{state} {site_stamp}") if cache else None
        if cache and unchanged is not None:
            log.debug("nothing changed since the last build of %s", config.out_dir)
            cache.record_build(quick, report.findings, unchanged, f"{state} {site_stamp}")
            return BuildResult(unchanged, report, config.out_dir, cache.stats, unchanged=True)

        # Few pages changed in the last build's site: replace just those files. Otherwise write
        # the whole site aside, then swap it in at once.
        site_plan = SitePlan(plans, slugs, dates)
        written = update_site(config, site_plan, cache, site_files, progress) if cache and site_files else None
        if written is None:
            written = _write_and_swap_in(config, site_plan, cache, progress)
            site_files = output.SiteFiles(config.out_dir) if cache else None
        catalog = written.catalog
        if cache and site_files is not None:
            site_stamp = site_files.stamp()
            cache.forget_others(raw_agents)
            manifest = make_manifest(config, cache, plans, slugs, site_stamp)
            cache.record_build(_quick_state(cache, config, inputs, site_stamp), report.findings, catalog,
                               f"{state} {site_stamp}", (manifest, written.search), written.entry_changes)
    finally:
        if cache:
            cache.close()
    log.debug("built %d agents into %s", len(catalog.agents), config.out_dir)
    return BuildResult(catalog, report, config.out_dir, cache.stats if cache else None)


def _write_and_swap_in(
    config: SiteConfig, site_plan: SitePlan, cache: Memo | None, progress: Progress
) -> WrittenSite:
    """Write the whole site into a staging folder, then swap it in for the old one at once."""
    staging = output.make_staging_dir(config.out_dir)
    try:
        written = write_site(config, site_plan, staging, cache, progress)
    except BaseException:
        output.discard(staging)
        raise
    output.swap_in(staging, config.out_dir)
    return written


def _input_state(config: SiteConfig, stamps: dict[Path, str]) -> str:
    """Describe every input but the templates and config: git's commit, index and shallow file, and
    every agent file's stamp; "" when some file's stamp cannot be trusted."""
    if not all(stamps.values()):
        return ""
    lines = [f"{os.fsencode(str(path)).hex()} {stamp}" for path, stamp in stamps.items()]
    return "\n".join([*repository_stamps(config.agents_dir), *lines])


def _quick_state(cache: Memo, config: SiteConfig, inputs: str, site_stamp: str) -> str:
    """Digest the inputs' stamps with the templates, config and the site folder on disk ("" if unknown)."""
    if not inputs:
        return ""
    parts = [cache.fingerprint, str(config.out_dir), site_stamp, inputs]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _repeat_last_result(cache: Memo, quick: str, report: Report) -> Catalog | None:
    """Return the last build's catalog, with its findings added to `report`, if nothing changed since."""
    if not quick or cache.last_quick_state() != quick:
        return None
    last = cache.last_result()
    if last is None:
        return None
    findings, catalog = last
    for finding in findings:
        report.add(finding)
    cache.stats.hits = len(catalog.agents)
    return catalog


def _site_state(cache: Memo, config: SiteConfig, plans: list[PagePlan], dates: dict[Path, FileDates]) -> str:
    """Digest everything the site is made of: every page's key, every file's dates, where it goes."""
    hasher = hashlib.sha256(f"{cache.fingerprint} {config.out_dir}".encode())
    for plan in plans:
        hasher.update(cache.page_key(plan).encode())
        known = dates.get(plan.raw.path)
        hasher.update(f"{known.added.timestamp()} {known.updated.timestamp()}".encode() if known else b"-")
    return hasher.hexdigest()


def _unchanged_catalog(
    cache: Memo, plans: list[PagePlan], slugs: dict[PurePosixPath, str], site: str
) -> Catalog | None:
    """Return the catalog if the site on disk is the one the last build made from these same inputs.

    `site` is `_site_state` of these inputs and the stamp of the site's files (`output.SiteFiles`).
    """
    if cache.last_site() != site:
        return None
    pages = [cache.get(plan, cache.page_key(plan), slugs, with_html=False) for plan in plans]
    if any(page is None for page in pages):
        return None
    cache.stats.hits = len(pages)
    return Catalog.from_agents([page.agent for page in pages if page is not None])


def write_site(
    config: SiteConfig, site_plan: SitePlan, root: Path, cache: Memo | None = None,
    progress: Progress = lambda done, total: None,
) -> WrittenSite:
    """Render and write every page, raw agent file and asset of the site below `root`."""
    from generator.pipeline.pages import write_agent_pages
    from generator.site.render import (
        make_environment,
        make_site_context,
    )
    from generator.site.search import SearchIndex

    # Agent pages first, each written as soon as it is rendered; the index needs their summaries.
    search = SearchIndex()
    plans, dates = site_plan.pages, site_plan.dates
    agents, fresh = write_agent_pages(config, plans, site_plan.slugs, root, cache, progress, search)
    catalog = Catalog.from_agents(agents)
    copy_static_assets(config, root)
    env = make_environment(config)
    entries = make_entry_renderer(env, make_site_context(config), dates, cache, plans, fresh)
    for path, content in render_site_files(config, env, catalog, dates, search, entries).items():
        output.write_file(root, path, content)
    return WrittenSite(catalog, search, entries.changes)


def _failure_message(report: Report) -> str:
    return f"build failed in strict mode with {count_findings(report)}; the site was not changed"


