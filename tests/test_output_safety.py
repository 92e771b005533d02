"""What a catalog's file names and values print: never a terminal escape, an invisible
reordering character or a line a CI runner reads as a workflow command; a name that is not
UTF-8 is one finding, and the rest builds. The bytes are read as the commands print them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

HOSTILE_NAMES = [
    "x\n::error file=README.md,line=1::forged.md",
    "t\x1b]0;retitled\x07\x1b[2Jclear.md",
    "bidi\u202egnp.exe\u202c.md",
    "zero\u200bwidth\u2028line.md",
]
FORBIDDEN = ["\x1b", "\x07", "\r", "\u202e", "\u202c", "\u200b", "\u2028"]


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=folder, capture_output=True, env=env,
                          check=False, timeout=120)


@pytest.fixture
def hostile_catalog(tmp_path: Path) -> Path:
    agents = tmp_path / "agents"
    agents.mkdir()
    for number, name in enumerate(HOSTILE_NAMES):
        (agents / name).write_text(f"---\nname: agent-{number}\ncolor: mauve\n---\n\n## Role\n\nWorks.\n",
                                   encoding="utf-8")
    (agents / os.fsdecode(b"\xff\xfe-latin1.md")).write_text("---\nname: latin\ndescription: L.\n---\nBody.\n",
                                                             encoding="utf-8")
    (agents / "good.md").write_text("---\nname: good\ndescription: Fine.\n---\n\n## Role\n\nWorks.\n",
                                    encoding="utf-8")
    return tmp_path


def assert_safe_text(data: bytes) -> str:
    text = data.decode("utf-8")  # no undecodable bytes of a file name were sent
    for character in FORBIDDEN:
        assert character not in text, repr(character)
    return text


@pytest.mark.parametrize("command", [["check"], ["build"], ["check", "--format", "github"]])
def test_no_hostile_name_reaches_the_output_raw(hostile_catalog: Path, command: list[str]) -> None:
    done = run(hostile_catalog, *command)
    # check fails on the missing descriptions and the undecodable name; build says so and builds
    assert done.returncode == (0 if command == ["build"] else 1)
    out, err = assert_safe_text(done.stdout), assert_safe_text(done.stderr)
    lines = (out + err).splitlines()
    if "github" in command:
        commands = [line for line in out.splitlines() if line.startswith("::")]
        assert commands == out.splitlines(), "every line printed to stdout is one of ours"
        assert all(line.startswith(("::error file=agents/", "::warning file=agents/")) for line in commands)
        assert not any("::error file=README.md" in line.split("::", 2)[1] for line in commands)
    else:
        assert not any(line.startswith("::") for line in lines)
    assert any("name-not-utf8" in line and "\\udcff\\udcfe-latin1.md" in line for line in lines)


def test_json_findings_stay_valid_and_ascii(hostile_catalog: Path) -> None:
    done = run(hostile_catalog, "check", "--format", "json")
    assert done.stdout.isascii()
    assert b"\\udc" not in done.stdout.replace(b"\\\\udc", b""), "no lone surrogate, which strict readers refuse"
    findings = json.loads(done.stdout)
    rules = {finding["rule"] for finding in findings}
    assert {"name-not-utf8", "missing-description", "unknown-color"} <= rules


def test_a_name_that_is_not_utf8_is_skipped_and_the_rest_builds(hostile_catalog: Path) -> None:
    done = run(hostile_catalog, "build")
    assert done.returncode == 0, done.stderr
    pages = sorted(path.parent.name for path in (hostile_catalog / "site" / "agents").glob("*/index.html"))
    assert pages == ["agent-0", "agent-1", "agent-2", "agent-3", "good"]


def test_a_page_shows_the_invisible_characters_of_a_name(tmp_path: Path) -> None:
    from conftest import build_catalog, parse_html, text_of, write_agents

    agents = write_agents(tmp_path, {"a.md": '---\nname: "code\u200breviewer\u202e"\ndescription: x\n---\n\nBody.\n'})
    build_catalog(agents)
    page = parse_html(tmp_path / "site" / "agents" / "codereviewer" / "index.html")
    assert text_of(page.find(".//h1")) == "code[U+200B]reviewer[U+202E]"
    assert "\u200b" not in text_of(parse_html(tmp_path / "site" / "index.html"))


def test_a_plugin_folder_named_like_a_workflow_command_starts_no_line(tmp_path: Path) -> None:
    plugin = "::error file=README.md,line=1::forged"
    root = tmp_path / "m"
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "marketplace.json").write_text(json.dumps(
        {"name": "m", "plugins": [{"name": "p", "source": f"./{plugin}"}]}), encoding="utf-8")
    (root / plugin / "agents").mkdir(parents=True)
    (root / plugin / "agents" / "a.md").write_text("---\nname: a\ncolor: mauve\n---\n\nBody.\n", encoding="utf-8")
    for command in (["check"], ["build"]):
        done = run(root, *command)
        lines = (assert_safe_text(done.stdout) + assert_safe_text(done.stderr)).splitlines()
        assert lines and not any(line.startswith("::") for line in lines), lines
        assert any(line.startswith("./::error file=README.md,line=1::forged/agents/a.md:") for line in lines)


@pytest.mark.parametrize("setting", ['cname: "a\u202e\x1b[31m\n::error::x"', 'theme_dir: "\x1b[31m\n::error::t"',
                                     '"\x1b[2J::error::k": 1'])
def test_a_config_value_in_an_error_is_escaped(tmp_path: Path, setting: str) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "a.md").write_text("---\nname: a\ndescription: d\n---\nb\n", encoding="utf-8")
    (tmp_path / "agentpages.yml").write_text(setting + "\n", encoding="utf-8")
    done = run(tmp_path, "check", "--format", "github")
    assert done.returncode != 0
    text = assert_safe_text(done.stdout) + assert_safe_text(done.stderr)
    assert "agentpages.yml:1: error:" in text and not any(line.startswith("::") for line in text.splitlines())


def test_no_character_that_is_escaped_counts_as_printable() -> None:
    """`escape_controls` returns printable text as it is: that must leave nothing it escapes."""
    from generator.errors import _CONTROL, escape_controls

    escaped = [chr(point) for point in range(sys.maxunicode + 1) if _CONTROL.match(chr(point))]
    assert len(escaped) > 2000 and not any(character.isprintable() for character in escaped)
    assert escape_controls("plain text, and ünïcode") == "plain text, and ünïcode"
    assert escape_controls("bell\x07 and bidi\u202e") == "bell\\x07 and bidi\\u202e"
