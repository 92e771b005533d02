"""Read every agent file and check it, in worker processes when there are many; what is
unchanged since the last build comes from the build cache."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from generator.catalog.load import (
    RawAgent,
    file_digest,
    find_agent_entries,
    has_utf8_name,
    read_agent,
    read_agent_bytes,
    without_body,
)
from generator.catalog.marketplace import (
    PLUGIN_FILE,
    Marketplace,
    Plugin,
    is_marketplace,
    loose_components,
    plugin_files,
    read_marketplace,
)
from generator.catalog.selection import Selection
from generator.config import SiteConfig
from generator.errors import Finding, Report
from generator.pipeline.memo import Memo

if TYPE_CHECKING:
    from generator.catalog.lint import CheckedFile


@dataclass(frozen=True)
class AgentListing:
    """The agent files below the agents folder, each by its absolute path's text and with its
    stamp (see `list_agent_files`), and what listing them found wrong (links that lead out of
    the folder)."""

    entries: list[tuple[str, str]]
    findings: list[Finding]
    marketplace: Marketplace | None = None
    """The marketplace the catalog is, with its plugins; None for a folder of agent files."""
    other_entries: list[tuple[str, str]] = field(default_factory=list)
    """The files beside the agent files that the site is made of (manifests, commands, skills,
    hooks), each with its stamp as `entries` has it."""
    loose_commands: tuple[Path, ...] = ()
    """The command files of a catalog that is no marketplace (a marketplace's are its plugins')."""
    loose_skills: tuple[Path, ...] = ()
    """The SKILL.md of each skill of a catalog that is no marketplace."""

    @functools.cached_property
    def owners(self) -> dict[Path, Plugin]:
        """The plugin of each agent file of a marketplace, by path."""
        return self.marketplace.plugin_of_files() if self.marketplace is not None else {}

    def agent_files(self, agents_dir: Path) -> list[PurePosixPath]:
        """Every agent file's path below the agents folder, as links name files."""
        root = os.fspath(agents_dir.resolve()) + os.sep
        return [PurePosixPath(path[len(root):].replace(os.sep, "/")) for path, _ in self.entries if path.startswith(root)]

    @functools.cached_property
    def stamps(self) -> dict[Path, str]:
        """Every file's stamp by its path."""
        return {Path(path): stamp for path, stamp in self.entries}


@dataclass(frozen=True)
class CheckedAgents:
    """Every agent file as read and checked, in the listing's order, and the slug each gets."""

    raw_agents: list[RawAgent]
    slugs: dict[Path, str]
    """Each file's slug by its path (see `plan.assign_slugs`): the check for clashing addresses
    works them out, and the plan takes them as they are."""


def load_and_check(
    config: SiteConfig, report: Report, cache: Memo | None = None, listing: AgentListing | None = None,
    last_good: dict[Path, RawAgent] | None = None, other_pages: Collection[PurePosixPath] | None = None,
) -> CheckedAgents:
    """Read every agent file and check it against the rules, recording findings in `report`.

    With a `cache`, a file whose content is unchanged is taken as read and checked before; one
    whose stamp in `listing` is unchanged is not even read. Without a `listing`, the agents
    folder is listed here. With `last_good` (serve's), a file that now has an error keeps the
    last reading it had without one, so its page stays as it was; the errors are reported.
    With `other_pages` (the files beside the agents that have a page: commands, skills, plugins),
    a relative link is checked against the site's pages, else against the agent files on disk.
    """
    from generator.catalog.lint import check_duplicate_names, check_links
    from generator.pipeline.workers import map_in_workers, worker_count
    from generator.site.plan import plugin_slugs, slug_clashes

    checked_files: dict[Path, CheckedFile | None] = {}
    # Files to parse, by path: each is read again where it is parsed, since holding every file's
    # bytes until all are parsed would take the catalog's size in memory.
    unknown: list[Path] = []
    listing = listing or list_agent_files(config)
    for finding in listing.findings:
        report.add(finding)
    stamps = listing.stamps
    known_by_stamp = cache.get_files_by_stamp(stamps) if cache else {}
    for path, stamp in stamps.items():
        known = known_by_stamp.get(path)
        if known is None and cache is not None and cache.remembers:
            data = read_agent_bytes(path, report, config.max_file_size)
            if data is None:
                continue
            known = cache.get_file(path, file_digest(data))
            if known is None:
                unknown.append(path)
            elif stamp:  # touched, not changed: known by its stamp from now on
                cache.restamp_file(path, stamp)
        elif known is None:
            unknown.append(path)  # no earlier build to know it by: read once, where it is parsed
        checked_files[path] = known  # None for now keeps the files' order
    # Parsing YAML and checking is a tenth of a cold build: large catalogs spread it too.
    workers = worker_count(len(unknown))
    checked = (map_in_workers(_read_and_check, unknown, workers, _start_checker, (config,)) if workers > 1
               else (read_and_check_file(config, path) for path in unknown))
    let_go = len(unknown) > FEW_FILES  # a cold build: each kept as the cache has it
    with contextlib.closing(checked):  # on any failure here, the workers stop
        for path, checked_file in zip(unknown, checked):
            checked_files[path] = cache.put_file(checked_file, stamps.get(path, ""), let_go) if cache else checked_file
    readings = [checked_file for checked_file in checked_files.values() if checked_file is not None]
    raw_agents = ([reading.raw for reading in readings if reading.raw is not None] if last_good is None
                  else _keep_last_good(list(stamps), checked_files, last_good, config))
    # Rules that look at other files run afresh every time: those files may have changed.
    pages = None if other_pages is None else _LinkTargets(raw_agents, other_pages)
    slugs = plugin_slugs(raw_agents, listing.owners)
    catalog_findings = [*check_duplicate_names(raw_agents, listing.owners),
                        *slug_clashes(raw_agents, listing.owners, slugs),
                        *(f for r in readings if r.raw is not None and r.links for f in check_links(r.raw, r.links, pages))]
    for finding in [f for reading in readings for f in reading.findings] + catalog_findings:
        report.add(finding)
    report.findings.sort(key=lambda f: (f.path_text, f.line, f.column))
    return CheckedAgents(raw_agents, slugs)


class _LinkTargets:
    """The files a relative link may lead to: the agents' and `others`; the agents' are gathered
    only once a file has a relative link to look up (most catalogs have few)."""

    def __init__(self, raw_agents: list[RawAgent], others: Collection[PurePosixPath]) -> None:
        self._raw_agents, self._others = raw_agents, others
        self._agents: set[PurePosixPath] | None = None

    def __contains__(self, path: object) -> bool:
        if self._agents is None:
            self._agents = {raw.rel_path for raw in self._raw_agents}
        return path in self._agents or path in self._others


def read_and_check_file(config: SiteConfig, path: Path) -> CheckedFile:
    """Read and parse one file and check it by every rule that looks at nothing but the file."""
    from generator.catalog.lint import CheckedFile, check_agent, find_relative_links

    report = Report()
    raw = read_agent(path, config.agents_dir, report, config.max_file_size)
    if raw is None:
        return CheckedFile(None, report.findings, [])
    findings = report.findings + check_agent(raw, config.lint_settings, links=False)
    return CheckedFile(without_body(raw), findings, find_relative_links(raw))


_checker_config: SiteConfig | None = None


def _start_checker(config: SiteConfig) -> None:
    global _checker_config
    _checker_config = config


def _read_and_check(path: Path) -> CheckedFile:
    assert _checker_config is not None, "the pool's initializer sets the config"
    return read_and_check_file(_checker_config, path)


FEW_FILES = 60
"""Up to this many files read afresh, each reading is kept whole; more, and each is kept as
the cache has it, its frontmatter decoded again where it is needed (a cold build of a large
catalog would hold every file's)."""
RACY_SECONDS = 2
"""A file changed this recently may change again within its clock's tick unseen (git's racy case)."""


def list_agent_files(config: SiteConfig) -> AgentListing:
    """List the agent files and describe each without reading it: identity, size, times and mode.

    A file changed in the last RACY_SECONDS gets "": it may change again unseen.
    """
    found = Report()
    recent = time.time_ns() - RACY_SECONDS * 1_000_000_000
    selection = config.selection
    named = functools.partial(_named_in_utf8, found)
    if not is_marketplace(config.agents_dir):
        entries = [(path, _stamp(status, recent)) for path, status in find_agent_entries(config.agents_dir, found)
                   if selection.keeps(path) and named(path)]
        commands, skills = (tuple(path for path in paths if selection.keeps(path) and named(path))
                            for paths in loose_components(config.agents_dir))
        skill_files = [path for skill in skills for path in plugin_files(skill.parent)
                       if selection.shows(path) and named(path)]
        return AgentListing(entries, _shown(found.findings, selection),
                            other_entries=_stamped([*commands, *skill_files], recent),
                            loose_commands=commands, loose_skills=skills)
    marketplace = read_marketplace(config.agents_dir, found)
    outside = [_selected(plugin, selection, named) for plugin in marketplace.plugins if plugin.folder is None
               or (not plugin.folder.is_relative_to(config.out_dir.resolve())
                   and selection.shows(plugin.folder / PLUGIN_FILE))]  # `exclude: [plugins/old/]` drops it
    marketplace = replace(marketplace, plugins=tuple(outside))  # a plugin in the output folder is none
    owned = marketplace.plugin_of_files()
    agents = [path for plugin in marketplace.plugins for path in plugin.agents if owned[path] is plugin]
    agent_files = set(agents)
    out = config.out_dir.resolve()
    others = [path for plugin in marketplace.plugins if plugin.folder is not None
              for path in plugin_files(plugin.folder, out)
              if path not in agent_files and selection.shows(path) and named(path)]
    declared = [path for plugin in marketplace.plugins for path in (*plugin.commands, *plugin.skills)]
    return AgentListing(_stamped(agents, recent), _shown(found.findings, selection), marketplace,
                        _stamped(list(dict.fromkeys([*marketplace.inputs(), *declared, *others])), recent))


def _selected(plugin: Plugin, selection: Selection, named: Callable[[Path], bool]) -> Plugin:
    """Return the plugin with only the components `include` and `exclude` keep, that have names."""
    def kept(paths: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(path for path in paths if selection.keeps(path) and named(path))

    return replace(plugin, agents=kept(plugin.agents), commands=kept(plugin.commands), skills=kept(plugin.skills),
                   hooks=tuple(filter(selection.shows, plugin.hooks)),
                   mcp_files=tuple(filter(selection.shows, plugin.mcp_files)),
                   readme=plugin.readme if plugin.readme is None or selection.shows(plugin.readme) else None)


def _shown(findings: list[Finding], selection: Selection) -> list[Finding]:
    """The findings of listing the files, but those about files the config leaves out."""
    return [finding for finding in findings if finding.path is None or selection.shows(finding.path)]


def _named_in_utf8(report: Report, path: str | Path) -> bool:
    """Tell whether a file's path is UTF-8 text, as an address must be; report it when not."""
    if has_utf8_name(path):
        return True
    report.add(Finding(Path(path), 1, "error", "skipped: the file's name is not UTF-8 text, so it can have no "
                       "address on the site: rename it", "name-not-utf8"))
    return False


def _stamped(paths: list[Path], recent: int) -> list[tuple[str, str]]:
    """Return each file's path as text with its stamp (see `list_agent_files`)."""
    entries = []
    for path in paths:
        try:
            status: os.stat_result | None = os.stat(path)
        except OSError:
            status = None
        entries.append((str(path), _stamp(status, recent)))
    return entries


def _stamp(status: os.stat_result | None, recent: int) -> str:
    """Describe a file by its status; "" when it vanished while we looked, or changed too recently."""
    if status is None or max(status.st_mtime_ns, status.st_ctime_ns) > recent:
        return ""
    return (f"{status.st_dev} {status.st_ino} {status.st_mode} {status.st_size} "
            f"{status.st_mtime_ns} {status.st_ctime_ns}")


def _keep_last_good(
    paths: list[Path], checked_files: dict[Path, CheckedFile | None], last_good: dict[Path, RawAgent],
    config: SiteConfig,
) -> list[RawAgent]:
    """Return each listed file's reading, or its last reading without an error when it now has
    one or cannot be read; `last_good` is brought up to date, each reading with its bytes."""
    listed = set(paths)
    for gone in [path for path in last_good if path not in listed]:
        del last_good[gone]
    raw_agents = []
    for path in paths:
        checked = checked_files.get(path)
        raw = checked.raw if checked is not None else None
        if raw is not None and checked is not None and not any(f.severity == "error" for f in checked.findings):
            known = last_good.get(path)
            if known is None or known.digest != raw.digest:
                kept = _with_source(raw, config)
                if kept is not None:
                    last_good[path] = kept
        if path in last_good:
            raw_agents.append(last_good[path])
        elif raw is not None:
            raw_agents.append(raw)
    return raw_agents


def _with_source(raw: RawAgent, config: SiteConfig) -> RawAgent | None:
    """Return the reading with the bytes it was checked from, or None if the file holds others now."""
    data = read_agent_bytes(raw.path, Report(), config.max_file_size)
    return replace(raw, source=data) if data is not None and file_digest(data) == raw.digest else None
