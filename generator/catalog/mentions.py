"""The other components a file names in its text: `the code-reviewer agent`, `subagent_type:
code-reviewer`, `/plugin:command`, the pdf skill. Which of them exist is the site's to decide
(`generator.site.relations`); this only finds the names, as the file is read."""

from __future__ import annotations

import re

_NAME = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)"
_QUOTE = r"[`*_\"']{0,2}"
_MENTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Task(subagent_type="code-reviewer"), subagent_type: plugin:code-reviewer
    ("agent", re.compile(rf"subagent_type[\"']?\s*[:=]\s*[\"'`]?(?P<name>(?:{_NAME}:)?(?:{_NAME}))")),
    # the code-reviewer agent, `code-reviewer` subagent, **code-reviewer** agents
    ("agent", re.compile(rf"(?<![\w/:.-]){_QUOTE}(?P<name>{_NAME}){_QUOTE}\s+(?:sub-?)?agents?\b", re.IGNORECASE)),
    ("skill", re.compile(rf"(?<![\w/:.-]){_QUOTE}(?P<name>{_NAME}){_QUOTE}\s+skills?\b", re.IGNORECASE)),
    # /plugin:command, as the runtime names a plugin's command (or skill)
    ("command", re.compile(rf"(?<![\w/.:-])/(?P<name>{_NAME}:{_NAME})(?![\w/-])")),
    # `/command` or `/command args` in code
    ("command", re.compile(rf"`/(?P<name>{_NAME})(?:\s[^`\n]*)?`")),
)
MAX_MENTIONS = 200
"""A file names at most this many components that count; more is a list, not a mention."""


def find_mentions(text: str) -> tuple[str, ...]:
    """Return each component `text` names, as `<kind> <name>` (lower case; a name may be
    `<plugin>:<name>`), sorted, without repeats."""
    found: set[str] = set()
    for kind, pattern in _MENTIONS:
        for match in pattern.finditer(text):
            found.add(f"{kind} {match.group('name').lower()}")
            if len(found) >= MAX_MENTIONS:
                return tuple(sorted(found))
    return tuple(sorted(found))
