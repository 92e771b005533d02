"""LiveSite: a site kept up to date file by file, for `agentpages serve`.

A rebuild re-reads only the agent files whose size or modification time changed and
re-renders only the pages whose content changed: the edited agent's page, its neighbours'
when a name or the order changed, and the index when a card changed. A template or config
change rebuilds everything. A file with an error keeps its last good page.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generator.catalog.history import FileDates, modification_time, read_file_dates
from generator.catalog.interpret import make_agent
from generator.catalog.lint import check_agent, check_duplicate_names
from generator.catalog.load import RawAgent, find_agent_files, is_agent_file, read_agent
from generator.catalog.model import Agent, Catalog
from generator.config import SiteConfig
from generator.errors import Finding, Report, SiteError
from generator.markdown.markup import MarkdownRenderer
from generator.pipeline.site_files import copy_static_assets, render_generated_css
from generator.site import publish
from generator.site.entries import AgentEntries, EntryRenderer
from generator.site.plan import assign_slugs, slugs_by_file
from generator.site.render import (
    SiteContext,
    make_environment,
    make_site_context,
    render_agent_page,
    render_color_css,
    render_index,
    render_not_found,
)
from generator.site.search import SEARCH_FOLDER, PageTerms, SearchIndex, index_terms
from generator.store import output

log = logging.getLogger(__name__)

Stamp = tuple[int, int]


@dataclass
class RebuildResult:
    """What one rebuild changed, and what is wrong now."""

    changed_urls: list[str] = field(default_factory=list)
    """Site paths rewritten or removed; ["*"] when everything was."""
    findings: list[Finding] = field(default_factory=list)
    error: SiteError | None = None
    """A problem that stopped the rebuild (a template or config error)."""

    @property
    def errors(self) -> list[str]:
        """Return what the browser overlay shows: the fatal error and every error finding."""
        lines = [str(self.error)] if self.error else []
        return lines + [str(f) for f in self.findings if f.severity == "error"]


class LiveSite:
    """The current catalog, rendered into `out_dir`, updated by `rebuild`."""

    def __init__(self, read_config: Callable[[], SiteConfig]) -> None:
        self.read_config = read_config
        """Reads the config afresh (it may have changed); its `out_dir` is where pages go."""
        self.config = read_config()
        self.out_dir = self.config.out_dir
        self.lock = threading.Lock()
        """Held while files are written, so a request never sees half a page."""
        self._renderer = MarkdownRenderer()
        self._stamps: dict[Path, Stamp] = {}
        self._raws: dict[Path, RawAgent] = {}
        self._agents: dict[Path, Agent] = {}
        self._file_findings: dict[Path, list[Finding]] = {}
        self._page_keys: dict[str, object] = {}
        self._slugs: dict[PurePosixPath, str] = {}
        self._terms: dict[Path, PageTerms] = {}
        self._search_pages: list[tuple[str, PageTerms]] = []
        """Every page's slug and words as of the last rebuild, for the search index."""
        self._dates: dict[Path, FileDates] = {}
        """Read from git once for the files present at the start."""
        self._env = make_environment(self.config)  # compiled templates, kept until a full rebuild
        self._entries: dict[str, tuple[Agent, FileDates | None, AgentEntries]] = {}
        """Each agent's entries (entries.py) with the very Agent and dates they were rendered from."""

    def rebuild(self, full: bool = False, paths: set[Path] | None = None) -> RebuildResult:
        """Bring the site up to date; `full` also reloads the config and every template.

        `paths`, when the watcher knows them, are the only files that changed, which spares
        rescanning the whole agents folder.
        """
        result = RebuildResult()
        try:
            if full:
                self._reload_config()
            report = Report()
            if paths is not None and not full:
                changed = self._read_files(paths)
            else:
                changed = self._read_changed_files(report, full)
            if not full:
                self._date_edits(changed)
            catalog = self._interpret(changed)
            result.findings = self._collect_findings(report)
            result.changed_urls = self._write_pages(catalog, full)
        except SiteError as exc:
            result.error = exc
        return result

    def _reload_config(self) -> None:
        self.config = self.read_config()
        self._env = make_environment(self.config)
        self._page_keys.clear()
        self._agents.clear()
        self._stamps.clear()

    def _read_changed_files(self, report: Report, full: bool) -> set[Path]:
        """Re-read files that are new or changed; forget removed ones. Return the changed paths."""
        paths = find_agent_files(self.config.agents_dir, report)
        for finding in report.findings:
            self._file_findings[finding.path] = [finding]
        present = set(paths)
        for gone in set(self._raws) - present:
            self._forget(gone)
        changed = set()
        for path in paths:
            stamp = _stamp(path)
            if not full and self._stamps.get(path) == stamp and path in self._raws:
                continue
            changed.add(path)
            self._stamps[path] = stamp
            self._read_one(path)
        return changed

    def _read_files(self, paths: set[Path]) -> set[Path]:
        """Re-read the given files: new or changed ones are read, vanished ones forgotten."""
        changed = set()
        for path in paths:
            if path in self._raws and not path.is_file():
                self._forget(path)
                changed.add(path)
            elif is_agent_path(path, self.config.agents_dir) and self._stamps.get(path) != _stamp(path):
                self._stamps[path] = _stamp(path)
                self._read_one(path)
                changed.add(path)
        return changed

    def _forget(self, path: Path) -> None:
        for store in (self._raws, self._stamps, self._agents, self._file_findings, self._terms):
            store.pop(path, None)

    def _read_one(self, path: Path) -> None:
        report = Report()
        raw = read_agent(path, self.config.agents_dir, report, self.config.max_file_size)
        findings = list(report.findings)
        if raw is not None:
            findings += check_agent(raw, self.config.lint_settings)
        self._file_findings[path] = findings
        if raw is None or (any(f.severity == "error" for f in findings) and path in self._raws):
            return  # keep the last good reading of a broken file
        self._raws[path] = raw

    def _interpret(self, changed: set[Path]) -> Catalog:
        raws = list(self._raws.values())
        slugs = slugs_by_file(raws, assign_slugs(raws))
        for path, raw in self._raws.items():
            agent = self._agents.get(path)
            if path in changed or agent is None or self._links_moved(agent, slugs):
                self._agents[path] = make_agent(raw, slugs, self._renderer)
                self._terms[path] = index_terms(self._agents[path])
        self._slugs = slugs
        return Catalog.from_agents(list(self._agents.values()))

    def _links_moved(self, agent: Agent, slugs: dict[PurePosixPath, str]) -> bool:
        """Tell whether the agent's slug, or that of a file it links to, is not what it was."""
        if agent.slug != slugs.get(agent.rel_path):
            return True
        return any(self._slugs.get(target) != slugs.get(target) for target in agent.linked_files)

    def _collect_findings(self, report: Report) -> list[Finding]:
        findings = [f for items in self._file_findings.values() for f in items]
        findings += check_duplicate_names(list(self._raws.values()))
        return sorted(findings, key=lambda f: (str(f.path), f.line, f.column))

    def _write_pages(self, catalog: Catalog, full: bool) -> list[str]:
        """Render the pages whose inputs changed and write them; remove pages of removed agents."""
        env = self._env
        site = make_site_context(self.config)
        rendered: dict[str, str | Path] = {}
        keys: dict[str, object] = {"index.html": _index_key(catalog)}
        for agent in catalog.agents:
            neighbours = catalog.neighbours(agent)
            keys[agent.url] = (agent, neighbours)
            if self._page_keys.get(agent.url) != keys[agent.url]:
                rendered[agent.url] = render_agent_page(env, site, agent, neighbours, self.config.edit_base)
                rendered[agent.raw_url] = agent.path
        removed = [url for url in self._page_keys if url not in keys]
        index_changed = self._page_keys.get("index.html") != keys["index.html"]
        machine_files: dict[str, str] = {}
        if full or index_changed or rendered or removed:
            entries = self._render_entries(site, catalog)
            if index_changed:
                rendered["index.html"] = render_index(env, site, catalog, {slug: e.card for slug, e in entries.items()})
            machine_files = publish.render_machine_files(
                site, catalog, self._dates, {slug: e.catalog_object for slug, e in entries.items()},
                {slug: e.llms_line for slug, e in entries.items()})
        with self.lock:
            if full:
                shutil.rmtree(self.out_dir, ignore_errors=True)
                self.out_dir.mkdir(parents=True)
                output.write_file(self.out_dir, "404.html", render_not_found(env, site))
                copy_static_assets(self.config, self.out_dir)
                for path, css in render_generated_css(catalog).items():
                    output.write_file(self.out_dir, path, css)
                output.copy_file(publish.SCHEMA_PATH, self.out_dir, publish.SCHEMA_NAME)
            elif "index.html" in rendered:  # a card changed: only hex colors' CSS can follow
                output.write_file(self.out_dir, "assets/colors.css", render_color_css(catalog))
            for url, content in {**rendered, **machine_files}.items():
                output.replace_file(self.out_dir, url, content.read_bytes() if isinstance(content, Path) else content)
            for url in removed:
                output.remove_agent_page(self.out_dir, url)
        self._page_keys = keys
        self._search_pages = [(agent.slug, self._terms[agent.path]) for agent in catalog.agents]
        if full:  # a fresh site has search at once; later edits update it in the background
            self.refresh_search_index()
        return ["*"] if full else sorted([*rendered, *removed])

    def _date_edits(self, changed: set[Path]) -> None:
        """Date files edited while serving by their modification time, as a build would (uncommitted)."""
        for path in changed:
            modified = modification_time(path)
            known = self._dates.get(path)
            self._dates[path] = FileDates(known.added if known else modified, modified)

    def _render_entries(self, site: SiteContext, catalog: Catalog) -> dict[str, AgentEntries]:
        """Render the entries of agents made or dated anew since the last rebuild; files edited since
        the start are dated now."""
        missing = [a.path for a in catalog.agents if a.path not in self._dates]
        self._dates.update(read_file_dates(missing, self.config.agents_dir))
        renderer = EntryRenderer(self._env, site, self._dates)
        kept = {}
        for agent in catalog.agents:
            dates = self._dates.get(agent.path)
            known = self._entries.get(agent.slug)
            # An agent unchanged since keeps its object (see _interpret); a full rebuild makes new ones.
            if known is not None and known[0] is agent and known[1] == dates:
                kept[agent.slug] = known
            else:
                kept[agent.slug] = (agent, dates, renderer.render_one(agent))
        self._entries = kept
        return {slug: entries for slug, (_, _, entries) in kept.items()}

    def refresh_search_index(self) -> None:
        """Write the search index of the last rebuild's pages; serve runs it in the background."""
        index = SearchIndex()
        for slug, terms in self._search_pages:
            index.add(slug, terms)
        files = index.render_files()
        with self.lock:
            output.replace_folder(self.out_dir, SEARCH_FOLDER, files)


def is_agent_path(path: Path, agents_dir: Path) -> bool:
    """Tell whether `path` is a file `find_agent_files` would list."""
    relative = path.relative_to(agents_dir) if path.is_relative_to(agents_dir) else None
    if relative is None or any(part.startswith(".") for part in relative.parts):
        return False
    return is_agent_file(path) and not path.is_symlink()


def _stamp(path: Path) -> Stamp:
    try:
        status = path.stat()
    except OSError:
        return (0, -1)
    return (status.st_mtime_ns, status.st_size)


def _index_key(catalog: Catalog) -> tuple[object, ...]:
    """What the index shows of each agent: when none of it changed, the index need not change."""
    return tuple(
        (a.slug, a.name, a.summary_text, a.color, a.model, a.tools, a.category) for a in catalog.agents
    )
