"""Split an agent file into frontmatter and body, reading YAML the way the agent runtime does.

Many published agent files are not valid YAML: an unquoted `: ` inside a long
`description` (`...\\nUser: "..."`) makes PyYAML give up. The agent runtime still reads
them, with a line-based reading where only known keys at column 0 start a field, so we
fall back to the same reading and report a warning instead of failing.
"""

from __future__ import annotations

import base64
import datetime
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import yaml

from generator.markdown.sanitize import remove_control_characters

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Keys that start a field in the line-based fallback; any other line continues the field.
KNOWN_KEYS = frozenset(
    {
        "name", "description", "model", "color", "tools", "category",
        "disallowedTools", "permissionMode", "skills", "hooks", "mcpServers",
        "memory", "maxTurns", "title", "version", "author", "tags",
    }
)  # fmt: skip
_FIELD_START = re.compile(r"^([A-Za-z_][\w-]*):(?:[ \t]+(.*)|[ \t]*)$")
_DELIMITER = re.compile(r"^---[ \t]*$")
_BLOCK_INDICATOR = re.compile(r"^[|>][+-]?\d*$")


@dataclass
class FrontMatter:
    """What the frontmatter said, where each key stood, and how it was read."""

    data: dict[str, Any] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    """1-based line in the file of each top-level key."""
    present: bool = False
    closed: bool = True
    lines: list[str] = field(default_factory=list)
    """The frontmatter's own lines, without the `---` lines."""
    first_line: int = 2
    """1-based line in the file of the first frontmatter line."""
    problem: str = ""
    """Why PyYAML did not give the data, when the line-based reading read it instead."""
    problem_kind: str = ""
    """"invalid" when the YAML is broken, "refused" when it is valid but not accepted."""
    problem_line: int = 0
    problem_column: int = 0


@dataclass
class SplitFile:
    """An agent file's text cut at its frontmatter."""

    front_matter: FrontMatter
    body: str
    body_line: int
    """1-based line in the file where the body starts."""


def split_front_matter(text: str) -> SplitFile:
    """Cut `text` (LF line endings, no BOM) into frontmatter and body and read the frontmatter."""
    lines = text.split("\n")
    if not lines or not _DELIMITER.match(lines[0]):
        return SplitFile(FrontMatter(present=False), text, 1)
    closing = next((i for i in range(1, len(lines)) if _DELIMITER.match(lines[i])), None)
    if closing is None:
        body = "\n".join(lines[1:])
        return SplitFile(FrontMatter(present=True, closed=False, lines=lines[1:]), body, 2)
    front = read_front_matter(lines[1:closing], first_line=2)
    return SplitFile(front, "\n".join(lines[closing + 1 :]), closing + 2)


_RUNS_ON = ("quoted scalar", "flow sequence", "flow mapping")
"""What YAML reads on until it is closed: the problem starts where it opens, not where YAML gave up."""


def _start_of_problem(exc: yaml.YAMLError) -> Any:
    """Return the mark where a YAML problem starts: where an unclosed quote or bracket opens, else
    where the parser stopped."""
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and any(kind in context for kind in _RUNS_ON):
        return context_mark
    return getattr(exc, "problem_mark", None)


def read_front_matter(lines: list[str], first_line: int) -> FrontMatter:
    """Read frontmatter lines with PyYAML's safe loader, or line by line when it refuses them."""
    front = FrontMatter(key_lines=_find_key_lines(lines, first_line), present=True, lines=lines, first_line=first_line)
    try:
        data = load_yaml("\n".join(lines) + "\n")
    except yaml.YAMLError as exc:
        mark = _start_of_problem(exc)
        front.problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        if mark is not getattr(exc, "problem_mark", None):
            front.problem += f" {exc.context}"  # type: ignore[attr-defined]
        front.problem_kind = "refused" if isinstance(exc, (yaml.constructor.ConstructorError, RefusedYaml)) else "invalid"
        front.problem_line = first_line + (mark.line if mark else 0)
        front.problem_column = (mark.column + 1) if mark else 1
        front.data = _without_controls(read_lines_as_runtime_does(lines))
        return front
    if not isinstance(data, dict):
        if data is not None:
            front.problem, front.problem_kind = "the frontmatter is not a mapping of keys to values", "invalid"
            front.problem_line, front.problem_column = first_line, 1
        return front
    # YAML escapes ("\f", "\x1b") can spell control characters the file itself could not hold.
    front.data = {remove_control_characters(str(key)): _without_controls(value) for key, value in data.items()}
    return front


def _without_controls(value: Any) -> Any:
    if isinstance(value, str):
        return remove_control_characters(value)
    if isinstance(value, list):
        return [_without_controls(item) for item in value]
    if isinstance(value, dict):
        return {_without_controls(key): _without_controls(item) for key, item in value.items()}
    return value


class RefusedYaml(yaml.YAMLError):
    """YAML that parses but is refused: it expands too far, or nests too deep."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


MAX_EXPANDED_VALUES = 10_000
"""How many values (counting each use of an alias anew) frontmatter may expand to."""
MAX_EXPANDED_CHARACTERS = 2_000_000
"""How much text it may expand to: twice the default file size limit, which no file without
aliases can reach."""


def load_yaml(text: str) -> Any:
    """Load YAML with the safe loader; refuse documents that expand too far (alias bombs)."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except RecursionError:
        raise RefusedYaml("the YAML is nested too deeply") from None
    values, characters = _expanded_size(data)
    if values > MAX_EXPANDED_VALUES or characters > MAX_EXPANDED_CHARACTERS:
        raise RefusedYaml(
            f"the YAML expands to more than {MAX_EXPANDED_VALUES:,} values or "
            f"{MAX_EXPANDED_CHARACTERS:,} characters (aliases used as a bomb?)"
        )
    return data


def _expanded_size(value: Any) -> tuple[int, int]:
    """Count values and characters as a reader walking `value` would meet them, stopping early."""
    count, characters, stack = 0, 0, [value]
    while stack and count <= MAX_EXPANDED_VALUES and characters <= MAX_EXPANDED_CHARACTERS:
        item = stack.pop()
        count += 1
        if isinstance(item, str):
            characters += len(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count, characters


def raw_value(front: FrontMatter, key: str) -> str:
    """Return a key's value as written on its line, for showing a value YAML turned into a number."""
    line = front.key_lines.get(key)
    if line is None or not 0 <= line - front.first_line < len(front.lines):
        return ""
    match = _FIELD_START.match(front.lines[line - front.first_line])
    return (match.group(2) or "").strip() if match else ""


def repeated_keys(front: FrontMatter) -> list[tuple[str, int, int, int]]:
    """Return each top-level key written again, as (key, its first line, the line and column it is
    repeated at):
    as YAML reads keys (quoted, `key :`, `{a: 1, a: 2}`) when it reads the frontmatter, else as the
    runtime's line-by-line reading does."""
    if not front.problem_kind:
        try:
            return _repeated_yaml_keys(yaml.compose("\n".join(front.lines) + "\n", Loader=_Loader), front.first_line)
        except (yaml.YAMLError, RecursionError):
            pass
    repeats = []
    for index, line in enumerate(front.lines):
        match = _FIELD_START.match(line)
        number = front.first_line + index
        if match and front.key_lines.get(match.group(1), number) != number:
            repeats.append((match.group(1), front.key_lines[match.group(1)], number, 1))
    return repeats


def _repeated_yaml_keys(root: yaml.Node | None, first_line: int) -> list[tuple[str, int, int, int]]:
    if not isinstance(root, yaml.MappingNode):
        return []
    first: dict[str, int] = {}
    repeats = []
    for key_node, _ in root.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        line = first_line + key_node.start_mark.line
        if key_node.value in first:
            repeats.append((key_node.value, first[key_node.value], line, key_node.start_mark.column + 1))
        else:
            first[key_node.value] = line
    return repeats


def _find_key_lines(lines: list[str], first_line: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = _FIELD_START.match(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = first_line + index
    return found


def read_lines_as_runtime_does(lines: list[str]) -> dict[str, Any]:
    """Read `key: value` fields where only known keys at column 0 start a field."""
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        match = _FIELD_START.match(line)
        if match and match.group(1) in KNOWN_KEYS:
            current = fields.setdefault(match.group(1), [])
            current.clear()
            current.append(match.group(2) or "")
        elif current is not None:
            current.append(line)
    return {key: _read_field_value(value_lines) for key, value_lines in fields.items()}


def _read_field_value(value_lines: list[str]) -> Any:
    first, rest = value_lines[0].strip(), value_lines[1:]
    while rest and not rest[-1].strip():
        rest.pop()
    if _BLOCK_INDICATOR.match(first):
        return _read_block_scalar(first, rest)
    parsed = _try_yaml_value(first, rest)
    if parsed is not _UNREADABLE:
        return parsed
    text = "\n".join([first, *textwrap.dedent("\n".join(rest)).split("\n")] if rest else [first])
    return _strip_matching_quotes(text.strip())


_UNREADABLE = object()


def _try_yaml_value(first: str, rest: list[str]) -> Any:
    """Read the value as YAML when it is valid on its own (a quoted string, a list)."""
    snippet = "value: " + first + "".join("\n" + line for line in rest)
    try:
        parsed = load_yaml(snippet)
    except yaml.YAMLError:
        return _UNREADABLE
    if not isinstance(parsed, dict) or set(parsed) != {"value"}:
        return _UNREADABLE
    value = parsed["value"]
    return _UNREADABLE if isinstance(value, dict) else value


def _read_block_scalar(indicator: str, rest: list[str]) -> str:
    text = textwrap.dedent("\n".join(rest))
    if indicator.startswith(">"):
        paragraphs = re.split(r"\n[ \t]*\n", text)
        text = "\n".join(" ".join(p.split("\n")) for p in paragraphs)  # as YAML folds
    return text.rstrip("\n") if "-" in indicator else text.rstrip("\n") + "\n"


def _strip_matching_quotes(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


# -- as plain data, for the build cache ---------------------------------------------------


def front_matter_to_plain(front: FrontMatter) -> list[Any]:
    """Return the frontmatter as JSON-ready data (`front_matter_from_plain` reads it back).

    Most frontmatter is JSON already (text, numbers, lists, mappings with text keys): it is
    kept as it is, so reading it back costs nothing; any other is tagged value by value.
    """
    values = ["json", front.data] if _is_json(front.data) else ["tagged", yaml_value_to_plain(front.data)]
    return [values, front.key_lines, front.present, front.closed, front.lines,
            front.first_line, front.problem, front.problem_kind, front.problem_line, front.problem_column]


def front_matter_from_plain(data: list[Any]) -> FrontMatter:
    """Return the frontmatter `front_matter_to_plain` described."""
    (form, values), key_lines, present, closed, lines, first_line, problem, kind, problem_line, problem_column = data
    return FrontMatter(values if form == "json" else yaml_value_from_plain(values), key_lines, present, closed, lines,
                       first_line, problem, kind, problem_line, problem_column)


def _is_json(value: Any) -> bool:
    """Tell whether JSON gives `value` back as it is: no tuple, date, bytes, set or non-text key
    (and no float JSON cannot write exactly, like NaN)."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False


def yaml_value_to_plain(value: Any) -> Any:
    """Return a value the safe loader made as JSON: lists as lists, every other kind JSON lacks
    (a mapping, a date, bytes, a set) as a one-key object that names it."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [yaml_value_to_plain(item) for item in value]
    if isinstance(value, dict):
        return {"map": [[yaml_value_to_plain(key), yaml_value_to_plain(item)] for key, item in value.items()]}
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted((yaml_value_to_plain(item) for item in value), key=repr)}
    if isinstance(value, tuple):
        return {"tuple": [yaml_value_to_plain(item) for item in value]}
    raise TypeError(f"no plain form for a {type(value).__name__}")


def yaml_value_from_plain(data: Any) -> Any:
    """Return the value `yaml_value_to_plain` described."""
    if isinstance(data, list):
        return [yaml_value_from_plain(item) for item in data]
    if not isinstance(data, dict):
        return data
    ((kind, content),) = data.items()
    if kind == "map":
        return {yaml_value_from_plain(key): yaml_value_from_plain(item) for key, item in content}
    if kind == "datetime":
        return datetime.datetime.fromisoformat(content)
    if kind == "date":
        return datetime.date.fromisoformat(content)
    if kind == "bytes":
        return base64.b64decode(content)
    if kind == "set":
        return {yaml_value_from_plain(item) for item in content}
    if kind == "tuple":
        return tuple(yaml_value_from_plain(item) for item in content)
    raise ValueError(f"unknown plain kind {kind!r}")
