"""Plan the site before anything is rendered: every agent's slug, the catalog's order, each page's neighbours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.catalog.history import FileDates
from generator.catalog.interpret import read_category, read_name
from generator.catalog.load import RawAgent
from generator.catalog.model import PageLink, catalog_order, page_url, slugify


def slugs_by_file(raw_agents: list[RawAgent], slugs: dict[Path, str]) -> dict[PurePosixPath, str]:
    """Key each agent's slug by its file's path below the agents folder, as links name files."""
    return {raw.rel_path: slugs[raw.path] for raw in raw_agents}


def assign_slugs(raw_agents: list[RawAgent]) -> dict[Path, str]:
    """Give each file a slug from its name (or file stem); a repeat gets `-2`, `-3`…"""
    taken: set[str] = set()
    slugs: dict[Path, str] = {}
    for raw in sorted(raw_agents, key=lambda r: str(r.rel_path)):
        base = _clip_slug(slugify(read_name(raw))) or _clip_slug(slugify(raw.path.stem)) or "agent"
        slug, number = base, 1
        while slug in taken:
            number += 1
            slug = f"{base}-{number}"
        taken.add(slug)
        slugs[raw.path] = slug
    return slugs


MAX_SLUG_LENGTH = 80
"""Slugs name folders; file systems refuse names past 255 bytes."""


def _clip_slug(slug: str) -> str:
    return slug[:MAX_SLUG_LENGTH].rstrip("-")


def plan_pages(raw_agents: list[RawAgent]) -> tuple[list[PagePlan], dict[PurePosixPath, str]]:
    """Put the agents in catalog order and give each its slug and neighbours, before any rendering.

    Returns the plans and every file's slug by its path below the agents folder.
    """
    slugs = assign_slugs(raw_agents)
    ordered = sorted(raw_agents, key=lambda r: catalog_order(read_category(r), read_name(r), slugs[r.path]))
    links = [PageLink(read_name(raw), page_url(slugs[raw.path])) for raw in ordered]
    plans = [
        PagePlan(raw, slugs[raw.path], links[index - 1] if index > 0 else None,
                 links[index + 1] if index + 1 < len(links) else None)
        for index, raw in enumerate(ordered)
    ]
    return plans, slugs_by_file(raw_agents, slugs)


@dataclass(frozen=True)
class PagePlan:
    """One agent page to render: its file, its slug and the pages before and after it."""

    raw: RawAgent
    slug: str
    previous: PageLink | None
    next: PageLink | None


@dataclass(frozen=True)
class SitePlan:
    """What a site is made of, settled before anything is rendered."""

    pages: list[PagePlan]
    """Each agent page, in catalog order."""
    slugs: dict[PurePosixPath, str]
    """Every agent file's slug, by its path below the agents folder."""
    dates: dict[Path, FileDates]
    """When each agent file was added and last changed."""
