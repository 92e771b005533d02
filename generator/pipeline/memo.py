"""The memo of a build: each stage's answers (pipeline/stage_memo.py) and the record of the last
build, which the next one starts from: its quick state, findings and catalog, what it wrote in
its output folder, the folder's layout and the plan's ledger (pipeline/ledger.py).

The cache lives in the user's cache folder (or one named by `--cache-dir` or
$AGENTPAGES_CACHE_DIR), never in the catalog's repository: a cache that arrives with a
repository is never read, since its pages would skip the sanitizer.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.catalog.marketplace import is_marketplace
from generator.catalog.model import Agent, Catalog
from generator.config import SiteConfig
from generator.errors import Finding
from generator.pipeline.fingerprint import make_fingerprint
from generator.pipeline.stage_memo import StageMemo
from generator.store.cache import BuildCache, BuildRecord, StoredFiles
from generator.store.database import Plain

if TYPE_CHECKING:
    from generator.site.entries import EntryChanges
    from generator.site.search import SearchIndex

log = logging.getLogger(__name__)

CACHE_DIR_VARIABLE = "AGENTPAGES_CACHE_DIR"
"""The environment variable naming the folder for build caches, as `--cache-dir` does."""


@dataclass(frozen=True)
class Manifest:
    """What a finished build left in its output folder."""

    out_dir: str
    fingerprint: str
    """The fingerprint of the templates, config and code that made the site."""
    stamp: str
    """The stamp of the folder's files (`SiteFiles`) when the build finished."""
    files: dict[str, str]
    """Every file of the site, by its path below the site root, with its version (see `SiteWriter`)."""
    pages: dict[str, str]
    """Each agent page's path below the site root and the memo key it was rendered under."""

    def to_plain(self) -> list[Any]:
        """Return the manifest but its files and pages as JSON-ready data (the cache keeps those
        apart, see `StoredFiles`)."""
        return [self.out_dir, self.fingerprint, self.stamp]

    @classmethod
    def from_plain(cls, data: list[Any], files: dict[str, str], pages: dict[str, str]) -> Manifest:
        """Return the manifest `to_plain` described, with its `files` and `pages`."""
        out_dir, fingerprint, stamp = data
        if not all(isinstance(text, str) for text in (out_dir, fingerprint, stamp)):
            raise TypeError("not a manifest")
        return cls(out_dir, fingerprint, stamp, files, pages)


class Memo(StageMemo):
    """The build cache, spoken to in the pipeline's own types: each stage's answers (see
    `StageMemo`), and the record of the last build."""

    def __init__(self, cache: BuildCache) -> None:
        super().__init__(cache)
        self._last_agents: dict[str, Agent] | None = None
        self._last_agents_read = False

    @classmethod
    def open(cls, config: SiteConfig, cache_dir: Path | None = None, purpose: str = "build") -> Memo | None:
        """Open the catalog's cache in `cache_dir` (default: the user's cache folder); None if it
        cannot be had, or if `cache_dir` lies in the catalog's folder. `serve` keeps a cache of its
        own ("serve"): its pages have no published address, so its keys differ from a build's."""
        folder = cache_folder(config, cache_dir, purpose)
        if folder.resolve().is_relative_to(repository_root(config.agents_dir)):
            log.warning("the cache folder %s is inside the catalog's repository, where a commit could put a cache "
                        "of its own; every page is rendered afresh (name a folder outside it with --cache-dir)", folder)
            return None
        cache = BuildCache.open(folder, make_fingerprint(config))
        return cls(cache) if cache else None

    def last_quick_state(self) -> str | None:
        """Return the quick state (see build.py) the last finished build recorded."""
        return self.cache.last_quick_state()

    def record_quick_state(self, quick_state: str) -> None:
        """Remember a new quick state of the last build's site (see `BuildCache.record_quick_state`)."""
        self.cache.record_quick_state(quick_state)

    def last_site(self) -> str | None:
        """Return what the last finished build recorded of its site."""
        return self.cache.last_site()

    def last_catalog(self) -> Catalog | None:
        """Return the catalog (agents without bodies) of the last finished build.

        The record names each agent's page by its file and key; the agents are read from the
        pages' heads, all in one query, so an edit writes one agent, not the catalog.
        """
        agents = self._read_last_agents()
        return Catalog.from_agents(list(agents.values())) if agents is not None else None

    def last_agents_by_file(self) -> dict[str, Agent]:
        """Return the last build's agents by the text of their file's path below the agents folder."""
        return self._read_last_agents() or {}

    def _read_last_agents(self) -> dict[str, Agent] | None:
        if self._last_agents_read:
            return self._last_agents
        self._last_agents_read = True
        try:
            _, pages = self.cache.last_result()
            heads = self.cache.get_pages_heads([(file, key) for file, key in pages])
            if heads is None:
                return None
            self._last_agents = {file: self._agent_from_page(head, file, key) for head, (file, key) in zip(heads, pages)}
        except (KeyError, TypeError, ValueError):
            return None
        return self._last_agents

    def last_outcome(self) -> tuple[list[Finding], Catalog] | None:
        """Return the last finished build's findings and its catalog, whose agents are read only
        when asked for (after this memo is closed, from the cache again): a build with nothing
        changed needs no more than how many there are."""
        stored = self.cache.last_result()
        try:
            findings, pages = stored
            return _findings_from_plain(findings), StoredCatalog(len(pages), self._catalog_loader())
        except (TypeError, ValueError):
            return None

    def _catalog_loader(self) -> Callable[[], Catalog]:
        path, fingerprint = self.cache.path, self.fingerprint

        def load() -> Catalog:
            cache = BuildCache.open_for_reading(path, fingerprint)
            memo = Memo(cache) if cache else None
            last = memo.last_catalog() if memo else None
            if memo:
                memo.close()
            if last is None:
                log.warning("the last build's catalog is no longer in the build cache %s", path.parent)
            return last or Catalog(())

        return load

    def last_written(self) -> tuple[Manifest, SearchIndex] | None:
        """Return what the last build that wrote its site left there, and its search index (whose
        chunks are read from the cache when an edit changes them)."""
        from generator.site.search import SearchIndex

        with self.cache.snapshot():  # the manifest, its files and pages, all of one build's
            stored = self.cache.last_written()
            try:
                manifest, search = stored
                index = SearchIndex.from_plain(search, self.cache.get_chunk)
                if not {chunk.name for chunk in index.files} <= self.cache.chunk_names():
                    return None
                return Manifest.from_plain(manifest, self.cache.last_site_files(), self.cache.last_site_pages()), index
            except (TypeError, ValueError):
                return None

    def last_layout(self, out_dir: Path) -> list[str] | None:
        """Return the path of every file and folder the last build left in `out_dir` (see
        `SiteFiles`), if it recorded them."""
        stored = self.cache.last_layout()
        if not isinstance(stored, list) or len(stored) != 2 or stored[0] != str(out_dir):
            return None
        layout = stored[1]
        return layout if isinstance(layout, list) and all(isinstance(path, str) for path in layout) else None

    def record_build(
        self, quick_state: str, findings: list[Finding], catalog: Catalog, page_keys: Mapping[str, str], site: str,
        site_written: tuple[Manifest, SearchIndex] | None = None, entries: EntryChanges | None = None,
        layout: tuple[Path, list[str]] | None = None, written_before: Manifest | None = None,
    ) -> None:
        """Remember a finished build, all at once: its quick state, findings and catalog (for a build
        with nothing changed to repeat; each agent by its page's file and key, `page_keys` by the
        page's path), its site's state and, if it wrote the site, what it wrote, the agents'
        entries it rendered and did not store as it went, and the layout of its output folder.
        `written_before` is what `last_written` gave, when the site was written over it: the
        site's files and pages are stored by difference."""
        self.forget_other_agents(catalog)
        pages = [[str(agent.rel_path), page_keys[agent.url]] for agent in catalog.agents]
        self._store_record(findings, pages, None, quick_state, site, site_written, entries, layout, written_before)

    def record_edit(
        self, quick_state: str, findings: list[Finding] | None, changed_pages: Mapping[int, tuple[str, str]], site: str,
        manifest: Manifest, search: SearchIndex, written_before: Manifest, layout: tuple[Path, list[str]] | None,
    ) -> None:
        """Remember a build that changed a few pages in place (see pipeline/edit.py): as
        `record_build`, but for the pages at the places in the catalog it changed, each given by
        its file's path below the agents folder and its key; `findings` None when they are those
        `last_outcome` gave."""
        self._store_record(findings, None, changed_pages, quick_state, site, (manifest, search), None, layout,
                           written_before)

    def _store_record(
        self, findings: list[Finding] | None, pages: list[list[str]] | None,
        changed_pages: Mapping[int, tuple[str, str]] | None, quick_state: str, site: str,
        site_written: tuple[Manifest, SearchIndex] | None, entries: EntryChanges | None,
        layout: tuple[Path, list[str]] | None, written_before: Manifest | None,
    ) -> None:
        result = [[f.to_plain() for f in findings] if findings is not None else None, pages]
        written = [site_written[0].to_plain(), site_written[1].to_plain()] if site_written else None
        chunks = site_written[1].take_unsaved() if site_written else {}
        chunk_names = frozenset(chunk.name for chunk in site_written[1].files) if site_written else None
        rendered = {slug: (key, [e.card, e.catalog_object, e.llms_line])
                    for slug, (key, e) in (entries.rendered.items() if entries else ())}
        before_files, before_pages = (written_before.files, written_before.pages) if written_before else (None, None)
        files = StoredFiles(site_written[0].files, before_files) if site_written else None
        site_pages = StoredFiles(site_written[0].pages, before_pages) if site_written else None
        self.cache.record_build(BuildRecord(quick_state, site, result, written, rendered,
                                            entries.slugs if entries else None, chunks, chunk_names,
                                            [str(layout[0]), layout[1]] if layout else None, files, site_pages,
                                            changed_pages))

    def last_ledger(self) -> tuple[Plain, str, list[tuple[Any, ...]]] | None:
        """Return the ledger of the plan stage's memo (pipeline/ledger.py) the last build recorded."""
        return self.cache.last_ledger()

    def record_ledger(self, plan: Plain | None, site_stamp: str, rows: Mapping[int, tuple[Any, ...]]) -> None:
        """Record a ledger: a full build's `plan` and every row, or an edit's changed rows (see `BuildCache`)."""
        self.cache.record_ledger(plan, site_stamp, rows)

    def forget_ledger(self) -> None:
        """Record that the last build left no ledger."""
        self.cache.forget_ledger()

    def stored_catalog(self, count: int) -> Catalog:
        """Return the catalog of `count` agents the last build recorded, read when its agents are first asked for."""
        return StoredCatalog(count, self._catalog_loader())

    def last_result_pages(self) -> list[tuple[str, str]] | None:
        """Return each page of the last finished build, in catalog order, by its file's path below
        the agents folder and its key."""
        stored = self.cache.last_result()
        try:
            _, pages = stored
            found = [(file, key) for file, key in pages]
        except (TypeError, ValueError):
            return None
        return found if all(isinstance(file, str) and isinstance(key, str) for file, key in found) else None


class ScratchMemo(Memo):
    """The memo of a build that keeps nothing for the next (`--no-cache`), over a private SQLite
    database that is gone when closed or when the process ends. With it, such a build runs the
    pipeline a cached cold build runs, and lets go of what a large one has stored (readings,
    entries) as that one does: its memory follows what is in flight, not the catalog. It keeps
    no pages: no later build reads them."""

    remembers = False

    @classmethod
    def open_scratch(cls, config: SiteConfig) -> ScratchMemo | None:
        """Open a scratch memo; None if SQLite cannot make one."""
        cache = BuildCache.open_scratch(make_fingerprint(config))
        return cls(cache) if cache else None


class StoredCatalog(Catalog):
    """The catalog of the last build, read from the cache when its agents are first asked for."""

    def __init__(self, count: int, load: Callable[[], Catalog]) -> None:
        object.__setattr__(self, "_count", count)
        object.__setattr__(self, "_load", load)

    def __len__(self) -> int:
        return self._count  # type: ignore[attr-defined,no-any-return]

    def __getattr__(self, name: str) -> Any:
        if name not in ("agents", "categories", "_positions"):
            raise AttributeError(name)
        loaded = self._load()  # type: ignore[attr-defined]
        for field_name in ("agents", "categories", "_positions"):
            object.__setattr__(self, field_name, getattr(loaded, field_name))
        return getattr(self, name)


def _findings_from_plain(findings: list[Any]) -> list[Finding]:
    """Return stored findings (their files' Paths are made when asked for, see `Finding`)."""
    return [Finding.from_plain(plain) for plain in findings]


def repository_root(agents_dir: Path) -> Path:
    """Return the top of the repository that holds the agents folder (the nearest folder with a
    `.git`); outside any repository, a marketplace's root or the folder above the agents folder."""
    agents = agents_dir.resolve()
    for folder in (agents, *agents.parents):
        if (folder / ".git").exists():
            return folder
    return agents if is_marketplace(agents) else agents.parent


def cache_folder(config: SiteConfig, cache_dir: Path | None = None, purpose: str = "build") -> Path:
    """Return the folder of the catalog's cache: one per agents folder and purpose, in `cache_dir`
    or the user's cache folder."""
    base = cache_dir.resolve() if cache_dir else user_cache_folder() / "agentpages"
    catalog_id = hashlib.sha256(os.fsencode(str(config.agents_dir))).hexdigest()[:16]
    return base / (catalog_id if purpose == "build" else f"{catalog_id}-{purpose}")


def user_cache_folder() -> Path:
    """Return the user's cache folder ($XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
