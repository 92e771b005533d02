"""The memo in front of each costly stage: a file as read and checked, a rendered page with its
agent and words for search, an agent's entries in the site-wide files, and plain values, each
kept under a key made of everything it depends on.

A page is stored under a key made of everything it depends on: the agent file's text and
path, its slug and neighbours, and the fingerprint (templates, config, and the versions of
agentpages and of the libraries that render Markdown). Links to other agent files are
checked separately: the page is reused only while those files keep the slugs it was
rendered with. Values go to the build cache (store/cache.py) as plain data, through the
codecs beside each class.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.catalog.model import (
    Agent,
    Catalog,
    agent_from_head,
    agent_to_plain,
    share_paths,
    split_agent_plain,
)
from generator.config import SiteConfig
from generator.errors import SiteError
from generator.store.cache import BuildCache
from generator.store.database import CacheStats, Plain, digest_parts

if TYPE_CHECKING:
    import jinja2

    from generator.catalog.frontmatter import FrontMatter
    from generator.catalog.lint import CheckedFile
    from generator.catalog.load import RawAgent
    from generator.site.entries import AgentEntries, StoredEntries
    from generator.site.plan import PagePlan
    from generator.site.search_terms import PageTerms


@dataclass(frozen=True)
class CachedPage:
    """A page as an earlier build rendered it."""

    agent: Agent
    """The agent without its body, as the index and catalog.json need it."""
    html: bytes


class StageMemo:
    """The build cache, spoken to in the pipeline's own types: what each costly stage made
    before, under its key (the last build's record is `Memo`'s, pipeline/memo.py)."""

    remembers = True
    """Whether the next build reads what this one records: its last build, site and findings."""

    def __init__(self, cache: BuildCache) -> None:
        self.cache = cache
        self.fingerprint = cache.fingerprint
        self._page_keys: dict[int, tuple[PagePlan, str]] = {}
        self._environment: jinja2.Environment | None = None
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

    # -- values and entries -----------------------------------------------------------------

    def get_value(self, name: str) -> Plain | None:
        """Return a plain value stored under `name` by a build with the same fingerprint."""
        return self.cache.get_value(name)

    def put_value(self, name: str, value: Plain) -> None:
        """Store a plain value under `name`."""
        self.cache.put_value(name, value)

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



def links_of(agent: Agent, slugs: Mapping[PurePosixPath, str]) -> list[list[str | None]]:
    """Return each file the agent's page links to with its slug now: what the page was rendered with."""
    return [[str(target), slugs.get(target)] for target in sorted(agent.linked_files)]


def links_hold(links: list[list[str | None]], slugs: Mapping[PurePosixPath, str]) -> bool:
    """Tell whether every file a page linked to (see `links_of`) still has the slug it had."""
    return all(slugs.get(PurePosixPath(str(target))) == slug for target, slug in links)


def _agent_digest(plain: list[Any]) -> str:
    """Digest an agent's plain data: what the pages listing every agent follow from."""
    return hashlib.sha256(json.dumps(plain, ensure_ascii=True, separators=(",", ":")).encode()).hexdigest()


def _checked_file(stored: Plain | None, path: Path | None = None) -> CheckedFile | None:
    from generator.catalog.lint import CheckedFile

    try:
        return CheckedFile.from_plain(stored, path) if stored is not None else None
    except (TypeError, ValueError):
        return None  # written by another version


def _unpacked_rest(packed: bytes) -> str:
    return zlib.decompress(packed).decode("utf-8", "surrogatepass")


def compress_page(html: str) -> bytes:
    """Compress a page for the cache (done by the worker that rendered it)."""
    return zlib.compress(html.encode("utf-8"), 1)
