"""The rules an agent file is checked against: what `check` reports and `build --strict` fails on.

Each rule has an id, a severity and a fix in plain words. Rules read RawAgents (what the
file says, where) and never change them; interpreting the file is catalog.py's job.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.catalog.examples import parse_description
from generator.catalog.frontmatter import repeated_keys
from generator.catalog.load import (
    ORDER_KEYS,
    RawAgent,
    is_agent_file,
    is_weight,
    raw_agent_from_head,
    raw_agent_from_plain,
    raw_agent_head_to_plain,
    raw_agent_to_plain,
)
from generator.catalog.model import NAMED_COLORS, read_color, read_tools
from generator.catalog.names import lookalike_problem, visible_name
from generator.catalog.tools import LintSettings
from generator.errors import Finding, Severity, type_name
from generator.markdown.limits import (
    MAX_NESTING,
    find_too_deep_line,
    is_too_large_to_render,
)
from generator.markdown.links import (
    FENCE,
    closes_fence,
    find_links,
    is_relative_link,
    target_path,
)

if TYPE_CHECKING:
    from generator.catalog.frontmatter import FrontMatter
    from generator.catalog.marketplace import Plugin

_NAME_RULE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MCP_TOOL = re.compile(r"^mcp__[A-Za-z0-9_-]+$")
_TOOL_WITH_PATTERN = re.compile(r"^(?P<tool>[A-Za-z]+)\((?P<pattern>.*)\)$", re.DOTALL)
_EXAMPLE_OPEN = re.compile(r"<example\b[^<>]*>", re.IGNORECASE)
_EXAMPLE_CLOSE = re.compile(r"</example\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One check, with the severity of what it finds."""

    id: str
    severity: Severity
    summary: str


RULES = {
    rule.id: rule
    for rule in (
        Rule("unreadable", "error", "the file cannot be read"),
        Rule("empty-file", "error", "the file is empty"),
        Rule("file-too-large", "error", "the file is over the size limit (`max_file_size`, default 1 MiB)"),
        Rule("not-utf8", "error", "the file is not UTF-8 text"),
        Rule("repeated-key", "warning", "a frontmatter key is written twice; the last value counts"),
        Rule("name-lookalike", "warning", "`name` holds invisible characters, compatibility forms or letters "
             "of another script that look like Latin ones"),
        Rule("slug-clash", "warning", "`name` makes the address another agent has; this one gets `-2`"),
        Rule("name-not-utf8", "error", "the file's name is not UTF-8 text; the file is skipped"),
        Rule("link-outside", "warning", "a symbolic link points outside the agents folder; it is not followed"),
        Rule("no-frontmatter", "error", "the file does not start with `---` frontmatter"),
        Rule("unclosed-frontmatter", "error", "the frontmatter has no closing `---` line"),
        Rule("yaml-refused", "error", "the frontmatter uses YAML tags, or aliases that expand too far"),
        Rule("yaml-fallback", "warning", "the frontmatter is not valid YAML; only the runtime's line-based reading reads it"),
        Rule("missing-name", "error", "`name` is missing or empty"),
        Rule("name-format", "warning", "`name` is not lower-case letters, digits and hyphens"),
        Rule("name-mismatch", "warning", "`name` differs from the file name (a `<prefix>-<file name>` name is fine)"),
        Rule("duplicate-name", "error", "another agent file has the same `name`"),
        Rule("missing-description", "error", "`description` is missing or empty"),
        Rule("wrong-type", "error", "a field has the wrong type (e.g. a list for `description`)"),
        Rule("unknown-color", "warning", "`color` is not a color the runtime knows"),
        Rule("tools-type", "error", "`tools` is neither a comma-separated string nor a list of names"),
        Rule("unknown-tool", "warning", "`tools` names a tool the runtime does not have"),
        Rule("repeated-tool", "warning", "`tools` names a tool twice"),
        Rule("unknown-model", "warning", "`model` is none of `inherit`, `sonnet`, `opus`, `haiku` and no model id (`claude-…`)"),
        Rule("escaped-newlines", "warning", "`description` uses literal `\\n` escapes"),
        Rule("example-unclosed", "warning", "an `<example>` block has no `</example>`"),
        Rule("example-no-user", "warning", "an example has no user turn"),
        Rule("example-no-answer", "warning", "an example has no assistant turn"),
        Rule("unclosed-fence", "warning", "a code fence in the body is never closed"),
        Rule("broken-link", "warning", "a relative link or image leads to no page of the site, so the site shows it as text"),
        Rule("too-deeply-nested", "error", f"the body nests quotes or lists more than {MAX_NESTING} levels deep"),
        Rule("too-large-to-render", "error", "the body has more than 5,000 lines or 5,000 '<'"),
    )
}


def make_finding(rule_id: str, path: Path, line: int, column: int, message: str) -> Finding:
    """Make a finding of the rule's severity."""
    return Finding(path, line, RULES[rule_id].severity, message, rule_id, column)


def check_agent(raw: RawAgent, settings: LintSettings, links: bool = True) -> list[Finding]:
    """Run every per-file rule on one agent, read with its body; without readable frontmatter, only say so.

    Without `links`, the rule that looks at other files (`broken-link`) is left out, so the
    findings depend on this file's content alone.
    """
    front = raw.front_matter
    if not front.present or not front.closed or front.problem_kind == "refused":
        return list(check_front_matter(raw))
    return [
        *check_front_matter(raw),
        *check_repeated_keys(raw),
        *check_name(raw),
        *check_description(raw),
        *check_model(raw),
        *check_category(raw),
        *check_color(raw),
        *check_tools(raw, settings),
        *check_body_fences(raw),
        *(check_links(raw) if links else ()),
        *check_nesting(raw),
        *check_render_size(raw),
    ]


def _value_position(raw: RawAgent, key: str) -> tuple[int, int]:
    """Return the line and column where a key's value starts (the key's own line if empty)."""
    front = raw.front_matter
    if key not in front.key_lines:
        return (front.first_line if front.present else 1), 1
    line = front.key_lines[key]
    text = front.lines[line - front.first_line] if 0 <= line - front.first_line < len(front.lines) else ""
    colon = text.find(":")
    if colon < 0:
        return line, 1
    after = text[colon + 1 :]
    return line, colon + 2 + (len(after) - len(after.lstrip()))


def _find_in_front_matter(
    raw: RawAgent, pattern: re.Pattern[str], start_key: str, first_only: bool = False,
) -> list[tuple[int, int]]:
    """Return (line, column) of each match of `pattern` in the frontmatter from `start_key` on
    (the first alone, with `first_only`)."""
    front = raw.front_matter
    first = front.key_lines.get(start_key, front.first_line) - front.first_line
    found = []
    for index in range(max(first, 0), len(front.lines)):
        for match in pattern.finditer(front.lines[index]):
            found.append((front.first_line + index, match.start() + 1))
            if first_only:
                return found
    return found


def check_front_matter(raw: RawAgent) -> Iterator[Finding]:
    """Frontmatter that is absent, unclosed, refused, or readable only line by line."""
    front, path = raw.front_matter, raw.path
    if not front.present:
        yield make_finding("no-frontmatter", path, 1, 1, "no frontmatter: start the file with a '---' line, "
                           "then 'name:' and 'description:' lines, then another '---' line")
    elif not front.closed:
        yield make_finding("unclosed-frontmatter", path, 1, 1,
                           "the frontmatter is never closed: add a '---' line after the last field")
    elif front.problem_kind == "refused":
        yield make_finding("yaml-refused", path, front.problem_line, front.problem_column,
                           f"YAML refused: {front.problem}; write plain values without tags or aliases")
    elif front.problem_kind == "invalid":
        yield make_finding("yaml-fallback", path, front.problem_line, front.problem_column,
                           f"the frontmatter is not valid YAML ({front.problem}); {_quoting_advice(raw)}")


def check_repeated_keys(raw: RawAgent) -> Iterator[Finding]:
    """No key is written twice: YAML keeps the last value without a word."""
    for key, first, again, column in repeated_keys(raw.front_matter):
        yield make_finding("repeated-key", raw.path, again, column,
                           f"'{_clip(key, 40)}' is set on line {first} and again here; the last one counts: "
                           "delete one of them")


def _quoting_advice(raw: RawAgent) -> str:
    """Say which field to quote: the one whose lines hold the YAML problem."""
    front = raw.front_matter
    if "mapping values" not in front.problem and "could not find expected ':'" not in front.problem:
        return "the agent runtime still reads it line by line, but YAML tools do not: fix the YAML at this line"
    before = [(line, key) for key, line in front.key_lines.items() if line <= front.problem_line]
    key = max(before)[1] if before else "description"
    return (
        f"the agent runtime still reads it line by line, but YAML tools do not: "
        f"write '{key}' as a '|' block, or wrap its value in double quotes"
    )


def check_name(raw: RawAgent) -> Iterator[Finding]:
    """`name` present, text, in the runtime's form, and matching the file name."""
    value = raw.front_matter.data.get("name")
    line, column = _value_position(raw, "name")
    if wrong_type := _check_is_text(raw, "name"):
        yield wrong_type
        return
    if not value or not value.strip():
        yield make_finding("missing-name", raw.path, line, column, f"'name' is missing: add 'name: {raw.path.stem}'")
        return
    name = value.strip()
    if problem := lookalike_problem(name):
        yield make_finding("name-lookalike", raw.path, line, column,
                           f"name '{_clip(visible_name(name))}' {problem}, so readers may take it for another "
                           "agent's: write it in plain letters of one script")
    if not _NAME_RULE.match(name):
        yield make_finding("name-format", raw.path, line, column,
                           f"name '{_clip(name)}' should be lower-case letters, digits and hyphens, "
                           f"e.g. '{_suggest_name(name)}'")
    elif name != raw.path.stem and not name.endswith("-" + raw.path.stem):
        yield make_finding("name-mismatch", raw.path, line, column,
                           f"name '{name}' differs from the file name '{raw.path.name}': "
                           f"rename the file to '{name}.md' or the agent to '{raw.path.stem}'")


def _suggest_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "my-agent"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_description(raw: RawAgent) -> Iterator[Finding]:
    """`description` present, text, without `\\n` escapes, with well-formed examples."""
    value = raw.front_matter.data.get("description")
    line, column = _value_position(raw, "description")
    if wrong_type := _check_is_text(raw, "description"):
        yield wrong_type
        return
    if not value or not value.strip():
        yield make_finding("missing-description", raw.path, line, column,
                           "'description' is missing: say in a sentence when to use this agent")
        return
    if "\\n" in value:
        position = _find_in_front_matter(raw, re.compile(r"\\n"), "description")
        line, column = position[0] if position else (line, column)
        yield make_finding("escaped-newlines", raw.path, line, column,
                           "the description uses literal '\\n' escapes; it reads better as a '|' block "
                           "with real line breaks")
    yield from _check_examples(raw, value)


def _check_examples(raw: RawAgent, description: str) -> Iterator[Finding]:
    text = description.replace("\\n", "\n")
    openings = _find_in_front_matter(raw, _EXAMPLE_OPEN, "description")
    closings = len(_EXAMPLE_CLOSE.findall(text))
    for line, column in openings[closings:]:
        yield make_finding("example-unclosed", raw.path, line, column,
                           "this <example> block is never closed: add '</example>' after its last line")
    example_positions = openings or [_value_position(raw, "description")]
    for number, example in enumerate(parse_description(description).examples):
        line, column = example_positions[min(number, len(example_positions) - 1)]
        roles = {turn.role for turn in example.turns}
        if "user" not in roles:
            yield make_finding("example-no-user", raw.path, line, column,
                               f"example {number + 1} has no user turn: add a line 'user: \"…\"' "
                               "with what the user asks")
        if "assistant" not in roles:
            yield make_finding("example-no-answer", raw.path, line, column,
                               f"example {number + 1} has no assistant turn: add a line 'assistant: \"…\"' "
                               "with how the agent answers")


def _check_is_text(raw: RawAgent, key: str, what: str = "text") -> Finding | None:
    """Return a wrong-type finding when `key` is present but not text."""
    value = raw.front_matter.data.get(key)
    if value is None or isinstance(value, str):
        return None
    line, column = _value_position(raw, key)
    return make_finding("wrong-type", raw.path, line, column, f"'{key}' must be {what}, not a {type_name(value)}")


def check_category(raw: RawAgent) -> Iterator[Finding]:
    """`category`, when present, is text; `order` and `weight`, which place the agent in it, are numbers."""
    if wrong_type := _check_is_text(raw, "category"):
        yield wrong_type
    for key in ORDER_KEYS:
        value = raw.front_matter.data.get(key)
        if value is not None and not is_weight(value):
            line, column = _value_position(raw, key)
            yield make_finding("wrong-type", raw.path, line, column,
                               f"'{key}' must be a number (lower comes first in its category), not '{_clip(str(value), 40)}'")


MODEL_ALIASES = ("inherit", "sonnet", "opus", "haiku")
"""The `model` values the runtime takes besides a full model id."""
_MODEL_ID = re.compile(r"claude-[a-z0-9][a-z0-9.\-]*")


def check_model(raw: RawAgent) -> Iterator[Finding]:
    """`model`, when present, is one of the runtime's aliases or looks like a model id."""
    if wrong_type := _check_is_text(raw, "model", "text such as 'sonnet', 'opus', 'haiku' or 'inherit'"):
        yield wrong_type
        return
    value = raw.front_matter.data.get("model")
    if not isinstance(value, str) or value.strip() in MODEL_ALIASES or _MODEL_ID.fullmatch(value.strip()):
        return
    line, column = _value_position(raw, "model")
    close = difflib.get_close_matches(value.strip().lower(), MODEL_ALIASES, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    yield make_finding("unknown-model", raw.path, line, column,
                       f"unknown model '{_clip(value, 40)}': {hint}use 'sonnet', 'opus', 'haiku' or 'inherit', "
                       "or a model id such as 'claude-sonnet-4-5'")


def check_color(raw: RawAgent) -> Iterator[Finding]:
    """`color`, when present, is a named color or a hex value."""
    value = raw.front_matter.data.get("color")
    if value is not None and read_color(value) is None:
        line, column = _value_position(raw, "color")
        yield make_finding("unknown-color", raw.path, line, column,
                           f"unknown color '{_clip(str(value), 40)}': use one of {', '.join(NAMED_COLORS)} "
                           "or a '#rrggbb' hex value")


def check_tools(raw: RawAgent, settings: LintSettings) -> Iterator[Finding]:
    """`tools` is a string or list naming tools the runtime has."""
    value = raw.front_matter.data.get("tools")
    line, column = _value_position(raw, "tools")
    try:
        tools = read_tools(value)
    except TypeError as exc:
        yield make_finding("tools-type", raw.path, line, column,
                           f"'tools' must be a comma-separated string or a list of tool names, not a {exc}")
        return
    yield from _repeated_tools(raw, tools or (), (line, column))
    unknown = [tool for tool in dict.fromkeys(tools or ()) if not is_known_tool(tool, settings.known_tools)]
    for tool in unknown[:MAX_TOOL_FINDINGS]:
        found = _find_in_front_matter(raw, re.compile(re.escape(tool)), "tools", first_only=True)
        at_line, at_column = found[0] if found else (line, column)
        yield make_finding("unknown-tool", raw.path, at_line, at_column,
                           f"unknown tool '{_clip(tool, 40)}': check its spelling, write MCP tools as "
                           "'mcp__server__tool', or add it to 'extra_tools' in agentpages.yml")
    if len(unknown) > MAX_TOOL_FINDINGS:
        yield make_finding("unknown-tool", raw.path, line, column,
                           f"and {len(unknown) - MAX_TOOL_FINDINGS:,} more unknown tools: is 'tools' the list of "
                           "tools this agent may use?")


MAX_TOOL_FINDINGS = 20
"""Unknown tools named one by one; the rest are counted (each one is looked for in the file)."""


def _repeated_tools(raw: RawAgent, tools: Iterable[str], position: tuple[int, int]) -> Iterator[Finding]:
    """Say of each tool named a second time where it is, the second time."""
    counts = Counter(tools)
    for tool in [tool for tool, count in counts.items() if count > 1][:MAX_TOOL_FINDINGS]:
        found = _find_in_front_matter(raw, re.compile(rf"(?<![\w-]){re.escape(tool)}(?![\w-])"), "tools")
        line, column = found[1] if len(found) > 1 else position
        yield make_finding("repeated-tool", raw.path, line, column,
                           f"'{_clip(tool, 40)}' is listed twice in 'tools': remove one of them")


def is_known_tool(tool: str, known_tools: frozenset[str]) -> bool:
    """Accept known tools, `mcp__…` tools, and known tools with a pattern such as `Bash(git *)`."""
    if tool in known_tools or _MCP_TOOL.match(tool):
        return True
    with_pattern = _TOOL_WITH_PATTERN.match(tool)
    return bool(with_pattern and with_pattern.group("tool") in known_tools)


def check_body_fences(raw: RawAgent) -> Iterator[Finding]:
    """Every code fence in the body is closed."""
    opening: tuple[int, str] | None = None
    for index, line in enumerate(raw.body.split("\n")):
        match = FENCE.match(line)
        if not match:
            continue
        if opening is None:
            opening = (index, match.group("fence"))
        elif closes_fence(match, opening[1]):
            opening = None
    if opening is not None:
        line = raw.body_line + opening[0]
        yield make_finding("unclosed-fence", raw.path, line, 1,
                           f"this code fence is never closed: add a line '{opening[1]}' where the code ends")


RelativeLink = tuple[int, int, str, bool]
"""A relative link or image in an agent file: its line, column, target as written, and whether
it is an image. Only the file decides these, so a build keeps them with the file's reading."""


@dataclass(frozen=True)
class CheckedFile:
    """An agent file as read and checked by every rule that looks at nothing but the file:
    what the build cache keeps of it, keyed by its content."""

    raw: RawAgent | None
    """None when the file could not be read as an agent."""
    findings: list[Finding]
    links: list[RelativeLink]
    """Its relative links, which `check_links` checks against the other files at each build."""

    def to_plain(self) -> list[Any]:
        """Return the checked file as JSON-ready data, for the build cache."""
        raw = raw_agent_to_plain(self.raw) if self.raw is not None else None
        return [raw, [finding.to_plain() for finding in self.findings], [list(link) for link in self.links]]

    @classmethod
    def from_plain(cls, data: list[Any], path: Path | None = None) -> CheckedFile:
        """Return the checked file `to_plain` described; `path` is the file's, if at hand."""
        raw, findings, links = data
        reading = raw_agent_from_plain(raw, path) if raw is not None else None
        return cls._with(reading, raw[0] if raw is not None else "", findings, links)

    def head_to_plain(self) -> list[Any]:
        """Return the checked file but its frontmatter as JSON-ready data (see `from_head`)."""
        raw = raw_agent_head_to_plain(self.raw) if self.raw is not None else None
        return [raw, [finding.to_plain() for finding in self.findings], [list(link) for link in self.links]]

    @classmethod
    def from_head(cls, data: list[Any], load_front_matter: Callable[[], FrontMatter], path: Path | None = None) -> CheckedFile:
        """Return the checked file `head_to_plain` described, whose reading's frontmatter
        `load_front_matter` gives when first asked for; `path` is the file's, if at hand."""
        raw, findings, links = data
        reading = raw_agent_from_head(raw, load_front_matter, path) if raw is not None else None
        return cls._with(reading, raw[0] if raw is not None else "", findings, links)

    @classmethod
    def _with(cls, reading: RawAgent | None, path_text: str, findings: list[Any], links: list[Any]) -> CheckedFile:
        known = (path_text, reading.path) if reading is not None else None
        return cls(reading, [Finding.from_plain(finding, known) for finding in findings],
                   [(line, column, target, is_image) for line, column, target, is_image in links])


def find_relative_links(raw: RawAgent) -> list[RelativeLink]:
    """Return every relative link and image in the description and body, where it is written."""
    description = raw.front_matter.data.get("description")
    in_description = [
        (line, column, target, is_image)
        for line, column in [_value_position(raw, "description")]
        for _, _, target, is_image in (find_links(description) if isinstance(description, str) else ())
    ]
    in_body = [(raw.body_line + index, column, target, is_image)
               for index, column, target, is_image in find_links(raw.body)]
    return [link for link in in_description + in_body if is_relative_link(link[2])]


def check_links(
    raw: RawAgent, found: list[RelativeLink] | None = None, pages: Container[PurePosixPath] | None = None,
) -> Iterator[Finding]:
    """Relative links and images in the description and body lead to a page of the site: the
    files of `pages` (paths below the agents folder: the agents', and any other that has a
    page), or without them, agent files on disk.

    `found` is what `find_relative_links` returned for this file, if known.
    """
    agents_dir = raw.path.parents[len(raw.rel_path.parts) - 1]
    for line, column, target, is_image in find_relative_links(raw) if found is None else found:
        path = target_path(target, raw.rel_path)
        if path is not None and (path in pages if pages is not None else is_agent_file(agents_dir.joinpath(*path.parts))):
            continue
        yield broken_link(raw.path, line, column, target, is_image)


def broken_link(
    path: Path, line: int, column: int, target: str, is_image: bool,
    leads_to: str = "no page of this site", fix: str = "link another agent's .md file",
) -> Finding:
    """Say that a relative link or image leads nowhere on the site, and what to do instead."""
    if is_image:
        message = (f"image '{_clip(target)}' is not published with the site, so the page shows its alt "
                   "text instead: describe it in words, or make it a link to a full https:// address")
    else:
        message = (f"link '{_clip(target)}' leads to {leads_to}, so the page shows only its text: {fix}, "
                   "or write a full https:// address")
    return make_finding("broken-link", path, line, column, message)


def check_render_size(raw: RawAgent) -> Iterator[Finding]:
    """A body small enough to render as Markdown in bounded time."""
    reason = is_too_large_to_render(raw.body)
    if reason:
        yield make_finding("too-large-to-render", raw.path, raw.body_line, 1,
                           f"the body has {reason}, so it is shown as plain text; split the agent "
                           "or shorten it")


def check_nesting(raw: RawAgent) -> Iterator[Finding]:
    """Quotes and lists nest at most MAX_NESTING levels; deeper bodies are shown as plain text."""
    too_deep = find_too_deep_line(raw.body)
    if too_deep:
        index, depth = too_deep
        yield make_finding("too-deeply-nested", raw.path, raw.body_line + index, 1,
                           f"this line nests {depth} levels deep, so the body is shown as plain text; "
                           f"flatten it to at most {MAX_NESTING} levels")


def check_duplicate_names(raw_agents: list[RawAgent], plugins: Mapping[Path, Plugin] | None = None) -> Iterator[Finding]:
    """No two files share a `name`, or in a marketplace (`plugins` holds each file's plugin), no
    two files of one plugin: two plugins may each have an agent of one name."""
    first_seen: dict[tuple[str, str], RawAgent] = {}
    plugins = plugins or {}
    # The file named after the agent (code-reviewer.md) is the one the name belongs to; the
    # error goes to the other, which also gets the other address (see plan.assign_slugs).
    for raw in sorted(raw_agents, key=lambda r: (r.path.stem != r.outline.name.strip(), str(r.rel_path))):
        name = raw.outline.name
        if not name.strip():
            continue
        plugin = plugins.get(raw.path)
        other = first_seen.setdefault((plugin.name if plugin else "", name.strip()), raw)
        if other is not raw:
            line, column = _value_position(raw, "name")
            yield make_finding("duplicate-name", raw.path, line, column,
                               f"name '{_clip(name.strip())}' is also used by {other.rel_path}: "
                               "give each agent its own name")
