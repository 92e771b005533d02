"""The tools an agent may name, and the settings the rules take from the config: apart from the
rules themselves, so reading the config never loads them."""

from __future__ import annotations

from dataclasses import dataclass

# The agent runtime's tools, as its documentation names them; `known_tools` in the config
# replaces this list and `extra_tools` adds to it.
RUNTIME_TOOLS = (
    "Agent", "AskUserQuestion", "Bash", "BashOutput", "Edit", "EnterPlanMode", "EnterWorktree",
    "ExitPlanMode", "ExitWorktree", "Glob", "Grep", "KillBash", "KillShell", "LS", "LSP",
    "ListMcpResourcesTool", "MultiEdit", "NotebookEdit", "NotebookRead", "Read",
    "ReadMcpResourceTool", "SendMessage", "Skill", "SlashCommand", "Task", "TaskCreate",
    "TaskGet", "TaskList", "TaskOutput", "TaskStop", "TaskUpdate", "TeamCreate", "TeamDelete",
    "TodoRead", "TodoWrite", "ToolSearch", "WebFetch", "WebSearch", "Write",
)  # fmt: skip


@dataclass(frozen=True)
class LintSettings:
    """What the rules need to know beyond the file itself."""

    known_tools: frozenset[str] = frozenset(RUNTIME_TOOLS)
