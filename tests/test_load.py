"""Finding and reading agent files: encodings, line endings, links, and what is skipped."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import write_agents

from generator.catalog.load import find_agent_files, read_agent
from generator.errors import Report

FILE = "---\nname: a\ndescription: d\n---\n\n## Body\n"


def read(agents: Path, name: str, report: Report | None = None):
    return read_agent(agents / name, agents, report or Report())


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": b"\xef\xbb\xbf" + FILE.replace("\n", "\r\n").encode()})
    raw = read(agents, "a.md")
    assert raw is not None
    assert raw.front_matter.data == {"name": "a", "description": "d"}
    assert raw.body == "\n## Body\n" and raw.body_line == 5


def test_not_utf8_is_skipped_with_the_line(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": b"---\nname: a\ndescription: caf\xe9\n---\n"})
    report = Report()
    assert read(agents, "a.md", report) is None
    assert [str(f) for f in report.findings] == [
        f"{agents / 'a.md'}:3: error: skipped: the file is not UTF-8 text; save it as UTF-8 [not-utf8]"
    ]


def test_huge_file_is_skipped(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {"a.md": FILE + "x" * (1024 * 1024)})
    report = Report()
    assert read(agents, "a.md", report) is None
    assert report.findings[0].rule == "file-too-large"


def test_finds_agent_files_sorted_and_skips_readme_hidden_and_outside_links(tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text(FILE)
    agents = write_agents(
        tmp_path,
        {"b/z.md": FILE, "a.md": FILE, "README.md": "# About", ".hidden/x.md": FILE, "b/notes.txt": "x"},
    )
    os.symlink(outside, agents / "link.md")
    report = Report()
    found = [p.relative_to(agents.resolve()).as_posix() for p in find_agent_files(agents, report)]
    assert found == ["a.md", "b/z.md"]
    assert [f.message for f in report.findings] == ["skipped: this link points outside the agents folder"]
