"""The other components a file names in its text: `the code-reviewer agent`, `subagent_type:
code-reviewer`, `/plugin:command`, the pdf skill. Which of them exist is the site's to decide
(`generator.site.relations`); this only finds the names, as the file is read."""

from __future__ import annotations

import re

_NAME = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)"
# A name in a phrase is a component's only when it reads as one: quoted, or with a hyphen,
# underscore or digit ("the code-reviewer agent", "the `debugger` agent"), not "the review
# agents", "Python agent" or "await agent.run()".
_COMPOUND = r"(?:[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+|[A-Za-z]+[0-9][A-Za-z0-9]*)"
_PHRASE_NAME = rf"(?:`(?P<code>{_NAME})`|\*\*(?P<bold>{_NAME})\*\*|\"(?P<quoted>{_NAME})\"|(?P<plain>{_COMPOUND}))"
_NOT_A_WORD_PART = r"(?![.\-/:]?\w)"  # not `AGENTS.md`, `agent-based`, `skills/foo`, `agent.run`
_MENTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Task(subagent_type="code-reviewer"), subagent_type: plugin:code-reviewer
    ("subagent", re.compile(rf"subagent_type[\"']?\s*[:=]\s*[\"'`]?(?P<name>(?:{_NAME}:)?(?:{_NAME}))")),
    # the code-reviewer agent, the `debugger` subagent
    ("agent", re.compile(rf"(?<![\w/:.-]){_PHRASE_NAME}\s+(?:sub-?)?agent{_NOT_A_WORD_PART}", re.IGNORECASE)),
    ("skill", re.compile(rf"(?<![\w/:.-]){_PHRASE_NAME}\s+skill{_NOT_A_WORD_PART}", re.IGNORECASE)),
    # /plugin:command, as the runtime names a plugin's command (or skill)
    ("command", re.compile(rf"(?<![\w/.:-])/(?P<name>{_NAME}:{_NAME})(?![\w/-])")),
    # `/command` or `/command args` in code
    ("command", re.compile(rf"`/(?P<name>{_NAME})(?:\s[^`\n]*)?`")),
)
MAX_MENTIONS = 200
"""A file names at most this many components that count; more is a list, not a mention."""


def find_mentions(text: str) -> tuple[str, ...]:
    """Return each component `text` names, as `<kind> <name>` (lower case; a name may be
    `<plugin>:<name>`), sorted, without repeats. The kind `subagent` is an agent named where the
    runtime takes its name (`subagent_type`): the surest mention there is."""
    found: set[str] = set()
    for kind, pattern in _MENTIONS:
        for match in pattern.finditer(text):
            name = next(value for key, value in match.groupdict().items() if value is not None)
            found.add(f"{kind} {name.lower()}")
            if len(found) >= MAX_MENTIONS:
                return tuple(sorted(found))
    return tuple(sorted(found))
