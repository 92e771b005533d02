"""The typed model of a catalog: Agent, Example, Turn, Catalog, and their pure rules.

Section, the heading tree of a body, is Markdown's (markdown/markup.py); it is named here too.
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar

from generator.addresses import file_name, page_url, raw_file_url
from generator.errors import type_name
from generator.markdown.headings import Section

Role = Literal["user", "assistant"]
Made = TypeVar("Made")

# The runtime's named colors, and common CSS names mapped to the nearest of them.
NAMED_COLORS = (
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "magenta", "gray",
)  # fmt: skip
COLOR_ALIASES = {
    "grey": "gray", "silver": "gray", "slate": "gray", "black": "gray", "white": "gray",
    "gainsboro": "gray", "charcoal": "gray", "slategray": "gray", "slategrey": "gray",
    "gold": "yellow", "amber": "yellow", "khaki": "yellow", "goldenrod": "yellow",
    "lemonchiffon": "yellow", "beige": "yellow", "ivory": "yellow",
    "teal": "cyan", "aqua": "cyan", "turquoise": "cyan", "sky": "cyan", "aquamarine": "cyan",
    "seagreen": "cyan", "cadetblue": "cyan",
    "navy": "blue", "azure": "blue", "royalblue": "blue", "skyblue": "blue", "steelblue": "blue",
    "dodgerblue": "blue", "cornflowerblue": "blue", "midnightblue": "blue", "powderblue": "blue",
    "indigo": "purple", "violet": "purple", "lavender": "purple", "plum": "purple",
    "blueviolet": "purple", "rebeccapurple": "purple", "slateblue": "purple", "thistle": "purple",
    "fuchsia": "magenta", "orchid": "magenta",
    "rose": "pink", "salmon": "pink", "hotpink": "pink", "deeppink": "pink", "violetred": "pink",
    "crimson": "red", "maroon": "red", "scarlet": "red", "firebrick": "red", "indianred": "red",
    "coral": "orange", "brown": "orange", "tomato": "orange", "orangered": "orange", "sienna": "orange",
    "chocolate": "orange", "peru": "orange", "tan": "orange", "sandybrown": "orange",
    "lime": "green", "olive": "green", "emerald": "green", "mint": "green", "chartreuse": "green",
    "lawngreen": "green", "forestgreen": "green", "springgreen": "green", "olivedrab": "green",
    "limegreen": "green", "yellowgreen": "green",
}  # fmt: skip
# Shades of a color are that color: light-blue, dark_red, medium-sea-green, pale violet red.
_SHADE_PREFIX = re.compile(r"^(?:light|dark|pale|deep|medium|bright|lawn|hot|dim)")
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# Folder names that say nothing about an agent's category.
GENERIC_FOLDERS = frozenset({"agents", "plugins", "categories", "subagents"})


@dataclass(frozen=True)
class Turn:
    """One line of an example conversation."""

    role: Role
    text: str
    direction: str = ""
    """A stage direction such as "After creating the module", shown apart from the words."""


@dataclass(frozen=True)
class Example:
    """A usage example from an agent's description."""

    title: str = ""
    context: str = ""
    turns: tuple[Turn, ...] = ()
    commentary: str = ""


@dataclass(frozen=True)
class Color:
    """An agent's badge color: a named tone, a hex value, or neutral when unknown."""

    tone: str
    """One of NAMED_COLORS, "hex", or "neutral"."""
    label: str
    """What the badge says, so meaning never rests on color alone."""
    hex: str = ""


NEUTRAL = Color("neutral", "")


@dataclass(frozen=True)
class Agent:
    """One agent file, read and rendered, ready for the templates."""

    path: Path
    """The source file."""
    rel_path: PurePosixPath
    """The source file's path below the agents folder."""
    slug: str
    name: str
    summary_html: str
    """The description without its examples, as sanitized HTML."""
    summary_text: str
    examples: tuple[Example, ...]
    model: str | None
    color: Color
    tools: tuple[str, ...] | None
    """None when the file names no tools, which means every tool."""
    category: str
    body_html: str
    """The rendered body; "" once a build has written the page (bodies are not kept in memory)."""
    sections: tuple[Section, ...]
    # Factories, not plain defaults: a default would be a class attribute, which hides these
    # fields from `__getattr__` on an agent read back from the cache.
    metadata: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """Frontmatter keys the runtime does not define, kept to show as they were written."""
    linked_files: frozenset[PurePosixPath] = field(default_factory=frozenset)
    """The files below the agents folder that its text links to, agent files or not."""
    plugin: str = ""
    """The name of the plugin that holds the agent, in a marketplace; "" in a folder of agent files."""
    weight: float | None = None
    """Its `order` (or `weight`): the lower, the earlier in its category; None after those that have one."""
    category_position: int = 0
    """Where its category stands in the config's `categories` (those it leaves out follow, A to Z)."""

    @property
    def file_name(self) -> str:
        """The name the agent is installed under, without `.md`: its slug without its plugin."""
        return file_name(self.slug)

    @property
    def url(self) -> str:
        """Return the page's path below the site root."""
        return page_url(self.slug)

    def __getattr__(self, name: str) -> Any:
        # An agent read back from the build cache decodes the fields most builds need of few agents
        # when first asked for them: its summary, examples, body, headings, paths and links.
        if name in _REST_FIELDS and "_load_rest" in self.__dict__:
            _decode_rest(self)
            return getattr(self, name)
        decode = _LAZY_FIELDS.get(name)
        plain = self.__dict__.get(f"_plain_{name}", _MISSING) if decode else _MISSING
        if plain is _MISSING:
            raise AttributeError(name)
        value = self.__dict__[name] = decode(plain)  # type: ignore[misc]
        return value

    @property
    def raw_url(self) -> str:
        """Return the raw agent file's path below the site root."""
        return raw_file_url(self.slug)


@dataclass(frozen=True)
class PageLink:
    """A link to an agent page: all a page shows of its neighbours."""

    name: str
    url: str


def catalog_order(
    category: str, name: str, slug: str, weight: float | None = None, category_position: int = 0,
) -> tuple[int, str, bool, float, str, str]:
    """Return the sort key of the catalog's order: by category (the config's `categories` first,
    in their order, then A to Z), then `order`/`weight` (lowest first; agents with one first),
    then name."""
    return (category_position, category.casefold(), weight is None, weight or 0.0, name.casefold(), slug)


def category_position(category: str, order: Sequence[str]) -> int:
    """Return where a category stands in the config's `categories` (case aside); len(order) when not listed."""
    wanted = category.casefold()
    return next((index for index, listed in enumerate(order) if listed.casefold() == wanted), len(order))


@dataclass(frozen=True)
class Category:
    """The agents that share a category, in catalog order."""

    name: str
    slug: str
    agents: tuple[Agent, ...]


@dataclass(frozen=True)
class Catalog:
    """Every agent of a site, in a stable order, with its categories."""

    agents: tuple[Agent, ...]
    categories: tuple[Category, ...] = field(default=())
    _positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._positions.update((agent.slug, index) for index, agent in enumerate(self.agents))

    def __len__(self) -> int:
        return len(self.agents)

    @classmethod
    def from_agents(cls, agents: list[Agent]) -> Catalog:
        """Order agents by category then name, and group them."""
        ordered = sorted(agents, key=lambda a: catalog_order(a.category, a.name, a.slug, a.weight, a.category_position))
        groups: dict[str, list[Agent]] = {}
        for agent in ordered:
            groups.setdefault(agent.category, []).append(agent)
        categories = tuple(
            Category(name, slugify(name) or "other", tuple(members))
            for name, members in groups.items()
        )
        return cls(tuple(ordered), categories)

    def neighbours(self, agent: Agent) -> tuple[PageLink | None, PageLink | None]:
        """Return links to the agents before and after `agent` in catalog order."""
        index = self._positions[agent.slug]
        previous = self.agents[index - 1] if index > 0 else None
        following = self.agents[index + 1] if index + 1 < len(self.agents) else None
        return _link_to(previous), _link_to(following)


def _link_to(agent: Agent | None) -> PageLink | None:
    return PageLink(agent.name, agent.url) if agent else None


@functools.lru_cache(maxsize=65536)  # serve recomputes every slug on each save
def slugify(text: str) -> str:
    """Turn `text` into lower-case ASCII words joined by hyphens; never a path or `..`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def read_color(value: Any) -> Color | None:
    """Map a frontmatter color to a badge color; None when it is not a color we know."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _HEX_COLOR.match(text):
        return Color("hex", text.lower(), _expand_hex(text.lower()))
    key = re.sub(r"[\s_-]+", "", text.lower())
    tone = _tone_of(key) or _tone_of(_SHADE_PREFIX.sub("", key))
    return Color(tone, text.lower()) if tone else None


MAX_COLOR_LABEL = 30


def shown_color(value: Any) -> Color:
    """Map a frontmatter color to a badge color: an unknown one keeps the author's text on a
    neutral badge (`check` warns of it); none at all is plain neutral."""
    known = read_color(value)
    if known is not None:
        return known
    text = " ".join(str(value).split()) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else ""
    return Color("neutral", text[:MAX_COLOR_LABEL])


def _tone_of(key: str) -> str | None:
    return key if key in NAMED_COLORS else COLOR_ALIASES.get(key)


def _expand_hex(value: str) -> str:
    if len(value) == 4:
        return "#" + "".join(ch * 2 for ch in value[1:])
    return value


def read_tools(value: Any) -> tuple[str, ...] | None:
    """Turn a comma string or a list into tool names; raise TypeError for anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = [item if isinstance(item, str) else _not_a_tool(item) for item in value]
    else:
        raise TypeError(type_name(value))
    return tuple(item.strip() for item in items if item.strip())


def _not_a_tool(item: object) -> str:
    raise TypeError(f"list holding a {type_name(item)}")


def category_from_path(rel_path: PurePosixPath) -> str:
    """Name a category after the folders above a file, without generic ones or number prefixes."""
    folder = str(rel_path).rpartition("/")[0]  # the text of `rel_path.parent`, quicker to make
    return _category_from_folder(folder)


@functools.lru_cache(maxsize=4096)  # most files share their folder with many others
def _category_from_folder(folder: str) -> str:
    """Name a category after a folder's path (its names joined by "/"), as `category_from_path` does."""
    words = [humanize(name) for name in folder.split("/") if name and name.lower() not in GENERIC_FOLDERS]
    return " / ".join(word for word in words if word)


_ACRONYMS = {
    "ai": "AI", "api": "API", "apis": "APIs", "aws": "AWS", "ci": "CI", "cd": "CD", "cicd": "CI/CD",
    "cli": "CLI", "css": "CSS", "dx": "DX", "gcp": "GCP", "html": "HTML", "iot": "IoT", "js": "JS",
    "llm": "LLM", "ml": "ML", "qa": "QA", "sdk": "SDK", "seo": "SEO", "sql": "SQL", "sre": "SRE",
    "ui": "UI", "ux": "UX",
}  # fmt: skip


@functools.lru_cache(maxsize=4096)  # every file of a folder asks again, on every build
def humanize(folder: str) -> str:
    text = re.sub(r"^\d+[-_. ]*", "", folder)
    words = [_ACRONYMS.get(word.lower(), word) for word in re.sub(r"[-_]+", " ", text).split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


# -- as plain data, for the build cache ---------------------------------------------------
# Positional lists, not objects: the cache holds data that cannot run code when loaded.


def agent_to_plain(agent: Agent) -> list[Any]:
    """Return the agent as JSON-ready data (`agent_from_plain` reads it back).

    What the pages listing every agent need comes first; the rest (summary, examples, body,
    headings, metadata) follows as one JSON text, which a build reads only for the few agents
    whose entries it renders again.
    """
    rest = [agent.summary_html, agent.summary_text, [_example_to_plain(example) for example in agent.examples],
            agent.body_html, [_section_to_plain(section) for section in agent.sections],
            [list(pair) for pair in agent.metadata]]
    return [
        os.fsdecode(agent.path), str(agent.rel_path), agent.slug, agent.name, agent.model,
        [agent.color.tone, agent.color.label, agent.color.hex], None if agent.tools is None else list(agent.tools),
        agent.category, sorted(str(path) for path in agent.linked_files), agent.plugin, agent.weight,
        agent.category_position, json.dumps(rest, ensure_ascii=False, separators=(",", ":")),
    ]


def agent_from_plain(data: list[Any]) -> Agent:
    """Return the agent `agent_to_plain` described (see `Agent.__getattr__` for the fields decoded later)."""
    head, rest = split_agent_plain(data)
    if not isinstance(rest, str):
        raise TypeError("the rest of an agent is not JSON text")
    return agent_from_head(head, lambda: rest)


def agent_from_head(head: list[Any], load_rest: Callable[[], str]) -> Agent:
    """Return the agent whose `agent_to_plain` data is `head` and, read by `load_rest` when first
    asked for, the rest (see `split_agent_plain`)."""
    path, rel_path, slug, name, model, color, tools, category, linked_files, plugin, weight, position = head
    return _made(
        Agent, _plain_path=path, _plain_rel_path=rel_path, slug=slug, name=name, model=model,
        color=_made(Color, tone=color[0], label=color[1], hex=color[2]),
        tools=None if tools is None else tuple(tools), category=category, plugin=plugin,
        weight=weight, category_position=position, _plain_linked_files=linked_files, _load_rest=load_rest,
    )


def share_paths(agent: Agent, path: Path, rel_path: PurePosixPath) -> None:
    """Give an agent read back from the cache its file's Path objects as its reading has them,
    when they name the same file: making them again for each of 20,000 agents took a second."""
    fields = agent.__dict__
    for name, value, text in (("path", path, os.fsdecode(path)), ("rel_path", rel_path, str(rel_path))):
        if fields.get(f"_plain_{name}") == text:
            fields[name] = value
            del fields[f"_plain_{name}"]


def split_agent_plain(plain: list[Any]) -> tuple[list[Any], str]:
    """Split an agent's `agent_to_plain` data into its head, which every build reads of every
    agent, and the rest as JSON text, which a build reads of the few whose entries change."""
    return plain[:-1], plain[-1]


def _decode_rest(agent: Agent) -> None:
    """Set the fields `agent_to_plain` kept as one JSON text."""
    fields = agent.__dict__
    summary_html, summary_text, examples, body_html, sections, metadata = json.loads(fields["_load_rest"]())
    del fields["_load_rest"]
    fields.update(
        summary_html=summary_html, summary_text=summary_text, _plain_examples=examples, body_html=body_html,
        _plain_sections=sections, metadata=tuple((key, value) for key, value in metadata))


def _made(cls: type[Made], **fields: Any) -> Made:
    """Make a frozen dataclass from fields the cache kept, without its __init__: a build reads
    thousands of agents back, and a frozen class's __init__ sets each field the slow way."""
    made = cls.__new__(cls)
    made.__dict__.update(fields)
    return made


def _example_to_plain(example: Example) -> list[Any]:
    turns = [[turn.role, turn.text, turn.direction] for turn in example.turns]
    return [example.title, example.context, turns, example.commentary]


def _example_from_plain(data: list[Any]) -> Example:
    title, context, turns, commentary = data
    return _made(Example, title=title, context=context, commentary=commentary,
                 turns=tuple(_made(Turn, role=role, text=text, direction=direction) for role, text, direction in turns))


_MISSING = object()
_REST_FIELDS = frozenset({"summary_html", "summary_text", "examples", "body_html", "sections", "metadata"})
_LAZY_FIELDS: dict[str, Callable[[Any], Any]] = {
    "path": Path,
    "rel_path": PurePosixPath,
    "examples": lambda examples: tuple(_example_from_plain(example) for example in examples),
    "sections": lambda sections: tuple(_section_from_plain(section) for section in sections),
    "linked_files": lambda targets: frozenset(PurePosixPath(target) for target in targets),
}


def _section_to_plain(section: Section) -> list[Any]:
    return [section.id, section.title, section.level, [_section_to_plain(child) for child in section.children]]


def _section_from_plain(data: list[Any]) -> Section:
    section_id, title, level, children = data
    return _made(Section, id=section_id, title=title, level=level,
                 children=tuple(_section_from_plain(child) for child in children))
