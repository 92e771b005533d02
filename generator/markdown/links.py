"""Where a relative link in agent text leads on the site.

On GitHub, `[reviewer](../review/code-reviewer.md)` resolves against the agent file's folder.
On the site every agent's page lives in a folder of its own (see `generator.addresses`), so the sanitizer rewrites such a
link: to another agent file, it leads to that agent's page; to anything else (an image beside
the file, a placeholder such as `thumbnail_url`) it would be broken, so the link keeps only
its text and the image shows its alt text, and `check` reports it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from generator.addresses import page_url, relative_url, target_url

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
"""A line that opens or closes a fenced code block."""
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s")
_CODE_SPAN = re.compile(r"(`+)[^`].*?\1")
# `[text](target)`, `![alt](target)`, `[id]: target`, and `href="…"`/`src="…"` in raw HTML.
_LINK_TARGET = re.compile(
    # Link text holds brackets one level deep at most: each try stops at the next unmatched
    # bracket, so a line of a million `[` is read once, not a million times. Nothing spans a
    # line break, so the whole-text pass of `has_relative_link` finds what lines would.
    r"!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\(\s*(?:<(?P<angled>[^>\n]+)>|(?P<inline>[^)\s>]+))"
    r"|^[ \t]{0,3}\[[^\]\n]+\]:[ \t]*<?(?P<reference>[^\s>]+)"
    r"|\b(?:href|src)[ \t]*=[ \t]*[\"'](?P<html>[^\"'\n]+)[\"']"
)


@dataclass
class LinkContext:
    """What resolving one file's links needs: where it is, and every agent file's slug."""

    source: PurePosixPath
    """The file's path below the agents folder."""
    slugs: Mapping[PurePosixPath, str]
    """Every agent file's slug, by its path below the agents folder, and every other page a link
    may lead to, as `/<path below the site root>` (see `generator.addresses.target_url`)."""
    linked_files: set[PurePosixPath] = field(default_factory=set)
    """The files below the agents folder that the text links to, found or not."""
    pages: Mapping[PurePosixPath, str] = field(default_factory=dict)
    """Pages of files that are no agents (a skill's references), by file: their paths below the site root."""
    here: str = ""
    """The path below the site root of the page the text is on; "" for the page of `source`'s agent."""
    also_from: PurePosixPath | None = None
    """A second file relative links may start from, when they lead nowhere from `source`: a
    skill's SKILL.md, since its references' links are often written from the skill's folder."""


def is_relative_link(href: str) -> bool:
    """Tell whether a link depends on where the file sits: no scheme, not `#…`, not `//host`."""
    href = href.strip()
    return bool(href) and not href.startswith(("#", "//")) and not _SCHEME.match(href)


def target_path(href: str, source: PurePosixPath) -> PurePosixPath | None:
    """Return the path below the agents folder a relative link names, or None if it leaves it."""
    path = unquote(urlsplit(href.strip()).path)
    if not path or path.startswith("/"):
        return None  # `/…` starts at the repository's root, which the site does not hold
    joined = posixpath.normpath(posixpath.join(str(source.parent), path))
    if joined == ".." or joined.startswith("../"):
        return None
    return PurePosixPath(joined)


def resolve_link(href: str, context: LinkContext) -> str | None:
    """Return a relative link's address on an agent page, or None when it leads to no agent."""
    address = _address_from(href, context.source, context)
    if address is None and context.also_from is not None:
        address = _address_from(href, context.also_from, context)
    if address is None:
        return None
    fragment = urlsplit(href.strip()).fragment
    source_slug = context.slugs.get(context.source)
    here = context.here or page_url(source_slug if source_slug is not None else "_")
    return relative_url(address, here) + (f"#{fragment}" if fragment else "")


def _address_from(href: str, source: PurePosixPath, context: LinkContext) -> str | None:
    """Return the page a link from `source` leads to, as a path below the site root, or None."""
    target = target_path(href, source)
    if target is None:
        return None
    context.linked_files.add(target)
    slug = context.slugs.get(target)
    return target_url(slug) if slug is not None else context.pages.get(target)


_ANY_LINK_TARGET = re.compile(_LINK_TARGET.pattern, re.MULTILINE)


def has_relative_link(text: str) -> bool:
    """Tell whether the text may hold a relative link, in code or not: one pass of a regex, so
    the line-by-line reading of `find_links` runs only where there may be something to find."""
    return any(is_relative_link(next(value for value in match.groups() if value is not None))
               for match in _ANY_LINK_TARGET.finditer(text))


def find_links(text: str) -> Iterator[tuple[int, int, str, bool]]:
    """Yield (line index, column, target, is image) for each link outside code and comments in Markdown."""
    for index, line in _prose_lines(text):
        if "[" not in line and "=" not in line:
            continue  # no link starts without one of them
        visible = _CODE_SPAN.sub(lambda code: " " * len(code.group()), line)
        for link in _LINK_TARGET.finditer(visible):
            name = link.lastgroup or "inline"
            yield index, link.start(name) + 1, link.group(name), link.group(0).startswith(("!", "src"))


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (index, line) for lines outside fenced and indented code, with HTML comments blanked."""
    fence: str | None = None
    in_comment = in_list = False
    previous_blank = True
    for index, line in enumerate(text.split("\n")):
        match = FENCE.match(line)
        if match and (fence is None or closes_fence(match, fence)):
            fence = match.group("fence") if fence is None else None
            continue
        blank = not line.strip()
        indented_code = not blank and not in_list and line.startswith(("    ", "\t")) and (previous_blank or index == 0)
        if not blank and not line.startswith((" ", "\t")):
            in_list = bool(_LIST_MARKER.match(line))
        previous_blank = blank or (indented_code and previous_blank)
        if fence is not None or indented_code:
            continue
        line, in_comment = _without_comments(line, in_comment)
        yield index, line


def closes_fence(match: re.Match[str], fence: str) -> bool:
    """Tell whether a fence line (a match with `fence` and `info` groups, as FENCE's) closes the
    block `fence` opened: the same character, at least as many, and nothing after them."""
    marker = match.group("fence")
    return marker[0] == fence[0] and len(marker) >= len(fence) and not match.group("info").strip()


def _without_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """Blank out `<!-- … -->` in a line, carrying an open comment over to the next line."""
    if not in_comment and "<!--" not in line:
        return line, False
    kept, position = [], 0
    while position < len(line):
        if in_comment:
            end = line.find("-->", position)
            if end < 0:
                return "".join(kept), True
            kept.append(" " * (end + 3 - position))
            position, in_comment = end + 3, False
        else:
            start = line.find("<!--", position)
            if start < 0:
                kept.append(line[position:])
                break
            kept.append(line[position:start])
            position, in_comment = start, True
    return "".join(kept), in_comment
