"""The rules of `check` for a marketplace's manifests and for the components beside agents:
skills, slash commands and hooks. Each finding says where (`path:line:col`) and what to do.

What the runtime merely does not know yet (a new hook event, a new hook type) is reported as
information worth a look only when it nearly matches a known name: the runtime keeps adding.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Container
from pathlib import Path, PurePosixPath
from typing import Any

from generator.catalog.components import Command, Hook, Skill, plugin_root_paths
from generator.catalog.lint import broken_link
from generator.catalog.load import SKIPPED_NAMES
from generator.catalog.marketplace import (
    MARKETPLACE_FILE,
    PLUGIN_FILE,
    JsonDocument,
    Marketplace,
    read_json,
)
from generator.errors import Finding, SiteError
from generator.markdown.links import (
    find_links,
    has_relative_link,
    is_relative_link,
    target_path,
)

KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
SKILL_NAME_LIMIT = 64
SKILL_DESCRIPTION_LIMIT = 1024
COMMAND_KEYS = frozenset({"description", "argument-hint", "allowed-tools", "model", "disable-model-invocation"})
HOOK_EVENTS = (
    "PreToolUse", "PostToolUse", "Notification", "UserPromptSubmit", "Stop", "SubagentStop", "PreCompact",
    "SessionStart", "SessionEnd", "PermissionRequest",
)  # fmt: skip
HOOK_NEEDS = {"command": "command", "prompt": "prompt"}
"""What each hook type must say, by type."""
_TOOL_PATTERN = re.compile(r"^\w[\w*]*(\(.*\))?$")


def _document(path: Path) -> JsonDocument:
    """Read a manifest again to check it; one that is not JSON was reported when it was first read."""
    try:
        return read_json(path)
    except SiteError:
        return JsonDocument(path, "", {})


def check_marketplace(marketplace: Marketplace, selected: Callable[[Path], bool] = lambda _: True) -> list[Finding]:
    """Check the marketplace's manifest and every plugin's: names, versions, sources, and plugins
    or component files that the manifests leave out (unless the config leaves them out: not `selected`)."""
    document = _document(marketplace.manifest)
    data = document.value if isinstance(document.value, dict) else {}
    findings = _check_names_and_versions(document, data.get("plugins") or [], "plugins")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        findings.append(document.finding("name", "error", "the marketplace has no 'name': users install its "
                                         "plugins as <plugin>@<name>", "marketplace-name"))
    elif not KEBAB_CASE.match(name):
        findings.append(document.finding_of_value(name, "warning", f"the marketplace's name '{name}' is not "
                                                  "kebab-case: lower-case letters, digits and hyphens", "marketplace-name"))
    for plugin in marketplace.plugins:
        if plugin.manifest is not None:
            findings += _check_plugin_manifest(plugin.manifest)
            findings += _check_unlisted_agents(plugin.manifest, plugin.agents, selected)
    findings += _check_unlisted_plugins(marketplace, selected)
    return findings


def _check_names_and_versions(document: JsonDocument, entries: list[Any], key: str) -> list[Finding]:
    findings = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        name, version = entry.get("name"), entry.get("version")
        if isinstance(name, str) and name and not KEBAB_CASE.match(name):
            findings.append(document.finding_of_value(name, "warning", f"plugin name '{name}' is not kebab-case: "
                                                      "lower-case letters, digits and hyphens", "plugin-name"))
        if version is not None and not (isinstance(version, str) and SEMVER.match(version)):
            findings.append(_version_finding(document, version))
        findings += _check_addresses(document, entry)
    return findings


def _check_addresses(document: JsonDocument, entry: dict[str, Any]) -> list[Finding]:
    """A `homepage` or `repository` that is no web address, which the plugin's page leaves out."""
    findings = []
    for key in ("homepage", "repository"):
        value = entry.get(key)
        value = value.get("url") if isinstance(value, dict) else value
        if isinstance(value, str) and value.strip() and not value.strip().startswith(("https://", "http://")):
            findings.append(document.finding_of_value(value, "warning", f"'{key}' is not a web address, so the "
                                                      "plugin's page leaves it out: write https://…", "plugin-url"))
    return findings


def _version_finding(document: JsonDocument, version: object) -> Finding:
    shown = version if isinstance(version, str) else repr(version)
    return document.finding_of_value(str(version), "warning", f"version '{shown}' is not semantic versioning: "
                                     "write MAJOR.MINOR.PATCH, e.g. \"1.2.0\"", "plugin-version")


def _check_plugin_manifest(path: Path) -> list[Finding]:
    document = _document(path)
    if not document.text:
        return []  # not JSON: reported when it was read
    data = document.value if isinstance(document.value, dict) else {}
    findings = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        findings.append(document.finding("name", "error", "plugin.json has no 'name': add the plugin's name, in "
                                         "kebab-case", "plugin-name"))
    findings += _check_names_and_versions(document, [data], "")
    return findings


def _check_unlisted_agents(manifest: Path, agents: tuple[Path, ...], selected: Callable[[Path], bool]) -> list[Finding]:
    """A plugin.json that lists its agent files, and a Markdown file beside them it leaves out."""
    data = _document(manifest).value
    listed = data.get("agents") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return []
    folder = manifest.parent.parent
    known = {path.resolve() for path in agents}
    folders = {path.parent for path in known}
    return [Finding(path, 1, "warning", f"this file is beside the agents {PLUGIN_FILE} lists, but not listed: "
                    "add it to 'agents' there, or move it out of the plugin's folder", "agent-not-listed")
            for parent in sorted(folders) for path in sorted(parent.glob("*.md"))
            if path.resolve() not in known and path.name.lower() not in SKIPPED_NAMES
            and path.resolve().is_relative_to(folder.resolve()) and selected(path)]



def _check_unlisted_plugins(marketplace: Marketplace, selected: Callable[[Path], bool]) -> list[Finding]:
    """A folder beside the listed plugins that holds a plugin.json but is not in `plugins[]`."""
    folders = {plugin.folder.resolve() for plugin in marketplace.plugins if plugin.folder is not None}
    parents = {folder.parent for folder in folders}
    findings = []
    for parent in sorted(parents):
        for manifest in sorted(parent.glob(f"*/{PLUGIN_FILE}")):
            if (manifest.parent.parent.resolve() not in folders and manifest.parent.parent != marketplace.root
                    and selected(manifest)):
                findings.append(Finding(manifest, 1, "warning", f"this plugin is not listed in {MARKETPLACE_FILE}, "
                                        "so no one can install it: add it to 'plugins'", "plugin-not-listed"))
    return findings


def check_skill(skill: Skill) -> list[Finding]:
    """Check a SKILL.md's frontmatter against what the runtime requires of a skill."""
    findings = []
    line_of = skill.key_lines.get
    if not skill.raw_fields.get("name"):
        findings.append(Finding(skill.path, 1, "error", "this skill has no 'name': add `name: "
                                f"{skill.folder_name}` to its frontmatter", "skill-name"))
    else:
        name = str(skill.raw_fields["name"])
        if name != skill.folder_name:
            findings.append(Finding(skill.path, line_of("name", 1), "warning", f"the skill is named '{name}' but its "
                                    f"folder is '{skill.folder_name}': the runtime expects them to match",
                                    "skill-name"))
        if len(name) > SKILL_NAME_LIMIT or not KEBAB_CASE.match(name):
            findings.append(Finding(skill.path, line_of("name", 1), "error", f"a skill's name is at most "
                                    f"{SKILL_NAME_LIMIT} lower-case letters, digits and hyphens", "skill-name"))
    description = skill.raw_fields.get("description")
    if not description:
        findings.append(Finding(skill.path, 1, "error", "this skill has no 'description': say what it does and "
                                "when to use it, so the runtime knows when to load it", "skill-description"))
    elif len(str(description)) > SKILL_DESCRIPTION_LIMIT:
        findings.append(Finding(skill.path, line_of("description", 1), "error", f"the description is "
                                f"{len(str(description)):,} characters; the runtime takes at most "
                                f"{SKILL_DESCRIPTION_LIMIT:,}", "skill-description"))
    return findings


def check_command(command: Command) -> list[Finding]:
    """Check a slash command's frontmatter: keys the runtime knows, and its tool patterns."""
    findings = []
    for key in command.raw_fields:
        if key not in COMMAND_KEYS:
            close = difflib.get_close_matches(key, COMMAND_KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"a command takes {', '.join(sorted(COMMAND_KEYS))}"
            findings.append(Finding(command.path, command.key_lines.get(key, 1), "warning",
                                    f"unknown key '{key}': {hint}", "command-key"))
    for tool in command.allowed_tools:
        if tool.count("(") != tool.count(")") or not _TOOL_PATTERN.match(tool):
            findings.append(Finding(command.path, command.key_lines.get("allowed-tools", 1), "error",
                                    f"'{tool}' is not a tool pattern: write a tool's name, or `Bash(git status:*)`",
                                    "command-tools"))
    return findings


def check_hook_scripts(folder: Path, hooks: list[Hook]) -> list[Finding]:
    """Every `${CLAUDE_PLUGIN_ROOT}/…` file or folder a hook's command names is in the plugin's folder."""
    findings = []
    root = folder.resolve()
    for hook in hooks:
        for name in plugin_root_paths(hook.action):
            path = (folder / name).resolve()
            if path.is_relative_to(root) and path.exists():
                continue
            why = "is not in the plugin's folder" if path.is_relative_to(root) else "leads out of the plugin's folder"
            findings.append(_document(hook.source).finding_of_value(
                hook.action, "warning", f"the hook runs '${{CLAUDE_PLUGIN_ROOT}}/{name}', which {why}: the hook "
                "fails when it runs; add the file or fix the path", "hook-script"))
    return findings


def check_hooks(path: Path) -> list[Finding]:
    """Check a hooks.json: event names that nearly match known ones, hooks without what their type
    needs, and matchers that cannot be a tool pattern."""
    document = _document(path)
    data = document.value if isinstance(document.value, dict) else {}
    events = data.get("hooks") if isinstance(data.get("hooks"), dict) else {}
    findings = []
    if "hooks" in data and not isinstance(data["hooks"], dict):
        findings.append(document.finding("hooks", "error", "'hooks' is an object of events: {\"PreToolUse\": "
                                         "[{\"matcher\": \"Bash\", \"hooks\": [...]}]}", "hook-shape"))
    for event, groups in events.items():
        findings += _check_event_name(document, event)
        for group in groups if isinstance(groups, list) else []:
            if not isinstance(group, dict):
                continue
            matcher = group.get("matcher")
            if isinstance(matcher, str) and matcher and not _is_pattern(matcher):
                findings.append(document.finding_of_value(matcher, "error", f"matcher '{matcher}' is not a tool-name "
                                                          "pattern: write `Bash`, `Edit|Write` or `.*`", "hook-matcher"))
            hooks = group.get("hooks")
            if not isinstance(hooks, list):
                findings.append(document.finding(event, "error", f"a group of '{event}' has no list of 'hooks': write "
                                                 "\"hooks\": [{\"type\": \"command\", \"command\": \"...\"}]",
                                                 "hook-shape"))
                continue
            for hook in hooks:
                findings += _check_hook(document, event, hook)
    return findings


def _check_event_name(document: JsonDocument, event: str) -> list[Finding]:
    if event in HOOK_EVENTS:
        return []
    by_case = [known for known in HOOK_EVENTS if known.lower() == event.lower()]
    close = by_case or difflib.get_close_matches(event, HOOK_EVENTS, n=1, cutoff=0.85)
    if not close:
        return []  # a new event of the runtime's, most likely
    return [document.finding(event, "warning", f"hook event '{event}' is not one the runtime knows; did you mean "
                             f"'{close[0]}'?", "hook-event")]


def _check_hook(document: JsonDocument, event: str, hook: object) -> list[Finding]:
    if not isinstance(hook, dict):
        return [document.finding(event, "error", f"a hook of '{event}' is not an object: write "
                                 "{\"type\": \"command\", \"command\": \"...\"}", "hook-shape")]
    kind = hook.get("type")
    needs = HOOK_NEEDS.get(kind) if isinstance(kind, str) else None
    if needs and not (isinstance(hook.get(needs), str) and hook[needs].strip()):
        return [document.finding(event, "error", f"a '{kind}' hook of '{event}' has no '{needs}': say what it runs",
                                 "hook-shape")]
    if not isinstance(kind, str):
        return [document.finding(event, "error", f"a hook of '{event}' has no 'type': write \"type\": \"command\" "
                                 "(or another type the runtime knows)", "hook-shape")]
    return []


def _is_pattern(matcher: str) -> bool:
    if matcher == "*":
        return True
    try:
        re.compile(matcher)
    except re.error:
        return False
    return True


RelativeLinkAt = tuple[int, int, str, bool]
"""Where a relative link is written (line index, column), its target, and whether it is an image."""


def relative_links(text: str) -> list[RelativeLinkAt]:
    """Return every relative link and image of a Markdown text that is outside code."""
    if not has_relative_link(text):
        return []
    return [link for link in find_links(text) if is_relative_link(link[2])]


def check_links_of(
    path: Path, rel_path: PurePosixPath, links: list[RelativeLinkAt], first_line: int,
    targets: Container[PurePosixPath], also_from: PurePosixPath | None = None,
) -> list[Finding]:
    """The relative links and images of a command, skill, skill's file or README (`links`, see
    `relative_links`) lead to a page of the site (`targets`: files below the catalog's folder
    that have one), from the file itself or else from `also_from` (as links in a skill's
    references may start from its folder)."""
    starts = (rel_path,) if also_from is None else (rel_path, also_from)
    return [broken_link(path, first_line + index, column, target, is_image, "no page of this site",
                        "link a file of an agent, command, skill or plugin")
            for index, column, target, is_image in links
            if not any(target_path(target, start) in targets for start in starts)]
