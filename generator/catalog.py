"""Interpret raw agent files into Agents and gather them into a Catalog."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from generator.errors import Report
from generator.examples import parse_description
from generator.load import RawAgent
from generator.markup import MarkdownRenderer
from generator.model import NEUTRAL, Agent, Catalog, Color, read_color, read_tools, category_from_path, slugify

# Keys the agent runtime defines; every other key is kept and shown as metadata.
RUNTIME_KEYS = frozenset({"name", "description", "model", "color", "tools", "category"})
_TAG = re.compile(r"<[^>]+>")


def make_catalog(raw_agents: list[RawAgent], renderer: MarkdownRenderer, report: Report) -> Catalog:
    """Turn every raw agent into an Agent with a slug unique across the catalog."""
    slugs = assign_slugs(raw_agents, report)
    agents = [make_agent(raw, slugs[raw.path], renderer, report) for raw in raw_agents]
    return Catalog.from_agents(agents)


def assign_slugs(raw_agents: list[RawAgent], report: Report) -> dict[Path, str]:
    """Give each file a slug from its name (or file stem); a clash is a warning and a suffix."""
    taken: set[str] = set()
    slugs: dict[Path, str] = {}
    for raw in sorted(raw_agents, key=lambda r: str(r.rel_path)):
        base = slugify(_name_of(raw)) or slugify(raw.path.stem) or "agent"
        slug, number = base, 1
        while slug in taken:
            number += 1
            slug = f"{base}-{number}"
        if slug != base:
            line = raw.front_matter.key_lines.get("name", 1)
            report.warn(raw.path, line, f"another agent already has the slug '{base}'; this page is '{slug}'")
        taken.add(slug)
        slugs[raw.path] = slug
    return slugs


def _name_of(raw: RawAgent) -> str:
    name = raw.front_matter.data.get("name")
    return name.strip() if isinstance(name, str) else ""


def make_agent(raw: RawAgent, slug: str, renderer: MarkdownRenderer, report: Report) -> Agent:
    """Read the fields of one raw agent, warning about each that is missing or wrong."""
    data = raw.front_matter.data
    description = parse_description(_read_description(raw, report))
    summary_html = renderer.render_fragment(description.summary)
    body = renderer.render(raw.body)
    return Agent(
        path=raw.path,
        rel_path=raw.rel_path,
        slug=slug,
        name=_read_name(raw, report),
        summary_html=summary_html,
        summary_text=_text_of(summary_html),
        examples=description.examples,
        model=_read_model(raw, report),
        color=_read_color(raw, report),
        tools=_read_tools(raw, report),
        category=_read_category(raw),
        body_html=body.html,
        sections=body.sections,
        metadata=tuple((key, _show_value(value)) for key, value in data.items() if key not in RUNTIME_KEYS),
    )


def _line_of(raw: RawAgent, key: str) -> int:
    return raw.front_matter.key_lines.get(key, 1)


def _read_name(raw: RawAgent, report: Report) -> str:
    name = _name_of(raw)
    if not name:
        report.warn(raw.path, _line_of(raw, "name"), f"missing 'name': add 'name: {slugify(raw.path.stem)}'")
        return raw.path.stem
    return name


def _read_description(raw: RawAgent, report: Report) -> str:
    value = raw.front_matter.data.get("description")
    if isinstance(value, str) and value.strip():
        return value
    if value is None or value == "":
        report.warn(raw.path, _line_of(raw, "description"), "missing 'description': say when to use this agent")
    else:
        kind = type(value).__name__
        report.warn(raw.path, _line_of(raw, "description"), f"'description' must be text, not a {kind}")
    return ""


def _read_model(raw: RawAgent, report: Report) -> str | None:
    value = raw.front_matter.data.get("model")
    if value is None or isinstance(value, str):
        return value.strip() if isinstance(value, str) and value.strip() else None
    report.warn(raw.path, _line_of(raw, "model"), f"'model' must be text, not a {type(value).__name__}")
    return str(value)


def _read_color(raw: RawAgent, report: Report) -> Color:
    value = raw.front_matter.data.get("color")
    if value is None:
        return NEUTRAL
    color = read_color(value)
    if color is None:
        report.warn(
            raw.path,
            _line_of(raw, "color"),
            f"unknown color {str(value)[:40]!r}: use red, orange, yellow, green, cyan, blue, "
            "purple, pink, magenta, gray or a #rrggbb hex",
        )
        return NEUTRAL
    return color


def _read_tools(raw: RawAgent, report: Report) -> tuple[str, ...] | None:
    try:
        return read_tools(raw.front_matter.data.get("tools"))
    except TypeError as exc:
        report.warn(
            raw.path,
            _line_of(raw, "tools"),
            f"'tools' must be a comma-separated string or a list of names, not a {exc}",
        )
        return None


def _read_category(raw: RawAgent) -> str:
    value = raw.front_matter.data.get("category")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return category_from_path(raw.rel_path)


def _show_value(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        return ", ".join(str(item) for item in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _text_of(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())
