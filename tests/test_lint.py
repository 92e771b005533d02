"""`agentpages check`: one exact message, with path, line and column, for each rule."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import write_agents

from generator.catalog.lint import RULES
from generator.commands.cli import main
from generator.config import load_config
from generator.errors import Report
from generator.pipeline.build import build
from generator.pipeline.read import load_and_check

NAME_AND_DESCRIPTION = "name: {name}\ndescription: Reviews code.\n"


def agent(front: str, body: str = "## Role\n\nReviews.\n") -> str:
    return f"---\n{front}---\n\n{body}"


def check(tmp_path: Path, files: dict[str, str | bytes], config: str = "") -> list[str]:
    """Check a catalog and return each finding as `check` prints it, paths relative to it."""
    agents = write_agents(tmp_path, files)
    if config:
        (tmp_path / "agentpages.yml").write_text(config)
    os.chdir(tmp_path)
    report = Report()
    load_and_check(load_config(agents, tmp_path / "site"), report)
    return [finding.with_column() for finding in report.findings]


@pytest.fixture(autouse=True)
def _keep_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path.cwd())


CASES = [
    (
        "repeated-key",
        {"a.md": agent("name: a\ndescription: First.\nmodel: sonnet\ndescription: Second.\n")},
        "agents/a.md:5:1: warning: 'description' is set on line 3 and again here; the last one counts: delete one "
        "of them [repeated-key]",
    ),
    (
        "no-frontmatter",
        {"a.md": "# Reviewer\n"},
        "agents/a.md:1:1: error: no frontmatter: start the file with a '---' line, then 'name:' and "
        "'description:' lines, then another '---' line [no-frontmatter]",
    ),
    (
        "unclosed-frontmatter",
        {"a.md": "---\nname: a\ndescription: x\n\n## Role\n"},
        "agents/a.md:1:1: error: the frontmatter is never closed: add a '---' line after the last field "
        "[unclosed-frontmatter]",
    ),
    (
        "yaml-fallback",
        {"a.md": agent("name: a\ndescription: Use it. Triggers on: 'x'\n")},
        "agents/a.md:3:33: warning: the frontmatter is not valid YAML (mapping values are not allowed in "
        "this context); the agent runtime still reads it line by line, but YAML tools do not: write "
        "'description' as a '|' block, or wrap its value in double quotes [yaml-fallback]",
    ),
    (
        "yaml-refused (tag)",
        {"a.md": agent("name: !!python/object/apply:os.system ['true']\ndescription: x\n")},
        "agents/a.md:2:7: error: YAML refused: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'; write plain values without tags or aliases "
        "[yaml-refused]",
    ),
    (
        "missing-name",
        {"a.md": agent("description: Reviews code.\n")},
        "agents/a.md:2:1: error: 'name' is missing: add 'name: a' [missing-name]",
    ),
    (
        "name-format",
        {"a.md": agent("name: Code_Reviewer 2\ndescription: x\n")},
        "agents/a.md:2:7: warning: name 'Code_Reviewer 2' should be lower-case letters, digits and "
        "hyphens, e.g. 'code-reviewer-2' [name-format]",
    ),
    (
        "name-mismatch",
        {"reviewer.md": agent("name: code-checker\ndescription: x\n")},
        "agents/reviewer.md:2:7: warning: name 'code-checker' differs from the file name 'reviewer.md': "
        "rename the file to 'code-checker.md' or the agent to 'reviewer' [name-mismatch]",
    ),
    (
        "missing-description",
        {"a.md": agent("name: a\ndescription: ''\n")},
        "agents/a.md:3:14: error: 'description' is missing: say in a sentence when to use this agent "
        "[missing-description]",
    ),
    (
        "wrong-type (description)",
        {"a.md": agent("name: a\ndescription: [one, two]\n")},
        "agents/a.md:3:14: error: 'description' must be text, not a list [wrong-type]",
    ),
    (
        "wrong-type (model)",
        {"a.md": agent("name: a\ndescription: x\nmodel: 4\n")},
        "agents/a.md:4:8: error: 'model' must be text such as 'sonnet', 'opus', 'haiku' or 'inherit', "
        "not a number [wrong-type]",
    ),
    (
        "unknown-color",
        {"a.md": agent("name: a\ndescription: x\ncolor: sparkly\n")},
        "agents/a.md:4:8: warning: unknown color 'sparkly': use one of red, orange, yellow, green, "
        "cyan, blue, purple, pink, magenta, gray or a '#rrggbb' hex value [unknown-color]",
    ),
    (
        "tools-type",
        {"a.md": agent("name: a\ndescription: x\ntools: 7\n")},
        "agents/a.md:4:8: error: 'tools' must be a comma-separated string or a list of tool names, "
        "not a number [tools-type]",
    ),
    (
        "unknown-tool",
        {"a.md": agent("name: a\ndescription: x\ntools: Read, Grepp, mcp__github__search, Bash(git *)\n")},
        "agents/a.md:4:14: warning: unknown tool 'Grepp': check its spelling, write MCP tools as "
        "'mcp__server__tool', or add it to 'extra_tools' in agentpages.yml [unknown-tool]",
    ),
    (
        "escaped-newlines",
        {"a.md": agent('name: a\ndescription: "Reviews.\\\\nUse it often."\n')},
        "agents/a.md:3:24: warning: the description uses literal '\\n' escapes; it reads better as a "
        "'|' block with real line breaks [escaped-newlines]",
    ),
    (
        "example-unclosed",
        {"a.md": agent("name: a\ndescription: |\n  Reviews.\n  <example>\n  user: hi\n  assistant: ok\n")},
        "agents/a.md:5:3: warning: this <example> block is never closed: add '</example>' after its "
        "last line [example-unclosed]",
    ),
    (
        "example-no-user",
        {"a.md": agent("name: a\ndescription: |\n  Reviews.\n  <example>\n  assistant: ok\n  </example>\n")},
        "agents/a.md:5:3: warning: example 1 has no user turn: add a line 'user: \"…\"' with what the "
        "user asks [example-no-user]",
    ),
    (
        "example-no-answer",
        {"a.md": agent("name: a\ndescription: |\n  Reviews.\n  <example>\n  user: review this\n  </example>\n")},
        "agents/a.md:5:3: warning: example 1 has no assistant turn: add a line 'assistant: \"…\"' with how "
        "the agent answers [example-no-answer]",
    ),
    (
        "repeated-tool",
        {"a.md": agent("name: a\ndescription: x\ntools: Read, Grep, Read\n")},
        "agents/a.md:4:20: warning: 'Read' is listed twice in 'tools': remove one of them [repeated-tool]",
    ),
    (
        "unknown-model",
        {"a.md": agent("name: a\ndescription: x\nmodel: sonet\n")},
        "agents/a.md:4:8: warning: unknown model 'sonet': did you mean 'sonnet'? use 'sonnet', 'opus', 'haiku' "
        "or 'inherit', or a model id such as 'claude-sonnet-4-5' [unknown-model]",
    ),
    (
        "unclosed-fence",
        {"a.md": agent("name: a\ndescription: x\n", "## Role\n\n````python\nx = 1\n```\n")},
        "agents/a.md:8:1: warning: this code fence is never closed: add a line '````' where the code "
        "ends [unclosed-fence]",
    ),
    (
        "broken-link",
        {"a.md": agent("name: a\ndescription: x\n", "## Role\n\nSee [the guide](../docs/guide.md).\n")},
        "agents/a.md:8:17: warning: link '../docs/guide.md' leads to no page of this site, so the page "
        "shows only its text: link another agent's .md file, or write a full https:// address [broken-link]",
    ),
    (
        "broken-link (image)",
        {"a.md": agent("name: a\ndescription: x\n", "## Role\n\n![diagram](diagram.png)\n")},
        "agents/a.md:8:12: warning: image 'diagram.png' is not published with the site, so the page shows its "
        "alt text instead: describe it in words, or make it a link to a full https:// address [broken-link]",
    ),
    (
        "too-deeply-nested",
        {"a.md": agent("name: a\ndescription: x\n", "## Role\n\n" + ">" * 21 + " deep\n")},
        "agents/a.md:8:1: error: this line nests 21 levels deep, so the body is shown as plain text; "
        "flatten it to at most 20 levels [too-deeply-nested]",
    ),
    (
        "too-large-to-render",
        {"a.md": agent("name: a\ndescription: x\n", "## a\n" * 5001)},
        "agents/a.md:5:1: error: the body has 5,003 lines, so it is shown as plain text; split the agent "
        "or shorten it [too-large-to-render]",
    ),
    (
        "empty-file",
        {"a.md": "\n  \n"},
        "agents/a.md:1:1: error: skipped: the file is empty; write frontmatter with a name and a "
        "description [empty-file]",
    ),
    (
        "not-utf8",
        {"a.md": b"---\nname: a\ndescription: caf\xe9\n---\n"},
        "agents/a.md:3:1: error: skipped: the file is not UTF-8 text; save it as UTF-8 [not-utf8]",
    ),
]


@pytest.mark.parametrize(("rule", "files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule_message(tmp_path: Path, rule: str, files: dict[str, str | bytes], expected: str) -> None:
    assert check(tmp_path, files) == [expected]


def test_every_rule_is_exercised() -> None:
    # Tested on their own below, or in test_output_safety.py (name-not-utf8).
    tested = {case[0].split(" ")[0] for case in CASES} | {"duplicate-name", "file-too-large", "link-outside",
                                                          "unreadable", "name-lookalike", "slug-clash", "name-not-utf8"}
    assert tested >= set(RULES) - {"unreadable"}


@pytest.mark.parametrize(("name", "said"), [
    ("c\u043ede-reviewer", "has characters that look like plain ones: '\u043e' (U+043E, Cyrillic)"),
    ("code\u2010reviewer", "has characters that look like plain ones: '\u2010' (U+2010, Common)"),
    ("code-re\u1d20iewer", "has characters that look like plain ones: '\u1d20' (U+1D20, Latin)"),
    ("code-reviewer\u034f", "holds characters that do not show (U+034F)"),
    ("code\u2800reviewer", "holds characters that do not show (U+2800)"),
    ("code\u200breviewer", "holds characters that do not show (U+200B)"),
    ("\uff43\uff4f\uff44\uff45", "holds compatibility forms (fullwidth or styled letters)"),
    ("rev\u202eweiver", "holds characters that do not show (U+202E)"),
])
def test_a_name_that_passes_for_another_is_flagged(tmp_path: Path, name: str, said: str) -> None:
    lines = check(tmp_path, {"a.md": agent(f'name: "{name}"\ndescription: x\n')})
    flagged = [line for line in lines if line.endswith("[name-lookalike]")]
    assert len(flagged) == 1 and flagged[0].startswith("agents/a.md:2:7: warning: name '") and said in flagged[0]


@pytest.mark.parametrize("name", ["caf\u00e9-helper", "\u65e5\u672c\u8a9e\u306e\u30a8\u30fc\u30b8\u30a7\u30f3\u30c8",
                                  "\u0421\u0435\u0440\u0432\u0435\u0440", "\u0394elta", "code-reviewer"])
def test_names_in_one_script_are_not_flagged(tmp_path: Path, name: str) -> None:
    assert not any("[name-lookalike]" in line for line in check(tmp_path, {"a.md": agent(f'name: "{name}"\ndescription: x\n')}))


def test_a_newcomer_cannot_take_an_address_and_the_clash_names_both_files(tmp_path: Path) -> None:
    files = {
        "a/imposter.md": agent("name: Code-Reviewer\ndescription: x\n"),
        "z/code-reviewer.md": agent("name: code-reviewer\ndescription: x\n"),
    }
    lines = check(tmp_path, files)
    assert ("agents/a/imposter.md:2:1: warning: name 'Code-Reviewer' makes the address agents/code-reviewer/, which "
            "z/code-reviewer.md (name 'code-reviewer') has, so this agent's page is agents/code-reviewer-2/: give it a "
            "name of its own [slug-clash]") in lines
    result = build(load_config(tmp_path / "agents", tmp_path / "site"), Report())
    by_slug = {agent.slug: str(agent.rel_path) for agent in result.catalog.agents}
    assert by_slug == {"code-reviewer": "z/code-reviewer.md", "code-reviewer-2": "a/imposter.md"}


def test_links_to_agent_files_and_addresses_are_fine(tmp_path: Path) -> None:
    body = (
        "## Role\n\nWorks with [b](../review/b.md#role), [c][c], <a href=\"../review/b.md\">b</a>,\n"
        "[docs](https://example.org/docs), [top](#role), [mail](mailto:a@example.org) and\n"
        "`[code](x.md)`.\n\n```\n[fenced](y.md)\n```\n\n[c]: ./a.md\n"
    )
    body += ("\nCode:\n\n    [indented](code.md)\n\n<!-- [commented](c.md)\n[still commented](d.md) -->\n"
             "[spaced](<../review/my agent.md>)\n")
    files = {"team/a.md": agent("name: a\ndescription: x\n", body),
             "review/b.md": agent("name: b\ndescription: x\n"),
             "review/my agent.md": agent("name: my-agent\ndescription: x\n")}
    assert [line for line in check(tmp_path, files) if "[broken-link]" in line] == []


def test_a_broken_link_in_the_description_is_reported(tmp_path: Path) -> None:
    files = {"a.md": agent("name: a\ndescription: Works with [b](b.md).\n")}
    assert check(tmp_path, files) == [
        "agents/a.md:3:14: warning: link 'b.md' leads to no page of this site, so the page shows "
        "only its text: link another agent's .md file, or write a full https:// address [broken-link]"
    ]


def test_duplicate_names(tmp_path: Path) -> None:
    files = {"x/reviewer.md": agent(NAME_AND_DESCRIPTION.format(name="reviewer")),
             "y/reviewer.md": agent(NAME_AND_DESCRIPTION.format(name="reviewer"))}
    assert check(tmp_path, files) == [
        "agents/y/reviewer.md:2:7: error: name 'reviewer' is also used by x/reviewer.md: give each "
        "agent its own name [duplicate-name]"
    ]


def test_size_limit_is_configurable(tmp_path: Path) -> None:
    files = {"a.md": agent(NAME_AND_DESCRIPTION.format(name="a"), "x" * 200)}
    assert check(tmp_path, files, config="max_file_size: 100\n") == [
        "agents/a.md:1:1: error: skipped: the file is over the size limit of 100 bytes (max_file_size) "
        "[file-too-large]"
    ]


def test_tool_lists_are_overridable(tmp_path: Path) -> None:
    files = {"a.md": agent("name: a\ndescription: x\ntools: [Read, deploy-tool]\n")}
    assert check(tmp_path, files, config="extra_tools: [deploy-tool]\n") == []
    assert check(tmp_path, files, config="known_tools: [deploy-tool]\n") == [
        "agents/a.md:4:9: warning: unknown tool 'Read': check its spelling, write MCP tools as "
        "'mcp__server__tool', or add it to 'extra_tools' in agentpages.yml [unknown-tool]"
    ]


def test_prefixed_names_match_their_file(tmp_path: Path) -> None:
    files = {"plugins/python/agents/pro.md": agent(NAME_AND_DESCRIPTION.format(name="python-pro"))}
    assert check(tmp_path, files) == []


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    files = {"bomb.md": agent("name: bomb\ndescription: x\n" + "\n".join(levels) + "\n")}
    findings = check(tmp_path, files)
    assert findings[0].startswith(
        "agents/bomb.md:2:1: error: YAML refused: the YAML expands to more than 10,000 values"
    )


def test_check_cli_formats_and_exit_codes(tmp_path: Path, monkeypatch, capsys) -> None:
    write_agents(tmp_path, {"a.md": agent("name: a\ndescription: x\ncolor: mauve\n"),
                            "b.md": agent("description: x\n")})
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "agents/a.md:4:8: warning: unknown color 'mauve': use one of red, orange, yellow, green, cyan, "
        "blue, purple, pink, magenta, gray or a '#rrggbb' hex value [unknown-color]",
        "agents/b.md:2:1: error: 'name' is missing: add 'name: b' [missing-name]",
    ]
    assert err == "Checked 2 agent files: 1 error and 1 warning\n"
    (tmp_path / "agents/b.md").unlink()
    assert main(["check"]) == 0
    assert main(["check", "--strict"]) == 1
    capsys.readouterr()
    assert main(["check", "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record == {"path": "agents/a.md", "line": 4, "column": 8, "severity": "warning",
                      "rule": "unknown-color", "message": record["message"]}
    assert main(["check", "--format", "github"]) == 0
    assert capsys.readouterr().out.startswith(
        "::warning file=agents/a.md,line=4,col=8,title=unknown-color::unknown color 'mauve'"
    )
    assert not (tmp_path / "site").exists(), "check writes no site"


def test_build_strict_fails_on_what_check_strict_fails_on(tmp_path: Path, monkeypatch, capsys) -> None:
    write_agents(tmp_path, {"a.md": agent("name: a\ndescription: x\ntools: [Read, Grepp]\n")})
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0 and main(["build"]) == 0
    assert main(["check", "--strict"]) == 1 and main(["build", "--strict", "--out", "strict"]) == 1
    assert not (tmp_path / "strict").exists()


def test_a_value_cannot_forge_a_finding_line(tmp_path: Path) -> None:
    files = {"a.md": agent('name: "a\\nb.md:1:1: error: fake [fake-rule]\\u001b[2J"\ndescription: x\n')}
    (line,) = check(tmp_path, files)
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith("agents/a.md:2:7: warning: name 'a\\nb.md:1:1: error: fake [fake-rule][2J' should be")


@pytest.mark.parametrize(("front", "where"), [
    ("name: a\ndescription: x\nmodel: sonnet\ncolor: [pink\n", "agents/a.md:5:8: warning: the frontmatter is not valid YAML"),
    ('name: a\ndescription: "never closed\nmodel: sonnet\n', "agents/a.md:3:14: warning: the frontmatter is not valid YAML"),
    ("name: a\ndescription: Use it. Triggers on: 'x'\n", "agents/a.md:3:33: warning: the frontmatter is not valid YAML"),
])
def test_a_yaml_problem_is_named_where_it_starts(tmp_path: Path, front: str, where: str) -> None:
    lines = [line for line in check(tmp_path, {"a.md": agent(front)}) if line.endswith("[yaml-fallback]")]
    assert len(lines) == 1 and lines[0].startswith(where), lines


@pytest.mark.parametrize(("front", "where"), [
    ('name: a\ndescription: x\ntools: Read\n"tools": Bash, Write\n', "agents/a.md:5:1:"),
    ("name: a\ndescription: x\ntools: Read\n'tools' : Bash\n", "agents/a.md:5:1:"),
    ("{name: a, description: x, tools: Read, tools: Bash}\n", "agents/a.md:2:40:"),
])
def test_a_key_written_twice_in_any_yaml_form_is_found(tmp_path: Path, front: str, where: str) -> None:
    lines = [line for line in check(tmp_path, {"a.md": agent(front)}) if line.endswith("[repeated-key]")]
    assert len(lines) == 1 and lines[0].startswith(where) and "'tools' is set on line" in lines[0], lines


def test_of_two_files_of_one_name_the_one_named_so_keeps_the_address_and_the_other_gets_the_error(
    tmp_path: Path,
) -> None:
    files = {"a.md": agent("name: code-reviewer\ndescription: Newcomer.\n"),
             "zz/code-reviewer.md": agent("name: code-reviewer\ndescription: Original.\n")}
    lines = check(tmp_path, files)
    assert [line.split(": error")[0] for line in lines if line.endswith("[duplicate-name]")] == ["agents/a.md:2:7"]
    result = build(load_config(tmp_path / "agents", tmp_path / "site"), Report())
    assert {agent.slug: str(agent.rel_path) for agent in result.catalog.agents} == {
        "code-reviewer": "zz/code-reviewer.md", "code-reviewer-2": "a.md"}
