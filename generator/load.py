"""Find agent files below the agents folder and read each into a RawAgent."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.errors import Report, SiteError
from generator.frontmatter import FrontMatter, split_front_matter

log = logging.getLogger(__name__)

MAX_FILE_SIZE = 1024 * 1024
_SKIPPED_NAMES = frozenset({"readme.md", "license.md", "contributing.md", "changelog.md"})


@dataclass(frozen=True)
class RawAgent:
    """An agent file as read: its frontmatter and its body, not yet interpreted."""

    path: Path
    rel_path: PurePosixPath
    front_matter: FrontMatter
    body: str
    body_line: int


def find_agent_files(agents_dir: Path, report: Report) -> list[Path]:
    """List the agent files below `agents_dir`, sorted, never following links out of it."""
    if not agents_dir.is_dir():
        raise SiteError(agents_dir, 1, "agents folder not found (use --agents DIR)")
    root = agents_dir.resolve()
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if _is_agent_file(name) and _stays_inside(path, root, report):
                found.append(path)
    return found


def _is_agent_file(name: str) -> bool:
    return name.endswith(".md") and not name.startswith(".") and name.lower() not in _SKIPPED_NAMES


def _stays_inside(path: Path, root: Path, report: Report) -> bool:
    if not path.is_symlink():
        return True
    if path.resolve().is_relative_to(root):
        return True
    report.warn(path, 1, "skipped: this link points outside the agents folder")
    return False


def read_agent(path: Path, agents_dir: Path, report: Report) -> RawAgent | None:
    """Read one agent file, recording what is wrong with it; None when it cannot be read."""
    text = _read_text(path, report)
    if text is None:
        return None
    split = split_front_matter(text)
    _report_front_matter(path, split.front_matter, report)
    rel_path = PurePosixPath(path.relative_to(agents_dir.resolve()).as_posix())
    return RawAgent(path, rel_path, split.front_matter, split.body, split.body_line)


def _read_text(path: Path, report: Report) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.warn(path, 1, f"skipped: cannot read the file ({exc.strerror})")
        return None
    if len(data) > MAX_FILE_SIZE:
        report.warn(path, 1, f"skipped: the file is {len(data):,} bytes, over the limit of {MAX_FILE_SIZE:,}")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        report.warn(path, line, "skipped: the file is not UTF-8 text; save it as UTF-8")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _report_front_matter(path: Path, front: FrontMatter, report: Report) -> None:
    if not front.present:
        report.warn(path, 1, "no frontmatter: start the file with '---', the fields, and another '---'")
    elif not front.closed:
        report.warn(path, 1, "frontmatter is never closed: add a '---' line after the last field")
    elif front.yaml_problem:
        report.warn(
            path,
            front.yaml_problem_line,
            f"frontmatter is not valid YAML ({front.yaml_problem}); read line by line as the "
            "agent runtime does. Quote the value or write it as a '|' block to make it valid",
        )
