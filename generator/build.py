"""build(config): load every agent, model the catalog, render every page, then swap the site in."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from generator import output
from generator.catalog import make_catalog
from generator.config import SiteConfig
from generator.errors import BuildFailed, Report
from generator.load import find_agent_files, read_agent
from generator.markup import MarkdownRenderer
from generator.model import Catalog
from generator.render import (
    builtin_templates_dir,
    make_environment,
    make_site_context,
    render_agent_page,
    render_code_css,
    render_color_css,
    render_index,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What a finished build made."""

    catalog: Catalog
    report: Report
    out_dir: Path


def load_catalog(config: SiteConfig, report: Report) -> Catalog:
    """Read every agent file and interpret it, recording each problem in `report`."""
    paths = find_agent_files(config.agents_dir, report)
    raw_agents = [raw for path in paths if (raw := read_agent(path, config.agents_dir, report))]
    return make_catalog(raw_agents, MarkdownRenderer(), report)


def build(config: SiteConfig, report: Report | None = None) -> BuildResult:
    """Build the whole site into `config.out_dir`, or leave the old one untouched on failure."""
    report = report or Report()
    output.check_out_dir(config.out_dir, config.agents_dir)

    # Read and check every agent before writing anything.
    catalog = load_catalog(config, report)
    if report.errors or (config.strict and report.warnings):
        raise BuildFailed(None, 0, _failure_message(report, config.strict))

    # Write the whole site aside, then swap it in at once.
    staging = output.make_staging_dir(config.out_dir)
    try:
        write_site(config, catalog, staging)
    except BaseException:
        output.discard(staging)
        raise
    output.swap_in(staging, config.out_dir)
    log.debug("built %d agents into %s", len(catalog.agents), config.out_dir)
    return BuildResult(catalog, report, config.out_dir)


def write_site(config: SiteConfig, catalog: Catalog, root: Path) -> None:
    """Render and write every page, raw agent file and asset of the site below `root`."""
    env = make_environment(config)
    site = make_site_context(config)
    output.write_file(root, "index.html", render_index(env, site, catalog))
    for agent in catalog.agents:
        page = render_agent_page(env, site, catalog, agent, config.edit_base)
        output.write_file(root, agent.url, page)
        output.copy_file(agent.path, root, agent.raw_url)
    write_assets(config, catalog, root)
    output.write_file(root, output.SITE_MARKER, "")


def write_assets(config: SiteConfig, catalog: Catalog, root: Path) -> None:
    """Copy the theme's static files, the catalog's own over the built-in, and the generated CSS."""
    output.copy_tree(builtin_templates_dir() / "assets", root, "assets")
    if config.theme_dir:
        output.copy_tree(config.theme_dir / "assets", root, "assets")
    output.write_file(root, "assets/pygments.css", render_code_css())
    output.write_file(root, "assets/colors.css", render_color_css(catalog))


def _failure_message(report: Report, strict: bool) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        return f"build failed with {errors} error{'s' if errors != 1 else ''}; the site was not changed"
    reason = f"{warnings} warning{'s' if warnings != 1 else ''} in strict mode"
    return f"build failed: {reason}; the site was not changed" if strict else "build failed"
