"""Which components name which: each page's "Uses" and "Used by" lists, from the names each file
mentions (`generator.catalog.mentions`) matched against the catalog's agents, commands and skills.

A bare name means the component of that name in the mentioning file's own plugin, else the one
component of that name in the catalog; a name two plugins share, mentioned from a third, is left
unlinked rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

KIND_ORDER = ("agent", "command", "skill")


@dataclass(frozen=True, order=True)
class Related:
    """A link to another component's page, as a "Uses" or "Used by" list shows it."""

    kind: str
    title: str
    url: str
    """Its page's path below the site root."""


@dataclass(frozen=True)
class Mentioner:
    """A component that may name others and be named: what it is called and what its text names."""

    kind: str
    names: tuple[str, ...]
    """What text calls it, in lower case: an agent's name and file stem, a command's name, a skill's
    name and folder."""
    plugin: str
    page: Related
    mentions: tuple[str, ...]
    """`<kind> <name>` for each component its text names (see `find_mentions`)."""


@dataclass(frozen=True)
class PageRelations:
    """What one page lists: the components it names, and those that name it."""

    uses: tuple[Related, ...] = ()
    used_by: tuple[Related, ...] = ()


NO_RELATIONS = PageRelations()


def relate(components: list[Mentioner]) -> dict[str, PageRelations]:
    """Return the relations of every page that has any, by its page's path below the site root."""
    index: dict[tuple[str, str], list[Mentioner]] = defaultdict(list)
    for component in components:
        for name in component.names:
            index[(component.kind, name)].append(component)
    uses: dict[str, set[Related]] = defaultdict(set)
    used_by: dict[str, set[Related]] = defaultdict(set)
    for component in components:
        for mention in component.mentions:
            target = _resolve(mention, component, index)
            if target is not None and target.page.url != component.page.url:
                uses[component.page.url].add(target.page)
                used_by[target.page.url].add(component.page)
    return {url: PageRelations(_ordered(uses.get(url, set())), _ordered(used_by.get(url, set())))
            for url in uses.keys() | used_by.keys()}


def mentioned_name(mention: str) -> str:
    """Return the name a mention gives, without its kind and plugin, as `Mentioner.names` holds it."""
    return mention.partition(" ")[2].rpartition(":")[2]


def _resolve(mention: str, source: Mentioner, index: dict[tuple[str, str], list[Mentioner]]) -> Mentioner | None:
    kind, _, name = mention.partition(" ")
    plugin, _, short = name.rpartition(":")
    # Beyond the mentioning file's own plugin, only a name the runtime resolves reaches:
    # `plugin:name`, or a `subagent_type`; "the reviewer agent" in prose may mean anything there.
    reaches_out = bool(plugin) or kind == "subagent"
    kinds = ("command", "skill") if kind == "command" else ("agent",) if kind == "subagent" else (kind,)
    for candidate_kind in kinds:  # `/name` runs a command, or else a skill
        candidates = _distinct(index.get((candidate_kind, short), []))
        if plugin:
            candidates = [candidate for candidate in candidates if candidate.plugin.lower() == plugin]
        own = [candidate for candidate in candidates if candidate.plugin == source.plugin]
        chosen = own if own or not reaches_out else candidates
        if chosen:
            return chosen[0] if len(chosen) == 1 else None  # two of one name: not guessed
    return None


def _distinct(candidates: list[Mentioner]) -> list[Mentioner]:
    """Each component once (one is listed under each of its names)."""
    return list({candidate.page.url: candidate for candidate in candidates}.values())


def _ordered(pages: set[Related]) -> tuple[Related, ...]:
    return tuple(sorted(pages, key=lambda page: (KIND_ORDER.index(page.kind), page.title.lower(), page.url)))
