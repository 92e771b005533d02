"""What the site-wide files say of each agent: its card on the index, its object in
catalog.json and its line in llms.txt.

Rendering them for every agent is most of what an edit costs in a large catalog (about
100 ms at 1,000 agents), though one agent changed. So a build keeps each agent's entries
with the key they were made under, and the next build renders only the entries of agents
whose key changed; the files are then joined from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

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


StoredEntries = dict[str, tuple[str, AgentEntries]]
"""Each agent's entries by its slug, with the key they were rendered under."""


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
    """The entries this build rendered, with their keys."""
    slugs: frozenset[str]
    """Every agent's slug: stored entries of other slugs are dropped."""


class EntryRenderer:
    """Renders every agent's entries, reusing those stored by the last build under the same key."""

    def __init__(
        self, env: jinja2.Environment, site: SiteContext, dates: Mapping[Path, FileDates],
        keys: EntryKeys | None = None, stored: StoredEntries | None = None,
    ) -> None:
        self.env = env
        self.site = site
        self.dates = dates
        self.keys = keys
        self.last = stored or {}
        self.changes: EntryChanges | None = None
        """What `render` changed, for the cache to keep; None without keys."""

    def render(self, catalog: Catalog) -> dict[str, AgentEntries]:
        """Return every agent's entries by slug."""
        entries: dict[str, AgentEntries] = {}
        rendered: StoredEntries = {}
        fresh = self.keys.fresh if self.keys else frozenset()
        for agent in catalog.agents:
            key = self._key(agent)
            known = self.last.get(agent.slug)
            if known is not None and key and known[0] == key and agent.slug not in fresh:
                entries[agent.slug] = known[1]
                continue
            entries[agent.slug] = self.render_one(agent)
            if key:
                rendered[agent.slug] = (key, entries[agent.slug])
        self.changes = EntryChanges(rendered, frozenset(entries)) if self.keys else None
        return entries

    def _key(self, agent: Agent) -> str:
        page_key = self.keys.pages.get(agent.slug, "") if self.keys else ""
        if not page_key:
            return ""
        dates = self.keys.dates.get(agent.slug) if self.keys and self.keys.dates else self.dates.get(agent.path)
        return f"{page_key} {dates.added.timestamp()} {dates.updated.timestamp()}" if dates else f"{page_key} -"

    def render_one(self, agent: Agent) -> AgentEntries:
        """Render one agent's entries."""
        return AgentEntries(
            render_card(self.env, agent),
            publish.render_catalog_object(self.site, agent, self.dates.get(agent.path)),
            publish.render_llms_line(self.site, agent),
        )
