"""Find a catalog's components as Claude Code does: a marketplace's plugins, and each plugin's
agents, commands, skills, hooks and MCP servers.

A folder with `.claude-plugin/marketplace.json` is a marketplace. Its plugins are the entries of
`plugins[]`; an entry whose `source` is a relative path is read from that folder, any other is
listed with its metadata alone. A plugin's components are in the folders Claude Code looks in
(`agents/`, `commands/`, `skills/<name>/SKILL.md`, `hooks/hooks.json`, `.mcp.json`) and in the
paths its plugin.json (or its marketplace entry) names. Nothing else is read: a marketplace's
READMEs, docs and a skill's references are never components, and a site folder, `.git` or a
cache inside the repository are never looked at.

A folder without a marketplace is a folder of agent files, except that a folder holding
`SKILL.md` is a skill and a file below a folder named `commands` is a command (see `kind_of`).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.catalog.load import COMMANDS_FOLDER, SKILL_FILE, SKIPPED_NAMES
from generator.catalog.model import slugify
from generator.errors import FileError, Finding, Report, SiteError

MARKETPLACE_FILE = ".claude-plugin/marketplace.json"
PLUGIN_FILE = ".claude-plugin/plugin.json"
HOOKS_FILE = "hooks/hooks.json"
MCP_FILE = ".mcp.json"
MAX_MANIFEST_SIZE = 1024 * 1024
"""A manifest larger than this is refused: it is a list of plugins, not a data file."""


@dataclass(frozen=True)
class Person:
    """A plugin's author or a marketplace's owner."""

    name: str = ""
    email: str = ""
    url: str = ""


@dataclass(frozen=True)
class Plugin:
    """One plugin of a marketplace: what its manifests say and where its components are."""

    name: str
    folder: Path | None
    """The plugin's folder; None for a plugin kept elsewhere (see `source`)."""
    source: str
    """Where the marketplace takes the plugin from, as its entry says (`./plugins/x`, a repository, a URL)."""
    source_url: str = ""
    """An address for a plugin kept elsewhere, when its source names one."""
    description: str = ""
    version: str = ""
    author: Person = field(default_factory=Person)
    homepage: str = ""
    repository: str = ""
    license: str = ""
    keywords: tuple[str, ...] = ()
    category: str = ""
    agents: tuple[Path, ...] = ()
    commands: tuple[Path, ...] = ()
    skills: tuple[Path, ...] = ()
    """Each skill's SKILL.md."""
    hooks: tuple[Path, ...] = ()
    """Each hooks.json the plugin's hooks are read from."""
    inline_hooks: tuple[tuple[Path, Any], ...] = ()
    """Hooks written in a manifest itself, with the manifest they are in."""
    mcp_files: tuple[Path, ...] = ()
    inline_mcp: tuple[tuple[Path, Any], ...] = ()
    """MCP servers written in a manifest itself, with the manifest they are in."""
    readme: Path | None = None
    manifest: Path | None = None
    """The plugin.json read, if any."""


@dataclass(frozen=True)
class Marketplace:
    """A marketplace and its plugins, in the order its manifest lists them."""

    root: Path
    manifest: Path
    name: str
    owner: Person
    description: str
    version: str
    plugins: tuple[Plugin, ...]

    def plugin_of_files(self) -> dict[Path, Plugin]:
        """Return the plugin of each component file (an agent, command or SKILL.md), by path."""
        owners: dict[Path, Plugin] = {}
        for plugin in self.plugins:
            for path in (*plugin.agents, *plugin.commands, *plugin.skills):
                owners.setdefault(path, plugin)
        return owners

    def inputs(self) -> list[Path]:
        """Every file discovery read or a plugin page shows, beside the components' own."""
        files = [self.manifest]
        for plugin in self.plugins:
            files += [path for path in (plugin.manifest, plugin.readme) if path is not None]
            files += [*plugin.hooks, *plugin.mcp_files]
        return files


def plugin_files(folder: Path, skip: Path | None = None) -> list[Path]:
    """List every file of a plugin's folder a page may show, sorted: not in hidden folders but
    `.claude-plugin`, not following links out of it, nothing below `skip` (the output folder)."""
    found = []
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if (not name.startswith(".") or name == ".claude-plugin")
                            and not os.path.islink(os.path.join(current, name))
                            and (skip is None or os.path.join(current, name) != str(skip)))
        found += [Path(current, name) for name in sorted(files) if not name.startswith(".") or name == MCP_FILE]
    return found


def loose_components(root: Path) -> tuple[list[Path], list[Path]]:
    """Find the commands (Markdown below a folder named `commands`) and skills (each SKILL.md) of
    a folder of agent files, sorted, skipping hidden folders and links."""
    commands: list[Path] = []
    skills: list[Path] = []
    root = root.resolve()
    for current, folders, files in os.walk(root):
        folders[:] = sorted(name for name in folders if not name.startswith(".")
                            and not os.path.islink(os.path.join(current, name)))
        here = Path(current)
        if SKILL_FILE in files and here != root and _file_inside(root, here / SKILL_FILE):
            skills.append(here / SKILL_FILE)
            folders[:] = []  # the rest of the folder is the skill's
        elif here.name == COMMANDS_FOLDER:
            commands += _markdown_files(here, root)
            folders[:] = []
    return commands, skills


def plugin_folder_name(name: str) -> str:
    """Return the folder a plugin's pages live in: its name, made safe for an address."""
    return slugify(name)[:MAX_FOLDER_NAME].rstrip("-") or "plugin"


MAX_FOLDER_NAME = 80


def is_marketplace(folder: Path) -> bool:
    """Tell whether `folder` is the root of a marketplace."""
    return (folder / MARKETPLACE_FILE).is_file()


def read_marketplace(root: Path, report: Report) -> Marketplace:
    """Read the marketplace at `root` and find every plugin's components, reporting what is wrong
    with `path:line:col`; SiteError when the manifest cannot be read as JSON at all."""
    root = root.resolve()
    manifest_path = root / MARKETPLACE_FILE
    document = read_json(manifest_path)
    data = document.value
    if not isinstance(data, dict):
        raise SiteError(manifest_path, 1, "a marketplace.json holds an object: {\"name\": ..., \"plugins\": [...]}")
    entries = data.get("plugins")
    if not isinstance(entries, list):
        report.add(document.finding("plugins", "error", "no 'plugins' list: add \"plugins\": [{\"name\": ..., "
                                    "\"source\": \"./plugins/...\"}]", "marketplace-plugins"))
        entries = []
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    plugin_root = _text(metadata.get("pluginRoot"))
    plugins: list[Plugin] = []
    folders: dict[str, str] = {}  # the plugin that has each folder of pages, by folder
    for number, entry in enumerate(entries):
        plugin = _read_entry(root, plugin_root, entry, document, number, report)
        if plugin is None:
            continue
        folder = plugin_folder_name(plugin.name)
        if folder in folders:
            report.add(document.finding_at_item("plugins", number, "error", f"plugin '{plugin.name}' would have the "
                                                f"pages of plugin '{folders[folder]}': give it a name of its own",
                                                "plugin-name-repeated"))
            continue
        folders[folder] = plugin.name
        plugins.append(plugin)
    return Marketplace(root, manifest_path, _text(data.get("name")) or root.name, _person(data.get("owner")),
                       _text(metadata.get("description")) or _text(data.get("description")),
                       _text(metadata.get("version")) or _text(data.get("version")), tuple(plugins))


def _read_entry(
    root: Path, plugin_root: str, entry: object, document: JsonDocument, number: int, report: Report,
) -> Plugin | None:
    """Read one entry of `plugins[]`: its plugin's folder and manifest, or its metadata alone when
    it is kept elsewhere."""
    if not isinstance(entry, dict):
        report.add(document.finding_at_item("plugins", number, "error", "each plugin is an object with a "
                                            "'name' and a 'source'", "marketplace-plugins"))
        return None
    name = _text(entry.get("name"))
    if not name:
        report.add(document.finding_at_item("plugins", number, "error", "this plugin has no 'name': "
                                            "add one, in kebab-case", "plugin-name"))
        return None
    source = entry.get("source")
    if isinstance(source, dict):
        return _plugin_kept_elsewhere(name, source, entry)
    if not isinstance(source, str):
        report.add(document.finding_at_item("plugins", number, "error", f"plugin '{name}' has no 'source': write "
                                            "\"./plugins/<name>\", or an object such as {\"source\": \"github\", "
                                            "\"repo\": \"owner/repo\"}", "plugin-source"))
        return None
    folder = _inside(root, root / plugin_root / source if plugin_root and not source.startswith("./")
                     else root / source)
    if folder is None or not folder.is_dir():
        report.add(document.finding_of_value(source, "error", f"plugin '{name}': its source '{source}' is not a "
                                             "folder of this repository", "plugin-source"))
        return None
    manifest = folder / PLUGIN_FILE
    declared: dict[str, Any] = {}
    declarations: list[tuple[JsonDocument, dict[str, Any]]] = [(document, entry)]
    if _file_inside(folder, manifest):
        plugin_document = read_json(manifest, report)
        declared = plugin_document.value if isinstance(plugin_document.value, dict) else {}
        declarations.insert(0, (plugin_document, declared))
    else:
        manifest = None  # type: ignore[assignment]
    return _plugin(name, folder, source, {**entry, **declared}, declarations, manifest, report=report)


def _plugin_kept_elsewhere(name: str, source: object, entry: dict[str, Any]) -> Plugin:
    """Return a plugin whose source is a repository or an address, with what its entry says."""
    described = source if isinstance(source, dict) else {}
    kind = _text(described.get("source"))
    url = _text(described.get("url"))
    repo = _text(described.get("repo"))
    if repo and not url:
        url = f"https://github.com/{repo}" if kind == "github" else ""
    text = " ".join(part for part in (kind, repo or url, _text(described.get("path"))) if part)
    return _plugin(name, None, text or "another repository", entry, [], None, url if _is_web_address(url) else "")


def _plugin(
    name: str, folder: Path | None, source: str, fields: dict[str, Any],
    declarations: list[tuple[JsonDocument, dict[str, Any]]], manifest: Path | None, source_url: str = "",
    report: Report | None = None,
) -> Plugin:
    """Return a plugin from its merged fields (plugin.json over the marketplace entry), finding its
    components in the default folders and in the paths each declaration (a manifest and its
    fields) names; a declared path that is not there is reported."""
    keywords = fields.get("keywords")
    components = _components(folder, declarations, report or Report()) if folder is not None else {}
    readme = folder / "README.md" if folder is not None and _file_inside(folder, folder / "README.md") else None
    return Plugin(
        name=name, folder=folder, source=source, source_url=source_url,
        description=_text(fields.get("description")), version=_text(fields.get("version")),
        author=_person(fields.get("author")), homepage=_web_text(fields.get("homepage")),
        repository=_web_text(fields.get("repository")), license=_text(fields.get("license")),
        keywords=tuple(_text(word) for word in keywords if _text(word)) if isinstance(keywords, list) else (),
        category=_text(fields.get("category")), readme=readme, manifest=manifest, **components,
    )


def _components(
    folder: Path, declarations: list[tuple[JsonDocument, dict[str, Any]]], report: Report,
) -> dict[str, Any]:
    """Find a plugin's components: the default folders first, then the declared paths, each once."""
    agents = _markdown_files(folder / "agents", folder)
    commands = _markdown_files(folder / "commands", folder)
    skills = _skills_in(folder / "skills", folder)
    hooks = [folder / HOOKS_FILE] if _file_inside(folder, folder / HOOKS_FILE) else []
    mcp_files = [folder / MCP_FILE] if _file_inside(folder, folder / MCP_FILE) else []
    inline_hooks: list[tuple[Path, Any]] = []
    inline_mcp: list[tuple[Path, Any]] = []
    manifest = folder / PLUGIN_FILE
    for document, declared in declarations:
        found = functools.partial(_declared_paths, folder, document=document, report=report)
        for path in found(declared.get("agents")):
            agents += [path] if path.is_file() else _markdown_files(path, folder)
        for path in found(declared.get("commands")):
            commands += [path] if path.is_file() else _markdown_files(path, folder)
        for path in found(declared.get("skills")):
            skills += [path / SKILL_FILE] if _file_inside(folder, path / SKILL_FILE) else _skills_in(path, folder)
        hooks_value = declared.get("hooks")
        if isinstance(hooks_value, dict):
            inline_hooks.append((manifest, hooks_value))
        else:
            hooks += [path for path in found(hooks_value) if path.is_file()]
        mcp_value = declared.get("mcpServers")
        if isinstance(mcp_value, dict):
            inline_mcp.append((manifest, mcp_value))
        else:
            mcp_files += [path for path in found(mcp_value) if path.is_file()]
    return {
        "agents": _once(agents), "commands": _once(commands), "skills": _once(skills), "hooks": _once(hooks),
        "mcp_files": _once(mcp_files), "inline_hooks": tuple(inline_hooks), "inline_mcp": tuple(inline_mcp),
    }


def _declared_paths(folder: Path, value: object, document: JsonDocument, report: Report) -> Iterator[Path]:
    """Yield each path a manifest names (a text or a list of texts) when it is there, inside the
    plugin's folder; report any other where the manifest names it."""
    for text in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
        if not isinstance(text, str) or not text.strip():
            continue
        path = _inside(folder, folder / text.strip())
        if path is not None and path.exists():
            yield path
            continue
        why = "is not there" if path is not None else "leads out of the plugin's folder, so it is not read"
        report.add(document.finding_of_value(text, "warning", f"'{text.strip()}' {why}: name a file or folder "
                                             "of the plugin, relative to it (\"./agents/x.md\")", "plugin-path"))


def _markdown_files(folder: Path, root: Path) -> list[Path]:
    """List the Markdown files below `folder`, sorted, skipping hidden names and anything that
    leads out of `root` (the plugin's folder)."""
    if not folder.is_dir() or _inside(root, folder) is None:
        return []
    found = []
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".")
                            and not os.path.islink(os.path.join(current, name)))
        for name in sorted(files):
            path = Path(current, name)
            if name.endswith(".md") and not name.startswith(".") and name.lower() not in SKIPPED_NAMES \
                    and _file_inside(root, path):
                found.append(path)
    return found


def _skills_in(folder: Path, root: Path) -> list[Path]:
    """List the SKILL.md of each skill folder directly below `folder`, inside `root`."""
    if not folder.is_dir() or _inside(root, folder) is None:
        return []
    return [folder / name / SKILL_FILE for name in sorted(os.listdir(folder))
            if not name.startswith(".") and _inside(root, folder / name) is not None
            and _file_inside(root, folder / name / SKILL_FILE)]


def _inside(root: Path, path: Path) -> Path | None:
    """Return `path` when it lies inside `root` (through links, resolved), else None.

    A path written below `root` with no link on the way is inside as it is: a look at each
    part below `root`, not the whole path resolved (a marketplace has thousands of files).
    """
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = None
    try:
        if parts is not None and ".." not in parts and not _link_on_the_way(str(root), parts):
            return path
        resolved = path.resolve()
        return resolved if resolved.is_relative_to(_real_path(str(root))) else None
    except (OSError, RuntimeError, ValueError):  # a loop of links, or a NUL in a manifest's path
        return None


def _link_on_the_way(root: str, parts: tuple[str, ...]) -> bool:
    current = root
    for part in parts:
        current = os.path.join(current, part)
        if os.path.islink(current):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _real_path(folder: str) -> Path:
    return Path(folder).resolve()


def _file_inside(root: Path, path: Path) -> bool:
    """Tell whether `path` is a regular file (not a FIFO or a device) whose links stay inside `root`."""
    try:
        return _inside(root, path) is not None and path.is_file()
    except (OSError, ValueError):
        return False


def _once(paths: list[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(paths))


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _is_web_address(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def _web_text(value: object) -> str:
    """Return an address a page may link to: http(s) only, else ""."""
    if isinstance(value, dict):  # npm's form: {"type": "git", "url": ...}
        value = value.get("url")
    text = _text(value)
    return text if _is_web_address(text) else ""


def _person(value: object) -> Person:
    if isinstance(value, str):
        return Person(name=value.strip())
    if not isinstance(value, dict):
        return Person()
    return Person(_text(value.get("name")), _text(value.get("email")), _web_text(value.get("url")))


# -- JSON with positions ----------------------------------------------------------------------


@dataclass(frozen=True)
class JsonDocument:
    """A JSON file as read: its value, and its text to say where a finding is."""

    path: Path
    text: str
    value: Any
    _items: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)
    """Where each item of a list starts, by the list's key, found once."""

    def finding(self, key: str, severity: str, message: str, rule: str) -> Finding:
        """A finding at the first `"key":` of the file (its first line if there is none)."""
        return self._finding_at(_key_position(self.text, key), severity, message, rule)

    def finding_at_item(self, key: str, number: int, severity: str, message: str, rule: str) -> Finding:
        """A finding at the `number`th item of the list under `key`."""
        if key not in self._items:
            self._items[key] = _item_positions(self.text, key)
        offsets = self._items[key]
        offset = offsets[number] if number < len(offsets) else _key_position(self.text, key)
        return self._finding_at(offset, severity, message, rule)

    def finding_of_value(self, value: str, severity: str, message: str, rule: str) -> Finding:
        """A finding at the first place the text `value` is written as a JSON string."""
        offset = self.text.find(json.dumps(value))
        if offset < 0:
            offset = self.text.find(json.dumps(value, ensure_ascii=False))
        return self._finding_at(max(offset, 0), severity, message, rule)

    def _finding_at(self, offset: int, severity: str, message: str, rule: str) -> Finding:
        line, column = line_and_column(self.text, offset)
        return Finding(self.path, line, severity, message, rule, column)  # type: ignore[arg-type]


def read_json(path: Path, report: Report | None = None) -> JsonDocument:
    """Read a JSON file. Unreadable or invalid, it is a SiteError naming line and column, or with
    `report`, an error added there and an empty object."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_MANIFEST_SIZE + 1)
        if len(data) > MAX_MANIFEST_SIZE:
            raise ValueError(f"larger than {MAX_MANIFEST_SIZE:,} bytes")
        text = data.decode("utf-8-sig")
        return JsonDocument(path, text, json.loads(text))
    except json.JSONDecodeError as error:
        problem: tuple[int, int, str] = (error.lineno, error.colno, f"not valid JSON: {error.msg}")
    except (OSError, ValueError) as error:  # unreadable, too large, or not UTF-8
        problem = (1, 1, f"cannot be read: {error}")
    except RecursionError:
        problem = (1, 1, "not valid JSON here: it nests deeper than a JSON reader goes; flatten it")
    line, column, message = problem
    if report is None:
        raise FileError(path, line, message, column, "invalid-json")
    report.add(Finding(path, line, "error", message, "invalid-json", column))
    return JsonDocument(path, "", {})


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based line and column of a character offset into `text`."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _key_position(text: str, key: str) -> int:
    match = re.search(r'"' + re.escape(key) + r'"\s*:', text)
    return match.start() if match else 0


def _item_positions(text: str, key: str) -> list[int]:
    """Return the offset of each value of the list under `key`, in one pass (none if not found)."""
    start = _key_position(text, key)
    positions: list[int] = []
    try:
        decoder = json.JSONDecoder()
        offset = text.index("[", start) + 1
        while True:
            while text[offset] in " \t\r\n,":
                offset += 1
            if text[offset] == "]":
                return positions
            positions.append(offset)
            _, offset = decoder.raw_decode(text, offset)
    except (ValueError, IndexError, RecursionError):
        return positions
