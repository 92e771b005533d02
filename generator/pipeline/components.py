"""The components beside agents, through the pipeline: read and checked with the agents, then
every page of theirs named to the writer with the key of what it is made of, and rendered
only when no earlier build left that page in the output folder.

The pages: one per plugin, slash command and skill, one per text file of a skill's folder,
a command's file as written and a skill's `.zip`. A page's key digests every byte it shows
and the slugs its links follow, so the keys alone decide what is rendered again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.addresses import (
    PAGE_MARK,
    component_url,
    plugin_url,
    raw_component_url,
    skill_archive_url,
    skill_file_url,
)
from generator.catalog.components import (
    Command,
    Hook,
    Skill,
    hooks_of,
    mcp_servers_of,
    plugin_root_paths,
    read_at_most,
    read_command,
    read_hooks,
    read_mcp_servers,
    read_skill,
    read_small_text,
    usage_name,
)
from generator.catalog.load import file_digest
from generator.catalog.marketplace import Plugin
from generator.catalog.model import slugify
from generator.catalog.plugin_lint import (
    RelativeLinkAt,
    check_command,
    check_hook_scripts,
    check_hooks,
    check_links_of,
    check_marketplace,
    check_skill,
    relative_links,
)
from generator.config import SiteConfig
from generator.errors import Finding, Report
from generator.site.components import (
    ComponentGroup,
    Components,
    ListedComponent,
    PluginParts,
    ShownScript,
    code_block,
    file_body,
    language_of,
    render_command_page,
    render_plugin_page,
    render_skill_file_page,
    render_skill_page,
    shows,
    skill_archive,
)
from generator.site.plan import PagePlan, name_slug, plugin_slug, unique_slug
from generator.site.relations import (
    NO_RELATIONS,
    Mentioner,
    PageRelations,
    Related,
    mentioned_name,
)
from generator.store.database import digest_parts

if TYPE_CHECKING:
    import jinja2

    from generator.markdown.links import LinkContext
    from generator.markdown.markup import MarkdownRenderer
    from generator.pipeline.memo import Memo
    from generator.pipeline.read import AgentListing
    from generator.site.render import SiteContext

MAX_SCRIPT_SIZE = 256 * 1024
"""A script a hook runs is shown up to this size."""


def read_components(
    config: SiteConfig, listing: AgentListing, report: Report, agent_files: Collection[PurePosixPath] = (),
    memo: Memo | None = None,
) -> Components:
    """Read every command, skill, hooks file and MCP server file of the catalog, reporting what
    cannot be read and links that lead to no page (`agent_files` are the agents' files below
    the catalog's folder); give each command and skill its slug."""
    marketplace = listing.marketplace
    if marketplace is None:
        owned_commands = [(path, "") for path in listing.loose_commands]
        owned_skills = [(path, "") for path in listing.loose_skills]
        parts: dict[str, PluginParts] = {}
    else:
        owned_commands = [(path, plugin.name) for plugin in marketplace.plugins for path in plugin.commands]
        owned_skills = [(path, plugin.name) for plugin in marketplace.plugins for path in plugin.skills]
        parts = {plugin.name: _plugin_parts(plugin, report) for plugin in marketplace.plugins}
    commands = [(command, plugin) for path, plugin in owned_commands
                if (command := read_command(path, config.agents_dir, report, config.max_file_size)) is not None]
    skills = [(skill, plugin) for path, plugin in owned_skills
              if (skill := read_skill(path, config.agents_dir, report, config.max_file_size,
                                               config.selection.shows)) is not None]
    for command, _ in commands:
        _add_all(report, check_command(command))
    for skill, _ in skills:
        _add_all(report, check_skill(skill))
    if marketplace is not None:
        _add_all(report, check_marketplace(marketplace, config.selection.keeps))
        if not config.install_source:
            report.add(Finding(marketplace.manifest, 1, "warning", "the install lines cannot name this marketplace's "
                               "repository, so they show OWNER/REPO: set repo_url in agentpages.yml (or give the "
                               "repository an origin remote on GitHub)", "install-source"))
        _add_all(report, [finding for plugin in marketplace.plugins for path in plugin.hooks
                          for finding in check_hooks(path)])
        _add_all(report, [finding for plugin in marketplace.plugins if plugin.folder is not None
                          for finding in check_hook_scripts(plugin.folder, parts[plugin.name].hooks)])
    command_slugs = _slugs([(command.name, plugin) for command, plugin in commands])
    skill_slugs = _slugs([(skill.folder_name, plugin) for skill, plugin in skills])
    components = Components(
        marketplace,
        [(command, slug, plugin) for (command, plugin), slug in zip(commands, command_slugs)],
        [(skill, slug, plugin) for (skill, plugin), slug in zip(skills, skill_slugs)],
        parts,
    )
    _add_all(report, _broken_links(components, {*agent_files, *_file_pages(components)}, config.max_file_size, memo))
    return components


LINKS_VALUE = "relative links of components"
"""The memo value holding the relative links of each component text that has any, by its digest."""


def _broken_links(
    components: Components, targets: set[PurePosixPath], max_file_size: int, memo: Memo | None,
) -> list[Finding]:
    """Every relative link of a command, skill, skill's Markdown file or plugin README that leads
    to no page of the site. Finding the links is the slow part: the memo keeps them by text."""
    known = memo.get_value(LINKS_VALUE) if memo is not None else None
    links = _KnownLinks(known if isinstance(known, dict) else {})
    findings = []
    for command, _, _ in components.commands:
        findings += check_links_of(command.path, command.rel_path, links.of(command.body), command.body_line, targets)
    for skill, _, _ in components.skills:
        findings += check_links_of(skill.path, skill.rel_path, links.of(skill.body), skill.body_line, targets)
        for file in skill.files:
            if file.kind == "markdown":
                findings += check_links_of(skill.path.parent.joinpath(*file.rel_path.parts),
                                           skill.rel_path.parent / file.rel_path, links.of(file.text), 1, targets,
                                           skill.rel_path)
    for plugin in components.marketplace.plugins if components.marketplace is not None else ():
        rel = _below_root(plugin.readme, components.marketplace.root)  # type: ignore[union-attr]
        if plugin.readme is not None and rel is not None:
            findings += check_links_of(plugin.readme, rel, links.of(_read_readme(plugin, max_file_size)), 1, targets)
    if memo is not None and links.used != links.known:
        memo.put_value(LINKS_VALUE, links.used)  # type: ignore[arg-type]
    return findings


class _KnownLinks:
    """The relative links of texts, found once: those a memo held, and those found now."""

    def __init__(self, known: dict[str, Any]) -> None:
        self.known = known
        self.used: dict[str, list[list[Any]]] = {}

    def of(self, text: str) -> list[RelativeLinkAt]:
        digest = digest_parts([text])
        stored = self.known.get(digest)
        if not _are_links(stored):
            stored = [list(link) for link in relative_links(text)]
        if stored:
            self.used[digest] = stored
        return [(line, column, target, is_image) for line, column, target, is_image in stored]


def _are_links(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(link, list) and len(link) == 4 and isinstance(link[0], int) and isinstance(link[1], int)
        and isinstance(link[2], str) and isinstance(link[3], bool) for link in value)


def components_state(components: Components, files: list[tuple[str, str]], max_file_size: int) -> str:
    """Digest everything the components' pages are made of but the agents they list: what was
    read of them, and the content of every other file of the listing (`files`, each with its
    stamp): a plugin's README, the scripts its hooks run. A file too large to read is known by
    its stamp (its page shows no more than its size)."""
    parts = [repr(components.marketplace), repr(sorted(components.parts.items()))]
    for path, stamp in files:
        data = read_at_most(Path(path), max_file_size)
        parts.append(f"{path} {file_digest(data) if data is not None else stamp}")
    parts += [f"{slug} {plugin} {command.digest}" for command, slug, plugin in components.commands]
    parts += [f"{slug} {plugin} {skill.digest} " + " ".join(f"{file.rel_path}:{file_digest(file.data)}"
                                                          for file in skill.files)
              for skill, slug, plugin in components.skills]
    return digest_parts(parts)


def _add_all(report: Report, findings: list[Finding]) -> None:
    for finding in findings:
        report.add(finding)


def _plugin_parts(plugin: Plugin, report: Report) -> PluginParts:
    hooks = [hook for path in plugin.hooks for hook in read_hooks(path, report)]
    hooks += [hook for source, value in plugin.inline_hooks for hook in hooks_of(value, source)]
    servers = [server for path in plugin.mcp_files for server in read_mcp_servers(path, report)]
    servers += [server for source, value in plugin.inline_mcp for server in mcp_servers_of(value, source)]
    return PluginParts(hooks, servers)


def _slugs(names: list[tuple[str, str]]) -> list[str]:
    """Give each (name, plugin) a slug: `<plugin>/<name>`, or `<name>` outside a marketplace; a
    repeat gets `-2`, `-3`…"""
    taken: set[str] = set()
    slugs = []
    for name, plugin in names:
        base = name_slug(name) or "component"
        slugs.append(unique_slug(f"{plugin_slug(plugin)}/{base}" if plugin else base, taken))
    return slugs


@dataclass(frozen=True)
class ComponentFile:
    """One file of the site made from components: where it goes, the key of what it is made of,
    and how to make it."""

    path: str
    key: str
    make: Callable[[], str | bytes]


class ComponentPages:
    """Names every file of the components' pages, with its key, and renders one when asked."""

    def __init__(
        self, config: SiteConfig, env: jinja2.Environment, site: SiteContext, components: Components,
        agents: dict[str, tuple[ListedComponent, ...]], slugs: dict[PurePosixPath, str],
        relations: dict[str, PageRelations],
    ) -> None:
        self.config, self.env, self.site, self.components = config, env, site, components
        self.agents, self.slugs, self.relations = agents, slugs, relations
        self._renderer: MarkdownRenderer | None = None
        self._file_pages = _file_pages(components)
        # Links lead to agents' pages and skills' files: any change of those slugs is in every key.
        self._links_key = _digest(repr(sorted((str(path), slug) for path, slug in slugs.items())),
                                  repr(sorted((str(path), url) for path, url in self._file_pages.items())))

    def files(self) -> Iterator[ComponentFile]:
        """Yield every file of the components' pages, in a fixed order."""
        for command, slug, plugin in self.components.commands:
            yield from self._command_files(command, slug, plugin)
        for skill, slug, plugin in self.components.skills:
            yield from self._skill_files(skill, slug, plugin)
        if self.components.marketplace is not None:
            for plugin in self.components.marketplace.plugins:
                yield self._plugin_file(plugin)

    @property
    def renderer(self) -> MarkdownRenderer:
        if self._renderer is None:
            from generator.markdown.markup import MarkdownRenderer

            from generator.site.render import strings_of

            self._renderer = MarkdownRenderer(strings_of(self.env).plain("link_to_section"))
        return self._renderer

    def _links(self, source: PurePosixPath, here: str, also_from: PurePosixPath | None = None) -> LinkContext:
        from generator.markdown.links import LinkContext

        return LinkContext(source, self.slugs, pages=self._file_pages, here=here, also_from=also_from)

    def _command_files(self, command: Command, slug: str, plugin: str) -> Iterator[ComponentFile]:
        url = component_url("command", slug)
        relations = self.relations.get(url, NO_RELATIONS)
        key = _digest("command", slug, plugin, command.digest, self._links_key, repr(relations))

        def make() -> str:
            body = self.renderer.render_page_body(command.body, self._links(command.rel_path, url)).html
            return render_command_page(self.env, self.site, command, slug, plugin, body, self.config.edit_base,
                                       relations)

        yield ComponentFile(url, key, make)
        yield ComponentFile(raw_component_url("command", slug), _digest("raw", command.digest),
                            lambda: command.source)

    def _skill_files(self, skill: Skill, slug: str, plugin: str) -> Iterator[ComponentFile]:
        url = component_url("skill", slug)
        contents = _digest(skill.digest, *(f"{file.rel_path}\0{file.kind}\0{file.size}\0{file.executable}\0"
                                           f"{file_digest(file.data)}" for file in skill.files))
        relations = self.relations.get(url, NO_RELATIONS)
        key = _digest("skill", slug, plugin, contents, self._links_key, repr(relations))

        def make_page() -> str:
            body = self.renderer.render_page_body(skill.body, self._links(skill.rel_path, url)).html
            return render_skill_page(self.env, self.site, skill, slug, plugin, body, self.config.edit_base, relations)

        yield ComponentFile(url, key, make_page)
        yield ComponentFile(skill_archive_url(slug), _digest("zip", contents), lambda: skill_archive(skill, slug))
        for file in skill.files:
            if not shows(file):
                continue
            file_url = skill_file_url(slug, str(file.rel_path))
            source = skill.rel_path.parent / file.rel_path

            def make_file(file=file, file_url=file_url, source=source) -> str:  # type: ignore[no-untyped-def]
                body = file_body(self.renderer, file, self._links(source, file_url, skill.rel_path))
                return render_skill_file_page(self.env, self.site, skill, slug, file, body)

            yield ComponentFile(file_url, _digest("skill file", slug, skill.name, str(file.rel_path),
                                                  file_digest(file.data), self._links_key), make_file)

    def _plugin_file(self, plugin: Plugin) -> ComponentFile:
        groups = self._groups(plugin)
        parts = self.components.parts.get(plugin.name, PluginParts())
        scripts = _hook_scripts(plugin, parts.hooks)
        shell_lines = [(f"/{usage_name(command.name, plugin.name)}", line)
                       for command, _ in self.components.commands_by_plugin.get(plugin.name, [])
                       for line in command.shell_lines]
        readme = _read_readme(plugin, self.config.max_file_size)
        url = plugin_url(plugin_slug(plugin.name))
        key = _digest("plugin", repr(plugin), repr(groups), repr(parts), repr(scripts), readme, repr(shell_lines),
                      self._links_key)

        def make() -> str:
            readme_html = (self.renderer.render_page_body(readme, self._links(_rel(plugin.readme, self.config), url)).html
                           if readme and plugin.readme else "")
            shown = [self._shown_script(name, text) for name, text in scripts]
            return render_plugin_page(self.env, self.site, plugin, groups, parts.hooks, parts.servers, shown,
                                      shell_lines, readme_html)

        return ComponentFile(url, key, make)

    def _shown_script(self, name: str, text: str) -> ShownScript:
        html = self.renderer.render(code_block(text, language_of(name.rpartition("/")[2]))).html
        return ShownScript(name, "script-" + (slugify(name) or "file"), html)

    def _groups(self, plugin: Plugin) -> list[ComponentGroup]:
        agents = self.agents.get(plugin.name, ())
        commands = tuple(ListedComponent(f"/{usage_name(command.name, plugin.name)}", component_url("command", slug),
                                         _clip(command.description))
                         for command, slug in self.components.commands_by_plugin.get(plugin.name, []))
        skills = tuple(ListedComponent(skill.name, component_url("skill", slug), _clip(skill.description))
                       for skill, slug in self.components.skills_by_plugin.get(plugin.name, []))
        words = self.site["strings"].plain
        return [ComponentGroup("agent", words("kind_agents"), agents),
                ComponentGroup("command", words("kind_commands"), commands),
                ComponentGroup("skill", words("kind_skills"), skills)]


def link_targets(components: Components) -> dict[PurePosixPath, str]:
    """Return the page of each skill, command and shown file of a skill's folder as a link target
    (see `addresses.target_url`), by its file's path below the catalog's folder."""
    return {path: PAGE_MARK + url for path, url in _file_pages(components).items()}


def files_with_pages(components: Components) -> set[PurePosixPath]:
    """Return every file below the catalog's folder, but the agents', that has a page a link may lead to."""
    return set(_file_pages(components))


def _file_pages(components: Components) -> dict[PurePosixPath, str]:
    """The page of each skill, command and shown file of a skill's folder, by its file's path below
    the catalog's folder: where a relative link to it leads."""

    pages = {skill.rel_path.parent / file.rel_path: skill_file_url(slug, str(file.rel_path))
             for skill, slug, _ in components.skills for file in skill.files if shows(file)}
    pages |= {skill.rel_path: component_url("skill", slug) for skill, slug, _ in components.skills}
    pages |= {skill.rel_path.parent: component_url("skill", slug) for skill, slug, _ in components.skills}
    pages |= {command.rel_path: component_url("command", slug) for command, slug, _ in components.commands}
    if components.marketplace is not None:
        for plugin in components.marketplace.plugins:
            url = plugin_url(plugin_slug(plugin.name))
            for path in (plugin.folder, plugin.readme):
                rel = _below_root(path, components.marketplace.root)
                if rel is not None:
                    pages.setdefault(rel, url)  # a plugin's folder or README: its page
    return pages


def _below_root(path: Path | None, root: Path) -> PurePosixPath | None:
    """Return a path below the catalog's root, or None when there is none or it is elsewhere."""
    if path is None:
        return None
    resolved = path.resolve()
    return PurePosixPath(resolved.relative_to(root).as_posix()) if resolved.is_relative_to(root) else None


def agents_by_plugin(plans: list[PagePlan]) -> dict[str, tuple[ListedComponent, ...]]:
    """Return each plugin's agents as its page lists them (name, page, summary), in catalog order."""
    from generator.addresses import page_url
    from generator.catalog.examples import parse_description
    from generator.catalog.interpret import read_name
    from generator.catalog.load import text_field
    from generator.catalog.names import visible_name

    found: dict[str, list[ListedComponent]] = {}
    for plan in plans:
        if plan.plugin:
            summary = parse_description(text_field(plan.raw.front_matter.data, "description")).summary
            name = visible_name(read_name(plan.raw))
            found.setdefault(plan.plugin, []).append(ListedComponent(name, page_url(plan.slug), _clip(summary)))
    return {plugin: tuple(agents) for plugin, agents in found.items()}


def mentioners(plans: list[PagePlan], components: Components) -> list[Mentioner]:
    """Return every agent, command and skill that names another or has a name some text mentions,
    as something that names others and may be named (most agents of a large catalog are neither)."""
    from generator.addresses import page_url
    from generator.catalog.interpret import read_name
    from generator.catalog.names import visible_name

    mentioned = {mentioned_name(mention) for mentions in _all_mentions(plans, components) for mention in mentions}
    found = []
    for plan in plans:
        name = read_name(plan.raw)
        names = _names(name, plan.raw.path.stem)
        if plan.raw.mentions or not mentioned.isdisjoint(names):
            found.append(Mentioner("agent", names, plan.plugin,
                                   Related("agent", visible_name(name), page_url(plan.slug)), plan.raw.mentions))
    for command, slug, plugin in components.commands:
        page = Related("command", f"/{usage_name(command.name, plugin)}", component_url("command", slug))
        found.append(Mentioner("command", _names(command.name), plugin, page, command.mentions))
    for skill, slug, plugin in components.skills:
        page = Related("skill", skill.name, component_url("skill", slug))
        found.append(Mentioner("skill", _names(skill.name, skill.folder_name), plugin, page, skill.mentions))
    return found


def _all_mentions(plans: list[PagePlan], components: Components) -> Iterator[tuple[str, ...]]:
    yield from (plan.raw.mentions for plan in plans)
    yield from (command.mentions for command, _, _ in components.commands)
    yield from (skill.mentions for skill, _, _ in components.skills)


def _names(*names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.lower() for name in names if name))


def with_relations(plans: list[PagePlan], relations: dict[str, PageRelations]) -> list[PagePlan]:
    """Return the plans, each agent's with the components it names and those naming it."""
    from dataclasses import replace

    from generator.addresses import page_url

    return [replace(plan, relations=relations[url]) if (url := page_url(plan.slug)) in relations else plan
            for plan in plans]


def render_component_files(
    config: SiteConfig, env: jinja2.Environment, components: Components, agents: dict[str, tuple[ListedComponent, ...]],
    slugs: dict[PurePosixPath, str], relations: dict[str, PageRelations], keep: Callable[[ComponentFile], bool],
) -> Iterator[tuple[ComponentFile, str | bytes]]:
    """Yield every file of the components' pages that `keep` does not keep, with its content:
    rendered in worker processes when there are many (highlighting a skill's code is slow)."""
    from generator.pipeline.workers import map_in_workers, worker_count
    from generator.site.render import make_site_context

    pages = ComponentPages(config, env, make_site_context(config), components, agents, slugs, relations)
    wanted = [(number, file) for number, file in enumerate(pages.files()) if not keep(file)]
    workers = worker_count(len(wanted))
    if workers <= 1:
        yield from ((file, file.make()) for _, file in wanted)
        return
    contents = map_in_workers(_make_file, [number for number, _ in wanted], workers, _start_component_worker,
                              (config, components, agents, slugs, relations))
    with contextlib.closing(contents):
        yield from ((file, content) for (_, file), content in zip(wanted, contents))


_worker_files: list[ComponentFile] = []


def _start_component_worker(
    config: SiteConfig, components: Components, agents: dict[str, tuple[ListedComponent, ...]],
    slugs: dict[PurePosixPath, str], relations: dict[str, PageRelations],
) -> None:
    from generator.site.render import make_environment, make_site_context

    global _worker_files
    pages = ComponentPages(config, make_environment(config), make_site_context(config), components, agents, slugs,
                           relations)
    _worker_files = list(pages.files())


def _make_file(number: int) -> str | bytes:
    return _worker_files[number].make()


def _hook_scripts(plugin: Plugin, hooks: list[Hook]) -> list[tuple[str, str]]:
    """Return each script of the plugin's folder that a hook's command runs
    (`${CLAUDE_PLUGIN_ROOT}/…`), by its path in the plugin, with its text."""
    if plugin.folder is None:
        return []
    found: dict[str, str] = {}
    for hook in hooks:
        for name in plugin_root_paths(hook.action):
            path = (plugin.folder / name).resolve()
            if name in found or not path.is_relative_to(plugin.folder.resolve()) or not path.is_file():
                continue
            text = read_small_text(path, MAX_SCRIPT_SIZE)
            if text is not None:
                found[name] = text
    return sorted(found.items())


def _read_readme(plugin: Plugin, max_file_size: int) -> str:
    return (read_small_text(plugin.readme, max_file_size) or "") if plugin.readme is not None else ""


def _rel(path: Path | None, config: SiteConfig) -> PurePosixPath:
    assert path is not None
    return PurePosixPath(path.resolve().relative_to(config.agents_dir.resolve()).as_posix())


def _clip(text: str, length: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _digest(*parts: str) -> str:
    return digest_parts(list(parts))
