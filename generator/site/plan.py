"""Plan the site before anything is rendered: every agent's slug, the catalog's order, each page's neighbours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generator.catalog.history import FileDates
from generator.catalog.interpret import read_category, read_name
from generator.catalog.load import RawAgent
from generator.catalog.marketplace import Plugin, plugin_folder_name
from generator.catalog.model import (
    PageLink,
    catalog_order,
    category_position,
    page_url,
    slugify,
)
from generator.catalog.names import visible_name
from generator.errors import Finding
from generator.site.relations import NO_RELATIONS, PageRelations


def assign_slugs(raw_agents: list[RawAgent], owners: Mapping[Path, str] | None = None) -> dict[Path, str]:
    """Give each file a slug from its name (or file stem); a repeat gets `-2`, `-3`…

    In a marketplace (`owners` names each file's plugin), a slug is `<plugin>/<name>`: two
    plugins may each hold an agent of one name.
    """
    # Worked out by position in `raw_agents`, each Path hashed once: hashing 20,000 Paths a dozen
    # times over was half of planning.
    owners = owners or {}
    paths = [raw.path for raw in raw_agents]
    bases = [_base_slug(raw) for raw in raw_agents]
    plugins = [owners.get(path) for path in paths] if owners else [None] * len(paths)
    # A file whose name is its slug as written keeps it over one whose name only turns into it
    # (`Code-Reviewer`, a zero-width space, fullwidth letters), and of two of one name, the one
    # whose file is named so (code-reviewer.md): a newcomer cannot take an address.
    taken: set[str] = set()
    slugs: dict[Path, str] = {}
    for index in sorted(range(len(raw_agents)), key=lambda index: _precedence(raw_agents[index], bases[index])):
        slugs[paths[index]] = unique_slug(_in_plugin(bases[index], plugins[index]), taken)
    return slugs


def address_precedence(raw: RawAgent) -> tuple[bool, bool, str]:
    """Order files by their claim to the address their name makes: the name as written, then
    the file's own name, then the path."""
    return _precedence(raw, _base_slug(raw))


def _precedence(raw: RawAgent, base: str) -> tuple[bool, bool, str]:
    return read_name(raw) != base, raw.path.stem != base, str(raw.rel_path)


def _base_slug(raw: RawAgent) -> str:
    return _clip_slug(slugify(read_name(raw))) or _clip_slug(slugify(raw.path.stem)) or "agent"


def _wanted_slug(raw: RawAgent, plugin: str | None) -> str:
    return _in_plugin(_base_slug(raw), plugin)


def _in_plugin(base: str, plugin: str | None) -> str:
    return base if plugin is None else f"{plugin_slug(plugin)}/{base}"


def slug_clashes(
    raw_agents: list[RawAgent], owners: Mapping[Path, Plugin] | None = None, slugs: Mapping[Path, str] | None = None,
) -> list[Finding]:
    """Say of each agent whose name makes an address another agent has that it gets another
    one, naming the other file; two files of one exact name are `duplicate-name`'s. `slugs` are
    the files' slugs (`plugin_slugs`), when already worked out."""
    plugins = {path: plugin.name for path, plugin in (owners or {}).items()}
    slugs = slugs if slugs is not None else assign_slugs(raw_agents, plugins)
    holders = {slugs[raw.path]: raw for raw in raw_agents}
    findings = []
    for raw in raw_agents:
        if slugs[raw.path] == _unnumbered(slugs[raw.path]):
            continue  # kept the address its name makes
        wanted = _wanted_slug(raw, plugins.get(raw.path))
        holder = holders.get(wanted)
        if slugs[raw.path] == wanted or holder is None or read_name(holder) == read_name(raw):
            continue
        given, taken = (page_url(slug).removesuffix("index.html") for slug in (slugs[raw.path], wanted))
        findings.append(Finding(raw.path, raw.front_matter.key_lines.get("name", 1), "warning",
                                f"name '{read_name(raw)}' makes the address {taken}, which {holder.rel_path} "
                                f"(name '{read_name(holder)}') has, so this agent's page is {given}: give it a "
                                "name of its own", "slug-clash"))
    return sorted(findings, key=lambda finding: finding.path_text)


def _unnumbered(slug: str) -> str:
    """Return a slug without the `-2`, `-3`… that `unique_slug` may have added."""
    base, dash, number = slug.rpartition("-")
    return base if dash and number.isdigit() and number != "1" else slug


def unique_slug(base: str, taken: set[str]) -> str:
    """Return `base`, or `base-2`, `base-3`… when it is taken, and take it."""
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    taken.add(slug)
    return slug


def name_slug(name: str) -> str:
    """Return a name made into a slug, clipped to the length a folder's name may have ("" for none)."""
    return _clip_slug(slugify(name))


def plugin_slug(name: str) -> str:
    """Return the folder a plugin's pages live in (see `marketplace.plugin_folder_name`)."""
    return plugin_folder_name(name)


MAX_SLUG_LENGTH = 80
"""Slugs name folders; file systems refuse names past 255 bytes."""


def _clip_slug(slug: str) -> str:
    return slug[:MAX_SLUG_LENGTH].rstrip("-")


def plugin_slugs(raw_agents: list[RawAgent], owners: Mapping[Path, Plugin] | None = None) -> dict[Path, str]:
    """Give each file its slug (see `assign_slugs`), `owners` being each file's plugin in a marketplace."""
    return assign_slugs(raw_agents, {path: plugin.name for path, plugin in (owners or {}).items()})


def plan_pages(
    raw_agents: list[RawAgent], owners: Mapping[Path, Plugin] | None = None, category_order: Sequence[str] = (),
    dates: Mapping[Path, FileDates] | None = None, slugs: Mapping[Path, str] | None = None,
) -> tuple[list[PagePlan], dict[PurePosixPath, str]]:
    """Put the agents in catalog order and give each its slug and neighbours, before any rendering;
    `owners` is each file's plugin, in a marketplace; `category_order` the config's `categories`;
    `dates` when each file was added and last changed (each page shows the day of the latter);
    `slugs` each file's slug (`plugin_slugs`), when already worked out.

    Returns the plans and every file's slug by its path below the agents folder.
    """
    # Worked out by position in `raw_agents`, each Path hashed once (see `assign_slugs`).
    owners = owners or {}
    slugs = slugs if slugs is not None else plugin_slugs(raw_agents, owners)
    paths = [raw.path for raw in raw_agents]
    plugins = [owners.get(path) for path in paths] if owners else [None] * len(paths)
    plugin_names = [plugin.name if plugin else "" for plugin in plugins]
    plugin_categories = [plugin.category if plugin else "" for plugin in plugins]
    file_slugs = [slugs[path] for path in paths]
    shown_categories = [read_category(raw, category) for raw, category in zip(raw_agents, plugin_categories)]
    positions = [category_position(category, category_order) for category in shown_categories]
    shown_names = [read_name(raw) for raw in raw_agents]
    ordered = sorted(range(len(raw_agents)), key=lambda i: catalog_order(
        shown_categories[i], shown_names[i], file_slugs[i], raw_agents[i].outline.weight, positions[i]))
    links = [PageLink(visible_name(shown_names[i]), page_url(file_slugs[i])) for i in ordered]
    days = _days(dates or {})
    updated = [days.get(path, "") for path in paths] if days else [""] * len(paths)
    plans = [
        PagePlan(raw_agents[i], file_slugs[i], links[place - 1] if place > 0 else None,
                 links[place + 1] if place + 1 < len(links) else None, plugin_names[i], plugin_categories[i],
                 updated=updated[i], category_position=positions[i])
        for place, i in enumerate(ordered)
    ]
    return plans, {raw.rel_path: slug for raw, slug in zip(raw_agents, file_slugs)}


def _days(dates: Mapping[Path, FileDates]) -> dict[Path, str]:
    """Return the day each file last changed, as `YYYY-MM-DD`."""
    return {path: known.updated.strftime("%Y-%m-%d") for path, known in dates.items()}


@dataclass(frozen=True)
class PagePlan:
    """One agent page to render: its file, its slug and the pages before and after it."""

    raw: RawAgent
    slug: str
    previous: PageLink | None
    next: PageLink | None
    plugin: str = ""
    """The name of the agent's plugin, in a marketplace."""
    plugin_category: str = ""
    """The category of the agent's plugin, in a marketplace."""
    relations: PageRelations = NO_RELATIONS
    """The components the agent names, and those that name it."""
    updated: str = ""
    """When the agent's file last changed, as `YYYY-MM-DD` (from git, else the file's time)."""
    category_position: int = 0
    """Where the agent's category stands in the config's `categories`."""


@dataclass(frozen=True)
class SitePlan:
    """What a site is made of, settled before anything is rendered."""

    pages: list[PagePlan]
    """Each agent page, in catalog order."""
    slugs: dict[PurePosixPath, str]
    """Every agent file's slug, by its path below the agents folder, and the page of every other
    file a link may lead to (see `generator.addresses.target_url`)."""
    dates: dict[Path, FileDates]
    """When each agent file was added and last changed."""
    relations: dict[str, PageRelations] = field(default_factory=dict)
    """What each page that has any lists as the components it names and those naming it, by page."""
