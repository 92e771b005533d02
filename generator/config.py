"""SiteConfig: where to read and write, and the optional `agentpages.yml` settings."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.catalog.load import DEFAULT_MAX_FILE_SIZE
from generator.catalog.marketplace import (
    MARKETPLACE_FILE,
    PLUGIN_FILE,
    is_marketplace,
    read_json,
)
from generator.catalog.selection import Selection, compile_patterns
from generator.catalog.tools import RUNTIME_TOOLS, LintSettings
from generator.errors import ConfigError, SiteError, UsageError, type_name
from generator.strings import LANGUAGE_TAG, Text, check_translation

CONFIG_NAME = "agentpages.yml"
DEFAULT_TITLE = "Agent catalog"

# PyYAML is imported where a file is read: a catalog without one builds without it (a tenth of
# the start of a build with nothing changed).
if TYPE_CHECKING:
    import yaml

# Every key the config file may hold, with the type its value must have.
CONFIG_KEYS: dict[str, type] = {
    "title": str,
    "description": str,
    "site_url": str,
    "repo_url": str,
    "edit_uri": str,
    "theme_dir": str,
    "cname": str,
    "max_file_size": int,
    "known_tools": list,
    "extra_tools": list,
    "include": list,
    "exclude": list,
    "allowed_hosts": list,
    "extra_css": list,
    "extra_js": list,
    "csp_origins": list,
    "categories": list,
    "lang": str,
    "strings": dict,  # or the name of a file holding one (see _strings)
}
_LIST_OF_TEXT_KEYS = ("known_tools", "extra_tools", "categories")
_PATTERN_KEYS = ("include", "exclude")
_URL_KEYS = ("site_url", "repo_url")
_ASSET_SUFFIXES = {"extra_css": ".css", "extra_js": ".js"}
_ORIGIN = re.compile(r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$")
_HOST_NAME = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
SITE_URL_VARIABLE = "AGENTPAGES_SITE_URL"
"""The environment variable that sets `site_url` for one build, as the Pages workflow does."""


@dataclass(frozen=True)
class SiteConfig:
    """Everything a build needs to know, resolved to absolute paths."""

    agents_dir: Path
    out_dir: Path
    config_path: Path | None = None
    title: str = DEFAULT_TITLE
    description: str = ""
    site_url: str = ""
    """The published address, e.g. https://user.github.io/repo/; "" when unknown."""
    cname: str = ""
    """A custom domain for GitHub Pages, written to the site's CNAME file."""
    repo_url: str = ""
    edit_uri: str = ""
    theme_dir: Path | None = None
    """A catalog's own templates, which override the built-in ones by file name."""
    strict: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    """Agent files larger than this many bytes are skipped with an error."""
    known_tools: list[str] = field(default_factory=lambda: list(RUNTIME_TOOLS))
    """The tools `check` accepts; replaces the runtime's list."""
    extra_tools: list[str] = field(default_factory=list)
    """Tools `check` accepts besides `known_tools`."""
    include: tuple[str, ...] = ()
    """Gitignore-style patterns, relative to `agents_dir`: when given, only the component files they match are read."""
    exclude: tuple[str, ...] = ()
    """Gitignore-style patterns, relative to `agents_dir`, of files never read."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names `serve` answers besides localhost and IP addresses (a DNS-rebinding guard)."""
    extra_css: tuple[Path, ...] = ()
    """Stylesheets of the catalog that every page links after the theme's, published in `assets/extra/`."""
    extra_js: tuple[Path, ...] = ()
    """Scripts of the catalog that every page runs after the theme's, published in `assets/extra/`."""
    categories: tuple[str, ...] = ()
    """The categories the index shows first, in this order; the others follow, A to Z."""
    csp_origins: tuple[str, ...] = ()
    """Origins (`https://host`) the Content-Security-Policy lets scripts, fetches and images come
    from besides the site itself: an analytics service's, for one."""
    lang: str = "en"
    """The pages' language (`<html lang>`), a BCP 47 tag such as `fr` or `pt-BR`."""
    strings: dict[str, Text] = field(default_factory=dict)
    """The catalog's translation of the theme's words, by key (see templates/strings.yml)."""
    strings_file: Path | None = None
    """The file `strings` was read from, when the config names one (serve watches it)."""
    marketplace: str = ""
    """The marketplace's name when the catalog is one (`agents_dir` is its root), else ""."""
    install_source: str = ""
    """What `/plugin marketplace add` takes to add this marketplace: `owner/repo` or an address ("" when unknown)."""

    @property
    def catalog_root(self) -> Path:
        """Return the folder that holds the config file, the theme and the catalog's repository:
        a marketplace's root, or the folder above the agents folder."""
        return self.agents_dir if self.marketplace else self.agents_dir.parent

    @functools.cached_property
    def selection(self) -> Selection:
        """Return which files of the catalog folder the site is made of, by `include` and `exclude`."""
        return Selection(self.agents_dir, self.include, self.exclude)

    @property
    def lint_settings(self) -> LintSettings:
        """Return what the rules need from the config."""
        return LintSettings(known_tools=frozenset([*self.known_tools, *self.extra_tools]))

    @property
    def edit_base(self) -> str:
        """Return the URL that an agent's path below `agents_dir` is appended to for editing."""
        if not self.repo_url:
            return ""
        edit_uri = self.edit_uri or ("edit/main/" if self.marketplace else f"edit/main/{self.agents_dir.name}/")
        return self.repo_url.rstrip("/") + "/" + edit_uri.lstrip("/")


def load_config(
    agents_dir: Path,
    out_dir: Path,
    config_path: Path | None = None,
    strict: bool = False,
    site_url: str | None = None,
) -> SiteConfig:
    """Read the config file (given, or `agentpages.yml` beside `agents_dir`) into a SiteConfig.

    `site_url`, when given and not empty, replaces the file's (the Pages workflow knows the
    address only at build time); a `cname` without a `site_url` implies https://<cname>/.
    """
    config = _read_config(agents_dir, out_dir, config_path, strict)
    if is_marketplace(config.agents_dir):
        manifest = read_marketplace_summary(config.agents_dir)
        config = replace(
            config, marketplace=manifest.name,
            install_source=install_source(config.repo_url, config.agents_dir, manifest.repositories),
            title=manifest.name if config.title == DEFAULT_TITLE else config.title,
            description=config.description or manifest.description)
    if site_url:
        if not site_url.startswith(("https://", "http://")):
            raise UsageError(None, 0, f"the site URL must start with https:// or http://, not '{site_url}'")
        config = replace(config, site_url=site_url)
    if config.cname and not config.site_url:
        config = replace(config, site_url=f"https://{config.cname}/")
    return config


def _read_config(agents_dir: Path, out_dir: Path, config_path: Path | None, strict: bool) -> SiteConfig:
    agents_dir = agents_dir.resolve()
    explicit = config_path is not None
    path = (config_path or catalog_root(agents_dir) / CONFIG_NAME).resolve()
    if not path.is_file():
        if explicit:
            raise ConfigError(path, 1, "config file not found")
        return SiteConfig(
            agents_dir=agents_dir,
            out_dir=out_dir.resolve(),
            theme_dir=_default_theme_dir(agents_dir),
            strict=strict,
        )
    settings = read_config_file(path)
    translation = settings.pop("strings", None)
    if translation is not None:
        settings.update(strings=translation.texts, strings_file=translation.file)
    theme = settings.pop("theme_dir", None)
    theme_dir = (path.parent / theme).resolve() if theme else _default_theme_dir(agents_dir)
    if theme and not theme_dir.is_dir():
        raise ConfigError(path, _line_of_key(path, "theme_dir"), f"theme_dir '{theme}' is not a folder")
    return SiteConfig(
        agents_dir=agents_dir,
        out_dir=out_dir.resolve(),
        config_path=path,
        theme_dir=theme_dir,
        strict=strict,
        **settings,
    )


def _construct(path: Path, node: yaml.Node) -> Any:
    """Turn a value's YAML node into Python data with the safe constructor (tags refused)."""
    import yaml

    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, node.start_mark.line + 1, f"invalid value: {problem}") from None


def catalog_root(agents_dir: Path) -> Path:
    """Return the folder the config file sits in: a marketplace's root, else the agents folder's parent."""
    return agents_dir if is_marketplace(agents_dir) else agents_dir.parent


@dataclass(frozen=True)
class MarketplaceSummary:
    """What the site's settings take from a marketplace's manifest."""

    name: str
    description: str
    repositories: tuple[str, ...]
    """The `repository` of each plugin entry (and its plugin.json) that names one."""


def read_marketplace_summary(root: Path) -> MarketplaceSummary:
    """Read the name, description and plugins' repositories of the marketplace at `root` (its
    folder's name when it has none); SiteError with line and column when its manifest is not JSON."""
    data = read_json(root / MARKETPLACE_FILE).value
    data = data if isinstance(data, dict) else {}
    name = data.get("name")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    description = metadata.get("description") or data.get("description")
    repositories = []
    for entry in data.get("plugins") if isinstance(data.get("plugins"), list) else []:
        if isinstance(entry, dict):
            repositories += [_repository_of(entry), _repository_of(_plugin_manifest(root, entry.get("source")))]
    return MarketplaceSummary(name.strip() if isinstance(name, str) and name.strip() else root.name,
                              description.strip() if isinstance(description, str) else "",
                              tuple(repository for repository in repositories if repository))


def _repository_of(fields: dict[str, Any]) -> str:
    value = fields.get("repository")
    value = value.get("url") if isinstance(value, dict) else value
    return value.strip() if isinstance(value, str) else ""


def _plugin_manifest(root: Path, source: object) -> dict[str, Any]:
    """Return a plugin's plugin.json as data, {} when it has none inside the repository or it is not JSON."""
    if not isinstance(source, str):
        return {}
    path = root / source / PLUGIN_FILE
    try:
        if not path.resolve().is_relative_to(root.resolve()) or not path.is_file():
            return {}
        data = read_json(path).value
    except (SiteError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_GITHUB_REMOTE = re.compile(r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
                            r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_REMOTE_URL = re.compile(r'^\s*\[remote "origin"\]\s*$(?P<body>(?:\n(?!\s*\[).*)*)', re.MULTILINE)


def install_source(repo_url: str, root: Path, repositories: tuple[str, ...] = ()) -> str:
    """Return what `/plugin marketplace add` takes for this repository: `owner/repo` for GitHub
    (from `repo_url`, else the git remote `origin`, else the one repository every plugin that
    names one names), else `repo_url`, else ""."""
    agreed = repositories[0] if repositories and len(set(repositories)) == 1 else ""
    for url in (repo_url, _origin_url(root), agreed):
        match = _GITHUB_REMOTE.match(url.strip())
        if match:
            return match.group("repo")
    return repo_url


def _origin_url(root: Path) -> str:
    """Return the address of the remote `origin` in the repository's `.git/config`, or ""."""
    try:
        text = (root / ".git" / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    section = _REMOTE_URL.search(text)
    url = re.search(r"^\s*url\s*=\s*(\S+)\s*$", section.group("body"), re.MULTILINE) if section else None
    return url.group(1) if url else ""


def _default_theme_dir(agents_dir: Path) -> Path | None:
    candidate = catalog_root(agents_dir) / "templates"
    return candidate if candidate.is_dir() else None


def _line_of_key(path: Path, key: str) -> int:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return next((number for number, line in enumerate(lines, 1) if line.startswith(f"{key}:")), 1)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse and validate a config file, naming the key and line of any problem."""
    import yaml

    root = _compose_file(path, "config file")
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(path, root.start_mark.line + 1, "the config must be a mapping of keys to values")
    settings: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key, value = _read_setting(path, key_node, value_node)
        if key in settings:
            raise ConfigError(path, key_node.start_mark.line + 1, f"'{key}' is set twice")
        settings[key] = value
    return {key: value for key, value in settings.items() if value is not None}


def _compose_file(path: Path, what: str) -> yaml.Node | None:
    """Read a YAML file into its node tree (None when empty); ConfigError with the line of a mistake."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, 1, f"cannot read {what}: {exc}") from None
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ConfigError(path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None


def _patterns(path: Path, line: int, key: str, value: list[Any]) -> tuple[str, ...]:
    """Return a list of gitignore-style patterns as given, each checked; ConfigError naming the bad one."""
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(path, line, f"'{key}' must be a list of patterns such as 'docs/' or '*.draft.md'")
    for item in value:
        try:
            compile_patterns([item]).match_file("probe")  # pathspec may compile its regex only when matching
        except (ValueError, re.error):
            raise ConfigError(path, line, f"'{key}' holds '{item}', which is no gitignore pattern") from None
    return tuple(value)


def _asset_files(path: Path, line: int, key: str, value: list[Any]) -> tuple[Path, ...]:
    """Return `extra_css` or `extra_js` as files below the config file's folder, each checked."""
    suffix, folder = _ASSET_SUFFIXES[key], path.parent.resolve()
    files: list[Path] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(path, line, f"'{key}' must be a list of {suffix} files of the catalog")
        file = (folder / item).resolve()
        if not file.is_relative_to(folder) or not file.is_file():
            raise ConfigError(path, line, f"'{key}' names '{item}', which is no file in the config file's folder")
        if file.suffix.lower() != suffix:
            raise ConfigError(path, line, f"'{key}' names '{item}': only {suffix} files go there")
        if any(other.name == file.name for other in files):
            raise ConfigError(path, line, f"'{key}' names two files called '{file.name}': they would share an address")
        files.append(file)
    return tuple(files)


def _read_setting(path: Path, key_node: yaml.Node, value_node: yaml.Node) -> tuple[str, Any]:
    import yaml

    line = key_node.start_mark.line + 1
    if not isinstance(key_node, yaml.ScalarNode):
        raise ConfigError(path, line, "keys must be plain names such as 'title'")
    key = key_node.value
    if key not in CONFIG_KEYS:
        known = ", ".join(sorted(CONFIG_KEYS))
        raise ConfigError(path, line, f"unknown key '{key}' (known keys: {known})")
    if key == "strings":
        return key, _strings(path, line, value_node)
    value = _construct(path, value_node)
    expected = CONFIG_KEYS[key]
    if value is None:
        return key, None
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(path, line, f"'{key}' must be a {type_name(expected)}, not a {type_name(value)}")
    if key in _LIST_OF_TEXT_KEYS and not all(isinstance(item, str) for item in value):
        raise ConfigError(path, line, f"'{key}' must be a list of {'category' if key == 'categories' else 'tool'} names")
    if key == "categories":
        return key, tuple(item.strip() for item in value)
    if key == "lang" and not LANGUAGE_TAG.fullmatch(value):
        raise ConfigError(path, line, f"'lang' must be a language tag such as 'en', 'fr' or 'pt-BR', not '{value}'")
    if key in _PATTERN_KEYS:
        return key, _patterns(path, line, key, value)
    if key in _ASSET_SUFFIXES:
        return key, _asset_files(path, line, key, value)
    if key == "csp_origins":
        if not all(isinstance(item, str) and _ORIGIN.match(item) for item in value):
            raise ConfigError(path, line, "'csp_origins' must be a list of origins such as https://plausible.io")
        return key, tuple(item.lower() for item in value)
    if key == "allowed_hosts":
        if not all(isinstance(item, str) and _HOST_NAME.match(item) for item in value):
            raise ConfigError(path, line, "'allowed_hosts' must be a list of host names such as preview.example.com")
        return key, tuple(item.lower() for item in value)
    if key == "max_file_size" and (isinstance(value, bool) or value < 1):
        raise ConfigError(path, line, "'max_file_size' must be a number of bytes above 0")
    if key in _URL_KEYS and value and not value.startswith(("https://", "http://")):
        raise ConfigError(path, line, f"'{key}' must start with https:// or http://")
    if key == "cname" and not _HOST_NAME.match(value):
        raise ConfigError(path, line, f"'cname' must be a host name such as agents.example.com, not '{value}'")
    return key, value


def _strings(path: Path, line: int, node: yaml.Node) -> Translation | None:
    """Return the `strings` setting checked: a mapping of the theme's keys to texts, written
    here or in the YAML file it names (relative to the config file's folder), and that file."""
    import yaml

    named = None
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":str"):
        file = (path.parent / node.value).resolve()
        if not file.is_relative_to(path.parent.resolve()) or not file.is_file():
            raise ConfigError(path, line, f"'strings' names '{node.value}', which is no file in the config file's folder")
        node = _compose_file(file, "strings file") or yaml.MappingNode("", [])
        path, line, named = file, 1, file
    value = _construct(path, node)
    if value is None:
        return None
    return Translation(check_translation(path, node, value), named)


@dataclass(frozen=True)
class Translation:
    """The `strings` setting as read: the texts, and the file they came from if not the config."""

    texts: dict[str, Text]
    file: Path | None


def builtin_templates_dir() -> Path:
    """Find the built-in templates: inside the installed package, or at the top of a checkout."""
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def template_dirs(config: SiteConfig) -> list[Path]:
    """Return the template folders in lookup order: the catalog's own first, then the built-in."""
    own = [config.theme_dir] if config.theme_dir and config.theme_dir.is_dir() else []
    return [*own, builtin_templates_dir()]
