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

import hashlib
import json
import logging
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.catalog.lint import CheckedFile
from generator.catalog.model import Agent, Catalog, agent_from_plain, agent_to_plain
from generator.config import SiteConfig
from generator.errors import Finding
from generator.pipeline.fingerprint import make_fingerprint
from generator.site.search import PageTerms, SearchIndex
from generator.store.cache import (
    BuildCache,
    BuildRecord,
    CacheStats,
    Plain,
    digest_parts,
)

if TYPE_CHECKING:
    import jinja2

    from generator.catalog.load import RawAgent
    from generator.site.entries import EntryChanges, StoredEntries
    from generator.site.plan import PagePlan

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
    """The stamp of the folder's files (`output.SiteFiles`) when the build finished."""
    files: dict[str, str]
    """Every file of the site, by its path below the site root, with its version (see `SiteWriter`)."""
    pages: dict[str, str]
    """Each agent page's path below the site root and the memo key it was rendered under."""

    def to_plain(self) -> list[Any]:
        """Return the manifest as JSON-ready data."""
        return [self.out_dir, self.fingerprint, self.stamp, self.files, self.pages]

    @classmethod
    def from_plain(cls, data: list[Any]) -> Manifest:
        """Return the manifest `to_plain` described."""
        out_dir, fingerprint, stamp, files, pages = data
        return cls(out_dir, fingerprint, stamp, files, pages)


class Memo:
    """The build cache, spoken to in the pipeline's own types."""

    def __init__(self, cache: BuildCache) -> None:
        self.cache = cache
        self.fingerprint = cache.fingerprint
        self._page_keys: dict[int, tuple[PagePlan, str]] = {}
        self._environment: jinja2.Environment | None = None
        self._last_result: tuple[list[Finding], Catalog] | None = None
        self._agent_texts: dict[int, tuple[Agent, str]] = {}
        """Agents of the last build's catalog with their JSON text, by identity (each kept alive here)."""

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
        if folder.resolve().is_relative_to(catalog_root(config.agents_dir)):
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

    def get_file_by_stamp(self, path: Path, stamp: str) -> CheckedFile | None:
        """Return a file as read and checked before, if it has the same stamp as then."""
        return _checked_file(self.cache.get_file_by_stamp(path, stamp))

    def restamp_file(self, path: Path, stamp: str) -> None:
        """Remember a file's new stamp (its content is as stored)."""
        self.cache.restamp_file(path, stamp)

    def put_file(self, checked: CheckedFile, stamp: str = "") -> None:
        """Store a file as read and checked, and the stamp it had before it was read."""
        if checked.raw is not None:
            self.cache.put_file(checked.raw.path, checked.raw.digest, stamp, checked.to_plain())

    # -- rendered pages ---------------------------------------------------------------------

    def page_key(self, plan: PagePlan) -> str:
        """Return the key of everything a page depends on but the files it links to."""
        known = self._page_keys.get(id(plan))
        if known is not None and known[0] is plan:
            return known[1]
        raw = plan.raw
        content = raw.digest or digest_parts(["\n".join(raw.front_matter.lines), raw.body or ""])
        key = digest_parts([self.fingerprint, str(raw.path), str(raw.rel_path), content,
                            repr(plan.previous), repr(plan.next), plan.slug])
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
            agent = agent_from_plain(stored.data["agent"])
            if not links_hold(stored.data["links"], slugs):
                return None
            html = zlib.decompress(stored.compressed_html) if with_html else b""
        except (KeyError, TypeError, ValueError, zlib.error):
            return None  # written by another version
        return CachedPage(agent, html)

    def get_terms(self, plan: PagePlan, key: str) -> PageTerms | None:
        """Return the words for search of the page stored for `plan`'s file under `key`."""
        stored = self.cache.get_terms(plan.raw.rel_path, key)
        try:
            return PageTerms.from_plain(stored) if stored is not None else None
        except (TypeError, ValueError):
            return None

    def put(self, plan: PagePlan, key: str, slugs: Mapping[PurePosixPath, str], agent: Agent,
            compressed_html: bytes, terms: PageTerms) -> None:
        """Store a freshly rendered page, compressed by `compress_page`, and its words for search."""
        self.cache.put_page(plan.raw.rel_path, key, {"agent": agent_to_plain(agent), "links": links_of(agent, slugs)},
                            compressed_html, terms.to_plain())

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

    def last_site(self) -> str | None:
        """Return what the last finished build recorded of its site."""
        return self.cache.last_site()

    def last_result(self) -> tuple[list[Finding], Catalog] | None:
        """Return the findings and catalog (agents without bodies) of the last finished build.

        Each agent is kept as its own JSON text, which `record_build` writes again for every
        agent that is still the same object: an edit encodes one agent, not the catalog.
        """
        if self._last_result is not None:
            return self._last_result
        stored = self.cache.last_result()
        try:
            findings, texts = stored
            agents = []
            for text in texts:
                agent = agent_from_plain(json.loads(text))
                self._agent_texts[id(agent)] = (agent, text)
                agents.append(agent)
            self._last_result = [Finding.from_plain(f) for f in findings], Catalog.from_agents(agents)
        except (TypeError, ValueError):
            return None
        return self._last_result

    def last_written(self) -> tuple[Manifest, SearchIndex] | None:
        """Return what the last build that wrote its site left there, and its search index."""
        stored = self.cache.last_written()
        try:
            manifest, search = stored
            return Manifest.from_plain(manifest), SearchIndex.from_plain(search)
        except (TypeError, ValueError):
            return None

    def get_entries(self) -> StoredEntries:
        """Return every agent's entries in the site-wide files as the last builds left them."""
        from generator.site.entries import (
            AgentEntries,  # with Jinja2, which a build with nothing changed never needs
        )

        stored: StoredEntries = {}
        for slug, (key, parts) in self.cache.get_entries().items():
            if isinstance(parts, list) and len(parts) == 3 and all(isinstance(part, str) for part in parts):
                stored[slug] = (key, AgentEntries(*parts))
        return stored

    def record_build(
        self, quick_state: str, findings: list[Finding], catalog: Catalog, site: str,
        site_written: tuple[Manifest, SearchIndex] | None = None, entries: EntryChanges | None = None,
    ) -> None:
        """Remember a finished build, all at once: its quick state, findings and catalog (for a build
        with nothing changed to repeat), its site's state and, if it wrote the site, what it wrote
        and the agents' entries it rendered."""
        result = [[f.to_plain() for f in findings], [self._agent_text(agent) for agent in catalog.agents]]
        self.forget_other_agents(catalog)
        written = [site_written[0].to_plain(), site_written[1].to_plain()] if site_written else None
        rendered = {slug: (key, [e.card, e.catalog_object, e.llms_line])
                    for slug, (key, e) in (entries.rendered.items() if entries else ())}
        self.cache.record_build(BuildRecord(quick_state, site, result, written, rendered,
                                            entries.slugs if entries else None))

    def _agent_text(self, agent: Agent) -> str:
        known = self._agent_texts.get(id(agent))
        if known is not None and known[0] is agent:
            return known[1]
        text = json.dumps(agent_to_plain(agent), ensure_ascii=True, separators=(",", ":"))
        self._agent_texts[id(agent)] = (agent, text)
        return text

    def catalog_key(self, catalog: Catalog, *parts: str) -> str:
        """Return a digest of everything the catalog's agents say (without their bodies), and of
        `parts`: what a page listing every agent depends on. Each agent is encoded once."""
        hasher = hashlib.sha256(self.fingerprint.encode())
        for part in parts:
            hasher.update(b"\0" + part.encode("utf-8", "surrogatepass"))
        for agent in catalog.agents:
            hasher.update(b"\0" + self._agent_text(agent).encode())
        return hasher.hexdigest()

    def forget_other_agents(self, catalog: Catalog) -> None:
        """Keep the encoded agents of this catalog only (serve makes new agents save after save)."""
        present = {id(agent) for agent in catalog.agents}
        for gone in [key for key in self._agent_texts if key not in present]:
            del self._agent_texts[gone]

    def close(self) -> None:
        """Close the cache."""
        self.cache.close()


def links_of(agent: Agent, slugs: Mapping[PurePosixPath, str]) -> list[list[str | None]]:
    """Return each file the agent's page links to with its slug now: what the page was rendered with."""
    return [[str(target), slugs.get(target)] for target in sorted(agent.linked_files)]


def links_hold(links: list[list[str | None]], slugs: Mapping[PurePosixPath, str]) -> bool:
    """Tell whether every file a page linked to (see `links_of`) still has the slug it had."""
    return all(slugs.get(PurePosixPath(str(target))) == slug for target, slug in links)


def _checked_file(stored: Plain | None) -> CheckedFile | None:
    try:
        return CheckedFile.from_plain(stored) if stored is not None else None
    except (TypeError, ValueError):
        return None  # written by another version


def catalog_root(agents_dir: Path) -> Path:
    """Return the top of the repository that holds the agents folder (the nearest folder with a
    `.git`), or the folder above it outside any repository."""
    agents = agents_dir.resolve()
    for folder in (agents, *agents.parents):
        if (folder / ".git").exists():
            return folder
    return agents.parent


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
