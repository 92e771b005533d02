"""The config's `include` and `exclude` patterns: what the layout rules get wrong, a catalog
narrows in gitignore's syntax; a file they leave out is never read, listed or warned about."""

from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import build_catalog, write_agents

from generator.commands.cli import main
from generator.config import load_config
from generator.errors import ConfigError


def agent(name: str) -> str:
    return f"---\nname: {name}\ndescription: Does {name} things.\n---\n\n## Role\n\nWorks.\n"


def pages_below(folder: Path) -> set[str]:
    return {path.parent.relative_to(folder).as_posix() for path in folder.rglob("index.html")}


def test_exclude_and_include_narrow_an_agents_folder(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {
        "core/api.md": agent("api"),
        "core/old.draft.md": agent("old"),
        "core/kept.draft.md": agent("kept"),
        "docs/guide.md": agent("guide"),
        "extra/other.md": agent("other"),
    })
    (tmp_path / "agentpages.yml").write_text(
        "exclude:\n  - docs/\n  - '*.draft.md'\n  - '!kept.draft.md'\n", encoding="utf-8")
    result = build_catalog(agents)
    assert pages_below(tmp_path / "site" / "agents") == {"api", "kept", "other"}
    assert len(result.catalog.agents) == 3

    (tmp_path / "agentpages.yml").write_text("include: ['core/**']\nexclude: ['*.draft.md']\n", encoding="utf-8")
    build_catalog(agents)
    assert pages_below(tmp_path / "site" / "agents") == {"api"}, "a warm build follows the new patterns"
    names = {entry["name"] for entry in json.loads((tmp_path / "site" / "catalog.json").read_text())["agents"]}
    assert names == {"api"}


def write_marketplace(root: Path) -> Path:
    files = {
        ".claude-plugin/marketplace.json": json.dumps({
            "name": "demo", "owner": {"name": "Demo"},
            "plugins": [{"name": "tools", "source": "./plugins/tools"}, {"name": "old", "source": "./plugins/old"}]}),
        "plugins/tools/.claude-plugin/plugin.json": json.dumps({
            "name": "tools", "agents": ["./agents/api.md", "./agents/wip.md"]}),
        "plugins/tools/agents/api.md": agent("api"),
        "plugins/tools/agents/wip.md": agent("wip"),
        "plugins/tools/agents/scratch.md": agent("scratch"),
        "plugins/tools/commands/deploy.md": "---\ndescription: Deploy it.\n---\nDeploy $ARGUMENTS.\n",
        "plugins/tools/skills/pdf/SKILL.md": "---\nname: pdf\ndescription: Read PDFs.\n---\nUse the script.\n",
        "plugins/tools/skills/pdf/script.py": "print('pdf')\n",
        "plugins/tools/skills/pdf/secret.env": "TOKEN=1\n",
        "plugins/old/.claude-plugin/plugin.json": json.dumps({"name": "old"}),
        "plugins/old/commands/legacy.md": "---\ndescription: Old.\n---\nOld.\n",
        "agentpages.yml": textwrap.dedent("""\
            repo_url: https://github.com/demo/demo
            exclude:
              - plugins/tools/agents/wip.md
              - plugins/tools/agents/scratch.md
              - plugins/old/commands/
              - '*.env'
            """),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_exclude_leaves_components_of_a_marketplace_out_without_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_marketplace(tmp_path / "market")
    monkeypatch.chdir(root)
    assert main(["check", "--strict"]) == 0, capsys.readouterr()
    assert "not listed" not in capsys.readouterr().out
    assert main(["build"]) == 0
    site = root / "site" / "plugins"
    assert pages_below(site / "tools" / "agents") == {"api"}
    assert not (site / "old" / "commands").exists()
    assert pages_below(site / "tools" / "commands") == {"deploy"}
    with zipfile.ZipFile(site / "tools" / "skills" / "pdf.zip") as opened:
        assert sorted(Path(name).name for name in opened.namelist()) == ["SKILL.md", "script.py"]
    catalog = json.loads((root / "site" / "catalog.json").read_text(encoding="utf-8"))
    assert [command["name"] for command in catalog["commands"]] == ["deploy"]


@pytest.mark.parametrize(("value", "message"), [
    ("exclude: docs/", "'exclude' must be a list"),
    ("include: [3]", "'include' must be a list of patterns"),
    ("exclude: ['!']", "'exclude' holds '!', which is no gitignore pattern"),
])
def test_a_bad_pattern_names_its_line(tmp_path: Path, value: str, message: str) -> None:
    agents = write_agents(tmp_path, {"a.md": agent("a")})
    (tmp_path / "agentpages.yml").write_text(f"title: T\n{value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(agents, tmp_path / "site")
    assert message in str(caught.value)
    assert caught.value.line == 2


def test_exclude_covers_a_plugins_readme_hooks_and_whole_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_marketplace(tmp_path / "market")
    (root / "plugins" / "tools" / "README.md").write_text("# Tools\n\nSee [gone](nowhere.md).\n", encoding="utf-8")
    (root / "plugins" / "tools" / "hooks").mkdir()
    (root / "plugins" / "tools" / "hooks" / "hooks.json").write_text(json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/gone.sh"}]}]}}))
    (root / "plugins" / "tools" / "drafts").mkdir()
    (root / "plugins" / "tools" / "drafts" / "outside.md").symlink_to(tmp_path / "elsewhere.md")
    config = (root / "agentpages.yml").read_text(encoding="utf-8")
    (root / "agentpages.yml").write_text(config + "  - plugins/tools/README.md\n  - '**/hooks/'\n  - plugins/old/\n"
                                         "  - drafts/\n", encoding="utf-8")
    monkeypatch.chdir(root)
    assert main(["check", "--strict"]) == 0, capsys.readouterr()
    assert main(["build"]) == 0
    page = (root / "site" / "plugins" / "tools" / "index.html").read_text(encoding="utf-8")
    assert "gone.sh" not in page and "nowhere.md" not in page
    assert not (root / "site" / "plugins" / "old").exists()
    catalog = json.loads((root / "site" / "catalog.json").read_text(encoding="utf-8"))
    assert [plugin["name"] for plugin in catalog["plugins"]] == ["tools"]


def test_an_agents_links_are_checked_against_the_sites_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_marketplace(tmp_path / "market")
    body = ("See [the plugin](../), [its readme](../README.md), [the skill](../skills/pdf/), [a draft](wip.md) "
            "and [scratch](scratch.md).\n")
    (root / "plugins" / "tools" / "README.md").write_text("# Tools\n", encoding="utf-8")
    (root / "plugins" / "tools" / "agents" / "api.md").write_text(
        f"---\nname: api\ndescription: Does api things.\n---\n\n## Role\n\n{body}", encoding="utf-8")
    monkeypatch.chdir(root)
    main(["check"])
    broken = [line for line in capsys.readouterr().out.splitlines() if line.endswith("[broken-link]")]
    # wip.md and scratch.md are excluded: they have no page, so their links show as text.
    assert [line.split("link '")[1].split("'")[0] for line in broken] == ["wip.md", "scratch.md"]


def test_an_excluded_link_out_of_the_folder_is_not_warned_about(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": agent("a"), "drafts/keep.md": agent("keep")})
    (tmp_path / "secret.md").write_text(agent("secret"), encoding="utf-8")
    (agents / "drafts" / "out.md").symlink_to(tmp_path / "secret.md")
    (tmp_path / "agentpages.yml").write_text("exclude: [drafts/]\n", encoding="utf-8")
    result = build_catalog(agents)
    assert not any(finding.rule == "link-outside" for finding in result.report.findings)
    assert [agent.name for agent in result.catalog.agents] == ["a"]
