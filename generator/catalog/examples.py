"""Split an agent's description into a summary and its usage examples.

Two formats are common in published catalogs:

- `**Example 1 - Title:**` followed by `User: "..."` and `Assistant: "..."` lines, the
  assistant's words sometimes led by a stage direction such as `[After creating the module]`;
- `<example>` blocks holding `Context:`, `user:`, `assistant:` and `<commentary>…</commentary>`,
  written on one line or over many, in any letter case.

Descriptions often carry literal `\\n` escapes instead of line breaks; they are turned into
line breaks first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.catalog.model import Example, Role, Turn
from generator.markdown.links import closes_fence

# An `<example>` quoted in inline code (`` `<example>` ``) is prose, not a block. A tag's
# attributes hold no `<`, so `<example<example…` never scans ahead for a `>` more than once.
_EXAMPLE_BLOCK = re.compile(
    r"(?<!`)<example\b[^<>]*>(?P<body>.*?)(?:</example\s*>|(?=(?<!`)<example\b)|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_COMMENTARY = re.compile(
    r"<commentary\b[^<>]*>(?P<body>.*?)(?:</commentary\s*>|(?=</?example\b)|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_STRAY_TAG = re.compile(r"(?<!`)</?\s*(?:example|commentary)\b[^<>]*>(?!`)", re.IGNORECASE)
# `**Example 2 - Title:**`, `Example 2:`, `**Example:**` or `Example - Title:` on a line of its
# own; "Examples:" and "Example usage: run it often." are prose.
_HEADED_EXAMPLE = re.compile(
    r"^[ \t]*(?P<bold>\*\*|__)?Example(?![A-Za-z])(?:[ \t]+#?(?P<number>\d+))?[ \t]*(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_TITLE_DECORATION = " \t*_:"
_ROLES = r"context|user|assistant|commentary"
_ROLE_AT_LINE_START = re.compile(
    rf"^[ \t]*(?:[-*][ \t]+)?(?:\*\*)?(?P<role>{_ROLES})(?:\*\*)?[ \t]*:(?:\*\*)?[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_ROLE_INLINE = re.compile(rf"(?:^|(?<=\s))(?P<role>{_ROLES})[ \t]*:[ \t]*", re.IGNORECASE)
_STAGE_DIRECTION = re.compile(r"^\[(?P<direction>[^\]\n]+)\][ \t]*")
_TRAILING_EXAMPLES_LEAD = re.compile(
    r"(?:\b(?:for|see|some|here\s+are(?:\s+some)?)\s+)?\bexamples?(?:\s+include)?\s*:\s*$",
    re.IGNORECASE,
)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’"}


@dataclass(frozen=True)
class Description:
    """A description taken apart: the prose around the examples, and the examples."""

    summary: str
    examples: tuple[Example, ...]


def parse_description(text: str) -> Description:
    """Turn literal `\\n` escapes into line breaks and take the examples out of `text`."""
    text = text.replace("\r\n", "\n").replace("\\n", "\n")
    outside: list[str] = []
    examples: list[Example] = []
    position = 0
    for match in _EXAMPLE_BLOCK.finditer(text):
        _take_headed_examples(text[position : match.start()], outside, examples)
        examples.append(parse_example_block(match.group("body")))
        position = match.end()
    _take_headed_examples(text[position:], outside, examples)
    return Description(_clean_summary("\n\n".join(outside)), tuple(examples))


def _find_example_headers(text: str) -> list[re.Match[str]]:
    """Return the lines that head an example: bold, numbered, or ending in a colon."""
    headers = []
    for match in _HEADED_EXAMPLE.finditer(text):
        rest = match.group("rest").rstrip()
        is_heading = bool(match.group("bold") or match.group("number")) or rest.rstrip("*_ \t").endswith(":")
        starts_title = not rest or rest[0] in "-–—:.*_"
        if is_heading and starts_title:
            headers.append(match)
    return headers


def _take_headed_examples(text: str, outside: list[str], examples: list[Example]) -> None:
    """Move `**Example N - Title:**` blocks from `text` into `examples`, the rest into `outside`."""
    headers = _find_example_headers(text)
    outside.append(text[: headers[0].start()] if headers else text)
    for header, following in zip(headers, [*headers[1:], None]):
        end = following.start() if following else len(text)
        example = parse_turns(text[header.end() : end])
        examples.append(
            Example(_clean_title(header.group("rest")), example.context, example.turns, example.commentary)
        )


def parse_example_block(body: str) -> Example:
    """Read the inside of one `<example>` block."""
    commentary = [_clean_text(m.group("body")) for m in _COMMENTARY.finditer(body)]
    example = parse_turns(_COMMENTARY.sub("\n", body))
    notes = [note for note in (example.commentary, *commentary) if note]
    return Example(example.title, example.context, example.turns, "\n\n".join(notes))


def parse_turns(text: str) -> Example:
    """Read `Context:`, `User:`, `Assistant:` and `Commentary:` parts, on their own lines or inline."""
    text = _STRAY_TAG.sub(" ", text)
    markers = _find_role_markers(text)
    context = [_clean_text(text[: markers[0].start()] if markers else text)]
    turns: list[Turn] = []
    commentary: list[str] = []
    for marker, following in zip(markers, [*markers[1:], None]):
        role = marker.group("role").lower()
        words = _clean_text(text[marker.end() : following.start() if following else len(text)])
        if role == "context":
            context.append(words)
        elif role == "commentary":
            commentary.append(words)
        else:
            turns.append(_make_turn("user" if role == "user" else "assistant", words))
    return Example(
        context="\n\n".join(part for part in context if part),
        turns=tuple(turn for turn in turns if turn.text or turn.direction),
        commentary="\n\n".join(part for part in commentary if part),
    )


def _find_role_markers(text: str) -> list[re.Match[str]]:
    """Prefer markers that start lines; an example written on one line has them inline."""
    at_line_start = list(_ROLE_AT_LINE_START.finditer(text))
    if len(at_line_start) >= 2:
        return at_line_start
    return list(_ROLE_INLINE.finditer(text))


def _make_turn(role: Role, words: str) -> Turn:
    """Make a turn, setting a leading `[stage direction]` apart, outside or inside the quotes."""
    direction, words = _take_direction(words)
    words = _strip_quotes(words)
    if not direction:
        direction, words = _take_direction(words)
    return Turn(role, words, direction)


def _take_direction(words: str) -> tuple[str, str]:
    match = _STAGE_DIRECTION.match(words)
    if not match:
        return "", words
    return match.group("direction").strip(), words[match.end() :].strip()


def _strip_quotes(text: str) -> str:
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        inner = text[1:-1]
        if text[0] not in inner:
            return inner.strip()
    return text


def _clean_text(text: str) -> str:
    lines = [line.strip() for line in _STRAY_TAG.sub(" ", text).strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _clean_title(title: str) -> str:
    return title.strip(_TITLE_DECORATION).lstrip("-–—.").strip(_TITLE_DECORATION)


def _clean_summary(text: str) -> str:
    text = _clean_text(text)
    return _TRAILING_EXAMPLES_LEAD.sub("", text).rstrip()


_FENCE_LINE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_BLOCK_OPENING = re.compile(r"^ {0,3}<example\b[^<>]*>", re.IGNORECASE)
_BLOCK_CLOSING = re.compile(r"</example\s*>", re.IGNORECASE)


def take_body_examples(body: str) -> tuple[str, tuple[Example, ...]]:
    """Take out of a body the `<example>` blocks that start a line outside code fences, as the
    description's are read (a body that shows usage this way is common); return the body
    without them and their examples. A block with no user or assistant turn stays as written."""
    if "<example" not in body.lower():
        return body, ()
    kept: list[str] = []
    examples: list[Example] = []
    block: list[str] | None = None
    fence = ""
    for line in body.split("\n"):
        if block is not None:
            block.append(line)
            if _BLOCK_CLOSING.search(line):
                kept.extend(_take_block(block, examples))
                block = None
            continue
        fence_line = _FENCE_LINE.match(line)
        if fence:
            fence = "" if fence_line and closes_fence(fence_line, fence) else fence
        elif fence_line:
            fence = fence_line.group("fence")
        elif _BLOCK_OPENING.match(line):
            block = [line]
            if _BLOCK_CLOSING.search(line):
                kept.extend(_take_block(block, examples))
                block = None
            continue
        kept.append(line)
    if block is not None:
        kept.extend(block)  # never closed: left as written, as check says
    return "\n".join(kept), tuple(examples)


def _take_block(lines: list[str], examples: list[Example]) -> list[str]:
    """Add the example a block's lines hold to `examples` and return nothing of them, or return
    the lines as they are when they hold no conversation."""
    inside = _BLOCK_CLOSING.split(_BLOCK_OPENING.sub("", "\n".join(lines), count=1), maxsplit=1)[0]
    example = parse_example_block(inside)
    if not any(turn.role in ("user", "assistant") for turn in example.turns):
        return lines
    examples.append(example)
    return [""]
