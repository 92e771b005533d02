"""Plugin marketplaces as published: built from the repository's root with no options, a page for
every component the runtime would load and for nothing else, and what each plugin runs shown
on its page. The expected components are counted here from the layout rules of the runtime
(FORMATS.md), not by agentpages' own discovery."""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SHARED, parse_html, serve_folder, text_of
from linkcheck import crawl_http, serve_under
from lxml.etree import parse as etree_parse

from generator.catalog.marketplace import read_marketplace
from generator.commands.cli import main
from generator.errors import Report, SiteError

MARKETPLACES = SHARED / "marketplaces"
WSHOBSON = MARKETPLACES / "wshobson__agents"
VOLTAGENT = MARKETPLACES / "VoltAgent__awesome-claude-code-subagents"
SKIPPED = {"readme.md", "license.md", "contributing.md", "changelog.md"}


@contextlib.contextmanager
def working_folder(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def copy_of(source: Path, tmp: Path) -> Path:
    if not source.is_dir():
        pytest.skip(f"{source} is not here")
    root = tmp / source.name
    shutil.copytree(source, root, symlinks=True)
    return root


def build_at_root(root: Path, *options: str) -> int:
    """Run `agentpages build` in the repository's root, as a user would."""
    with working_folder(root):
        return main(["build", *options])


@pytest.fixture(scope="module")
def wshobson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_of(WSHOBSON, tmp_path_factory.mktemp("wshobson"))
    cache = tmp_path_factory.mktemp("cache")
    # Published as a project page: its 404 page's links start at the sub-path.
    assert build_at_root(root, "--cache-dir", str(cache), "--site-url", "https://example.github.io/agents/") == 0
    return root


def listed_plugins(root: Path) -> list[tuple[dict, Path | None]]:
    """Each entry of marketplace.json with its folder (None for a source elsewhere)."""
    manifest = json.loads((root / ".claude-plugin" / "marketplace.json").read_text(encoding="utf-8"))
    return [(entry, root / entry["source"] if isinstance(entry["source"], str) else None)
            for entry in manifest["plugins"]]


def markdown_below(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*.md") if path.name.lower() not in SKIPPED
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)] if folder.is_dir() else []


def expected_components(root: Path) -> dict[str, int]:
    """Count what the runtime loads: each plugin's agents/ and commands/ Markdown, skills/*/SKILL.md,
    and the agent files its plugin.json lists."""
    counts = {"plugin": 0, "agent": 0, "command": 0, "skill": 0}
    for _, folder in listed_plugins(root):
        counts["plugin"] += 1
        if folder is None:
            continue
        manifest = folder / ".claude-plugin" / "plugin.json"
        declared = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
        agents = set(markdown_below(folder / "agents"))
        for path in [declared["agents"]] if isinstance(declared.get("agents"), str) else declared.get("agents", []):
            agents |= set(markdown_below(folder / path)) if (folder / path).is_dir() else {folder / path}
        counts["agent"] += len({path.resolve() for path in agents})
        counts["command"] += len(markdown_below(folder / "commands"))
        counts["skill"] += len(list((folder / "skills").glob("*/SKILL.md")))
    return counts


def test_every_component_the_runtime_loads_has_one_page_and_nothing_else_does(wshobson: Path) -> None:
    site = wshobson / "site"
    expected = expected_components(wshobson)
    assert expected == {"plugin": 92, "agent": 202, "command": 105, "skill": 181}  # as FORMATS.md measured
    assert len(list(site.glob("plugins/*/index.html"))) == expected["plugin"]
    assert len(list(site.glob("plugins/*/agents/*/index.html"))) == expected["agent"]
    assert len(list(site.glob("plugins/*/commands/*/index.html"))) == expected["command"]
    assert len(list(site.glob("plugins/*/skills/*/index.html"))) == expected["skill"]
    assert not (site / "agents").exists(), "a marketplace has no pages outside its plugins"
    assert not (site / "docs").exists() and not (site / "tools").exists()
    index = parse_html(site / "index.html")
    assert text_of(index.find(".//p[@class='count']")) == "202 agents, 92 plugins, 105 commands, 181 skills"


def test_the_default_site_folder_inside_the_root_is_never_read(wshobson: Path) -> None:
    # A second build reads the site/ of the first beside the components: nothing of it becomes a page.
    assert build_at_root(wshobson, "--site-url", "https://example.github.io/agents/") == 0
    assert not (wshobson / "site" / "site").exists()
    assert len(list((wshobson / "site").glob("plugins/*/agents/*/index.html"))) == 202


def test_skill_references_are_part_of_their_skill_and_get_no_finding(
    wshobson: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    with working_folder(wshobson):
        main(["check"])
    findings = capsys.readouterr().out.splitlines()
    in_skills = [line for line in findings if "/skills/" in line]
    assert all(line.split(":", 1)[0].endswith("/SKILL.md") for line in in_skills), "references' links hold"
    assert not any("/references/" in line or "no frontmatter" in line for line in findings)
    references = [path for path in wshobson.glob("plugins/*/skills/*/references/*.md")]
    assert len(references) > 100
    reference = references[0]
    plugin, _, skill = reference.relative_to(wshobson / "plugins").parts[:3]
    shown = wshobson / "site" / "plugins" / plugin / "skills" / skill / "files" / "references" / f"{reference.name}.html"
    assert shown.is_file(), "a skill's reference is readable on the site, as a file of its skill"


def test_every_hook_command_is_shown_on_its_plugin_page(wshobson: Path) -> None:
    hook_files = sorted(wshobson.glob("plugins/*/hooks/hooks.json"))
    assert hook_files
    for hooks_file in hook_files:
        plugin = hooks_file.parent.parent.name
        page = text_of(parse_html(wshobson / "site" / "plugins" / plugin / "index.html"))
        for groups in json.loads(hooks_file.read_text(encoding="utf-8"))["hooks"].values():
            for group in groups:
                for hook in group["hooks"]:
                    assert " ".join(hook["command"].split()) in page


def test_command_pages_give_the_usage_line_and_the_plugin_install_lines(wshobson: Path) -> None:
    page = parse_html(wshobson / "site" / "plugins" / "protect-mcp" / "commands" / "audit-chain" / "index.html")
    commands = [text_of(code) for code in page.iter("code") if code.get("data-install-command") is not None]
    assert commands[0].startswith("/protect-mcp:audit-chain")
    assert "/plugin install protect-mcp@claude-code-workflows" in commands
    assert any(line.startswith("mkdir -p .claude/commands") for line in commands)


def test_a_skill_downloads_as_a_zip_of_its_folder(wshobson: Path) -> None:
    import zipfile

    skill_md = next(iter(sorted(wshobson.glob("plugins/*/skills/*/SKILL.md"))))
    plugin, _, skill = skill_md.relative_to(wshobson / "plugins").parts[:3]
    archive = wshobson / "site" / "plugins" / plugin / "skills" / f"{skill}.zip"
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert f"{skill}/SKILL.md" in names
        assert opened.read(f"{skill}/SKILL.md") == skill_md.read_bytes()
    folder_files = {str(path.relative_to(skill_md.parent)) for path in skill_md.parent.rglob("*") if path.is_file()}
    assert {name.removeprefix(f"{skill}/") for name in names} == folder_files


def test_links_hold_under_a_project_sub_path(wshobson: Path) -> None:
    with serve_under(wshobson / "site", "/agents/") as base:
        crawled = crawl_http(base)
    assert [broken for broken in crawled.broken] == []
    assert len(crawled.visited) > 600


def test_an_edit_build_equals_a_cold_build(tmp_path: Path) -> None:
    root = copy_of(WSHOBSON, tmp_path)
    cache = tmp_path / "cache"
    assert build_at_root(root, "--cache-dir", str(cache)) == 0
    reference = next(iter(sorted(root.glob("plugins/*/skills/*/references/*.md"))))
    reference.write_text(reference.read_text(encoding="utf-8") + "\nA line added.\n", encoding="utf-8")
    hooks = next(iter(sorted(root.glob("plugins/*/hooks/hooks.json"))))
    hooks.write_text(hooks.read_text(encoding="utf-8").replace("npx", "npx --yes", 1), encoding="utf-8")
    command = next(iter(sorted(root.glob("plugins/*/commands/*.md"))))
    command.unlink()
    assert build_at_root(root, "--cache-dir", str(cache)) == 0
    assert build_at_root(root, "--no-cache", "--out", str(tmp_path / "cold")) == 0
    assert_same_tree(root / "site", tmp_path / "cold")


def assert_same_tree(left: Path, right: Path) -> None:
    left_files = sorted(str(path.relative_to(left)) for path in left.rglob("*") if path.is_file())
    right_files = sorted(str(path.relative_to(right)) for path in right.rglob("*") if path.is_file())
    assert left_files == right_files
    _, mismatch, errors = filecmp.cmpfiles(left, right, left_files, shallow=False)
    assert mismatch == [] and errors == []


def test_plugins_that_list_their_agents_publish_those_alone(tmp_path: Path) -> None:
    root = copy_of(VOLTAGENT, tmp_path)
    assert build_at_root(root) == 0
    site = root / "site"
    assert expected_components(root)["agent"] == 157
    assert len(list(site.glob("plugins/*/agents/*/index.html"))) == 157
    listed = {(root / entry["source"] / path).resolve()
              for entry, folder in listed_plugins(root) if folder is not None
              for path in json.loads((folder / ".claude-plugin" / "plugin.json").read_text())["agents"]}
    unlisted = [path for path in root.glob("categories/*/*.md")
                if path.name.lower() not in SKIPPED and path.resolve() not in listed]
    assert len(unlisted) == 1
    assert not any(site.glob(f"plugins/*/agents/{unlisted[0].stem}/index.html"))


# -- discovery, on small marketplaces -----------------------------------------------------


def write_marketplace(root: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "marketplace.json").write_text(manifest, encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_invalid_marketplace_json_names_line_and_column(tmp_path: Path) -> None:
    root = write_marketplace(tmp_path / "m", '{\n  "name": "x",\n  "plugins": [,]\n}\n')
    with pytest.raises(SiteError) as raised:
        read_marketplace(root, Report())
    assert (raised.value.line, raised.value.column) == (3, 15)  # type: ignore[attr-defined]
    assert "not valid JSON" in raised.value.message


def test_check_reports_a_broken_marketplace_json_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    root = write_marketplace(tmp_path / "m", '{\n  "name": "x",\n  "plugins": [,]\n}\n')
    with working_folder(root):
        assert main(["check", "--format", "github"]) == 1
        github = capsys.readouterr().out
        assert main(["check", "--format", "json"]) == 1
        found = json.loads(capsys.readouterr().out)
    assert github.startswith("::error file=.claude-plugin/marketplace.json,line=3,col=15")
    assert [(item["line"], item["column"], item["rule"]) for item in found] == [(3, 15, "invalid-json")]


def test_entries_without_a_name_or_with_a_missing_source_are_reported_where_they_are(tmp_path: Path) -> None:
    manifest = '{\n  "name": "m",\n  "plugins": [\n    {"source": "./a"},\n    {"name": "b", "source": "./nowhere"}\n  ]\n}\n'
    root = write_marketplace(tmp_path / "m", manifest)
    report = Report()
    marketplace = read_marketplace(root, report)
    assert marketplace.plugins == ()
    found = {(finding.rule, finding.line, finding.column) for finding in report.findings}
    assert found == {("plugin-name", 4, 5), ("plugin-source", 5, 29)}


def test_a_source_elsewhere_is_listed_with_its_address_and_not_fetched(tmp_path: Path) -> None:
    manifest = json.dumps({"name": "m", "plugins": [
        {"name": "far", "source": {"source": "github", "repo": "someone/far"}, "description": "Far away"}]})
    marketplace = read_marketplace(write_marketplace(tmp_path / "m", manifest), Report())
    (plugin,) = marketplace.plugins
    assert (plugin.folder, plugin.source_url, plugin.description) == (None, "https://github.com/someone/far", "Far away")


def test_components_come_from_the_default_folders_and_the_declared_paths(tmp_path: Path) -> None:
    manifest = json.dumps({"name": "m", "plugins": [
        {"name": "p", "source": "./p", "strict": False, "commands": ["./extra/run.md"],
         "hooks": {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo done"}]}]}}}]})
    root = write_marketplace(tmp_path / "m", manifest, {
        "p/agents/a.md": "---\nname: a\ndescription: A\n---\nBody\n",
        "p/agents/README.md": "not an agent",
        "p/commands/sub/c.md": "Do it\n",
        "p/extra/run.md": "Run\n",
        "p/skills/s/SKILL.md": "---\nname: s\ndescription: S\n---\nUse it\n",
        "p/skills/s/references/r.md": "A reference\n",
        "p/docs/guide.md": "Not a component\n",
        "outside.md": "Not a component\n",
    })
    (plugin,) = read_marketplace(root, Report()).plugins
    below = root.resolve() / "p"
    assert plugin.agents == (below / "agents/a.md",)
    assert plugin.commands == (below / "commands/sub/c.md", below / "extra/run.md")
    assert plugin.skills == (below / "skills/s/SKILL.md",)
    assert len(plugin.inline_hooks) == 1


def test_a_declared_path_that_leaves_the_plugin_is_not_read(tmp_path: Path) -> None:
    manifest = json.dumps({"name": "m", "plugins": [
        {"name": "p", "source": "./p", "agents": ["../secret.md", "./missing.md"]}]}, indent=1)
    root = write_marketplace(tmp_path / "m", manifest, {"p/agents/a.md": "---\nname: a\n---\n", "secret.md": "x"})
    report = Report()
    (plugin,) = read_marketplace(root, report).plugins
    assert [path.name for path in plugin.agents] == ["a.md"]
    said = [(finding.rule, finding.line, finding.message.split(":")[0]) for finding in report.findings]
    assert said == [("plugin-path", 8, "'../secret.md' leads out of the plugin's folder, so it is not read"),
                    ("plugin-path", 9, "'./missing.md' is not there")]


SHOWN = "[...document.querySelectorAll('.category [data-agent]:not([hidden])')]"


def test_kind_and_plugin_filters_narrow_and_combine_in_the_browser(browser, wshobson: Path) -> None:
    with serve_folder(wshobson / "site") as base:
        page = browser.new_page()
        try:
            page.goto(base + "index.html?kind=command")
            page.wait_for_function(f"() => {SHOWN}.length === 105")
            # Each plugin chip counts the commands it would show; a plugin without any says 0.
            commands = sum(len(markdown_below(folder / "commands")) for _, folder in listed_plugins(wshobson)
                           if folder is not None and folder.name == "agent-teams")
            count = page.text_content("[data-filter='plugin'][data-value='agent-teams'] [data-chip-count]")
            assert (count, commands) == (str(commands), 7)
            assert page.text_content("[data-filter='kind'][data-value='agent'] [data-chip-count]") == "202"
            assert page.text_content("[data-filter='model'][data-value='sonnet'] [data-chip-count]") == "0"
            # 92 plugin chips fold to the largest 12 and a button that unfolds the rest.
            extra = "[data-filter='plugin'][data-value='pensyve']"
            assert not page.is_visible(extra)
            more = page.locator("[data-filter='plugin'] ~ [data-facet-more]")
            assert more.get_attribute("aria-expanded") == "false"
            more.click()
            assert page.is_visible(extra) and more.get_attribute("aria-expanded") == "true"
            page.goto(base + "index.html?plugin=pensyve")
            page.wait_for_function(f"() => {SHOWN}.length === 1")
            assert page.is_visible(extra), "a chosen chip shows while its group is folded"
            page.goto(base + "index.html?kind=command&kind=skill&plugin=protect-mcp")
            page.wait_for_function(f"() => {SHOWN}.length === 3")
            shown = page.eval_on_selector_all(".category [data-agent]:not([hidden])",
                                              "cards => cards.map((card) => card.dataset.kind).sort()")
            assert shown == ["command", "command", "skill"]
            # With a query, the chips count among the cards it finds.
            page.goto(base + "index.html?q=kubernetes")
            page.wait_for_function("() => document.querySelector('[data-result-count]').textContent.includes('of')")
            said = page.text_content("[data-result-count]")
            total = int(said.rsplit("the best of ", 1)[1].split(" ")[0]) if "best of" in said else int(said.split(" ")[0])
            kinds = page.eval_on_selector_all("[data-filter='kind'] [data-chip-count]",
                                              "counts => counts.map((c) => Number(c.textContent))")
            assert sum(kinds) == total < 580
            page.goto(base + "index.html?kind=command&kind=skill&plugin=protect-mcp")
            page.wait_for_function(f"() => {SHOWN}.length === 3")
            page.fill("[data-search-input]", "receipt chain")
            page.wait_for_function("() => document.querySelector('[data-results]').children.length > 0")
            found = page.eval_on_selector_all("[data-results] [data-agent]", "cards => cards.map((c) => c.dataset.kind)")
            assert found and set(found) <= {"command", "skill"}
        finally:
            page.close()


# -- check: manifests, skills, commands, hooks ----------------------------------------------


def findings_of_check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    with working_folder(root):
        code = main(["check"])
    return code, capsys.readouterr().out.splitlines()


def test_check_names_each_manifest_problem_where_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = ('{\n  "name": "My Market",\n  "plugins": [\n'
                '    {"name": "good", "source": "./plugins/good", "version": "1.0"},\n'
                '    {"name": "other", "source": "./plugins/other"},\n'
                '    {"name": "good", "source": "./plugins/other"}\n  ]\n}\n')
    root = write_marketplace(tmp_path / "m", manifest, {
        "plugins/good/.claude-plugin/plugin.json": '{"name": "good", "version": "1.0.0"}',
        "plugins/other/.claude-plugin/plugin.json": '{"version": "2"}',
        "plugins/forgotten/.claude-plugin/plugin.json": '{"name": "forgotten"}',
    })
    code, lines = findings_of_check(root, capsys)
    assert code == 1
    assert ".claude-plugin/marketplace.json:2:11: warning: the marketplace's name 'My Market' is not kebab-case" in "\n".join(lines)
    rules = sorted(line.rsplit("[", 1)[1].rstrip("]") for line in lines)
    assert rules == ["install-source", "marketplace-name", "plugin-name", "plugin-name-repeated", "plugin-not-listed",
                     "plugin-version", "plugin-version"]
    assert any("plugins/other/.claude-plugin/plugin.json:1:1: error: plugin.json has no 'name'" in line for line in lines)


def test_check_holds_skills_commands_and_hooks_to_the_runtime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hooks = {"hooks": {
        "pretooluse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo hi"}]}],
        "TaskCompleted": [{"hooks": [{"type": "command", "command": "echo done"}]}],
        "PostToolUse": [{"matcher": "Edit|(", "hooks": [{"type": "command"}]}],
    }}
    root = write_marketplace(tmp_path / "m", json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]}), {
        "p/.claude-plugin/plugin.json": '{"name": "p"}',
        "p/skills/tidy/SKILL.md": "---\nname: tidy-up\n---\nTidy.\n",
        "p/skills/ok/SKILL.md": "---\nname: ok\ndescription: Works.\n---\nFine.\n",
        "p/skills/ok/references/notes.md": "No frontmatter at all, as references are.\n",
        "p/commands/run.md": "---\ndescripton: Runs\nallowed-tools: Bash(git status:*, Read\n---\nRun it.\n",
        "p/hooks/hooks.json": json.dumps(hooks, indent=2),
    })
    _, lines = findings_of_check(root, capsys)
    text = "\n".join(lines)
    assert "p/skills/tidy/SKILL.md:2:1: warning: the skill is named 'tidy-up' but its folder is 'tidy'" in text
    assert "p/skills/tidy/SKILL.md:1:1: error: this skill has no 'description'" in text
    assert "p/commands/run.md:2:1: warning: unknown key 'descripton': did you mean 'description'?" in text
    assert "p/commands/run.md:3:1: error: 'Bash(git status:*, Read' is not a tool pattern" in text
    assert "hook event 'pretooluse' is not one the runtime knows; did you mean 'PreToolUse'?" in text
    assert "TaskCompleted" not in text, "an event the runtime added since is not an error"
    assert "matcher 'Edit|(' is not a tool-name pattern" in text
    assert "a 'command' hook of 'PostToolUse' has no 'command'" in text
    assert "references" not in text and "/ok/" not in text


def test_catalog_json_lists_every_kind_and_follows_its_schema(wshobson: Path) -> None:
    import jsonschema

    site = wshobson / "site"
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    schema = json.loads((site / "catalog.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(catalog)
    assert catalog["version"] == 2
    assert (len(catalog["agents"]), len(catalog["plugins"]), len(catalog["commands"]), len(catalog["skills"])) == (
        202, 92, 105, 181)
    assert catalog["marketplace"]["name"] == "claude-code-workflows"
    protect = next(plugin for plugin in catalog["plugins"] if plugin["name"] == "protect-mcp")
    assert protect["install_command"] == "/plugin install protect-mcp@claude-code-workflows"
    assert len(protect["hooks"]) == 2 and protect["commands"] and protect["agents"]
    llms = (site / "llms.txt").read_text(encoding="utf-8")
    assert "\n## Plugins\n" in llms and "\n## Commands\n" in llms and "\n## Skills\n" in llms


def small_marketplace(root: Path) -> Path:
    hooks = {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/scripts/check.sh"}]}]}}
    return write_marketplace(root, json.dumps({"name": "m", "plugins": [
        {"name": "alpha", "source": "./plugins/alpha"}, {"name": "beta", "source": "./plugins/beta"}]}), {
        "plugins/alpha/.claude-plugin/plugin.json": json.dumps({"name": "alpha", "description": "Alpha"}),
        "plugins/alpha/README.md": "# Alpha\n\nSee [the skill](skills/sk/SKILL.md).\n",
        "plugins/alpha/agents/a.md": "---\nname: a\ndescription: Agent A\n---\n## Role\nAsk [b](../../beta/agents/b.md), "
                                     "use [sk](../skills/sk/SKILL.md), read [guide](../skills/sk/references/guide.md), "
                                     "[run](../commands/run.md).\n",
        "plugins/alpha/commands/run.md": "---\ndescription: Run it\n---\nRun !`git status`\n",
        "plugins/alpha/skills/sk/SKILL.md": "---\nname: sk\ndescription: Skill\n---\nRead [guide](references/guide.md).\n",
        "plugins/alpha/skills/sk/references/guide.md": "# Guide\n",
        "plugins/alpha/hooks/hooks.json": json.dumps(hooks),
        "plugins/alpha/scripts/check.sh": "echo one\n",
        "plugins/beta/.claude-plugin/plugin.json": json.dumps({"name": "beta"}),
        "plugins/beta/agents/b.md": "---\nname: b\ndescription: Agent B\n---\n## Role\nB.\n",
    })


@pytest.mark.parametrize("edit", [
    lambda root: (root / "plugins/alpha/README.md").write_text("# Alpha\n\nChanged.\n"),
    lambda root: (root / "plugins/alpha/scripts/check.sh").write_text("echo two\n"),
    lambda root: (root / "plugins/alpha/scripts/check.sh").unlink(),
    lambda root: (root / "plugins/alpha/skills/sk/notes.txt").write_text("a new file\n"),
    lambda root: (root / "plugins/beta/agents/b.md").write_text("---\nname: bee\ndescription: B\n---\nB.\n"),
    lambda root: (root / "plugins/alpha/.claude-plugin/plugin.json").write_text('{"name": "alpha", "version": "2.0.0"}'),
    lambda root: (root / "plugins/alpha/commands/run.md").rename(root / "plugins/alpha/commands/go.md"),
], ids=["readme", "hook-script", "hook-script-gone", "skill-file-added", "agent-renamed", "plugin-json",
        "command-renamed"])
def test_after_any_edit_a_warm_build_equals_a_cold_one(tmp_path: Path, edit) -> None:
    root = small_marketplace(tmp_path / "m")
    cache = tmp_path / "cache"
    assert build_at_root(root, "--cache-dir", str(cache)) == 0
    edit(root)
    assert build_at_root(root, "--cache-dir", str(cache)) == 0
    assert build_at_root(root, "--no-cache", "--out", str(tmp_path / "cold")) == 0
    assert_same_tree(root / "site", tmp_path / "cold")


def test_links_lead_between_plugins_and_to_skills_and_their_files(tmp_path: Path) -> None:
    root = small_marketplace(tmp_path / "m")
    assert build_at_root(root) == 0
    site = root / "site" / "plugins"

    def hrefs(page: Path) -> list[str | None]:
        return [a.get("href") for a in parse_html(page).iter("a")]

    agent_links = hrefs(site / "alpha/agents/a/index.html")
    assert "../../../../plugins/beta/agents/b/index.html" in agent_links
    assert {"../../skills/sk/index.html", "../../skills/sk/files/references/guide.md.html",
            "../../commands/run/index.html"} <= set(agent_links)
    assert "skills/sk/index.html" in hrefs(site / "alpha/index.html")
    assert "files/references/guide.md.html" in hrefs(site / "alpha/skills/sk/index.html")
    page = text_of(parse_html(site / "alpha/index.html"))
    assert "echo one" in page, "a hook's script is shown on its plugin's page"
    assert "git status" in page, "a command's shell lines are shown on its plugin's page"


def test_files_linked_from_outside_the_repository_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "plugin.json").write_text('{"name": "p", "description": "SECRET-MANIFEST"}')
    (secret / "README.md").write_text("SECRET-README")
    (secret / "hooks.json").write_text('{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "SECRET-HOOK"}]}]}}')
    (secret / "skills").mkdir()
    (secret / "skills" / "s").mkdir()
    (secret / "skills" / "s" / "SKILL.md").write_text("---\nname: s\ndescription: SECRET-SKILL\n---\n")
    root = write_marketplace(tmp_path / "m", json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]}),
                             {"p/agents/a.md": "---\nname: a\ndescription: A\n---\nA.\n"})
    (root / "p" / ".claude-plugin").mkdir()
    (root / "p" / ".claude-plugin" / "plugin.json").symlink_to(secret / "plugin.json")
    (root / "p" / "README.md").symlink_to(secret / "README.md")
    (root / "p" / "hooks").mkdir()
    (root / "p" / "hooks" / "hooks.json").symlink_to(secret / "hooks.json")
    (root / "p" / "skills").symlink_to(secret / "skills")
    assert build_at_root(root) == 0
    published = "".join(path.read_text(errors="replace") for path in (root / "site").rglob("*") if path.is_file()
                        and path.suffix in (".html", ".json", ".txt"))
    assert "SECRET" not in published


def _without_column(line: str) -> str:
    return re.sub(r"^([^:]+:\d+):\d+:", r"\1:", line)


def test_install_lines_use_names_safe_in_a_shell(tmp_path: Path) -> None:
    root = write_marketplace(tmp_path / "m", json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]}), {
        "agentpages.yml": "site_url: https://example.org/m/\n",  # curl lines need the site's address
        "p/commands/$(touch pwned).md": "Do it\n",
        "p/skills/x;id/SKILL.md": "---\nname: x\ndescription: X\n---\nX.\n",
    })
    assert build_at_root(root) == 0
    lines = [text_of(code) for page in (root / "site").rglob("index.html") for code in parse_html(page).iter("code")
             if code.get("data-install-command") is not None]
    shell = [line for line in lines if "curl" in line]
    assert len(shell) == 2 and not any("$(" in line or ";id" in line for line in shell)


def test_check_finds_broken_links_missing_scripts_and_addresses_that_are_not_web_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    hooks = {"hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [
        {"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/scripts/format.sh"},
        {"type": "command", "command": "bash ${CLAUDE_PLUGIN_ROOT}/scripts/gone.sh --fast"},
    ]}]}}
    manifest = json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}, {"name": "q", "source": "./q"}]})
    root = write_marketplace(tmp_path / "m", manifest, {
        "p/.claude-plugin/plugin.json": json.dumps({"name": "p", "homepage": "javascript:alert(1)"}, indent=2),
        "p/README.md": "# P\n\nSee [q](../q/) and [the guide](../docs/guide.md).\n",
        "p/hooks/hooks.json": json.dumps(hooks, indent=2),
        "p/scripts/format.sh": "#!/bin/sh\nprettier --write .\n",
        "p/commands/run.md": "---\ndescription: Runs.\n---\nFirst read [the notes](notes.md).\n",
        "p/skills/pdf/SKILL.md": "---\nname: pdf\ndescription: PDFs.\n---\nSee [forms](references/forms.md) "
                                 "and [tables](reference/tables.md).\n",
        "p/skills/pdf/references/forms.md": "# Forms\n\nBack to [more](references/more.md) and [x](nowhere.md).\n",
        "p/skills/pdf/references/more.md": "# More\n",
        "q/.claude-plugin/plugin.json": '{"name": "q"}',
    })
    _, lines = findings_of_check(root, capsys)
    text = "\n".join(lines)
    broken = sorted(line.split(": warning")[0] for line in lines if line.endswith("[broken-link]"))
    assert broken == ["p/README.md:3:32", "p/commands/run.md:4:24", "p/skills/pdf/SKILL.md:5:47",
                      "p/skills/pdf/references/forms.md:3:44"], text
    assert "'${CLAUDE_PLUGIN_ROOT}/scripts/gone.sh', which is not in the plugin's folder" in text
    assert "format.sh" not in text
    assert "p/hooks/hooks.json:13:24: warning: the hook runs '${CLAUDE_PLUGIN_ROOT}/scripts/gone.sh'" in text
    assert "p/.claude-plugin/plugin.json:3:15: warning: 'homepage' is not a web address" in text

    # The links that hold lead where they should: a plugin's folder to its page, a reference's
    # link written from the skill's folder to that file's page.
    assert build_at_root(root) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if line.endswith("[broken-link]")]
    assert len(said) == 4
    # A warm build after an edit elsewhere says the same, from the links it remembers.
    (root / "p" / "commands" / "run.md").write_text("---\ndescription: Runs.\n---\nFirst read [the notes](notes.md)"
                                                   " and [more](missing.md).\n", encoding="utf-8")
    assert build_at_root(root) == 0
    again = [line for line in capsys.readouterr().err.splitlines() if line.endswith("[broken-link]")]
    in_command = next(line for line in said if "run.md" in line)
    assert sorted(map(_without_column, again)) == sorted(map(_without_column, [*said, in_command.replace("'notes.md'", "'missing.md'")]))
    assert any(line.startswith("p/commands/run.md:4:") and "'missing.md'" in line for line in again)
    readme_links = [link.get("href") for link in parse_html(root / "site" / "plugins" / "p" / "index.html").iter("a")]
    assert "../q/index.html" in readme_links
    forms = parse_html(root / "site" / "plugins" / "p" / "skills" / "pdf" / "files" / "references" / "forms.md.html")
    assert any(link.get("href", "").endswith("more.md.html") for link in forms.iter("a"))


def test_the_feed_lists_commands_and_skills_beside_agents_newest_first(tmp_path: Path) -> None:
    manifest = json.dumps({"name": "m", "owner": {"name": "M"}, "plugins": [{"name": "p", "source": "./p"}]})
    root = write_marketplace(tmp_path / "m", manifest, {
        "p/.claude-plugin/plugin.json": '{"name": "p"}',
        "p/agents/helper.md": "---\nname: helper\ndescription: Helps.\n---\n\n## Role\n\nHelps.\n",
        "p/commands/ship.md": "---\ndescription: Ships it.\n---\nShip.\n",
        "p/skills/pdf/SKILL.md": "---\nname: pdf\ndescription: Reads PDFs.\n---\nRead.\n",
        "agentpages.yml": "repo_url: https://github.com/m/m\nsite_url: https://m.example/\n",
    })
    for age, name in enumerate(["p/commands/ship.md", "p/skills/pdf/SKILL.md", "p/agents/helper.md"]):
        os.utime(root / name, (1_700_000_000 - age * 86_400, 1_700_000_000 - age * 86_400))
    assert build_at_root(root) == 0
    atom = "{http://www.w3.org/2005/Atom}"
    feed = etree_parse(root / "site" / "feed.xml")
    entries = [(entry.findtext(f"{atom}title"), entry.find(f"{atom}link").get("href"))
               for entry in feed.iter(f"{atom}entry")]
    assert entries == [("/p:ship", "https://m.example/plugins/p/commands/ship/"),
                       ("pdf", "https://m.example/plugins/p/skills/pdf/"),
                       ("helper", "https://m.example/plugins/p/agents/helper/")]

    # A command touched later moves up in a warm build.
    os.utime(root / "p/agents/helper.md", (1_700_100_000, 1_700_100_000))
    assert build_at_root(root) == 0
    feed = etree_parse(root / "site" / "feed.xml")
    assert [entry.findtext(f"{atom}title") for entry in feed.iter(f"{atom}entry")] == ["helper", "/p:ship", "pdf"]


def test_files_of_one_date_share_the_feed_by_kind(tmp_path: Path) -> None:
    """A fresh or shallow clone dates every file alike: the feed then takes turns by kind."""
    files = {"p/.claude-plugin/plugin.json": '{"name": "p"}', "agentpages.yml": "repo_url: https://github.com/m/m\n"}
    for number in range(30):
        files[f"p/agents/a{number}.md"] = f"---\nname: a{number}\ndescription: A.\n---\n\nBody.\n"
        files[f"p/commands/c{number}.md"] = "---\ndescription: C.\n---\nRun.\n"
        files[f"p/skills/s{number}/SKILL.md"] = f"---\nname: s{number}\ndescription: S.\n---\nUse.\n"
    root = write_marketplace(tmp_path / "m", json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]}),
                             files)
    for path in root.rglob("*.md"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    assert build_at_root(root) == 0
    atom = "{http://www.w3.org/2005/Atom}"
    hrefs = [entry.find(f"{atom}link").get("href")
             for entry in etree_parse(root / "site" / "feed.xml").iter(f"{atom}entry")]
    kinds = ["command" if "/commands/" in href else "skill" if "/skills/" in href else "agent" for href in hrefs]
    assert kinds[:6] == ["agent", "command", "skill"] * 2
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {"agent": 17, "command": 17, "skill": 16}


def test_thousands_of_bad_plugin_entries_are_each_named_in_one_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = ",\n".join(["1"] * 20_000)
    root = write_marketplace(tmp_path / "m", '{"name": "m", "plugins": [\n' + entries + "\n]}\n")
    code, lines = findings_of_check(root, capsys)
    assert code == 1
    bad = [line for line in lines if line.endswith("[marketplace-plugins]")]
    assert len(bad) == 20_000
    assert bad[0].startswith(".claude-plugin/marketplace.json:2:1: error:")
    assert bad[-1].startswith(".claude-plugin/marketplace.json:20001:1: error:")


@pytest.mark.parametrize("name", ["marketplace.json", "plugin.json", "hooks.json"])
def test_json_nested_past_any_readers_depth_is_a_finding(tmp_path: Path, name: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    deep = "[" * 5000 + "]" * 5000
    manifest = json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]})
    files = {"p/.claude-plugin/plugin.json": '{"name": "p"}', "p/agents/a.md": "---\nname: a\ndescription: A.\n---\n\nBody.\n",
             "p/hooks/hooks.json": '{"hooks": {}}'}
    if name == "marketplace.json":
        manifest = '{"name": "m", "x": ' + deep + ', "plugins": [{"name": "p", "source": "./p"}]}'
    else:
        files["p/.claude-plugin/plugin.json" if name == "plugin.json" else "p/hooks/hooks.json"] = '{"x": ' + deep + "}"
    root = write_marketplace(tmp_path / "m", manifest, files)
    code, lines = findings_of_check(root, capsys)
    assert code == 1
    assert any(line.endswith("[invalid-json]") and "nests deeper than a JSON reader goes" in line for line in lines)
    assert "internal error" not in capsys.readouterr().err


def test_a_skill_file_named_in_no_encoding_is_one_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.dumps({"name": "m", "plugins": [{"name": "p", "source": "./p"}]})
    root = write_marketplace(tmp_path / "m", manifest, {
        "p/.claude-plugin/plugin.json": '{"name": "p"}',
        "p/skills/s/SKILL.md": "---\nname: s\ndescription: S.\n---\nUse.\n",
        "agentpages.yml": "repo_url: https://github.com/m/m\n",
    })
    (root / "p" / "skills" / "s" / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"hi\n")
    code, lines = findings_of_check(root, capsys)
    assert [line.rsplit("[", 1)[1] for line in lines] == ["name-not-utf8]"]
    assert "caf\\udce9.txt" in lines[0]
    assert build_at_root(root) == 0
    with zipfile.ZipFile(root / "site" / "plugins" / "p" / "skills" / "s.zip") as opened:
        assert [Path(name).name for name in opened.namelist()] == ["SKILL.md"]
