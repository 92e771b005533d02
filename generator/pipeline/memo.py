"""The memo in front of the costly stages: what a build may reuse from earlier builds, and under
which key.

A page is stored under a key made of everything it depends on: the agent file's text and
path, its slug and neighbours, and the fingerprint (templates, config, and the versions of
agentpages and of the libraries that render Markdown). Links to other agent files are
checked separately: the page is reused only while those files keep the slugs it was
rendered with. Values go to the build cache (store/cache.py) as plain data, through the
codecs beside each class.

The cache lives in the user's cache folder (or one named by `--cache-dir` or
$AGENTPAGES_CACHE_DIR), never in the catalog's repository: a cache that arrives with a
repository is never read, since its pages would skip the sanitizer.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.catalog.marketplace import is_marketplace
from generator.catalog.model import (
    Agent,
    Catalog,
    agent_from_head,
    agent_to_plain,
    share_paths,
    split_agent_plain,
)
from generator.config import SiteConfig
from generator.errors import Finding, SiteError
from generator.pipeline.fingerprint import make_fingerprint
from generator.store.cache import (
    BuildCache,
    BuildRecord,
    CacheStats,
    Plain,
    StoredFiles,
    digest_parts,
)

if TYPE_CHECKING:
    import jinja2

    from generator.catalog.frontmatter import FrontMatter
    from generator.catalog.lint import CheckedFile
    from generator.catalog.load import RawAgent
    from generator.site.entries import AgentEntries, EntryChanges, StoredEntries
    from generator.site.plan import PagePlan
    from generator.site.search import SearchIndex
    from generator.site.search_terms import PageTerms

log = logging.getLogger(__name__)

CACHE_DIR_VARIABLE = "AGENTPAGES_CACHE_DIR"
"""The environment variable naming the folder for build caches, as `--cache-dir` does."""


@dataclass(frozen=True)
class CachedPage:
    """A page as an earlier build rendered it."""

    agent: Agent
    """The agent without its body, as the index and catalog.json need it."""
    html: bytes


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


class Memo:
    """The build cache, spoken to in the pipeline's own types."""

    remembers = True
    """Whether the next build reads what this one records: its last build, site and findings."""

    def __init__(self, cache: BuildCache) -> None:
        self.cache = cache
        self.fingerprint = cache.fingerprint
        self._page_keys: dict[int, tuple[PagePlan, str]] = {}
        self._environment: jinja2.Environment | None = None
        self._last_agents: dict[str, Agent] | None = None
        self._last_agents_read = False
        self._agent_digests: dict[int, tuple[Agent, str]] = {}
        """Agents with the digest of their JSON text, by identity (each kept alive here)."""
        self._closed = False

    def environment(self, config: SiteConfig) -> jinja2.Environment:
        """Return the Jinja2 environment of the builds under this memo, made once: compiling the
        templates costs more than rendering the few pages one edit needs."""
        if self._environment is None:
            from generator.site.render import make_environment

            self._environment = make_environment(config)
        return self._environment

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

    @property
    def stats(self) -> CacheStats:
        return self.cache.stats

    def start_build(self) -> None:
        """Forget the page keys of the last build's plans (serve runs build after build)."""
        self._page_keys.clear()

    # -- files as read and checked ----------------------------------------------------------

    def get_file(self, path: Path, digest: str) -> CheckedFile | None:
        """Return a file as read and checked before, if its content (and the rules) are unchanged."""
        return _checked_file(self.cache.get_file(path, digest))

    def get_file_head(self, path: Path, digest: str) -> CheckedFile | None:
        """Return a file as read and checked before, if its content (and the rules) are unchanged,
        its frontmatter read when first asked for."""
        head = self.cache.get_file_head(path, digest)
        return self._checked_file_from_head(path, digest, head) if head is not None else None

    def get_file_by_stamp(self, path: Path, stamp: str) -> CheckedFile | None:
        """Return a file as read and checked before, if it has the same stamp as then (its
        frontmatter is read when first asked for)."""
        stored = self.cache.get_file_by_stamp(path, stamp)
        return self._checked_file_from_head(path, *stored) if stored is not None else None

    def get_files_by_stamp(self, stamps: Mapping[Path, str]) -> dict[Path, CheckedFile]:
        """Return every file as read and checked before that has the same stamp as then, by path
        (their frontmatter is read when first asked for: most builds need it of few files)."""
        found = {}
        for path, (digest, head) in self.cache.get_files_by_stamp(stamps).items():
            checked = self._checked_file_from_head(path, digest, head)
            if checked is not None:
                found[path] = checked
        return found

    def _checked_file_from_head(self, path: Path, digest: str, head: Plain) -> CheckedFile | None:
        # Imported here, with the rules: a build with nothing changed needs none of them.
        from generator.catalog.lint import CheckedFile

        try:
            return CheckedFile.from_head(head, functools.partial(self._front_matter_of, path, digest), path)
        except (TypeError, ValueError):
            return None  # written by another version

    def _front_matter_of(self, path: Path, digest: str) -> FrontMatter:
        """Return the frontmatter of a file read and checked before (see `get_files_by_stamp`):
        from the cache, or, should another build have replaced its row since, from the file."""
        from generator.catalog.load import read_front_matter_again

        checked = _checked_file(self._read_later(lambda cache: cache.get_file(path, digest)), path)
        return checked.raw.front_matter if checked is not None and checked.raw is not None else (
            read_front_matter_again(path, digest))

    def _read_later(self, read: Callable[[BuildCache], Plain | None]) -> Plain | None:
        """Read a value for an agent or reading taken from this memo earlier: from its cache, or,
        once that is closed or switched off, from the cache file opened to read alone."""
        if not self._closed and not self.cache.disabled:
            return read(self.cache)
        reader = BuildCache.open_for_reading(self.cache.path, self.fingerprint)
        if reader is None:
            return None
        try:
            return read(reader)
        finally:
            reader.close()

    def restamp_file(self, path: Path, stamp: str) -> None:
        """Remember a file's new stamp (its content is as stored)."""
        self.cache.restamp_file(path, stamp)

    def put_file(self, checked: CheckedFile, stamp: str = "", let_go: bool = False) -> CheckedFile:
        """Store a file as read and checked, and the stamp it had before it was read. Return it,
        or with `let_go` as stored: its frontmatter read back when first asked for (a cold build
        of a large catalog would otherwise hold every file's until its page is rendered)."""
        if checked.raw is None:
            return checked
        head = checked.head_to_plain()
        self.cache.put_file(checked.raw.path, checked.raw.digest, stamp, checked.to_plain(), head)
        if not let_go or self.cache.disabled:
            return checked
        return self._checked_file_from_head(checked.raw.path, checked.raw.digest, head) or checked

    # -- rendered pages ---------------------------------------------------------------------

    def page_key(self, plan: PagePlan) -> str:
        """Return the key of everything a page depends on but the files it links to."""
        known = self._page_keys.get(id(plan))
        if known is not None and known[0] is plan:
            return known[1]
        raw = plan.raw
        content = raw.digest or digest_parts(["\n".join(raw.front_matter.lines), raw.body or ""])
        key = digest_parts([self.fingerprint, str(raw.path), str(raw.rel_path), content,
                            repr(plan.previous), repr(plan.next), plan.slug, plan.plugin, plan.plugin_category,
                            repr(plan.relations), plan.updated, str(plan.category_position)])
        self._page_keys[id(plan)] = (plan, key)  # the plan is kept, so its id is not reused
        return key

    def get(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], with_html: bool = True) -> CachedPage | None:
        """Return the page stored for `plan` under `key`, if the files it links to kept their slugs.

        Without `with_html`, only the agent is read (its page's `html` is empty).
        """
        stored = self.cache.get_page(plan.raw.rel_path, key, with_html)
        if stored is None:
            return None
        try:
            agent = self._agent_from_page(stored.head, plan.raw.rel_path, key)
            if not links_hold(stored.head["links"], slugs):
                return None
            html = zlib.decompress(stored.compressed_html) if with_html else b""
        except (KeyError, TypeError, ValueError, zlib.error):
            return None  # written by another version
        return CachedPage(agent, html)

    def get_terms(self, plan: PagePlan, key: str) -> PageTerms | None:
        """Return the words for search of the page stored for `plan`'s file under `key`."""
        from generator.site.search_terms import PageTerms

        stored = self.cache.get_terms(plan.raw.rel_path, key)
        try:
            return PageTerms.from_plain(stored) if stored is not None else None
        except (TypeError, ValueError):
            return None

    def put(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], agent: Agent,
            compressed_html: bytes | None, terms: PageTerms) -> Agent:
        """Store a freshly rendered page, compressed by `compress_page` (None only for a memo that
        does not remember), and its words for search. Return the agent the build should keep (see
        `_kept_agent`)."""
        plain = agent_to_plain(agent)
        digest = _agent_digest(plain)
        head, rest = split_agent_plain(plain)
        if self.remembers:
            assert compressed_html is not None, "a page kept for later builds is kept with its HTML"
            self.cache.put_page(plan.raw.rel_path, key, {"agent": head, "digest": digest, "links": links_of(agent, slugs)},
                                rest, compressed_html, terms.to_plain())
        return self._kept_agent(agent, plan, head, rest, digest)

    def _kept_agent(self, agent: Agent, plan: PagePlan, head: list[Any], rest: str, digest: str) -> Agent:
        """Return the agent of a page just stored as a build keeps it: its head, and the rest of it
        compressed in memory, decoded when first asked for. A cold build of a large catalog keeps
        every agent, and asks few of them for more; keeping the rest here, not reading it back
        from the cache, leaves the build independent of what happens to the cache meanwhile."""
        packed = zlib.compress(rest.encode("utf-8", "surrogatepass"), 1)
        kept = agent_from_head(head, functools.partial(_unpacked_rest, packed))
        share_paths(kept, plan.raw.path, plan.raw.rel_path)
        self._agent_digests[id(kept)] = (kept, digest)
        return kept

    def _agent_from_page(self, head: dict[str, Any], file: PurePosixPath | str, key: str) -> Agent:
        """Return the agent of a stored page from its head (the rest is read when first asked
        for), remembering the digest it was stored with."""
        agent = agent_from_head(head["agent"], functools.partial(self._page_rest, file, key))
        digest = head.get("digest")
        if isinstance(digest, str):
            self._agent_digests[id(agent)] = (agent, digest)
        return agent

    def _page_rest(self, file: PurePosixPath | str, key: str) -> str:
        """Return the rest of an agent stored with its page (see `StoredPage`): from this memo's
        cache, or, once that is closed or switched off, from the cache file read again."""
        rest = self._read_later(lambda cache: cache.get_page_rest(file, key))
        if isinstance(rest, str):
            return rest
        raise SiteError(None, 0, "the build cache lost an agent it was reading (another build replaced it, or "
                                 "the file was removed): build again")

    def forget_others(self, raw_agents: Iterable[RawAgent]) -> None:
        """Drop what is stored of files no longer in the catalog, and values of another fingerprint."""
        present = list(raw_agents)
        self.cache.forget_others([raw.rel_path for raw in present], [raw.path for raw in present])

    # -- values and the last build ----------------------------------------------------------

    def get_value(self, name: str) -> Plain | None:
        """Return a plain value stored under `name` by a build with the same fingerprint."""
        return self.cache.get_value(name)

    def put_value(self, name: str, value: Plain) -> None:
        """Store a plain value under `name`."""
        self.cache.put_value(name, value)

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

    def get_entries(self) -> StoredEntries:
        """Return every agent's entries in the site-wide files as the last builds left them."""
        from generator.site.entries import (
            AgentEntries,  # with Jinja2, which a build with nothing changed never needs
        )

        return {slug: (key, AgentEntries(*parts)) for slug, (key, parts) in self.cache.get_entries().items()}

    # The build cache as an EntryStore (site/entries.py): entries read part by part, as asked for.
    def entry_keys(self) -> Mapping[str, str]:
        return self.cache.get_entry_keys()

    def entry_parts(self, part: int) -> Mapping[str, tuple[str, str]]:
        return self.cache.get_entry_parts(part)

    def entry_parts_in_order(self, part: int, slugs: Sequence[str]) -> Iterator[tuple[str, str] | None]:
        return self.cache.iter_entry_parts(part, slugs)

    def keep_entries(self, slug: str, key: str, entries: AgentEntries) -> bool:
        self.cache.put_entries(slug, key, [entries.card, entries.catalog_object, entries.llms_line])
        return not self.cache.disabled

    def object_sizes(self) -> Mapping[str, tuple[str, int | None]]:
        """Return the key of every agent's entries and the size of its catalog.json object, by slug."""
        return self.cache.get_object_sizes()

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

    def last_agent(self, file: str, key: str) -> Agent | None:
        """Return the agent of the page stored for `file` (its path below the agents folder) under `key`."""
        stored = self.cache.get_page(PurePosixPath(file), key, with_html=False)
        try:
            return self._agent_from_page(stored.head, file, key) if stored is not None else None
        except (KeyError, TypeError, ValueError):
            return None

    def stored_digest(self, file: PurePosixPath, key: str) -> str | None:
        """Return the digest of the agent of the page stored for `file` under `key` (see `digest_of`)."""
        stored = self.cache.get_page(file, key, with_html=False)
        digest = stored.head.get("digest") if stored is not None and isinstance(stored.head, dict) else None
        return digest if isinstance(digest, str) else None

    @staticmethod
    def digest_of(agent: Agent) -> str:
        """Return the digest of everything an agent says but its body: what the pages listing every
        agent follow from."""
        return _agent_digest(agent_to_plain(agent))

    def _agent_digest_of(self, agent: Agent) -> str:
        known = self._agent_digests.get(id(agent))
        if known is not None and known[0] is agent:
            return known[1]
        digest = self.digest_of(agent)
        self._agent_digests[id(agent)] = (agent, digest)
        return digest

    def catalog_key(self, catalog: Catalog, *parts: str) -> str:
        """Return a digest of everything the catalog's agents say (without their bodies), and of
        `parts`: what a page listing every agent depends on. Each agent is digested once, when it
        is rendered, and its digest kept with its page."""
        hasher = hashlib.sha256(self.fingerprint.encode())
        for part in parts:
            hasher.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        for agent in catalog.agents:
            hasher.update(b"\0" + self._agent_digest_of(agent).encode())
        return hasher.hexdigest()

    def forget_other_agents(self, catalog: Catalog) -> None:
        """Keep the digests of this catalog's agents only (serve makes new agents save after save)."""
        present = {id(agent) for agent in catalog.agents}
        for gone in [key for key in self._agent_digests if key not in present]:
            del self._agent_digests[gone]

    def close(self) -> None:
        """Close the cache."""
        self._closed = True
        self.cache.close()


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


def links_of(agent: Agent, slugs: Mapping[PurePosixPath, str]) -> list[list[str | None]]:
    """Return each file the agent's page links to with its slug now: what the page was rendered with."""
    return [[str(target), slugs.get(target)] for target in sorted(agent.linked_files)]


def links_hold(links: list[list[str | None]], slugs: Mapping[PurePosixPath, str]) -> bool:
    """Tell whether every file a page linked to (see `links_of`) still has the slug it had."""
    return all(slugs.get(PurePosixPath(str(target))) == slug for target, slug in links)


def _agent_digest(plain: list[Any]) -> str:
    """Digest an agent's plain data: what the pages listing every agent follow from."""
    return hashlib.sha256(json.dumps(plain, ensure_ascii=True, separators=(",", ":")).encode()).hexdigest()


def _findings_from_plain(findings: list[Any]) -> list[Finding]:
    """Return stored findings (their files' Paths are made when asked for, see `Finding`)."""
    return [Finding.from_plain(plain) for plain in findings]


def _checked_file(stored: Plain | None, path: Path | None = None) -> CheckedFile | None:
    from generator.catalog.lint import CheckedFile

    try:
        return CheckedFile.from_plain(stored, path) if stored is not None else None
    except (TypeError, ValueError):
        return None  # written by another version


def repository_root(agents_dir: Path) -> Path:
    """Return the top of the repository that holds the agents folder (the nearest folder with a
    `.git`); outside any repository, a marketplace's root or the folder above the agents folder."""
    agents = agents_dir.resolve()
    for folder in (agents, *agents.parents):
        if (folder / ".git").exists():
            return folder
    return agents if is_marketplace(agents) else agents.parent


def _unpacked_rest(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


def compress_page(html: str) -> bytes:
    """Compress a page for the cache (done by the worker that rendered it)."""
    return zlib.compress(html.encode("utf-8"), 1)


def cache_folder(config: SiteConfig, cache_dir: Path | None = None, purpose: str = "build") -> Path:
    """Return the folder of the catalog's cache: one per agents folder and purpose, in `cache_dir`
    or the user's cache folder."""
    base = cache_dir.resolve() if cache_dir else user_cache_folder() / "agentpages"
    catalog_id = hashlib.sha256(os.fsencode(str(config.agents_dir))).hexdigest()[:16]
    return base / (catalog_id if purpose == "build" else f"{catalog_id}-{purpose}")


def user_cache_folder() -> Path:
    """Return the user's cache folder ($XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
