"""Interpret raw agent files into Agents and gather them into a Catalog.

Interpreting never fails and never reports: a field of the wrong type falls back to a
sensible default, and lint.py says what was wrong.
"""

from __future__ import annotations

import datetime
import html
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from generator.examples import parse_description
from generator.frontmatter import raw_value
from generator.history import FileDates
from generator.links import LinkContext
from generator.load import RawAgent
from generator.sanitize import remove_control_characters
from generator.markup import MarkdownRenderer
from generator.model import (
    NEUTRAL,
    Agent,
    PageLink,
    Section,
    catalog_order,
    category_from_path,
    page_url,
    read_color,
    read_tools,
    slugify,
)

log = logging.getLogger(__name__)

# Keys the agent runtime defines; every other key is kept and shown as metadata.
RUNTIME_KEYS = frozenset({"name", "description", "model", "color", "tools", "category"})
_TAG = re.compile(r"<[^>]+>")


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


def read_name(raw: RawAgent) -> str:
    """Return the agent's name, or its file name without `.md` when it has none."""
    name = raw.front_matter.data.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else raw.path.stem


def make_agent(raw: RawAgent, slugs: Mapping[PurePosixPath, str], renderer: MarkdownRenderer) -> Agent:
    """Interpret one raw agent's fields and render its description and body.

    `slugs` holds every agent file's slug by its path below the agents folder, this one's
    included: links to other agent files lead to their pages.
    """
    data = raw.front_matter.data
    description = parse_description(_text_field(data, "description"))
    links = LinkContext(raw.rel_path, slugs)
    summary_html = renderer.render_fragment(description.summary, links)
    assert raw.body is not None, "a page is rendered from a reading with its body (load.read_again)"
    body = renderer.render_page_body(raw.body, links)
    return Agent(
        path=raw.path,
        rel_path=raw.rel_path,
        slug=slugs[raw.rel_path],
        name=read_name(raw),
        summary_html=summary_html,
        summary_text=_text_of(summary_html),
        examples=description.examples,
        model=_read_model(raw),
        color=read_color(data.get("color")) or NEUTRAL,
        tools=_read_tools(data.get("tools")),
        category=read_category(raw),
        body_html=body.html,
        sections=_clean_sections(body.sections),
        metadata=tuple((key, _show_value(value)) for key, value in data.items() if key not in RUNTIME_KEYS),
        linked_files=frozenset(links.linked_files),
    )


def _clean_sections(sections: tuple[Section, ...]) -> tuple[Section, ...]:
    """Drop control characters that entities in headings spell (`## a&#x1b;b`)."""
    return tuple(
        Section(section.id, remove_control_characters(section.title), section.level, _clean_sections(section.children))
        for section in sections
    )


def read_category(raw: RawAgent) -> str:
    """Return the agent's `category`, or the name of the folder it is in."""
    return _text_field(raw.front_matter.data, "category") or category_from_path(raw.rel_path)


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


def _read_model(raw: RawAgent) -> str | None:
    """Return `model` as written: `1.10` stays `1.10`, not the number YAML makes of it."""
    value = raw.front_matter.data.get("model")
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return raw_value(raw.front_matter, "model") or str(value)


def _text_field(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return value.strip()
    return "" if value is None or isinstance(value, (list, dict)) else str(value)


def _read_tools(value: Any) -> tuple[str, ...] | None:
    try:
        return read_tools(value)
    except TypeError:
        return None


def _show_value(value: Any) -> str:
    """Show a frontmatter value as YAML wrote it: `true`, not Python's `True`."""
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in value):
        return ", ".join(str(item) for item in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_show_value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _text_of(fragment: str) -> str:
    # Unescaping can spell control characters (`&#x1b;`); they are not text.
    return " ".join(remove_control_characters(html.unescape(_TAG.sub(" ", fragment))).split())
