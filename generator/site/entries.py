"""What the site-wide files say of each agent: its card on the index, its object in
catalog.json and its line in llms.txt.

Rendering them for every agent is most of what an edit costs in a large catalog (about
100 ms at 1,000 agents), though one agent changed. So a build keeps each agent's entries
with the key they were made under, and the next build renders only the entries of agents
whose key changed; the files are then joined from them. The stored entries are read part
by part, and catalog.json's objects (most of their bulk) one after another as the file is
written, never all at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from generator.site import publish
from generator.site.render import render_card

if TYPE_CHECKING:
    import jinja2

    from generator.catalog.history import FileDates
    from generator.catalog.model import Agent, Catalog
    from generator.site.render import SiteContext


@dataclass(frozen=True)
class AgentEntries:
    """One agent's parts of the site-wide files."""

    card: str
    """Its card on the index, as HTML."""
    catalog_object: str
    """Its object in catalog.json, as JSON."""
    llms_line: str
    """Its line in llms.txt, as Markdown."""


CARD, CATALOG_OBJECT, LLMS_LINE = range(3)
"""The parts of an agent's entries, in the order AgentEntries has them."""

StoredEntries = dict[str, tuple[str, AgentEntries]]
"""Each agent's entries by its slug, with the key they were rendered under."""


class EntryStore(Protocol):
    """Where the entries of earlier builds are kept (the build cache, or serve's memory)."""

    def entry_keys(self) -> Mapping[str, str]:
        """Return the key each stored agent's entries were rendered under, by slug."""

    def entry_parts(self, part: int) -> Mapping[str, tuple[str, str]]:
        """Return one part of every stored agent's entries, by slug, with its key."""

    def entry_parts_in_order(self, part: int, slugs: Sequence[str]) -> Iterator[tuple[str, str] | None]:
        """Yield one part of each of these agents' stored entries with its key, in this order
        (None for an agent with none)."""

    def keep_entries(self, slug: str, key: str, entries: AgentEntries) -> bool:
        """Store an agent's entries as soon as they are rendered, if this store keeps them apart
        from the build's memory; False leaves them to the build (and to its EntryChanges)."""


class EntriesInMemory(EntryStore):
    """Entries held in memory as StoredEntries."""

    def __init__(self, stored: StoredEntries) -> None:
        self.stored = stored

    def entry_keys(self) -> Mapping[str, str]:
        return {slug: key for slug, (key, _) in self.stored.items()}

    def entry_parts(self, part: int) -> Mapping[str, tuple[str, str]]:
        return {slug: (key, _part(entries, part)) for slug, (key, entries) in self.stored.items()}

    def entry_parts_in_order(self, part: int, slugs: Sequence[str]) -> Iterator[tuple[str, str] | None]:
        for slug in slugs:
            known = self.stored.get(slug)
            yield (known[0], _part(known[1], part)) if known is not None else None

    def keep_entries(self, slug: str, key: str, entries: AgentEntries) -> bool:
        return False


def _part(entries: AgentEntries, part: int) -> str:
    return (entries.card, entries.catalog_object, entries.llms_line)[part]


@dataclass(frozen=True)
class EntryKeys:
    """What tells whether an agent's stored entries are still right."""

    pages: Mapping[str, str]
    """Each agent's page key by slug (see Memo.page_key): its file, slug, neighbours, and
    the templates, config and code."""
    fresh: frozenset[str] = frozenset()
    """Slugs of agents made afresh by this build, whose stored entries are not reused. A page is
    also rendered again under the same key when a file it links to changed its slug; no entry
    shows such links today, so this only keeps entries right should one ever do."""
    dates: Mapping[str, FileDates | None] = field(default_factory=dict)
    """Each agent's dates by slug, as the plan has them (else they are looked up by the agent's
    file, whose Path an agent read back from the cache makes only when asked)."""


@dataclass(frozen=True)
class EntryChanges:
    """What a build changed of the stored entries."""

    rendered: StoredEntries
    """The entries this build rendered and holds, with their keys (not those the store took as
    they were made, see `EntryStore.keep_entries`)."""
    slugs: frozenset[str]
    """Every agent's slug: stored entries of other slugs are dropped."""


class EntryRenderer:
    """Renders every agent's entries, reusing those stored by the last build under the same key."""

    def __init__(
        self, env: jinja2.Environment, site: SiteContext, dates: Mapping[Path, FileDates],
        keys: EntryKeys | None = None, stored: EntryStore | StoredEntries | None = None,
    ) -> None:
        self.env = env
        self.site = site
        self.dates = dates
        self.keys = keys
        self.store: EntryStore = EntriesInMemory(stored) if isinstance(stored, dict) else stored or EntriesInMemory({})
        self.changes: EntryChanges | None = None
        """What `render` changed, for the cache to keep; None without keys."""
        self._early: dict[str, tuple[str, AgentEntries | None]] = {}
        """The entries `render_early` made, with their key, by slug: None when the store kept them."""

    def render(self, catalog: Catalog) -> CatalogEntries:
        """Render the entries of every agent whose stored ones cannot be reused."""
        stored_keys = self.store.entry_keys()
        fresh = self.keys.fresh if self.keys else frozenset()
        entries = CatalogEntries(self, catalog)
        rendered: StoredEntries = {}
        for agent in catalog.agents:
            key = self._key(agent)
            early_key, early = self._early.get(agent.slug, ("", None))
            if key and early_key == key:
                _place(entries, rendered, agent.slug, key, early)
            elif key and stored_keys.get(agent.slug) == key and agent.slug not in fresh:
                entries.reused[agent.slug] = key
            else:
                _place(entries, rendered, agent.slug, key, self._keep(agent.slug, key, self.render_one(agent)))
        self.changes = EntryChanges(rendered, frozenset(agent.slug for agent in catalog.agents)) if self.keys else None
        return entries

    def render_early(self, agent: Agent) -> None:
        """Render an agent's entries as soon as its page is, while the whole agent is at hand, and
        hand them to the store: `render` then reads them back from it, as the files ask."""
        key = self._key(agent)
        if key:
            self._early[agent.slug] = (key, self._keep(agent.slug, key, self.render_one(agent)))

    def _keep(self, slug: str, key: str, made: AgentEntries) -> AgentEntries | None:
        """Return entries just rendered, or None once the store has taken them (see `keep_entries`)."""
        return None if key and self.store.keep_entries(slug, key, made) else made

    def _key(self, agent: Agent) -> str:
        page_key = self.keys.pages.get(agent.slug, "") if self.keys else ""
        if not page_key:
            return ""
        dates = self.keys.dates.get(agent.slug) if self.keys and self.keys.dates else self.dates.get(agent.path)
        return entry_key(page_key, (dates.added.timestamp(), dates.updated.timestamp()) if dates else None)

    def render_one(self, agent: Agent) -> AgentEntries:
        """Render one agent's entries."""
        return AgentEntries(
            render_card(self.env, agent),
            publish.render_catalog_object(self.site, agent, self.dates.get(agent.path)),
            publish.render_llms_line(self.site, agent),
        )

    def render_again(self, agent: Agent, key: str) -> AgentEntries:
        """Render the entries of an agent whose stored ones went missing since `render`, and
        keep them among the changes."""
        entries = self.render_one(agent)
        if self.changes is not None:
            self.changes.rendered[agent.slug] = (key, entries)
        return entries


def entry_key(page_key: str, moments: tuple[float, float] | None) -> str:
    """Return the key of an agent's entries: its page's key and when its file was added and last
    changed (as timestamps)."""
    return f"{page_key} {moments[0]} {moments[1]}" if moments else f"{page_key} -"


def _place(entries: CatalogEntries, rendered: StoredEntries, slug: str, key: str, made: AgentEntries | None) -> None:
    """Put an agent's entries where the files will take them from: the store, when `made` is
    None (they are read back part by part), else this build's own, and its changes if keyed."""
    if made is None:
        entries.reused[slug] = key
        return
    entries.fresh[slug] = made
    if key:
        rendered[slug] = (key, made)


class CatalogEntries:
    """Every agent's entries as a build has them: those it rendered, and those it reuses, read
    from the store part by part when a file asks for them."""

    def __init__(self, renderer: EntryRenderer, catalog: Catalog) -> None:
        self.renderer = renderer
        self.catalog = catalog
        self.fresh: dict[str, AgentEntries] = {}
        self.reused: dict[str, str] = {}
        """The slugs of agents whose stored entries are reused, with their key."""

    def __getitem__(self, slug: str) -> AgentEntries:
        if slug in self.fresh:
            return self.fresh[slug]
        agent = next(agent for agent in self.catalog.agents if agent.slug == slug)
        parts = [self._pick(agent, part, next(self.renderer.store.entry_parts_in_order(part, [slug])))
                 for part in (CARD, CATALOG_OBJECT, LLMS_LINE)]
        return AgentEntries(*parts)

    def cards(self) -> dict[str, str]:
        """Return every agent's card, by slug."""
        return self._every(CARD)

    def llms_lines(self) -> dict[str, str]:
        """Return every agent's line in llms.txt, by slug."""
        return self._every(LLMS_LINE)

    def catalog_objects(self) -> Iterator[str]:
        """Yield every agent's object in catalog.json, in catalog order, reading the stored ones
        one after another."""
        agents = self.catalog.agents
        stored = self.renderer.store.entry_parts_in_order(CATALOG_OBJECT, [agent.slug for agent in agents])
        for agent, known in zip(agents, stored):
            yield self._pick(agent, CATALOG_OBJECT, known)

    def _every(self, part: int) -> dict[str, str]:
        stored = self.renderer.store.entry_parts(part) if self.reused else {}
        return {agent.slug: self._pick(agent, part, stored.get(agent.slug)) for agent in self.catalog.agents}

    def _pick(self, agent: Agent, part: int, known: tuple[str, str] | None) -> str:
        """Return one part of an agent's entries: as this build rendered it, as stored (`known`,
        with its key) when that is the key reused, or rendered again when the store lost it."""
        if agent.slug in self.fresh:
            return _part(self.fresh[agent.slug], part)
        if known is not None and known[0] == self.reused.get(agent.slug):
            return known[1]
        entries = self.fresh[agent.slug] = self.renderer.render_again(agent, self.reused.pop(agent.slug, ""))
        return _part(entries, part)
