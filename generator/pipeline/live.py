"""LiveSite: the site of `agentpages serve`, kept current by running the build pipeline again.

Each rebuild is `run_pipeline`, as `build` runs it, with two differences: the memo keeps
what the last rebuild made in memory, in front of the build cache on disk (so a save costs
what changed, and a second `serve` of a large catalog starts warm from the disk), and a
file that gets an error keeps its last good reading, so its page stays served while the
error shows in the browser. The output is a temporary folder that only the writer touches;
requests wait while it puts files in place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.config import SiteConfig
from generator.errors import Finding, Report, SiteError
from generator.pipeline.build import run_pipeline
from generator.pipeline.fingerprint import make_fingerprint
from generator.pipeline.memo import Manifest, Memo
from generator.pipeline.stage_memo import CachedPage, links_hold, links_of
from generator.store.cache import BuildCache

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from generator.catalog.lint import CheckedFile
    from generator.catalog.load import RawAgent
    from generator.catalog.model import Agent, Catalog
    from generator.site.entries import (
        AgentEntries,
        EntriesInMemory,
        EntryChanges,
        StoredEntries,
    )
    from generator.site.plan import PagePlan
    from generator.site.search import SearchIndex
    from generator.site.search_terms import PageTerms

log = logging.getLogger(__name__)


@dataclass
class RebuildResult:
    """What one rebuild changed, and what is wrong now."""

    changed_urls: list[str] = field(default_factory=list)
    """Site paths rewritten or removed; ["*"] when everything was."""
    findings: list[Finding] = field(default_factory=list)
    error: SiteError | None = None
    """A problem that stopped the rebuild (a template or config error)."""
    strict: bool = False
    """Warnings show in the browser too (`serve --strict`)."""

    @property
    def errors(self) -> list[str]:
        """Return what the browser overlay shows: the fatal error and every error finding (every
        finding, when strict)."""
        lines = [str(self.error)] if self.error else []
        return lines + [str(f) for f in self.findings if self.strict or f.severity == "error"]


class LiveSite:
    """The current catalog, built into `out_dir` and brought up to date by `rebuild`."""

    def __init__(self, read_config: Callable[[], SiteConfig], cache_dir: Path | None = None) -> None:
        self.read_config = read_config
        """Reads the config afresh (it may have changed); its `out_dir` is where pages go."""
        self.config = read_config()
        self.out_dir = self.config.out_dir
        self.cache_dir = cache_dir
        self.lock = threading.Lock()
        """Held while files are put in place, so a request never sees half a site."""
        self.memo: LiveMemo | None = None
        self._last_good: dict[Path, RawAgent] = {}

    def rebuild(self, full: bool = False) -> RebuildResult:
        """Bring the site up to date; `full` also reads the config and every template again."""
        result = RebuildResult(strict=self.config.strict)
        try:
            if full or self.memo is None:
                self._start_afresh()
            if self.memo is None:
                raise SiteError(None, 0, "serve cannot keep its pages: SQLite could not open even a private database")
            report = Report()
            # strict shows warnings in the browser; it never keeps a site from being served
            built = run_pipeline(replace(self.config, strict=False), report, self.memo, lambda done, total: None,
                                 last_good=self._last_good, commit_guard=self.lock, private_output=True)
            result.findings = report.findings
            result.changed_urls = ["*"] if full else built.changed
        except SiteError as exc:
            result.error = exc
            self._forget_last_site()
        except BaseException:
            self._forget_last_site()
            raise
        return result

    def _forget_last_site(self) -> None:
        if self.memo is not None:
            self.memo.forget_last_site()  # the search index it lent may be half changed

    def _start_afresh(self) -> None:
        """Read the config again and open the memo under its fingerprint (templates and config)."""
        if self.memo is not None:
            self.memo.close()
        self.memo = None
        self.config = replace(self.read_config(), out_dir=self.out_dir)
        self.memo = LiveMemo.open_live(self.config, self.cache_dir)

    def flush(self) -> None:
        """Save what the rebuilds since the last flush recorded to the cache on disk."""
        if self.memo is not None:
            self.memo.flush()

    def close(self) -> None:
        """Save the memo and close it."""
        if self.memo is not None:
            self.memo.flush()
            self.memo.close()
            self.memo = None


@dataclass(frozen=True)
class _LastBuild:
    """What serve's last rebuild recorded (see `Memo.record_build`)."""

    quick_state: str
    findings: list[Finding]
    catalog: Catalog
    page_keys: Mapping[str, str]
    site: str
    written: tuple[Manifest, SearchIndex] | None
    entries: StoredEntries
    """Every agent's entries as this serve knows them, by slug, with their keys."""


FEW_FILES = 64
"""Up to this many files not in memory are asked of the disk one by one; more, all in one query."""


class LiveMemo(Memo):
    """A memo that keeps what the last rebuild read and rendered in memory, in front of the cache.

    Readings, pages' agents and words, and the last build's record are answered from memory;
    a miss asks the cache on disk. Everything new is written through to the disk, but the
    record of the last build (large, and rewritten by every save) only when `flush` is called.
    """

    def __init__(self, cache: BuildCache) -> None:
        super().__init__(cache)
        self._readings: dict[Path, tuple[str, str, CheckedFile]] = {}
        """Each file's stamp, content digest and reading."""
        self._agents: dict[PurePosixPath, tuple[str, Agent, list[list[str | None]]]] = {}
        """Each agent file's page key, agent without body and links, as stored."""
        self._terms: dict[PurePosixPath, tuple[str, PageTerms]] = {}
        self._record: _LastBuild | None = None
        """The last build's record, kept here; on disk only once flushed."""
        self._unflushed = False

    @classmethod
    def open_live(cls, config: SiteConfig, cache_dir: Path | None) -> LiveMemo | None:
        """Open serve's memo: its own cache beside the catalog's build cache; where there can be
        none (a cache folder inside the catalog), one that lasts as long as serve; None if SQLite
        can make neither."""
        memo = Memo.open(config, cache_dir, purpose="serve")
        cache = memo.cache if memo else BuildCache.open_scratch(make_fingerprint(config))
        return cls(cache) if cache else None

    # -- files --------------------------------------------------------------------------------

    def get_files_by_stamp(self, stamps: Mapping[Path, str]) -> dict[Path, CheckedFile]:
        found: dict[Path, CheckedFile] = {}
        missing: dict[Path, str] = {}
        for path, stamp in stamps.items():
            known = self._readings.get(path)
            if known is not None and stamp and known[0] == stamp:
                found[path] = known[2]
            elif stamp:
                missing[path] = stamp
        # A save misses a file or two: ask for those alone, not for every row on disk.
        if len(missing) > FEW_FILES:
            from_disk = super().get_files_by_stamp(missing)
        else:
            from_disk = {}
            for path, stamp in missing.items():
                checked = super().get_file_by_stamp(path, stamp)
                if checked is not None:
                    from_disk[path] = checked
        for path, checked in from_disk.items():
            if checked.raw is not None:
                self._readings[path] = (missing[path], checked.raw.digest, checked)
        return found | from_disk

    def get_file(self, path: Path, digest: str) -> CheckedFile | None:
        known = self._readings.get(path)
        if known is not None and known[1] == digest:
            return known[2]
        return super().get_file(path, digest)

    def restamp_file(self, path: Path, stamp: str) -> None:
        known = self._readings.get(path)
        if known is not None:
            self._readings[path] = (stamp, known[1], known[2])
        super().restamp_file(path, stamp)

    def put_file(self, checked: CheckedFile, stamp: str = "", let_go: bool = False) -> CheckedFile:
        if checked.raw is not None:
            self._readings[checked.raw.path] = (stamp, checked.raw.digest, checked)
        super().put_file(checked, stamp)
        return checked  # kept whole in memory, where serve reads it from

    # -- pages --------------------------------------------------------------------------------

    def get(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], with_html: bool = True) -> CachedPage | None:
        known = self._agents.get(plan.raw.rel_path)
        if with_html or known is None or known[0] != key:
            page = super().get(plan, key, slugs, with_html)
            if page is not None:
                self._agents[plan.raw.rel_path] = (key, page.agent, links_of(page.agent, slugs))
            return page
        if not links_hold(known[2], slugs):
            return None
        return CachedPage(known[1], b"")

    def get_terms(self, plan: PagePlan, key: str) -> PageTerms | None:
        known = self._terms.get(plan.raw.rel_path)
        if known is not None and known[0] == key:
            return known[1]
        return super().get_terms(plan, key)

    def put(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], agent: Agent,
            compressed_html: bytes | None, terms: PageTerms) -> Agent:
        self._agents[plan.raw.rel_path] = (key, agent, links_of(agent, slugs))
        self._terms[plan.raw.rel_path] = (key, terms)
        return super().put(plan, key, slugs, agent, compressed_html, terms)

    def _kept_agent(self, agent: Agent, plan: PagePlan, head: list[Any], rest: str, digest: str) -> Agent:
        self._agent_digests[id(agent)] = (agent, digest)
        return agent  # kept whole in memory, where serve reads it from

    def forget_others(self, raw_agents: Iterable[RawAgent]) -> None:
        present = list(raw_agents)
        files, paths = {raw.rel_path for raw in present}, {raw.path for raw in present}
        for store, kept in ((self._agents, files), (self._terms, files), (self._readings, paths)):
            for gone in [key for key in store if key not in kept]:
                del store[gone]  # type: ignore[attr-defined]
        super().forget_others(present)

    # -- the last build -----------------------------------------------------------------------

    def record_build(
        self, quick_state: str, findings: list[Finding], catalog: Catalog, page_keys: Mapping[str, str], site: str,
        site_written: tuple[Manifest, SearchIndex] | None = None, entries: EntryChanges | None = None,
        layout: tuple[Path, list[str]] | None = None, written_before: Manifest | None = None,
    ) -> None:
        # `layout` is not kept: serve's output folder is its own, and nothing else changes it;
        # the files are kept whole in memory (`flush` stores them whole).
        last = self._record
        if site_written is None and last is not None:  # nothing written: what is on disk stays described
            site_written = last.written
        # Every agent's entries as the renderer knew them: stored ones, then each rebuild's.
        stored = dict(last.entries) if last is not None else super().get_entries()
        if entries is not None:
            stored = {slug: stored[slug] for slug in entries.slugs if slug in stored}
            stored.update(entries.rendered)
        self._record = _LastBuild(quick_state, list(findings), catalog, dict(page_keys), site, site_written, stored)
        self._unflushed = True
        self.forget_other_agents(catalog)

    # What the last build left is this memo's own: each serve (and each full rebuild in one)
    # starts with a new output folder, which no record on disk describes.
    def last_quick_state(self) -> str | None:
        return self._record.quick_state if self._record else None

    def last_site(self) -> str | None:
        return self._record.site if self._record else None

    def last_outcome(self) -> tuple[list[Finding], Catalog] | None:
        return (list(self._record.findings), self._record.catalog) if self._record else None

    def last_catalog(self) -> Catalog | None:
        return self._record.catalog if self._record else None

    def last_agents_by_file(self) -> dict[str, Agent]:
        return {str(agent.rel_path): agent for agent in self._record.catalog.agents} if self._record else {}

    def last_written(self) -> tuple[Manifest, SearchIndex] | None:
        return self._record.written if self._record else None

    def get_entries(self) -> StoredEntries:
        return dict(self._record.entries) if self._record else super().get_entries()

    def entry_keys(self) -> Mapping[str, str]:
        in_memory = self._entries_in_memory()
        return in_memory.entry_keys() if in_memory else super().entry_keys()

    def entry_parts(self, part: int) -> Mapping[str, tuple[str, str]]:
        in_memory = self._entries_in_memory()
        return in_memory.entry_parts(part) if in_memory else super().entry_parts(part)

    def entry_parts_in_order(self, part: int, slugs: Sequence[str]) -> Iterator[tuple[str, str] | None]:
        in_memory = self._entries_in_memory()
        return in_memory.entry_parts_in_order(part, slugs) if in_memory else super().entry_parts_in_order(part, slugs)

    def keep_entries(self, slug: str, key: str, entries: AgentEntries) -> bool:
        return False  # serve's record keeps every agent's entries in memory (see `record_build`)

    def _entries_in_memory(self) -> EntriesInMemory | None:
        from generator.site.entries import EntriesInMemory

        return EntriesInMemory(self._record.entries) if self._record else None

    def forget_last_site(self) -> None:
        """Forget what the last build wrote (a failed rebuild may have changed its search index
        in place): the next one renders the search index and the site's files afresh."""
        if self._record is not None:
            self._record = replace(self._record, written=None)

    def flush(self) -> None:
        """Write the last build's record to the cache on disk, for the next `serve` to start from."""
        from generator.site.entries import EntryChanges

        record = self._record
        if not self._unflushed or record is None:
            return
        every = EntryChanges(dict(record.entries), frozenset(record.entries))
        super().record_build(record.quick_state, record.findings, record.catalog, record.page_keys, record.site,
                             record.written, every)
        self._unflushed = False

