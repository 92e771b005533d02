"""When each agent file was added and last changed: from git when the catalog is in a repository.

Two git commands cover the whole catalog, however large: one `git log` for the dates of
every committed file, one `git status` for the files changed since. A file that git does
not know, or that has uncommitted changes, is dated by its modification time, and so is
every file when git or the repository is missing.

Reading a long history takes a while (0.13 s for 3,000 commits over 1,000 files), so the
committed dates can be kept in a store (the build cache) for as long as HEAD stays where it is.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

GIT_TIMEOUT_SECONDS = 60
_COMMIT_MARK = "\x01"
COMMITTED_DATES_VALUE = "committed dates"


class ValueStore(Protocol):
    """Where plain values (JSON-ready data) may be kept between builds: the build cache is one."""

    def get_value(self, name: str) -> Any: ...

    def put_value(self, name: str, value: object) -> None: ...


@dataclass(frozen=True)
class FileDates:
    """When a file first appeared and when it last changed."""

    added: datetime
    updated: datetime


def read_file_dates(paths: list[Path], folder: Path, store: ValueStore | None = None) -> dict[Path, FileDates]:
    """Date every file in `paths` (all below `folder`): by git history, else by modification time.

    With a `store`, the dates of committed files are kept there and read again while HEAD and
    the clone's depth stay the same.
    """
    answer = _git(folder, "rev-parse", "--show-toplevel", "HEAD", "--git-path", "shallow")
    lines = answer.split("\n") if answer else []
    root = Path(lines[0]) if len(lines) >= 3 else None
    committed = _committed_dates(folder, root, f"{lines[1]} {_file_stamp(folder, lines[2])}", store) if root else {}
    dirty = _git_dirty_files(folder, root) if root and committed else set()
    real_folder = folder.resolve()
    dates = {}
    for path in paths:
        resolved = _real_path(path, real_folder) if committed else path  # git names files by their real paths
        known = committed.get(resolved)
        if known is None or resolved in dirty:
            modified = modification_time(path)
            known = FileDates(min(known.added, modified), modified) if known else FileDates(modified, modified)
        dates[path] = known
    return dates


def _committed_dates(folder: Path, root: Path, head: str, store: ValueStore | None) -> dict[Path, FileDates]:
    """Return the dates of every committed file below `folder`, from `store` if it has them for `head`."""
    place = f"{head} {folder.resolve()}"
    kept = store.get_value(COMMITTED_DATES_VALUE) if store else None
    if isinstance(kept, list) and len(kept) == 2 and kept[0] == place:
        return {Path(path): FileDates(datetime.fromisoformat(added), datetime.fromisoformat(updated))
                for path, added, updated in kept[1]}
    committed = _git_dates(folder, root)
    if store is not None and committed:
        plain = [[os.fsdecode(path), dates.added.isoformat(), dates.updated.isoformat()] for path, dates in committed.items()]
        store.put_value(COMMITTED_DATES_VALUE, [place, plain])
    return committed


def repository_stamps(folder: Path) -> list[str]:
    """Describe what file dates depend on in git: the commit, and the index and shallow files' state.

    `git rm --cached` or `fetch --unshallow` change dates without moving HEAD; they change
    those files. Outside git: [].
    """
    answer = _git(folder, "rev-parse", "HEAD", "--git-path", "index", "--git-path", "shallow")
    if not answer:
        return []
    head, *paths = answer.split("\n")[:3]
    return [head, *(_file_stamp(folder, name) for name in paths)]


def _file_stamp(folder: Path, name: str) -> str:
    """Describe a file git named (relative to `folder` unless absolute) by size and time."""
    path = Path(name) if Path(name).is_absolute() else folder / name
    try:
        status = path.stat()
        return f"{name} {status.st_size} {status.st_mtime_ns}"
    except OSError:
        return f"{name} absent"


def modification_time(path: Path) -> datetime:
    """Return a file's modification time in UTC, to the second (the Unix epoch if it vanished)."""
    try:
        seconds = int(path.stat().st_mtime)
    except OSError:
        seconds = 0
    return datetime.fromtimestamp(seconds, timezone.utc)


def _git(folder: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("git %s failed: %s", args[0], exc)
        return None
    if completed.returncode != 0:
        log.debug("git %s: %s", args[0], completed.stderr.decode("utf-8", "replace").strip())
        return None
    return completed.stdout.decode("utf-8", "surrogateescape")


def _git_dates(folder: Path, root: Path) -> dict[Path, FileDates]:
    """Read every committed file's first and last commit dates below `folder` in one pass.

    A renamed file keeps the dates of its history under its old name, so moving agents
    between folders does not make them all new.
    """
    log_text = _git(folder, "log", f"--format={_COMMIT_MARK}%ct", "--name-status", "-M", "-z", "--", ".")
    if log_text is None:
        return {}
    if (_git(folder, "rev-parse", "--is-shallow-repository") or "").strip() == "true":
        log.warning("the agents are in a shallow git clone, so every file is dated by the newest commit "
                    "it has: fetch the whole history (actions/checkout: fetch-depth: 0)")
    times: dict[str, list[int]] = {}
    current_name: dict[str, str] = {}  # an older name -> the file's name today
    fields = iter(log_text.split("\0"))
    timestamp = 0
    for field_text in fields:
        token = field_text.lstrip("\n")
        if token.startswith(_COMMIT_MARK):
            timestamp = int(token[1:])
            continue
        if not token:
            continue
        paths = [next(fields, ""), next(fields, "")] if token[0] in "RC" else [next(fields, "")]
        name = current_name.get(paths[-1], paths[-1])
        times.setdefault(name, []).append(timestamp)
        if token[0] == "R":  # newest first: older commits name the file by its old path
            current_name[paths[0]] = name
    return {_real_path(root / name, root): _dates_from(stamps) for name, stamps in times.items()}


def _real_path(path: Path, real_folder: Path) -> Path:
    """Return the real path of a file: resolving each (1,000 files: 30 ms) only when it is a link
    or lies outside `real_folder`, whose subfolders are real (agent files are found without
    following links to folders, and git keeps no file below one)."""
    if path.is_symlink() or not path.is_relative_to(real_folder):
        return path.resolve()
    return path


def _dates_from(timestamps: list[int]) -> FileDates:
    # min and max, not first and last: rebases and skewed clocks reorder commit dates.
    return FileDates(datetime.fromtimestamp(min(timestamps), timezone.utc),
                     datetime.fromtimestamp(max(timestamps), timezone.utc))


def _git_dirty_files(folder: Path, root: Path) -> set[Path]:
    """Return the files below `folder` that are untracked or differ from the last commit."""
    status = _git(folder, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", ".")
    if status is None:
        return set()
    return {(root / entry[3:]).resolve() for entry in status.split("\0") if len(entry) > 3}
