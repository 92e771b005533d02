"""The pages of a marketplace's parts beside agents: each plugin, slash command and skill (with
the files of its folder and its `.zip`), as strings and bytes."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from generator.addresses import (
    component_url,
    file_name,
    plugin_url,
    raw_component_url,
    relative_url,
    root_of,
    skill_archive_url,
    skill_file_url,
)
from generator.catalog.components import usage_name
from generator.site.plan import plugin_slug
from generator.site.relations import NO_RELATIONS, PageRelations
from generator.site.render import IndexEntry, render_template, strings_of
from generator.strings import Strings

if TYPE_CHECKING:
    from pathlib import Path

    import jinja2

    from generator.catalog.components import Command, Hook, McpServer, Skill, SkillFile
    from generator.catalog.marketplace import Marketplace, Plugin
    from generator.markdown.links import LinkContext
    from generator.markdown.markup import MarkdownRenderer
    from generator.site.render import SiteContext

ARCHIVE_TIME = (1980, 1, 1, 0, 0, 0)
"""Every file of a skill's archive has this time, so the same files give the same bytes."""
_LONGEST_FENCE = re.compile(r"`{3,}")


@dataclass(frozen=True)
class PluginParts:
    """What a plugin runs, as read: its hooks and MCP servers."""

    hooks: list[Hook] = field(default_factory=list)
    servers: list[McpServer] = field(default_factory=list)


@dataclass(frozen=True)
class Components:
    """Every command and skill of the catalog with its slug and plugin, and each plugin's parts."""

    marketplace: Marketplace | None
    commands: list[tuple[Command, str, str]]
    """Each command, its slug and its plugin's name ("" outside a marketplace)."""
    skills: list[tuple[Skill, str, str]]
    parts: dict[str, PluginParts]
    """Each plugin's hooks and servers, by plugin name."""

    def __len__(self) -> int:
        return sum(self.counts().values())

    @functools.cached_property
    def commands_by_plugin(self) -> dict[str, list[tuple[Command, str]]]:
        """Each plugin's commands with their slugs, by plugin name."""
        grouped: dict[str, list[tuple[Command, str]]] = {}
        for command, slug, plugin in self.commands:
            grouped.setdefault(plugin, []).append((command, slug))
        return grouped

    @functools.cached_property
    def skills_by_plugin(self) -> dict[str, list[tuple[Skill, str]]]:
        """Each plugin's skills with their slugs, by plugin name."""
        grouped: dict[str, list[tuple[Skill, str]]] = {}
        for skill, slug, plugin in self.skills:
            grouped.setdefault(plugin, []).append((skill, slug))
        return grouped

    def dated_files(self) -> list[Path]:
        """The file each command and skill is dated by (a skill by its SKILL.md)."""
        return [command.path for command, _, _ in self.commands] + [skill.path for skill, _, _ in self.skills]

    def counts(self) -> dict[str, int]:
        """How many plugins, commands and skills there are, by kind."""
        return {"plugin": len(self.marketplace.plugins) if self.marketplace else 0,
                "command": len(self.commands), "skill": len(self.skills)}


def index_entries(components: Components | None) -> list[IndexEntry]:
    """Return every plugin, command and skill as the index lists it, in the order they were found;
    none without `components`."""
    if components is None:
        return []
    entries = []
    if components.marketplace is not None:
        entries += [IndexEntry("plugin", plugin_slug(plugin.name), plugin.name, plugin_url(plugin_slug(plugin.name)),
                               plugin.description, plugin.name) for plugin in components.marketplace.plugins]
    entries += [IndexEntry("command", slug, f"/{usage_name(command.name, plugin)}", component_url("command", slug),
                           command.description, plugin) for command, slug, plugin in components.commands]
    entries += [IndexEntry("skill", slug, skill.name, component_url("skill", slug), skill.description, plugin)
                for skill, slug, plugin in components.skills]
    return entries


@dataclass(frozen=True)
class ListedComponent:
    """A line of a plugin page's list of components."""

    name: str
    url: str
    """Its page's path below the site root."""
    summary: str = ""


@dataclass(frozen=True)
class ComponentGroup:
    """The components of one kind on a plugin page."""

    kind: str
    title: str
    items: tuple[ListedComponent, ...]


@dataclass(frozen=True)
class ShownScript:
    """A script a hook runs from the plugin's folder, as its page shows it."""

    name: str
    anchor: str
    html: str


def render_command_page(
    env: jinja2.Environment, site: SiteContext, command: Command, slug: str, plugin: str, body_html: str,
    edit_base: str, relations: PageRelations = NO_RELATIONS,
) -> str:
    """Render a slash command's page: its usage line, fields, shell lines and prompt."""
    url = component_url("command", slug)
    root = root_of(url)
    raw_path = raw_component_url("command", slug)
    return render_template(env, "command.html", {
        **_component_context(site, root, plugin), "command": command, "usage_name": usage_name(command.name, plugin),
        "body_html": body_html, "raw_path": raw_path, "install_name": file_name(slug),
        "raw_url": (site["site_url"] or root) + raw_path,
        "edit_url": edit_base + str(command.rel_path) if edit_base else "", "relations": relations,
    }, subject=command.path)


def render_skill_page(
    env: jinja2.Environment, site: SiteContext, skill: Skill, slug: str, plugin: str, body_html: str, edit_base: str,
    relations: PageRelations = NO_RELATIONS,
) -> str:
    """Render a skill's page: its fields, the files of its folder, its archive and its instructions."""
    url = component_url("skill", slug)
    root = root_of(url)
    archive = skill_archive_url(slug)
    files = [{"name": str(file.rel_path), "url": skill_file_url(slug, str(file.rel_path)) if shows(file) else "",
              "note": _file_note(file, strings_of(env))} for file in skill.files]
    return render_template(env, "skill.html", {
        **_component_context(site, root, plugin), "skill": skill, "files": files, "body_html": body_html,
        "archive_path": archive, "archive_url": (site["site_url"] or root) + archive, "install_name": file_name(slug),
        "edit_url": edit_base + str(skill.rel_path) if edit_base else "", "relations": relations,
    }, subject=skill.path)


def render_skill_file_page(
    env: jinja2.Environment, site: SiteContext, skill: Skill, slug: str, file: SkillFile, body_html: str,
) -> str:
    """Render the page that shows one file of a skill's folder (see `file_body`)."""
    url = skill_file_url(slug, str(file.rel_path))
    return render_template(env, "skill_file.html", {
        "site": site, "root": root_of(url), "skill": skill, "file_name": str(file.rel_path), "size": _size(file.size, strings_of(env)),
        "skill_url": relative_url(component_url("skill", slug), url), "body_html": body_html,
    }, subject=skill.path)


def shows(file: SkillFile) -> bool:
    """Tell whether a file of a skill's folder has a page of its own: text, not too large."""
    return file.kind in ("markdown", "text")


def file_body(renderer: MarkdownRenderer, file: SkillFile, links: LinkContext | None) -> str:
    """Render a skill's file: Markdown as a page, any other text highlighted as code."""
    if file.kind == "markdown":  # below the page's own h1, the file's name
        return renderer.render_page_body(file.text, links).html
    return renderer.render(code_block(file.text, language_of(file.rel_path.name))).html


def code_block(text: str, language: str) -> str:
    """Return `text` as a fenced Markdown block longer than any fence inside it."""
    longest = max((len(fence) for fence in _LONGEST_FENCE.findall(text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}\n"


def skill_archive(skill: Skill, slug: str) -> bytes:
    """Return the skill's folder as a `.zip` under the name it installs as (its slug's, safe in a
    shell line): its SKILL.md and every file not too large, in order, executable ones kept so,
    with one fixed time, so the same files give the same bytes."""
    buffer = io.BytesIO()
    files = [("SKILL.md", skill.source, False), *((str(f.rel_path), f.data, f.executable)
                                                  for f in skill.files if f.kind != "large")]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, executable in files:
            info = zipfile.ZipInfo(f"{file_name(slug)}/{name}", ARCHIVE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if executable else 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def render_plugin_page(
    env: jinja2.Environment, site: SiteContext, plugin: Plugin, groups: list[ComponentGroup], hooks: list[Hook],
    servers: list[McpServer], scripts: list[ShownScript], shell_lines: list[tuple[str, str]], readme_html: str,
) -> str:
    """Render a plugin's page: what its manifests say, how to install it, its components by kind,
    and everything it runs on its user's machine (hooks, their scripts, MCP servers, shell lines)."""
    url = plugin_url(plugin_slug(plugin.name))
    return render_template(env, "plugin.html", {
        "site": site, "root": root_of(url), "plugin": plugin, "groups": [g for g in groups if g.items],
        "hooks": hooks, "servers": servers, "scripts": scripts, "shell_lines": shell_lines, "readme_html": readme_html,
    }, subject=plugin.manifest or plugin.folder)


def _component_context(site: SiteContext, root: str, plugin: str) -> dict[str, Any]:
    return {"site": site, "root": root, "plugin_name": plugin, "plugin": {"name": plugin},
            "plugin_url": f"{root}{plugin_url(plugin_slug(plugin))}" if plugin else ""}


def _file_note(file: SkillFile, strings: Strings) -> str:
    if file.kind == "binary":
        return strings.plain("file_binary", size=_size(file.size, strings))
    if file.kind == "large":
        return strings.plain("file_too_large", size=_size(file.size, strings))
    return _size(file.size, strings)


def _size(size: int, strings: Strings) -> str:
    if size < 10_240:
        return strings.plain_count("size_bytes", size, strings.number(size))
    return strings.plain("size_kib", count=strings.number(round(size / 1024)))


def language_of(name: str) -> str:
    """Return the Pygments name of a file's language by its name, or "" (shown as plain text)."""
    from pygments.lexers import find_lexer_class_for_filename
    from pygments.util import ClassNotFound

    try:
        lexer = find_lexer_class_for_filename(name)
    except ClassNotFound:
        return ""
    return lexer.aliases[0] if lexer is not None and lexer.aliases else ""

