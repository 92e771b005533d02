"""build(config): load every agent, model the catalog, render every page, then swap the site in."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator import output
from generator.cache import BuildCache, CacheStats
from generator.config import SiteConfig, builtin_templates_dir
from generator.errors import BuildFailed, Finding, Report
from generator.history import FileDates, read_file_dates, repository_stamps
from generator.load import RawAgent, file_digest, find_agent_files, read_agent, read_agent_bytes, without_body
from generator.model import Catalog
from generator.update import WrittenSite, make_manifest, update_site

# The rendering modules (Markdown, Jinja2, Pygments) are imported where they are
# used: a build with nothing changed answers without them, in a fraction of their import time.
if TYPE_CHECKING:
    import jinja2

    from generator.catalog import PagePlan, SitePlan
    from generator.entries import EntryRenderer
    from generator.lint import CheckedFile
    from generator.pages import Progress
    from generator.search import SearchIndex

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


@dataclass(frozen=True)
class AgentListing:
    """The agent files below the agents folder, each with its stamp (see `list_agent_files`), and
    what listing them found wrong (links that lead out of the folder)."""

    stamps: dict[Path, str]
    findings: list[Finding]


def load_and_check(
    config: SiteConfig, report: Report, cache: BuildCache | None = None, listing: AgentListing | None = None,
) -> list[RawAgent]:
    """Read every agent file and check it against the rules, recording findings in `report`.

    With a `cache`, a file whose content is unchanged is taken as read and checked before; one
    whose stamp in `listing` is unchanged is not even read. Without a `listing`, the agents
    folder is listed here.
    """
    from generator.lint import check_duplicate_names, check_links
    from generator.pages import map_in_workers, worker_count

    checked_files: dict[Path, CheckedFile | None] = {}
    unknown: list[tuple[Path, bytes]] = []
    if listing is None:
        listing = AgentListing(dict.fromkeys(find_agent_files(config.agents_dir, report), ""), [])
    else:
        for finding in listing.findings:
            report.add(finding)
    stamps = listing.stamps
    for path, stamp in stamps.items():
        known = cache.get_file_by_stamp(path, stamp) if cache and stamp else None
        if known is None:
            data = read_agent_bytes(path, report, config.max_file_size)
            if data is None:
                continue
            known = cache.get_file(path, file_digest(data)) if cache else None
            if known is None:
                unknown.append((path, data))
            elif cache and stamp:  # touched, not changed: known by its stamp from now on
                cache.restamp_file(path, stamp)
        checked_files[path] = known  # None for now keeps the files' order
    # Parsing YAML and checking is a tenth of a cold build: large catalogs spread it too.
    workers = worker_count(len(unknown))
    checked = (map_in_workers(_read_and_check, unknown, workers, _start_checker, (config,)) if workers > 1
               else (_read_and_check_with(config, item) for item in unknown))
    for (path, _), checked_file in zip(unknown, checked):
        checked_files[path] = checked_file
        if cache:
            cache.put_file(checked_file, stamps.get(path, ""))
    readings = [checked_file for checked_file in checked_files.values() if checked_file is not None]
    raw_agents = [reading.raw for reading in readings if reading.raw is not None]
    # Rules that look at other files run afresh every time: those files may have changed.
    catalog_findings = [*check_duplicate_names(raw_agents),
                        *(f for r in readings if r.raw is not None for f in check_links(r.raw, r.links))]
    for finding in [f for reading in readings for f in reading.findings] + catalog_findings:
        report.add(finding)
    report.findings.sort(key=lambda f: (str(f.path), f.line, f.column))
    return raw_agents


def _read_and_check_with(config: SiteConfig, item: tuple[Path, bytes]) -> CheckedFile:
    """Parse one file's bytes and check it by every rule that looks at nothing but the file."""
    from generator.lint import CheckedFile, check_agent, find_relative_links

    path, data = item
    report = Report()
    raw = read_agent(path, config.agents_dir, report, config.max_file_size, data)
    if raw is None:
        return CheckedFile(None, report.findings, [])
    findings = report.findings + check_agent(raw, config.lint_settings, links=False)
    return CheckedFile(without_body(raw), findings, find_relative_links(raw))


_checker_config: SiteConfig | None = None


def _start_checker(config: SiteConfig) -> None:
    global _checker_config
    _checker_config = config


def _read_and_check(item: tuple[Path, bytes]) -> CheckedFile:
    assert _checker_config is not None, "the pool's initializer sets the config"
    return _read_and_check_with(_checker_config, item)


def build(
    config: SiteConfig, report: Report | None = None, progress: Progress = lambda done, total: None,
    use_cache: bool = True,
) -> BuildResult:
    """Build the whole site into `config.out_dir`, or leave the old one untouched on failure.

    `progress` hears how many agent pages are written. With `use_cache`, unchanged pages come
    from the build cache, and a build with nothing changed writes nothing at all.
    """
    report = report or Report()
    output.check_out_dir(config.out_dir, config.agents_dir)
    cache = BuildCache.open(config) if use_cache else None
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

        from generator.catalog import SitePlan, plan_pages

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
    config: SiteConfig, site_plan: SitePlan, cache: BuildCache | None, progress: Progress
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


RACY_SECONDS = 2
"""A file changed this recently may change again within its clock's tick unseen (git's racy case)."""


def list_agent_files(config: SiteConfig) -> AgentListing:
    """List the agent files and describe each without reading it: identity, size, times and mode.

    A file changed in the last RACY_SECONDS gets "": it may change again unseen.
    """
    stamps = {}
    found = Report()
    now = time.time_ns()
    for path in find_agent_files(config.agents_dir, found):
        try:
            status = path.stat()
        except OSError:
            stamps[path] = ""  # vanished while we looked
            continue
        racy = now - max(status.st_mtime_ns, status.st_ctime_ns) < RACY_SECONDS * 1_000_000_000
        stamps[path] = "" if racy else (f"{status.st_dev} {status.st_ino} {status.st_mode} {status.st_size} "
                                        f"{status.st_mtime_ns} {status.st_ctime_ns}")
    return AgentListing(stamps, found.findings)


def _input_state(config: SiteConfig, stamps: dict[Path, str]) -> str:
    """Describe every input but the templates and config: git's commit, index and shallow file, and
    every agent file's stamp; "" when some file's stamp cannot be trusted."""
    if not all(stamps.values()):
        return ""
    lines = [f"{os.fsencode(str(path)).hex()} {stamp}" for path, stamp in stamps.items()]
    return "\n".join([*repository_stamps(config.agents_dir), *lines])


def _quick_state(cache: BuildCache, config: SiteConfig, inputs: str, site_stamp: str) -> str:
    """Digest the inputs' stamps with the templates, config and the site folder on disk ("" if unknown)."""
    if not inputs:
        return ""
    parts = [cache.fingerprint, str(config.out_dir), site_stamp, inputs]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _repeat_last_result(cache: BuildCache, quick: str, report: Report) -> Catalog | None:
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


def _site_state(cache: BuildCache, config: SiteConfig, plans: list[PagePlan], dates: dict[Path, FileDates]) -> str:
    """Digest everything the site is made of: every page's key, every file's dates, where it goes."""
    hasher = hashlib.sha256(f"{cache.fingerprint} {config.out_dir}".encode())
    for plan in plans:
        hasher.update(cache.page_key(plan).encode())
        known = dates.get(plan.raw.path)
        hasher.update(f"{known.added.timestamp()} {known.updated.timestamp()}".encode() if known else b"-")
    return hasher.hexdigest()


def _unchanged_catalog(
    cache: BuildCache, plans: list[PagePlan], slugs: dict[PurePosixPath, str], site: str
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
    config: SiteConfig, site_plan: SitePlan, root: Path, cache: BuildCache | None = None,
    progress: Progress = lambda done, total: None,
) -> WrittenSite:
    """Render and write every page, raw agent file and asset of the site below `root`."""
    from generator.entries import EntryRenderer
    from generator.pages import write_agent_pages
    from generator.render import CompiledTemplates, make_environment, make_site_context
    from generator.search import SearchIndex

    # Agent pages first, each written as soon as it is rendered; the index needs their summaries.
    search = SearchIndex()
    plans, dates = site_plan.pages, site_plan.dates
    agents, fresh = write_agent_pages(config, plans, site_plan.slugs, root, cache, progress, search)
    catalog = Catalog.from_agents(agents)
    copy_static_assets(config, root)
    env = make_environment(config, CompiledTemplates(cache) if cache else None)
    entries = EntryRenderer.with_cache(env, make_site_context(config), dates, cache, plans, fresh)
    for path, content in render_site_files(config, env, catalog, dates, search, entries).items():
        output.write_file(root, path, content)
    return WrittenSite(catalog, search, entries.changes)


def render_site_files(
    config: SiteConfig, env: jinja2.Environment, catalog: Catalog, dates: dict[Path, FileDates], search: SearchIndex,
    entries: EntryRenderer,
) -> dict[str, str | bytes]:
    """Render every file of the site but the agent pages and static assets, by path below the root.

    The search index comes before the files that name it, for updates in place.
    """
    from generator import publish
    from generator.render import make_site_context, render_index, render_not_found

    site = make_site_context(config)
    by_slug = entries.render(catalog)
    files: dict[str, str | bytes] = {**search.render_files()}
    files["index.html"] = render_index(env, site, catalog, {slug: e.card for slug, e in by_slug.items()})
    files["404.html"] = render_not_found(env, site)
    files.update(render_generated_css(catalog))
    files.update(publish.render_machine_files(site, catalog, dates, by_slug))
    files[publish.SCHEMA_NAME] = publish.SCHEMA_PATH.read_bytes()
    if config.cname:
        files["CNAME"] = config.cname + "\n"
    files[output.NOJEKYLL] = ""
    files[output.SITE_MARKER] = output.SITE_MARKER_TEXT
    return files


def copy_static_assets(config: SiteConfig, root: Path) -> None:
    """Copy the theme's static files, the catalog's own over the built-in."""
    output.copy_tree(builtin_templates_dir() / "assets", root, "assets")
    if config.theme_dir:
        output.copy_tree(config.theme_dir / "assets", root, "assets")


def render_generated_css(catalog: Catalog) -> dict[str, str]:
    """Render the stylesheets made at build time: code colors and the catalog's own badge colors."""
    from generator.render import render_code_css, render_color_css

    return {"assets/pygments.css": render_code_css(), "assets/colors.css": render_color_css(catalog)}


def _failure_message(report: Report) -> str:
    return f"build failed in strict mode with {count_findings(report)}; the site was not changed"


def count_findings(report: Report) -> str:
    """Say how many errors and warnings a report holds, e.g. "1 error and 2 warnings"."""
    return count_findings_in(report.findings)


def count_findings_in(findings: list[Finding]) -> str:
    """Say how many errors and warnings there are among `findings`."""
    errors = sum(1 for f in findings if f.severity == "error")
    parts = [
        f"{count} {word}{'s' if count != 1 else ''}"
        for count, word in ((errors, "error"), (len(findings) - errors, "warning"))
        if count
    ]
    return " and ".join(parts) or "no problems"
