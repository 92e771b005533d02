"""Read the components beside agents: slash commands, skills (with the files of their folder),
and what a plugin runs on its user's machine (hooks and MCP servers).

Each reader is lenient, as the runtime is, and names what it could not read in the report.
Nothing here renders: text in, dataclasses out.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from generator.catalog.frontmatter import split_front_matter
from generator.catalog.load import (
    DEFAULT_MAX_FILE_SIZE,
    SKILL_FILE,
    file_digest,
    has_utf8_name,
    read_agent_bytes,
    text_field,
)
from generator.catalog.marketplace import read_json
from generator.catalog.mentions import find_mentions
from generator.errors import Finding, Report
from generator.markdown.sanitize import remove_control_characters

MAX_SKILL_FILES = 500
"""A skill folder lists at most this many files: a skill is a prompt and its tools, not a project."""
_SHELL_LINE = re.compile(r"!`([^`\n]+)`")
_BINARY_SAMPLE = 8192


@dataclass(frozen=True)
class Command:
    """A slash command: its frontmatter's fields and its prompt."""

    path: Path
    rel_path: PurePosixPath
    """The file's path below the catalog's folder."""
    name: str
    """The command's name: its file name without `.md` (`/name`)."""
    description: str
    argument_hint: str
    allowed_tools: tuple[str, ...]
    model: str
    body: str
    """The prompt, as written."""
    body_line: int
    shell_lines: tuple[str, ...]
    """The shell commands its `` !`…` `` lines run when it is invoked."""
    digest: str
    source: bytes
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """1-based line of each frontmatter key in the file."""
    raw_fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The frontmatter as read."""

    @functools.cached_property
    def mentions(self) -> tuple[str, ...]:
        """The components its description and prompt name (see `find_mentions`)."""
        return find_mentions(f"{self.description}\n{self.body}")


@dataclass(frozen=True)
class SkillFile:
    """A file in a skill's folder, beside its SKILL.md."""

    rel_path: PurePosixPath
    """Its path below the skill's folder."""
    size: int
    kind: str
    """"markdown", "text" (code or data, shown highlighted), "binary" (listed, not shown) or "large"."""
    text: str = ""
    """Its text, for a markdown or text file."""
    data: bytes = b""
    """Its bytes, for any file that is not too large (the skill's archive holds them)."""
    executable: bool = False


@dataclass(frozen=True)
class Skill:
    """A skill: its SKILL.md's fields and body, and the other files of its folder."""

    path: Path
    """Its SKILL.md."""
    rel_path: PurePosixPath
    name: str
    folder_name: str
    description: str
    allowed_tools: tuple[str, ...]
    license: str
    version: str
    body: str
    body_line: int
    files: tuple[SkillFile, ...]
    digest: str
    source: bytes
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    raw_fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def mentions(self) -> tuple[str, ...]:
        """The components its description and instructions name (see `find_mentions`)."""
        return find_mentions(f"{self.description}\n{self.body}")


@dataclass(frozen=True)
class Hook:
    """One hook a plugin sets: when it runs, for which tools, and what it runs."""

    event: str
    matcher: str
    """The tool-name pattern; "" for every tool."""
    type: str
    action: str
    """The command it runs, the prompt it sends, or the rest of its fields as written for another type."""
    timeout: str
    source: Path
    """The hooks.json (or manifest) it is written in."""


_PLUGIN_ROOT_PATH = re.compile(
    r"\"\$\{CLAUDE_PLUGIN_ROOT\}/(?P<double>[^\"\n]+)\""  # "${CLAUDE_PLUGIN_ROOT}/my tool.sh"
    r"|'\$\{CLAUDE_PLUGIN_ROOT\}/(?P<single>[^'\n]+)'"
    r"|\$\{CLAUDE_PLUGIN_ROOT\}/(?P<bare>[^\s\"'`;|&<>()]+)"
)


def plugin_root_paths(action: str) -> list[str]:
    """Return the paths in the plugin's folder that a hook's command names (`${CLAUDE_PLUGIN_ROOT}/…`),
    a quoted one whole, spaces and all."""
    found = (next(part for part in match.groups() if part is not None) for match in _PLUGIN_ROOT_PATH.finditer(action))
    return list(dict.fromkeys(path.rstrip(".,/") for path in found if path.rstrip(".,/")))


@dataclass(frozen=True)
class McpServer:
    """An MCP server a plugin starts or connects to; the names of its settings, never their values."""

    name: str
    transport: str
    """"stdio" for a program the user's machine starts, else "http", "sse" or "ws"."""
    command: str
    """The program and its arguments, or the address."""
    env_names: tuple[str, ...]
    header_names: tuple[str, ...]
    source: Path


def usage_name(command_name: str, plugin: str) -> str:
    """Return what a user types after `/`: `plugin:name` for a plugin's command, else `name`."""
    return f"{plugin}:{command_name}" if plugin else command_name


def read_command(path: Path, root: Path, report: Report, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Command | None:
    """Read a slash command file; None, with a finding, when it cannot be read as text."""
    data, text = _read_text(path, report, max_file_size)
    if data is None or text is None:
        return None
    split = split_front_matter(text)
    fields = split.front_matter.data
    body = split.body
    description = text_field(fields, "description") or _first_line(body)
    return Command(
        path=path, rel_path=_below(path, root), name=path.stem, description=description,
        argument_hint=text_field(fields, "argument-hint"), allowed_tools=tool_list(fields.get("allowed-tools")),
        model=text_field(fields, "model"), body=body, body_line=split.body_line,
        shell_lines=tuple(match.group(1).strip() for match in _SHELL_LINE.finditer(body)),
        digest=file_digest(data), source=data, key_lines=split.front_matter.key_lines, raw_fields=fields,
    )


def read_skill(
    path: Path, root: Path, report: Report, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    shown: Callable[[Path], bool] = lambda _: True,
) -> Skill | None:
    """Read a skill's SKILL.md and list the files of its folder that are `shown` (see `list_skill_files`)."""
    data, text = _read_text(path, report, max_file_size)
    if data is None or text is None:
        return None
    split = split_front_matter(text)
    fields = split.front_matter.data
    return Skill(
        path=path, rel_path=_below(path, root), name=text_field(fields, "name") or path.parent.name,
        folder_name=path.parent.name, description=text_field(fields, "description"),
        allowed_tools=tool_list(fields.get("allowed-tools")), license=text_field(fields, "license"),
        version=text_field(fields, "version"), body=split.body, body_line=split.body_line,
        files=list_skill_files(path.parent, max_file_size, shown), digest=file_digest(data), source=data,
        key_lines=split.front_matter.key_lines, raw_fields=fields,
    )


def list_skill_files(
    folder: Path, max_file_size: int = DEFAULT_MAX_FILE_SIZE, shown: Callable[[Path], bool] = lambda _: True,
) -> tuple[SkillFile, ...]:
    """List the files of a skill's folder but its SKILL.md that are `shown`, sorted: no hidden
    names, no links that lead out of the folder, no FIFOs; a file over `max_file_size` is listed
    without its bytes."""
    root = folder.resolve()
    found: list[SkillFile] = []
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".")
                            and _stays_inside(Path(current, name), root))
        for name in sorted(files):
            path = Path(current, name)
            rel = PurePosixPath(path.relative_to(folder).as_posix())
            if (name.startswith(".") or str(rel) == SKILL_FILE or not has_utf8_name(name) or not shown(path)
                    or not _stays_inside(path, root) or not path.is_file()):
                continue
            found.append(_skill_file(path, rel, max_file_size))
            if len(found) >= MAX_SKILL_FILES:
                return tuple(found)
    return tuple(found)


def _skill_file(path: Path, rel: PurePosixPath, max_file_size: int) -> SkillFile:
    status = path.stat()
    executable = bool(status.st_mode & 0o111)
    data = read_at_most(path, max_file_size)
    if data is None:
        return SkillFile(rel, status.st_size, "large", executable=executable)
    text = _as_text(data)
    if text is None:
        return SkillFile(rel, len(data), "binary", data=data, executable=executable)
    kind = "markdown" if rel.suffix.lower() in (".md", ".markdown") else "text"
    return SkillFile(rel, len(data), kind, remove_control_characters(text), data, executable)


def read_at_most(path: Path, limit: int) -> bytes | None:
    """Return a file's bytes, or None when it is larger than `limit` bytes or cannot be read."""
    try:
        with path.open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def read_small_text(path: Path, limit: int) -> str | None:
    """Return a text file of at most `limit` bytes without control characters; None for a larger,
    unreadable or binary one."""
    data = read_at_most(path, limit)
    text = _as_text(data) if data is not None else None
    return remove_control_characters(text) if text is not None else None


def read_hooks(path: Path, report: Report) -> list[Hook]:
    """Read a hooks.json: every hook, in the order written."""
    value = read_json(path, report).value
    return hooks_of(value, path) if isinstance(value, dict) else []


def hooks_of(value: dict[str, Any], source: Path) -> list[Hook]:
    """Return the hooks of a hooks object: `{"hooks": {EVENT: [{"matcher", "hooks": [...]}]}}`."""
    events = value.get("hooks") if isinstance(value.get("hooks"), dict) else value
    found: list[Hook] = []
    for event, groups in events.items():
        if not isinstance(groups, list) or event == "description":
            continue
        for group in groups:
            if not isinstance(group, dict):
                continue
            matcher = group.get("matcher")
            hooks = group.get("hooks")
            for hook in hooks if isinstance(hooks, list) else []:
                if isinstance(hook, dict):
                    found.append(_hook(str(event), matcher if isinstance(matcher, str) else "", hook, source))
    return found


def _hook(event: str, matcher: str, hook: dict[str, Any], source: Path) -> Hook:
    kind = hook.get("type") if isinstance(hook.get("type"), str) else ""
    if kind == "command" and isinstance(hook.get("command"), str):
        action = hook["command"]
    elif kind == "prompt" and isinstance(hook.get("prompt"), str):
        action = hook["prompt"]
    else:  # a type we do not know yet: show all it says
        action = ", ".join(f"{key}: {value}" for key, value in hook.items() if key not in ("type", "timeout"))
    timeout = hook.get("timeout")
    return Hook(event, matcher.strip(), kind, remove_control_characters(action),
                str(timeout) if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else "", source)


def read_mcp_servers(path: Path, report: Report) -> list[McpServer]:
    """Read a `.mcp.json`: every server it declares."""
    value = read_json(path, report).value
    return mcp_servers_of(value, path) if isinstance(value, dict) else []


def mcp_servers_of(value: dict[str, Any], source: Path) -> list[McpServer]:
    """Return the servers of `{"mcpServers": {NAME: {...}}}` (or of the mapping itself)."""
    servers = value.get("mcpServers") if isinstance(value.get("mcpServers"), dict) else value
    found = []
    for name, server in sorted(servers.items()):
        if not isinstance(server, dict):
            continue
        url = server.get("url") if isinstance(server.get("url"), str) else ""
        transport = server.get("type") if isinstance(server.get("type"), str) else ("http" if url else "stdio")
        args = server.get("args") if isinstance(server.get("args"), list) else []
        command = url or " ".join([str(server.get("command") or ""), *(str(arg) for arg in args)]).strip()
        found.append(McpServer(
            str(name), transport, remove_control_characters(command), _names(server.get("env")),
            _names(server.get("headers")), source))
    return found


def tool_list(value: object) -> tuple[str, ...]:
    """Return a tools field (a comma-separated text or a list) as a tuple of names."""
    if isinstance(value, str):
        parts = _split_tools(value)
    elif isinstance(value, list):
        parts = [str(item).strip() for item in value if item is not None]
    else:
        parts = []
    return tuple(part for part in parts if part)


def _split_tools(text: str) -> list[str]:
    """Split `Read, Bash(git add:*, git commit:*)` at the commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    return [*parts, current.strip()]


def _names(value: object) -> tuple[str, ...]:
    return tuple(sorted(str(key) for key in value)) if isinstance(value, dict) else ()


def _read_text(path: Path, report: Report, max_file_size: int) -> tuple[bytes | None, str | None]:
    data = read_agent_bytes(path, report, max_file_size)
    if data is None:
        return None, None
    text = _as_text(data)
    if text is None:
        report.add(Finding(path, 1, "error", "skipped: this file is not UTF-8 text", "not-text"))
    return data, text


def _as_text(data: bytes) -> str | None:
    if b"\0" in data[:_BINARY_SAMPLE]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _first_line(body: str) -> str:
    for line in body.splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text
    return ""


def _below(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(path.resolve().relative_to(root.resolve()).as_posix())


def _stays_inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False

