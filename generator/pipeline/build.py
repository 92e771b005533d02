"""build(config): read and check every agent file, plan the site, render it, and write what changed."""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator.catalog.history import FileDates, read_file_dates
from generator.catalog.model import Catalog, page_url
from generator.config import SiteConfig
from generator.errors import Report, strict_failure
from generator.pipeline.memo import Memo, ScratchMemo
from generator.pipeline.read import list_agent_files, load_and_check
from generator.pipeline.states import (
    PRIVATE_STAMP,
    dates_state,
    input_state,
    inputs_digest,
    moments,
    quick_state,
    site_after,
    site_state,
)
from generator.store import output
from generator.store.database import CacheStats
from generator.store.site_folder import SiteFiles

# The rendering modules (Markdown, Jinja2, Pygments) are imported where they are
# used: a build with nothing changed answers without them, in a fraction of their import time.
if TYPE_CHECKING:
    from collections.abc import Mapping

    from generator.catalog.load import RawAgent
    from generator.pipeline.memo import Manifest
    from generator.pipeline.pages import Progress
    from generator.pipeline.read import AgentListing
    from generator.site.plan import PagePlan
    from generator.site.search import SearchIndex

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
    changed: list[str] = field(default_factory=list)
    """The files of the site written or removed, by their path below the site root."""
    components: dict[str, int] = field(default_factory=dict)
    """How many plugins, commands and skills the site has, by kind."""


def build(
    config: SiteConfig, report: Report | None = None, progress: Progress = lambda done, total: None,
    use_cache: bool = True, cache_dir: Path | None = None,
) -> BuildResult:
    """Build the whole site into `config.out_dir`, or leave the old one untouched on failure.

    `progress` hears how many agent pages are done. With `use_cache`, earlier work comes from
    the build cache (in `cache_dir`, else the user's cache folder), only files whose content
    changed are replaced, and a build with nothing changed writes nothing at all.
    """
    report = report or Report()
    output.check_out_dir(config.out_dir, config.agents_dir, may_be_inside=bool(config.marketplace))
    # Without the cache, a scratch one: the same pipeline, letting go of what it stored.
    memo = Memo.open(config, cache_dir) if use_cache else ScratchMemo.open_scratch(config)
    try:
        result = run_pipeline(config, report, memo, progress)
    finally:
        if memo:
            memo.close()
    return result if use_cache else replace(result, cache=None)


def run_pipeline(
    config: SiteConfig, report: Report, memo: Memo | None, progress: Progress,
    last_good: dict[Path, RawAgent] | None = None, commit_guard: AbstractContextManager[object] | None = None,
    private_output: bool = False,
) -> BuildResult:
    """Read, plan, render and write the site, reusing what `memo` holds from earlier builds.

    The rest is serve's: the last good reading of each file (see `load_and_check`), a lock
    held while the writer puts files in place, and `private_output` for an output folder
    that nothing but the writer touches, whose files need not be looked at before a build.
    """
    if memo:
        memo.start_build()
    # The memo the stages use, and the one that says what the last build did and records this one.
    record = memo if memo and memo.remembers else None
    # No file changed since the last build (same sizes and times, same commit): repeat its result.
    # The files are looked at before they are read, so an edit made during the build is not missed;
    # the site folder's in the background, while the catalog is listed.
    site_files = (SiteFiles(config.out_dir, record.last_layout(config.out_dir), in_background=True)
                  if record and not private_output else None)
    listing = list_agent_files(config)
    inputs = input_state(config, [*listing.entries, *listing.other_entries]) if record else ""
    inputs_key = inputs_digest(record, config, inputs) if record else ""
    repeated = _repeat_last_result(record, inputs_key, site_files, private_output, report) if record else None
    if record and repeated is not None:
        _stop_if_strict(config, report)
        return BuildResult(repeated, report, config.out_dir, record.stats, unchanged=True,
                           components=_last_counts(record))
    # A few files changed without moving any page in the plan: the last build's plan answers.
    if record and site_files is not None and last_good is None:
        from generator.pipeline.edit import edit_in_place

        edited = edit_in_place(config, report, record, listing, site_files, inputs_key, progress)
        if edited is not None:
            return BuildResult(edited.catalog, report, config.out_dir, record.stats, unchanged=edited.unchanged,
                               changed=edited.changed, components=_last_counts(record))
    site_stamp = _folder_stamp(site_files, private_output)
    quick = quick_state(inputs_key, site_stamp)

    from generator.pipeline.components import (
        components_state,
        files_with_pages,
        link_targets,
        mentioners,
        read_components,
        with_relations,
    )
    from generator.pipeline.render import make_manifest, render_site
    from generator.site.plan import SitePlan, plan_pages
    from generator.site.relations import relate

    # Read and check every agent before writing anything; strict mode stops on any finding.
    # Components first: an agent's links may lead to their pages.
    components = read_components(config, listing, report, listing.agent_files(config.agents_dir), memo)
    checked = load_and_check(config, report, memo, listing, last_good, files_with_pages(components))
    raw_agents = checked.raw_agents
    counts = components.counts()
    if record:
        record.put_value(COUNTS_VALUE, counts)
    _stop_if_strict(config, report)

    # Plan: slugs, order, neighbours and dates, before anything is rendered.
    dated = components.dated_files()  # the feed lists commands and skills too
    dates = read_file_dates([raw.path for raw in raw_agents] + dated, config.agents_dir, memo)
    plans, slugs = plan_pages(raw_agents, listing.owners, config.categories, dates,  # each page shows its date
                              checked.slugs)
    relations = relate(mentioners(plans, components))
    plans = with_relations(plans, relations)
    slugs = {**link_targets(components), **slugs}  # links from agents may lead to skills and commands
    parts = (components_state(components, listing.other_entries, config.max_file_size) + " "
             + dates_state(dates, dated)) if record else ""
    state = _site_state(record, config, plans, dates, parts) if record else ""
    unchanged = _unchanged_catalog(record, plans, slugs, f"{state} {site_stamp}") if record else None
    if record and unchanged is not None:
        log.debug("nothing changed since the last build of %s", config.out_dir)
        page_keys = {page_url(plan.slug): record.page_key(plan) for plan in plans}
        layout = site_files.new_layout() if site_files else None
        _keep_ledger(record, config, site_stamp, parts, listing, plans, page_keys, dates, unchanged, counts)
        record.record_build(quick, report.findings, unchanged, page_keys, f"{state} {site_stamp}",
                            layout=(config.out_dir, layout) if layout is not None else None)
        return BuildResult(unchanged, report, config.out_dir, record.stats, unchanged=True, components=counts)

    # Render every file into the writer, then put in place only what changed.
    last = _trusted_last_site(record, config, site_stamp) if record else None
    writer = output.SiteWriter(config.out_dir, last[0].files if last else None)
    try:
        rendered = render_site(config, SitePlan(plans, slugs, dates, relations), memo, writer, last, progress,
                               components)
        with commit_guard or contextlib.nullcontext():
            changed = writer.commit()
    except BaseException:
        writer.discard()
        raise
    if record:
        after = None if private_output else site_after(site_files, config, changed, last is not None)
        site_stamp = after.stamp() if after else PRIVATE_STAMP
        layout = after.new_layout() if after else None
        record.forget_others(raw_agents)
        _keep_ledger(record, config, site_stamp, parts, listing, plans, rendered.page_keys, dates, rendered.catalog,
                     counts)
        record.record_build(quick_state(inputs_key, site_stamp), report.findings, rendered.catalog,
                            rendered.page_keys, f"{state} {site_stamp}",
                            (make_manifest(config, record, writer, rendered, site_stamp), rendered.search),
                            rendered.entry_changes, (config.out_dir, layout) if layout is not None else None,
                            last[0] if last else None)
    log.debug("built %d agents into %s", len(rendered.catalog.agents), config.out_dir)
    return BuildResult(rendered.catalog, report, config.out_dir, memo.stats if memo else None, changed=changed,
                       components=counts)


COUNTS_VALUE = "component counts"
"""The memo value holding how many plugins, commands and skills the last build read, by kind."""


def _last_counts(memo: Memo) -> dict[str, int]:
    stored = memo.get_value(COUNTS_VALUE)
    return {kind: count for kind, count in stored.items() if isinstance(count, int)} if isinstance(stored, dict) else {}


def _keep_ledger(
    memo: Memo, config: SiteConfig, site_stamp: str, parts: str, listing: AgentListing, plans: list[PagePlan],
    page_keys: Mapping[str, str], dates: dict[Path, FileDates], catalog: Catalog, counts: dict[str, int],
) -> None:
    """Record the plan for the next build to start from (see pipeline/edit.py): none for an
    output folder that is serve's, or a catalog with commands, skills or plugins."""
    from generator.pipeline.ledger import keep_ledger

    if site_stamp == PRIVATE_STAMP or any(counts.values()) or listing.marketplace is not None:
        memo.forget_ledger()
    else:
        keep_ledger(memo, config, site_stamp, parts, listing, plans, [page_keys[page_url(plan.slug)] for plan in plans],
                    dates, catalog)


def _stop_if_strict(config: SiteConfig, report: Report) -> None:
    if config.strict and report.findings:
        raise strict_failure(report)


def _trusted_last_site(memo: Memo, config: SiteConfig, site_stamp: str) -> tuple[Manifest, SearchIndex] | None:
    """Return what the last build wrote into the output folder, if the folder is still exactly so."""
    last = memo.last_written()
    if last is None or (last[0].out_dir, last[0].stamp) != (str(config.out_dir), site_stamp):
        return None  # another folder, or somebody changed the site since
    return last


def _folder_stamp(site_files: SiteFiles | None, private_output: bool) -> str:
    """The output folder's stamp: PRIVATE_STAMP for serve's own, "" when no cache looks at it."""
    return site_files.stamp() if site_files else PRIVATE_STAMP if private_output else ""


def _repeat_last_result(
    cache: Memo, inputs_key: str, site_files: SiteFiles | None, private_output: bool, report: Report,
) -> Catalog | None:
    """Return the last build's catalog, with its findings added to `report`, if nothing changed
    since: the same inputs (`inputs_key`, see `states.inputs_digest`), and the site folder as it left it."""
    last_quick = cache.last_quick_state()
    if not inputs_key or not last_quick or last_quick.partition(" ")[0] != inputs_key:
        return None
    last = cache.last_outcome()  # taken apart while the site folder is looked at
    site_stamp = _folder_stamp(site_files, private_output)
    # Asked again: another build may have recorded its outcome since the first asking.
    if (last is None or last_quick != quick_state(inputs_key, site_stamp)
            or cache.last_quick_state() != last_quick):
        return None
    findings, catalog = last
    for finding in findings:
        report.add(finding)
    cache.stats.hits = len(catalog)
    return catalog


def _site_state(
    cache: Memo, config: SiteConfig, plans: list[PagePlan], dates: dict[Path, FileDates], components: str,
) -> str:
    """Digest everything the site is made of (see `states.site_state`)."""
    return site_state(cache.fingerprint, config, components,
                      ((cache.page_key(plan), moments(dates.get(plan.raw.path))) for plan in plans))


def _unchanged_catalog(
    cache: Memo, plans: list[PagePlan], slugs: dict[PurePosixPath, str], site: str
) -> Catalog | None:
    """Return the catalog if the site on disk is the one the last build made from these same inputs.

    `site` is `_site_state` of these inputs and the stamp of the site's files (`SiteFiles`).
    """
    if cache.last_site() != site:
        return None
    pages = [cache.get(plan, cache.page_key(plan), slugs, with_html=False) for plan in plans]
    if any(page is None for page in pages):
        return None
    cache.stats.hits = len(pages)
    return Catalog.from_agents([page.agent for page in pages if page is not None])
