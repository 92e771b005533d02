"""Jinja2 environment, page contexts, and render_* functions that return strings."""

from __future__ import annotations

import contextlib
import traceback
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import jinja2
from markupsafe import Markup

from generator import __version__
from generator.addresses import plugin_url, root_of
from generator.config import DEFAULT_TITLE, builtin_templates_dir, template_dirs
from generator.errors import SiteError, TemplateError
from generator.markdown.sanitize import CODE_CSS_CLASS, remove_control_characters
from generator.site.plan import plugin_slug
from generator.site.relations import NO_RELATIONS, PageRelations
from generator.strings import Strings

if TYPE_CHECKING:
    from generator.catalog.model import Agent, Catalog, PageLink
    from generator.config import SiteConfig

LIGHT_CODE_STYLE = "default"
DARK_CODE_STYLE = "monokai"


class SiteContext(TypedDict):
    """What every page knows about the site."""

    title: str
    description: str
    lang: str
    """The pages' language, as `<html lang>` takes it."""
    repo_url: str
    site_url: str
    """The published address with a trailing slash, or "" when not configured."""
    version: str
    marketplace: str
    """The marketplace's name when the catalog is one, else ""."""
    install_source: str
    """What `/plugin marketplace add` takes for this marketplace, or "" when unknown."""
    extra_css: list[str]
    """The catalog's own stylesheets, by path below the site root (see `extra_asset_path`)."""
    extra_js: list[str]
    """The catalog's own scripts, by path below the site root."""
    csp: str
    """The Content-Security-Policy every page carries."""
    strings: Strings
    """The theme's words in the catalog's language (templates show them through `t`)."""


class FilterOption(TypedDict):
    """One chip of a filter group on the index."""

    value: str
    label: str
    count: int


class FilterGroup(TypedDict):
    """A row of filter chips: color, model, category or tool."""

    key: str
    label: str
    options: list[FilterOption]


class IndexContext(TypedDict):
    """The keys `index.html` is rendered with."""

    site: SiteContext
    root: str
    catalog: Catalog
    filters: list[FilterGroup]
    cards: dict[str, Markup]
    """Each agent's card (`_partials/_card.html`) by slug."""
    sections: list[dict[str, Any]]
    """The sections of plugins, commands and skills: each a `title` and its `cards`."""
    kinds: list[tuple[str, int]]
    """How many components of each kind the catalog has, when it has more kinds than agents."""


class AgentContext(TypedDict):
    """The keys `agent.html` is rendered with."""

    site: SiteContext
    root: str
    agent: Agent
    previous: PageLink | None
    next: PageLink | None
    edit_url: str
    page_url: str
    """The page's absolute address when `site_url` is set, else ""."""
    plugin_url: str
    """The link to the page of the agent's plugin, in a marketplace; else ""."""
    raw_url: str
    """The agent file's address: absolute when `site_url` is set, else relative to the page."""
    relations: PageRelations
    """The components the agent names, and those that name it."""
    updated: str
    """The day the agent's file last changed, `YYYY-MM-DD` ("" when not known)."""


class PageContext(TypedDict):
    """The keys plain pages such as `404.html` are rendered with."""

    site: SiteContext
    root: str


MAX_TOOL_CHIPS = 15
CARD_TEMPLATE = "_partials/_card.html"


def make_environment(config: SiteConfig) -> jinja2.Environment:
    """Create the Jinja2 environment: autoescaping on, undefined names an error."""
    loader = jinja2.FileSystemLoader([str(path) for path in template_dirs(config)])
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["color_value"] = color_value
    env.globals["t"] = Strings.of(config.strings)
    env.globals["code"] = _code
    env.finalize = _without_control_characters
    return env


def _code(text: str) -> Markup:
    """Return `text` as inline code, for a translated sentence's placeholder."""
    return Markup("<code>{}</code>").format(text)


def render_script_strings(env: jinja2.Environment) -> str:
    """Render `assets/strings.js`: the words the theme's scripts show, in the catalog's language."""
    return strings_of(env).script()


def strings_of(env: jinja2.Environment) -> Strings:
    """Return the theme's words in the catalog's language, as the environment's templates show them."""
    strings = env.globals["t"]
    if not isinstance(strings, Strings):
        raise TypeError("the template environment has no strings (make it with make_environment)")
    return strings


def _without_control_characters(value: Any) -> Any:
    """Drop control characters (which YAML escapes can produce) from every value a page shows."""
    if not isinstance(value, str):
        return value
    cleaned = remove_control_characters(value)
    if cleaned == value:
        return value
    return Markup(cleaned) if isinstance(value, Markup) else cleaned


def make_site_context(config: SiteConfig) -> SiteContext:
    """Collect the site-wide values every template may use."""
    site_url = config.site_url.rstrip("/") + "/" if config.site_url else ""
    strings = Strings.of(config.strings)
    return SiteContext(
        title=strings.plain("default_title") if config.title == DEFAULT_TITLE else config.title,
        description=config.description,
        lang=config.lang,
        repo_url=config.repo_url,
        site_url=site_url,
        version=__version__,
        marketplace=config.marketplace,
        install_source=config.install_source,
        extra_css=[extra_asset_path(file) for file in config.extra_css],
        extra_js=[extra_asset_path(file) for file in config.extra_js],
        csp=content_security_policy(config.csp_origins),
        strings=strings,
    )


EXTRA_ASSETS = "assets/extra"


def extra_asset_path(file: Path) -> str:
    """Return where a catalog's own stylesheet or script is published, below the site root."""
    return f"{EXTRA_ASSETS}/{file.name}"


def content_security_policy(origins: tuple[str, ...] = ()) -> str:
    """Return the policy every page carries: everything from the site itself only, no inline
    script, style or handler, no WebAssembly or eval; scripts, fetches and images may also come
    from `origins` (the config's `csp_origins`, for an analytics service)."""
    extra = "".join(f" {origin}" for origin in origins)
    return (f"default-src 'self'; script-src 'self'{extra}; style-src 'self'; img-src 'self'{extra}; "
            f"connect-src 'self'{extra}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'")


KIND_TITLES = {"agent": "Agents", "plugin": "Plugins", "command": "Commands", "skill": "Skills"}
"""The value the index's scripts filter component cards by (`data-category`), never shown: the
words shown are the strings `kind_agents`, `kind_plugins`…"""


@dataclass(frozen=True)
class IndexEntry:
    """A plugin, command or skill as the index lists it."""

    kind: str
    slug: str
    name: str
    url: str
    """Its page's path below the site root."""
    summary: str
    plugin: str
    """The name of its plugin ("" outside a marketplace); a plugin's own name for a plugin."""

    @property
    def section(self) -> str:
        """The heading of the index section it is listed under."""
        return KIND_TITLES[self.kind]


@dataclass(frozen=True)
class IndexSection:
    """A section of the index holding one kind of component, its cards rendered."""

    title: str
    cards: tuple[str, ...]


def render_index_sections(env: jinja2.Environment, entries: list[IndexEntry]) -> list[IndexSection]:
    """Render the cards of the plugins, commands and skills, a section for each kind that has any."""
    sections = []
    for kind in ("plugin", "command", "skill"):
        cards = tuple(render_template(env, "_partials/_component_card.html", {"entry": entry}).strip()
                      for entry in entries if entry.kind == kind)
        if cards:
            sections.append(IndexSection(strings_of(env).plain(f"kind_{kind}s"), cards))
    return sections


def render_index(
    env: jinja2.Environment, site: SiteContext, catalog: Catalog, cards: Mapping[str, str],
    components: Sequence[IndexEntry] = (),
) -> Iterator[str]:
    """Render the catalog's index page from every agent's card, by slug (see `render_card`), and
    the cards of the plugins, commands and skills (`components`), in parts as they are made:
    at 20,000 agents the page is 16 MB."""
    sections = [{"title": section.title, "cards": [Markup(card) for card in section.cards]}
                for section in render_index_sections(env, list(components))]
    filters = make_filter_groups(catalog, components, strings_of(env))
    context = IndexContext(site=site, root="", catalog=catalog, filters=filters,
                           cards={slug: Markup(card) for slug, card in cards.items()}, sections=sections,
                           kinds=_kind_counts(catalog, components))
    return render_template_parts(env, "index.html", dict(context))


def _kind_counts(catalog: Catalog, components: Sequence[IndexEntry]) -> list[tuple[str, int]]:
    """Count the components of each kind, agents first; empty for a catalog of agents alone."""
    if not components:
        return []
    counts = Counter(entry.kind for entry in components)
    kinds = [("agent", len(catalog.agents)), *((kind, counts[kind]) for kind in ("plugin", "command", "skill"))]
    return [(kind, count) for kind, count in kinds if count]


def index_is_builtin(env: jinja2.Environment) -> bool:
    """Tell whether the index page is rendered by the built-in templates alone, which show each
    agent by its card, once (a catalog's own `index.html` or `base.html` may show it otherwise)."""
    assert env.loader is not None
    builtin = builtin_templates_dir().resolve()
    for name in ("index.html", "base.html"):
        _, filename, _ = env.loader.get_source(env, name)
        if filename is None or Path(filename).resolve().parent != builtin:
            return False
    return True


def render_card(env: jinja2.Environment, agent: Agent) -> str:
    """Render an agent's card on the index."""
    return render_template(env, CARD_TEMPLATE, {"agent": agent}, subject=agent.path).removesuffix("\n")


def render_not_found(env: jinja2.Environment, site: SiteContext) -> str:
    """Render `404.html`, which a host serves at any missing address, however deep.

    Its links therefore start at the path of `site_url`, or at the host's root without one:
    right for a user site, a custom domain and `serve`; a project page needs `site_url`.
    """
    root = urllib.parse.urlsplit(site["site_url"]).path if site["site_url"] else "/"
    return render_template(env, "404.html", dict(PageContext(site=site, root=root)))


def make_filter_groups(
    catalog: Catalog, components: Sequence[IndexEntry] = (), strings: Strings | None = None,
) -> list[FilterGroup]:
    """Count the agents by color, model, category and tool for the index's filter chips, and
    every component by kind and plugin when there are more kinds than agents; labelled in the
    catalog's language (`strings`, English without)."""
    words = (strings or Strings.of({})).plain
    colors: Counter[str] = Counter()
    models: Counter[str] = Counter()
    tools: Counter[str] = Counter()
    for agent in catalog.agents:
        color, model, agent_tools = filter_values(agent)
        colors[color] += 1
        models[model] += 1
        tools.update(agent_tools)
    groups = [
        FilterGroup(key="color", label=words("filter_color"), options=_options(dict(colors), {"neutral": words("no_color")})),
        FilterGroup(key="model", label=words("filter_model"),
                    options=_options(dict(models), {"default": words("default_model")})),
        FilterGroup(key="category", label=words("filter_category"),
                    options=[FilterOption(value=c.name or "Uncategorized", label=c.name or words("uncategorized"),
                                          count=len(c.agents)) for c in catalog.categories]),
        FilterGroup(key="tool", label=words("filter_tools"),
                    options=_options(dict(tools.most_common(MAX_TOOL_CHIPS)),
                                     {"all tools": words("all_tools"), "no tools": words("no_tools")})),
    ]
    if components:
        kinds = Counter({"agent": len(catalog.agents)}) + Counter(entry.kind for entry in components)
        plugins = Counter(agent.plugin for agent in catalog.agents if agent.plugin)
        plugins.update(entry.plugin for entry in components if entry.plugin)
        groups[:0] = [FilterGroup(key="kind", label=words("filter_kind"), options=[
            FilterOption(value=kind, label=words(f"kind_{kind}s"), count=kinds[kind]) for kind in KIND_TITLES
            if kinds[kind]])]
        groups.append(FilterGroup(key="plugin", label=words("filter_plugin"), options=_options(dict(plugins), {})))
    return [group for group in groups if len(group["options"]) > 1]


def filter_values(agent: Agent) -> tuple[str, str, tuple[str, ...]]:
    """Return what the index's filters count an agent by: its color, its model and its tools."""
    tools = ("all tools",) if agent.tools is None else tuple(agent.tools) or ("no tools",)
    return color_value(agent), agent.model or "default", tools


def color_value(agent: Agent) -> str:
    """Return what the color filter matches an agent by: its tone, or its hex value."""
    return agent.color.hex if agent.color.tone == "hex" else agent.color.tone


def _options(counts: dict[str, int], labels: Mapping[str, str]) -> list[FilterOption]:
    """Return a group's chips, largest first; `labels` names the values that are words of ours."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    return [FilterOption(value=value, label=labels.get(value, value), count=count) for value, count in ordered]


def render_agent_page(
    env: jinja2.Environment,
    site: SiteContext,
    agent: Agent,
    neighbours: tuple[PageLink | None, PageLink | None],
    edit_base: str,
    relations: PageRelations = NO_RELATIONS,
    updated: str = "",
) -> str:
    """Render one agent's page, linking the agents before and after it and the components it
    names or is named by; `updated` is the day its file last changed (`YYYY-MM-DD`)."""
    previous, following = neighbours
    base = site["site_url"]
    root = root_of(agent.url)
    context = AgentContext(
        site=site,
        root=root,
        agent=agent,
        previous=previous,
        next=following,
        edit_url=edit_base + str(agent.rel_path) if edit_base else "",
        page_url=base + agent.url.removesuffix("index.html") if base else "",
        raw_url=base + agent.raw_url if base else root + agent.raw_url,
        plugin_url=f"{root}{plugin_url(plugin_slug(agent.plugin))}" if agent.plugin else "",
        relations=relations,
        updated=updated,
    )
    return render_template(env, "agent.html", dict(context), subject=agent.path)


def render_template(
    env: jinja2.Environment, name: str, context: dict[str, Any], subject: Path | None = None
) -> str:
    """Render a template, turning any Jinja2 failure into an error naming template and line."""
    with _template_errors(name, subject):
        return env.get_template(name).render(context)


@contextlib.contextmanager
def _template_errors(name: str, subject: Path | None) -> Iterator[None]:
    """Turn any Jinja2 failure inside into a TemplateError naming the template file and line."""
    try:
        yield
    except SiteError:
        raise  # ours, raised from below a template: it names its own file
    except jinja2.TemplateSyntaxError as exc:
        path = Path(exc.filename) if exc.filename else Path(name)
        raise TemplateError(path, exc.lineno or 1, f"template syntax error: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        path, line = _template_frame(exc, name)
        raise TemplateError(path, line, f"template not found: {exc.name}") from exc
    except Exception as exc:  # a template may raise anything while rendering
        path, line = _template_frame(exc, name)
        about = f" while rendering {subject}" if subject else ""
        raise TemplateError(path, line, f"{type(exc).__name__}: {exc}{about}") from exc


PART_CHARACTERS = 1 << 16
"""About how much of a page `render_template_parts` gathers before it hands a part on."""


def render_template_parts(
    env: jinja2.Environment, name: str, context: dict[str, Any], subject: Path | None = None
) -> Iterator[str]:
    """Render a template as `render_template` does, yielding the page in parts of about
    PART_CHARACTERS as they are made, not whole. A failure is raised while the parts are taken."""
    with _template_errors(name, subject):
        buffered: list[str] = []
        size = 0
        for piece in env.get_template(name).generate(context):
            buffered.append(piece)
            size += len(piece)
            if size >= PART_CHARACTERS:
                yield "".join(buffered)
                buffered, size = [], 0
        if buffered:
            yield "".join(buffered)


def _template_frame(exc: BaseException, name: str) -> tuple[Path, int]:
    """Find the innermost template file and line in a rendering traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".html"):
            return Path(frame.filename), frame.lineno or 1
    return Path(name), 1


def render_code_css() -> str:
    """Return Pygments rules for code in a light style, and a dark one for the system setting or toggle."""
    # Imported here: most builds keep pygments.css as it is.
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style=LIGHT_CODE_STYLE).get_style_defs(f".{CODE_CSS_CLASS}")
    chosen_dark = HtmlFormatter(style=DARK_CODE_STYLE).get_style_defs(f':root[data-theme="dark"] .{CODE_CSS_CLASS}')
    system_dark = HtmlFormatter(style=DARK_CODE_STYLE).get_style_defs(
        f':root:not([data-theme="light"]) .{CODE_CSS_CLASS}'
    )
    system_indented = "\n".join("  " + line for line in system_dark.splitlines())
    return f"{light}\n\n@media (prefers-color-scheme: dark) {{\n{system_indented}\n}}\n\n{chosen_dark}\n"


def render_color_css(catalog: Catalog) -> str:
    """Return one rule per hex badge color, so pages need no inline styles (CSP-friendly)."""
    rules = []
    for value in sorted({a.color.hex for a in catalog.agents if a.color.tone == "hex"}):
        text = "#000000" if _relative_luminance(value) > 0.179 else "#ffffff"
        rules.append(f".badge-hex-{value[1:]} {{ --badge-bg: {value}; --badge-fg: {text}; }}")
    return "\n".join(rules) + "\n"


def _relative_luminance(hex_color: str) -> float:
    """WCAG relative luminance of a #rrggbb color."""
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
