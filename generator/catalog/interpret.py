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
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.catalog.examples import parse_description, take_body_examples
from generator.catalog.frontmatter import raw_value
from generator.catalog.load import RawAgent, text_field
from generator.catalog.model import (
    Agent,
    category_from_path,
    humanize,
    read_tools,
    shown_color,
)
from generator.catalog.names import visible_name
from generator.markdown.headings import Section
from generator.markdown.links import LinkContext
from generator.markdown.sanitize import remove_control_characters

if TYPE_CHECKING:  # Markdown itself is imported by those who render, not by those who only read
    from generator.markdown.markup import MarkdownRenderer

log = logging.getLogger(__name__)

# Keys the agent runtime defines; every other key is kept and shown as metadata.
RUNTIME_KEYS = frozenset({"name", "description", "model", "color", "tools", "category", "order", "weight"})
"""The keys a page shows in their own places (and agentpages' own `order`/`weight`), not as metadata."""
_TAG = re.compile(r"<[^>]+>")


def read_name(raw: RawAgent) -> str:
    """Return the agent's name, or its file name without `.md` when it has none."""
    return raw.outline.name.strip() or raw.path.stem


def make_agent(
    raw: RawAgent, slugs: Mapping[PurePosixPath, str], renderer: MarkdownRenderer, plugin: str = "",
    plugin_category: str = "", category_position: int = 0,
) -> Agent:
    """Interpret one raw agent's fields and render its description and body.

    `slugs` holds every agent file's slug by its path below the agents folder, this one's
    included: links to other agent files lead to their pages. `plugin` names the plugin that
    holds the agent, in a marketplace, and `plugin_category` its category.
    """
    data = raw.front_matter.data
    description = parse_description(text_field(data, "description"))
    links = LinkContext(raw.rel_path, slugs)
    summary_html = renderer.render_fragment(description.summary, links)
    assert raw.body is not None, "a page is rendered from a reading with its body (load.read_again)"
    body_text, body_examples = take_body_examples(raw.body)
    body = renderer.render_page_body(body_text, links)
    return Agent(
        path=raw.path,
        rel_path=raw.rel_path,
        slug=slugs[raw.rel_path],
        name=visible_name(read_name(raw)),
        summary_html=summary_html,
        summary_text=_text_of(summary_html),
        examples=(*description.examples, *body_examples),
        model=_read_model(raw),
        color=shown_color(data.get("color")),
        tools=_read_tools(data.get("tools")),
        category=read_category(raw, plugin_category),
        body_html=body.html,
        sections=_clean_sections(body.sections),
        metadata=tuple((key, _show_value(value)) for key, value in data.items() if key not in RUNTIME_KEYS),
        linked_files=frozenset(links.linked_files),
        plugin=plugin,
        weight=raw.outline.weight,
        category_position=category_position,
    )


def _clean_sections(sections: tuple[Section, ...]) -> tuple[Section, ...]:
    """Drop control characters that entities in headings spell (`## a&#x1b;b`)."""
    return tuple(
        Section(section.id, remove_control_characters(section.title), section.level, _clean_sections(section.children))
        for section in sections
    )


def read_category(raw: RawAgent, plugin_category: str = "") -> str:
    """Return the agent's `category`, else its plugin's (in a marketplace), else the name of the
    folder it is in."""
    return raw.outline.category or humanize(plugin_category) or category_from_path(raw.rel_path)


def _read_model(raw: RawAgent) -> str | None:
    """Return `model` as written: `1.10` stays `1.10`, not the number YAML makes of it."""
    value = raw.front_matter.data.get("model")
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return raw_value(raw.front_matter, "model") or str(value)


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
