"""Links between components by mention: a file that names another component of the catalog
(`the code-reviewer agent`, `subagent_type: code-reviewer`, `/plugin:command`) lists it under
"Uses", and the named component lists the file under "Used by"; a warm build keeps both lists
true after an edit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import parse_html, text_of

from generator.catalog.mentions import find_mentions
from generator.commands.cli import main
from generator.site.relations import Mentioner, Related, relate


@pytest.mark.parametrize(("text", "expected"), [
    ("Hand it to the code-reviewer agent.", {"agent code-reviewer"}),
    ("Then use the `code-reviewer` subagent", {"agent code-reviewer"}),
    ('Task(subagent_type="backend:api-designer")', {"subagent backend:api-designer"}),
    ("subagent_type: incident-response-code-reviewer", {"subagent incident-response-code-reviewer"}),
    ("the c4-context agent.", {"agent c4-context"}),
    ("Run /git:commit when done.", {"command git:commit"}),
    ("Type `/deploy staging` to ship.", {"command deploy"}),
    ("Load the **pdf** skill first.", {"skill pdf"}),
    ("See </div> and /usr/bin:x and https://example.com/a:b and a/b:c", set()),
    # Words that only sit beside "agent" or "skill" are no names (each found on a real marketplace).
    ("using specialized review agents, Python agents, 1. Review AGENTS.md", set()),
    ("await agent.ainvoke(); see SKILL.md; Check agent-based; Update skills/foo", set()),
])
def test_mentions_are_found_in_text(text: str, expected: set[str]) -> None:
    assert set(find_mentions(text)) == expected


def component(kind: str, name: str, plugin: str, *mentions: str) -> Mentioner:
    return Mentioner(kind, (name,), plugin, Related(kind, name, f"{plugin}/{kind}/{name}"), mentions)


def test_prose_names_the_own_plugins_and_the_runtimes_names_reach_further() -> None:
    own = component("agent", "reviewer", "a")
    other = component("agent", "reviewer", "b")
    unique = component("agent", "planner", "c")
    source = component("command", "go", "a", "agent reviewer", "subagent planner", "agent planner")
    stranger = component("command", "run", "d", "agent reviewer", "subagent reviewer", "agent b:reviewer",
                         "command go", "agent run")
    relations = relate([own, other, unique, source, stranger])
    assert relations[source.page.url].uses == (unique.page, own.page)  # by kind, then title
    # From plugin d, prose ("the reviewer agent") and a name two plugins share link nothing; the
    # plugin-qualified name does.
    assert relations[stranger.page.url].uses == (other.page,)
    assert relations[own.page.url].used_by == (source.page,)
    assert relations[other.page.url].used_by == (stranger.page,)


def test_two_commands_of_one_name_are_not_taken_for_a_skill() -> None:
    first, second = component("command", "deploy", "a"), component("command", "deploy", "b")
    skill = component("skill", "deploy", "d")
    source = component("agent", "x", "c", "command deploy", "subagent deploy")
    assert source.page.url not in relate([first, second, skill, source])


def test_a_slash_name_may_be_a_skill_and_nothing_names_itself() -> None:
    skill = component("skill", "pdf", "a")
    command = component("command", "pdf-tool", "a", "command a:pdf", "command pdf-tool")
    relations = relate([skill, command])
    assert relations[command.page.url].uses == (skill.page,)
    assert relations[skill.page.url].used_by == (command.page,)


AGENT = """---
name: reviewer
description: Reviews code. Ask the `planner` agent first.
---

## Role

Reviews. When done, run /tools:ship.
"""
PLANNER = "---\nname: planner\ndescription: Plans work.\n---\n\n## Role\n\nPlans.\n"
COMMAND = """---
description: Ship it.
---
Use Task with subagent_type: reviewer, then the `pdf` skill.
"""


def write_marketplace(root: Path) -> Path:
    files = {
        ".claude-plugin/marketplace.json": json.dumps({
            "name": "demo", "owner": {"name": "Demo"}, "plugins": [{"name": "tools", "source": "./plugins/tools"}]}),
        "plugins/tools/.claude-plugin/plugin.json": json.dumps({"name": "tools"}),
        "plugins/tools/agents/reviewer.md": AGENT,
        "plugins/tools/agents/planner.md": PLANNER,
        "plugins/tools/commands/ship.md": COMMAND,
        "plugins/tools/skills/pdf/SKILL.md": "---\nname: pdf\ndescription: Reads PDFs.\n---\nRead them.\n",
        "agentpages.yml": "repo_url: https://github.com/demo/demo\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def related_lists(page: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Each list of a page's "Works with" section: its items' text, kind and target page."""
    root = parse_html(page)
    section = root.find(".//section[@aria-labelledby='ap-related']")
    if section is None:
        return {}
    lists: dict[str, list[tuple[str, str, str]]] = {}
    for heading in section.iter("h3"):
        items = heading.getnext()
        title = text_of(heading).rsplit(" (", 1)[0]
        lists[title] = [(text_of(item.find("a")), text_of(item.find("span")),
                         str((page.parent / item.find("a").get("href")).resolve().relative_to(page.parents[4])))
                        for item in items.iter("li")]
    return lists


def test_pages_list_what_they_use_and_what_uses_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_marketplace(tmp_path / "market")
    monkeypatch.chdir(root)
    assert main(["build"]) == 0
    plugins = root / "site" / "plugins" / "tools"
    reviewer = plugins / "agents" / "reviewer" / "index.html"
    ship = plugins / "commands" / "ship" / "index.html"
    pdf = plugins / "skills" / "pdf" / "index.html"
    assert related_lists(reviewer) == {
        "Uses": [("planner", "agent", "plugins/tools/agents/planner/index.html"),
                 ("/tools:ship", "command", "plugins/tools/commands/ship/index.html")],
        "Used by": [("/tools:ship", "command", "plugins/tools/commands/ship/index.html")],
    }
    assert related_lists(ship) == {
        "Uses": [("reviewer", "agent", "plugins/tools/agents/reviewer/index.html"),
                 ("pdf", "skill", "plugins/tools/skills/pdf/index.html")],
        "Used by": [("reviewer", "agent", "plugins/tools/agents/reviewer/index.html")],
    }
    assert related_lists(pdf) == {"Used by": [("/tools:ship", "command", "plugins/tools/commands/ship/index.html")]}

    # An edit that drops a mention takes it off both pages in a warm build.
    agent_file = root / "plugins" / "tools" / "agents" / "reviewer.md"
    agent_file.write_text(AGENT.replace("run /tools:ship", "stop"), encoding="utf-8")
    assert main(["build"]) == 0
    assert "Used by" not in related_lists(ship)
    assert [title for title, _, _ in related_lists(reviewer)["Uses"]] == ["planner"]
    (root / "plugins" / "tools" / "commands" / "ship.md").write_text(COMMAND.replace(", then the `pdf` skill", ""),
                                                                     encoding="utf-8")
    assert main(["build"]) == 0
    assert related_lists(pdf) == {}
