"""build(config): load every agent, model the catalog, render every page, then swap the site in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from generator import output, publish
from generator.catalog import plan_pages
from generator.config import SiteConfig
from generator.errors import BuildFailed, Finding, Report
from generator.lint import check_agents
from generator.history import read_file_dates
from generator.load import RawAgent, find_agent_files, read_agent
from generator.model import Catalog
from generator.pages import write_agent_pages
from generator.search import write_search_index
from generator.render import (
    builtin_templates_dir,
    make_environment,
    make_site_context,
    render_code_css,
    render_color_css,
    render_index,
    render_not_found,
)

if TYPE_CHECKING:
    from generator.render import SiteContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What a finished build made."""

    catalog: Catalog
    report: Report
    out_dir: Path


def load_and_check(config: SiteConfig, report: Report) -> list[RawAgent]:
    """Read every agent file and check it against the rules, recording findings in `report`."""
    paths = find_agent_files(config.agents_dir, report)
    raw_agents = [
        raw for path in paths if (raw := read_agent(path, config.agents_dir, report, config.max_file_size))
    ]
    for finding in check_agents(raw_agents, config.lint_settings):
        report.add(finding)
    report.findings.sort(key=lambda f: (str(f.path), f.line, f.column))
    return raw_agents


def build(
    config: SiteConfig, report: Report | None = None, on_page: Callable[[], None] = lambda: None
) -> BuildResult:
    """Build the whole site into `config.out_dir`, or leave the old one untouched on failure.

    `on_page` is called as each agent page is written, for a progress display.
    """
    report = report or Report()

    # Read and check every agent before writing anything; strict mode stops on any finding.
    raw_agents = load_and_check(config, report)
    output.check_out_dir(config.out_dir, config.agents_dir)
    if config.strict and report.findings:
        raise BuildFailed(None, 0, _failure_message(report))

    # Write the whole site aside, then swap it in at once.
    staging = output.make_staging_dir(config.out_dir)
    try:
        catalog = write_site(config, raw_agents, staging, on_page)
    except BaseException:
        output.discard(staging)
        raise
    output.swap_in(staging, config.out_dir)
    log.debug("built %d agents into %s", len(catalog.agents), config.out_dir)
    return BuildResult(catalog, report, config.out_dir)


def write_site(
    config: SiteConfig, raw_agents: list[RawAgent], root: Path, on_page: Callable[[], None] = lambda: None
) -> Catalog:
    """Render and write every page, raw agent file and asset of the site below `root`."""
    # Agent pages first, each written as soon as it is rendered; the index needs their summaries.
    plans, slugs = plan_pages(raw_agents)
    catalog = Catalog.from_agents(write_agent_pages(config, plans, slugs, root, on_page))
    env = make_environment(config)
    site = make_site_context(config)
    output.write_file(root, "index.html", render_index(env, site, catalog))
    output.write_file(root, "404.html", render_not_found(env, site))
    write_assets(config, catalog, root)
    write_machine_files(config, site, catalog, root)
    write_search_index(root)
    output.write_file(root, output.NOJEKYLL, "")
    output.write_file(root, output.SITE_MARKER, output.SITE_MARKER_TEXT)
    return catalog


def write_assets(config: SiteConfig, catalog: Catalog, root: Path) -> None:
    """Copy the theme's static files, the catalog's own over the built-in, and the generated CSS."""
    output.copy_tree(builtin_templates_dir() / "assets", root, "assets")
    if config.theme_dir:
        output.copy_tree(config.theme_dir / "assets", root, "assets")
    output.write_file(root, "assets/pygments.css", render_code_css())
    output.write_file(root, "assets/colors.css", render_color_css(catalog))


def write_machine_files(config: SiteConfig, site: SiteContext, catalog: Catalog, root: Path) -> None:
    """Write catalog.json and its schema, llms.txt, the feed and, with a site_url, sitemap and robots.txt."""
    dates = read_file_dates([agent.path for agent in catalog.agents], config.agents_dir)
    output.write_file(root, "catalog.json", publish.render_catalog_json(site, catalog, dates))
    output.copy_file(publish.SCHEMA_PATH, root, publish.SCHEMA_NAME)
    output.write_file(root, "llms.txt", publish.render_llms_txt(site, catalog))
    output.write_file(root, publish.FEED_NAME, publish.render_feed(site, catalog, dates))
    if site["site_url"]:
        output.write_file(root, "sitemap.xml", publish.render_sitemap(site, catalog, dates))
    if publish.has_robots_txt(site):
        output.write_file(root, "robots.txt", publish.render_robots_txt(site))
    if config.cname:
        output.write_file(root, "CNAME", config.cname + "\n")


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
