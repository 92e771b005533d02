"""The files a published site carries for machines: catalog.json, llms.txt, feed.xml, sitemap.xml, robots.txt.

Addresses in them are absolute when `site_url` is set; without it they are relative to the
site's root, where every one of these files sits.
"""

from __future__ import annotations

import heapq
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from generator import __version__
from generator.addresses import (
    component_url,
    plugin_url,
    raw_component_url,
    skill_archive_url,
)
from generator.catalog.components import usage_name
from generator.catalog.history import FileDates
from generator.markdown.sanitize import remove_control_characters
from generator.site.plan import plugin_slug

if TYPE_CHECKING:
    from generator.catalog.components import Command, Skill
    from generator.catalog.marketplace import Marketplace, Person, Plugin
    from generator.catalog.model import Agent, Catalog, Example
    from generator.markdown.headings import Section
    from generator.site.components import Components
    from generator.site.render import SiteContext

CATALOG_FORMAT_VERSION = 2
"""Raised when a field of catalog.json changes meaning or disappears; new fields keep it. Format 2:
a slug may hold its plugin (`<plugin>/<name>`), and the file lists plugins, commands and skills."""
CATALOG_NAME = "catalog.json"
SCHEMA_NAME = "catalog.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parent / SCHEMA_NAME
FEED_NAME = "feed.xml"
FEED_LIMIT = 50
"""The feed lists this many of the most recently changed agents, as Hugo's and Jekyll's do."""
LLMS_SUMMARY_LENGTH = 200
_ATOM = "http://www.w3.org/2005/Atom"
_SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


LLMS_NAME = "llms.txt"
SITEMAP_NAME = "sitemap.xml"


def render_machine_files(
    site: SiteContext, catalog: Catalog, dates: dict[Any, FileDates], catalog_objects: Iterable[str],
    llms_lines: Callable[[], Mapping[str, str]] | None, components: Components | None = None,
) -> dict[str, str | Iterator[str]]:
    """Return every machine-readable file by its path below the site root (the schema is copied as is).

    `catalog_objects` are the agents' objects in catalog.json in catalog order, and `llms_lines`
    gives their lines in llms.txt by slug (see entries.py); without it, llms.txt is left out (the
    output folder holds it as it would be). `components` are the plugins, commands and skills.
    catalog.json comes in parts, as it is made.
    """
    listed = component_data(site, catalog, components)
    files: dict[str, str | Iterator[str]] = {CATALOG_NAME: catalog_json_parts(site, catalog_objects, listed)}
    if llms_lines is not None:
        files[LLMS_NAME] = render_llms_txt(site, catalog, llms_lines(), listed)
    files[FEED_NAME] = render_feed(site, catalog, dates, components)
    if site["site_url"]:
        files[SITEMAP_NAME] = render_sitemap(site, feed_items(site, catalog.agents, dates, components), listed)
    if has_robots_txt(site):
        files["robots.txt"] = render_robots_txt(site)
    return files


def site_address(site: SiteContext, path: str) -> str:
    """Return `path` (below the site root) as the address machines should use."""
    return site["site_url"] + path


def page_address(site: SiteContext, agent: Agent) -> str:
    """Return an agent page's address: its folder below `site_url`, or its file relative to the root.

    The file form also works opened from disk, where a folder does not lead to its index.html.
    """
    return _address(site, agent.url)


# -- catalog.json -------------------------------------------------------------------------


def catalog_json_parts(site: SiteContext, objects: Iterable[str], components: dict[str, Any] | None = None) -> Iterator[str]:
    """Yield catalog.json in parts: the site's fields, each agent's object from `objects`, then the
    marketplace, its plugins, commands and skills (`components`, see `component_data`)."""
    data = {
        "$schema": site_address(site, SCHEMA_NAME),
        "version": CATALOG_FORMAT_VERSION,
        "generator": f"agentpages {__version__}",
        "title": site["title"],
        "description": site["description"],
        "site_url": site["site_url"] or None,
    }
    yield _compact_json(data).removesuffix("}") + ',"agents":['
    separator = ""
    for text in objects:
        yield separator + text
        separator = ","
    rest = components or {"marketplace": None, "plugins": [], "commands": [], "skills": []}
    yield "]," + _compact_json(rest)[1:] + "\n"


def render_catalog_object(site: SiteContext, agent: Agent, dates: FileDates | None) -> str:
    """Return one agent's object in catalog.json: its fields, examples, sections and addresses."""
    return _compact_json(_agent_data(site, agent, dates))


def _compact_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _agent_data(site: SiteContext, agent: Agent, dates: FileDates | None) -> dict[str, Any]:
    return {
        "name": agent.name,
        "slug": agent.slug,
        "kind": "agent",
        "plugin": agent.plugin or None,
        "summary": agent.summary_text,
        "category": agent.category,
        "color": {"tone": agent.color.tone, "label": agent.color.label, "hex": agent.color.hex or None},
        "model": agent.model,
        "tools": list(agent.tools) if agent.tools is not None else None,
        "examples": [_example_data(example) for example in agent.examples],
        "sections": [_section_data(section) for section in agent.sections],
        "metadata": dict(agent.metadata),
        "source_path": str(agent.rel_path),
        "url": page_address(site, agent),
        "raw_url": site_address(site, agent.raw_url),
        "added": _iso(dates.added) if dates else None,
        "updated": _iso(dates.updated) if dates else None,
    }


def component_data(site: SiteContext, catalog: Catalog, components: Components | None) -> dict[str, Any]:
    """Return the marketplace, its plugins, commands and skills as catalog.json lists them."""
    if components is None:
        return {"marketplace": None, "plugins": [], "commands": [], "skills": []}
    marketplace = components.marketplace
    agents_by_plugin: dict[str, list[str]] = {}
    for agent in catalog.agents:
        agents_by_plugin.setdefault(agent.plugin, []).append(agent.slug)
    return {
        "marketplace": _marketplace_data(site, marketplace) if marketplace else None,
        "plugins": [_plugin_data(site, agents_by_plugin.get(plugin.name, []), components, plugin)
                    for plugin in marketplace.plugins] if marketplace else [],
        "commands": [_command_data(site, command, slug, plugin) for command, slug, plugin in components.commands],
        "skills": [_skill_data(site, skill, slug, plugin) for skill, slug, plugin in components.skills],
    }


def _marketplace_data(site: SiteContext, marketplace: Marketplace) -> dict[str, Any]:
    return {"name": marketplace.name, "owner": _person_data(marketplace.owner), "description": marketplace.description,
            "version": marketplace.version or None,
            "add_command": f"/plugin marketplace add {site['install_source']}" if site["install_source"] else None}


def _person_data(person: Person) -> dict[str, Any]:
    return {"name": person.name, "email": person.email or None, "url": person.url or None}


def _plugin_data(site: SiteContext, agents: list[str], components: Components, plugin: Plugin) -> dict[str, Any]:
    parts = components.parts.get(plugin.name)
    slug = plugin_slug(plugin.name)
    return {
        "name": plugin.name, "slug": slug, "kind": "plugin", "description": plugin.description,
        "version": plugin.version or None, "author": _person_data(plugin.author), "homepage": plugin.homepage or None,
        "repository": plugin.repository or None, "license": plugin.license or None, "keywords": list(plugin.keywords),
        "category": plugin.category, "source": plugin.source, "source_url": plugin.source_url or None,
        "url": _address(site, plugin_url(slug)),
        "install_command": f"/plugin install {plugin.name}@{site['marketplace']}",
        "agents": agents,
        "commands": [slug for _, slug in components.commands_by_plugin.get(plugin.name, [])],
        "skills": [slug for _, slug in components.skills_by_plugin.get(plugin.name, [])],
        "hooks": [{"event": hook.event, "matcher": hook.matcher, "type": hook.type, "action": hook.action,
                   "timeout": hook.timeout or None} for hook in (parts.hooks if parts else [])],
        "mcp_servers": [{"name": server.name, "transport": server.transport, "command": server.command,
                         "env": list(server.env_names), "headers": list(server.header_names)}
                        for server in (parts.servers if parts else [])],
    }


def _command_data(site: SiteContext, command: Command, slug: str, plugin: str) -> dict[str, Any]:
    return {
        "name": command.name, "slug": slug, "kind": "command", "plugin": plugin or None,
        "usage": f"/{usage_name(command.name, plugin)}", "description": command.description,
        "argument_hint": command.argument_hint, "allowed_tools": list(command.allowed_tools),
        "model": command.model or None, "shell_lines": list(command.shell_lines),
        "source_path": str(command.rel_path), "url": _address(site, component_url("command", slug)),
        "raw_url": site_address(site, raw_component_url("command", slug)),
    }


def _skill_data(site: SiteContext, skill: Skill, slug: str, plugin: str) -> dict[str, Any]:
    return {
        "name": skill.name, "slug": slug, "kind": "skill", "plugin": plugin or None,
        "description": skill.description, "allowed_tools": list(skill.allowed_tools),
        "license": skill.license or None, "version": skill.version or None,
        "files": [str(file.rel_path) for file in skill.files], "source_path": str(skill.rel_path),
        "url": _address(site, component_url("skill", slug)),
        "archive_url": site_address(site, skill_archive_url(slug)),
    }


def _address(site: SiteContext, url: str) -> str:
    """Return a page's address: its folder below `site_url`, or its file relative to the root."""
    return site["site_url"] + url.removesuffix("index.html") if site["site_url"] else url


def _example_data(example: Example) -> dict[str, Any]:
    return {
        "title": example.title,
        "context": example.context,
        "turns": [{"role": turn.role, "text": turn.text, "direction": turn.direction} for turn in example.turns],
        "commentary": example.commentary,
    }


def _section_data(section: Section) -> dict[str, Any]:
    return {
        "id": section.id,
        "title": section.title,
        "level": section.level,
        "children": [_section_data(child) for child in section.children],
    }


# -- llms.txt -----------------------------------------------------------------------------


def render_llms_txt(
    site: SiteContext, catalog: Catalog, lines_by_slug: Mapping[str, str], components: dict[str, Any] | None = None,
) -> str:
    """Return llms.txt (llmstxt.org): the agents by category, each line (from `lines_by_slug`)
    linking an agent's raw file; then the plugins, commands and skills (`components`, see
    `component_data`), each kind under its heading."""
    count = len(catalog.agents)
    about = site["description"] or f"A catalog of {count} AI agent definition{'s' if count != 1 else ''}."
    lines = [f"# {_markdown_text(site['title'])}", "", f"> {_markdown_text(about)}", ""]
    lines.append(
        "Each link leads to the agent's file as written: Markdown with YAML frontmatter. "
        f"[catalog.json]({site_address(site, 'catalog.json')}) holds the same agents as structured data."
    )
    for category in catalog.categories:
        lines += ["", f"## {_category_heading(category.name)}", ""]
        lines += [lines_by_slug[agent.slug] for agent in category.agents]
    for key, heading, link in (("plugins", "Plugins", "url"), ("commands", "Commands", "raw_url"),
                               ("skills", "Skills", "archive_url")):
        listed = (components or {}).get(key) or []
        if listed:
            lines += ["", f"## {heading}", ""]
            lines += [_llms_item(item.get("usage") or item["name"], item[link], item["description"]) for item in listed]
    return "\n".join(lines) + "\n"


def _llms_item(name: str, address: str, description: str) -> str:
    summary = _markdown_text(_clip(_one_line(description), LLMS_SUMMARY_LENGTH))
    link = f"- [{_markdown_text(name)}]({address})"
    return f"{link}: {summary}" if summary else link


def render_llms_line(site: SiteContext, agent: Agent) -> str:
    """Return an agent's line in llms.txt: its name linking its raw file, and its summary."""
    return _llms_item(agent.name, site_address(site, agent.raw_url), agent.summary_text)


def _category_heading(name: str) -> str:
    # In llms.txt a section called "Optional" may be skipped by readers short of room.
    heading = name or "Uncategorized"
    return _markdown_text(f"{heading} agents" if heading.casefold() == "optional" else heading)


def _one_line(text: str) -> str:
    return " ".join(text.split())


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&!|~])")


_AUTOLINKED = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)[^\s`]+|[^\s`@<>()\[\]]+@[^\s`@<>()\[\]]+\.[^\s`@]+")
"""What GitHub's Markdown makes a link with no brackets at all: a URL, a `www.` address, an e-mail address."""


def _markdown_text(text: str) -> str:
    """Return text from an agent file as Markdown that shows it as written and links nowhere.

    A backslash goes before every character that could start a link, an image, code, an
    entity or HTML (`[`, `]`, `<`, `!`, `&`, backquotes) or emphasis; what would turn into a
    link by itself (a bare URL, `www.…`, an e-mail address) is shown as code.
    """
    line = _one_line(remove_control_characters(text))
    parts, position = [], 0
    for match in _AUTOLINKED.finditer(line):
        parts += [_MARKDOWN_SPECIAL.sub(r"\\\1", line[position:match.start()]), f"`{match.group()}`"]
        position = match.end()
    parts.append(_MARKDOWN_SPECIAL.sub(r"\\\1", line[position:]))
    return "".join(parts)


def _clip(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


# -- feed.xml -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    """A page as the feed lists it: an agent's, a command's or a skill's."""

    kind: str
    title: str
    url: str
    """Its page's path below the site root."""
    key: str
    """What tells it from others of its title: its kind and slug."""
    category: str
    dates: FileDates | None
    read_summary: Callable[[], str] = field(compare=False, repr=False)
    """Its summary, read only for the items the feed shows: an agent read back from the cache
    decodes its summary when first asked, and the feed shows 50 of 20,000."""


def feed_items(
    site: SiteContext, agents: Iterable[Agent], dates: Mapping[Any, FileDates], components: Components | None = None,
) -> list[FeedItem]:
    """Return every agent, command and skill as the feed would list it, dated by its file (a
    command's and a skill's category is its kind, in the catalog's language)."""
    site_strings = site["strings"]
    items = [FeedItem("agent", agent.name, agent.url, agent.slug, agent.category, dates.get(agent.path),
                      partial(getattr, agent, "summary_text"))
             for agent in agents]
    if components is not None:
        items += [FeedItem("command", f"/{usage_name(command.name, plugin)}", component_url("command", slug), f"command {slug}",
                           site_strings.plain("kind_commands"), dates.get(command.path), partial(str, command.description))
                  for command, slug, plugin in components.commands]
        items += [FeedItem("skill", skill.name, component_url("skill", slug), f"skill {slug}", site_strings.plain("kind_skills"),
                           dates.get(skill.path), partial(str, skill.description))
                  for skill, slug, _ in components.skills]
    return items


def render_feed(
    site: SiteContext, catalog: Catalog, dates: Mapping[Any, FileDates], components: Components | None = None,
) -> str:
    """Return an Atom feed of the most recently added or changed agents, commands and skills, newest first."""
    # Only an agent among the FEED_LIMIT newest agents can be in the feed: the others are not
    # made into items at all (at 20,000 agents, making them was most of the feed's time).
    recent = newest_first(feed_items(site, _newest_agents(catalog, dates, FEED_LIMIT), dates, components), FEED_LIMIT)
    feed = ET.Element(f"{{{_ATOM}}}feed")
    _text(feed, "title", site["title"])
    if site["description"]:
        _text(feed, "subtitle", site["description"])
    _text(feed, "id", site["site_url"] or _urn(site["title"]))
    _link(feed, site_address(site, FEED_NAME), rel="self", type="application/atom+xml")
    _link(feed, site["site_url"] or "index.html", rel="alternate", type="text/html")
    newest = max((_updated(item) for item in recent), default=_EPOCH)
    _text(feed, "updated", _iso(newest))
    author = ET.SubElement(feed, f"{{{_ATOM}}}author")
    _text(author, "name", site["title"])
    generator = _text(feed, "generator", "agentpages")
    generator.set("version", __version__)
    for item in recent:
        _add_entry(feed, site, item)
    ET.register_namespace("", _ATOM)
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _add_entry(feed: ET.Element, site: SiteContext, item: FeedItem) -> None:
    entry = ET.SubElement(feed, f"{{{_ATOM}}}entry")
    _text(entry, "title", item.title)
    _text(entry, "id", _address(site, item.url) if site["site_url"] else _urn(site["title"], item.key))
    _link(entry, _address(site, item.url), rel="alternate", type="text/html")
    _text(entry, "published", _iso(item.dates.added if item.dates else _EPOCH))
    _text(entry, "updated", _iso(item.dates.updated if item.dates else _EPOCH))
    summary = item.read_summary()
    if summary:
        _text(entry, "summary", summary)
    if item.category:
        ET.SubElement(entry, f"{{{_ATOM}}}category", {"term": remove_control_characters(item.category)})


def newest_first(items: list[FeedItem], limit: int) -> list[FeedItem]:
    """Return the `limit` newest items, newest first; items of one date take turns by kind (an
    agent, a command, a skill, an agent…), so a catalog whose files share a date (a fresh or
    shallow clone) does not fill the feed with one kind."""
    by_kind: dict[str, list[FeedItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    # An item behind `limit` others of its kind has at least `limit` items before it overall.
    turns = {id(item): turn for kind in by_kind.values()
             for turn, item in enumerate(heapq.nsmallest(limit, kind, key=_newest_key))}
    shortlist = [item for item in items if id(item) in turns]
    return sorted(shortlist, key=lambda item: (-_updated(item).timestamp(), turns[id(item)],
                                               _KIND_ORDER.index(item.kind)))[:limit]


def _newest_key(item: FeedItem) -> tuple[float, str, str]:
    return newest_key(_updated(item).timestamp(), item.title, item.key)


def newest_key(updated: float | None, name: str, slug: str) -> tuple[float, str, str]:
    """Rank an agent for the feed by when its file last changed (a timestamp), then its name and slug."""
    return -(_EPOCH.timestamp() if updated is None else updated), name.lstrip("/").casefold(), slug


def _newest_agents(catalog: Catalog, dates: Mapping[Any, FileDates], limit: int) -> list[Agent]:
    """Return the `limit` newest agents in catalog order, ranked as `newest_first` ranks their items."""
    def newest(agent: Agent) -> tuple[float, str, str]:
        known = dates.get(agent.path)
        return newest_key(known.updated.timestamp() if known else None, agent.name, agent.slug)

    chosen = {id(agent) for agent in heapq.nsmallest(limit, catalog.agents, key=newest)}
    return [agent for agent in catalog.agents if id(agent) in chosen]


_KIND_ORDER = ("agent", "command", "skill")


def _updated(item: FeedItem) -> datetime:
    return item.dates.updated if item.dates else _EPOCH


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{_ATOM}}}{tag}")
    element.text = remove_control_characters(text)  # XML cannot hold them at all
    return element


def _link(parent: ET.Element, href: str, **attributes: str) -> None:
    ET.SubElement(parent, f"{{{_ATOM}}}link", {"href": href, **attributes})


def _urn(*parts: str) -> str:
    """Return a stable id for a feed or entry published without a known address."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "agentpages:" + "/".join(parts)).urn


# -- sitemap.xml and robots.txt -------------------------------------------------------------


def render_sitemap(site: SiteContext, pages: list[FeedItem], listed: dict[str, Any] | None = None) -> str:
    """Return sitemap.xml listing the index, every page of an agent, command or skill (`pages`, as
    `feed_items` has them) with the date its file last changed, and every plugin's page
    (`listed`, see `component_data`); needs `site_url`."""
    urlset = ET.Element(f"{{{_SITEMAP}}}urlset")
    _add_url(urlset, site["site_url"], max((item.dates.updated for item in pages if item.dates), default=None))
    for item in pages:
        _add_url(urlset, _address(site, item.url), item.dates.updated if item.dates else None)
    for plugin in (listed or {}).get("plugins") or []:
        _add_url(urlset, plugin["url"], None)
    ET.register_namespace("", _SITEMAP)
    ET.indent(urlset)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(urlset, encoding="unicode") + "\n"


def _add_url(urlset: ET.Element, address: str, updated: datetime | None) -> None:
    url = ET.SubElement(urlset, f"{{{_SITEMAP}}}url")
    ET.SubElement(url, f"{{{_SITEMAP}}}loc").text = address
    if updated is not None:
        ET.SubElement(url, f"{{{_SITEMAP}}}lastmod").text = _iso(updated)


def has_robots_txt(site: SiteContext) -> bool:
    """Tell whether the site sits at its host's root, the only place crawlers read robots.txt."""
    return bool(site["site_url"]) and urlsplit(site["site_url"]).path in ("", "/")


def render_robots_txt(site: SiteContext) -> str:
    """Return robots.txt allowing every crawler and naming the sitemap (needs `site_url`)."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {site_address(site, 'sitemap.xml')}\n"


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
