"""Find agent files below the agents folder and read each into a RawAgent."""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from generator.errors import Finding, Report, SiteError, UsageError

if TYPE_CHECKING:
    from generator.catalog.frontmatter import FrontMatter

# Reading a file's text takes YAML, the sanitizer's module and the mentions' patterns, imported
# where a file is read: listing the files (a build with nothing changed does no more) needs none.

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_SIZE = 1024 * 1024
SKIPPED_NAMES = frozenset({"readme.md", "license.md", "contributing.md", "changelog.md"})
"""Markdown files a folder of agents holds that are no agents."""


@dataclass(frozen=True)
class Outline:
    """What the steps that look at the whole catalog read of a file's frontmatter (its slug,
    its place in the catalog's order, a name used twice), so they need not decode the rest."""

    name: str
    """`name` as written when it is text, else ""."""
    category: str
    """`category` as text, stripped ("" when it is missing, a list or a mapping)."""
    weight: float | None = None
    """`order` (or Hugo's `weight`) when it is a number: the lower, the earlier in its category."""


def text_field(data: dict[str, Any], key: str) -> str:
    """Return a frontmatter value as text, stripped: "" for none, a list or a mapping."""
    value = data.get(key)
    if isinstance(value, str):
        return value.strip()
    return "" if value is None or isinstance(value, (list, dict)) else str(value)


def outline_of(front_matter: FrontMatter) -> Outline:
    """Return what the whole catalog's steps read of this frontmatter."""
    name = front_matter.data.get("name")
    return Outline(name if isinstance(name, str) else "", text_field(front_matter.data, "category"),
                   read_weight(front_matter.data))


ORDER_KEYS = ("order", "weight")
"""The frontmatter keys that place an agent within its category (MkDocs users say order, Hugo users weight)."""


def read_weight(data: dict[str, Any]) -> float | None:
    """Return the first of `order` and `weight` that is a number, else None."""
    for key in ORDER_KEYS:
        value = data.get(key)
        if is_weight(value):
            return float(value)
    return None


def is_weight(value: Any) -> bool:
    """Tell whether a frontmatter value can place an agent: a finite number, not true or false."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class RawAgent:
    """An agent file as read: its frontmatter and its body, not yet interpreted.

    A reading from the build cache decodes its frontmatter when first asked for it (see
    `raw_agent_from_head`): an edit build needs the outline of every file, and the whole
    frontmatter of the few whose pages it renders again.
    """

    path: Path
    rel_path: PurePosixPath
    front_matter: FrontMatter
    body: str | None
    """None once a build has checked the file: bodies are most of a catalog's memory, so a
    build reads each again where its page is rendered (see `read_again`)."""
    body_line: int
    """1-based line in the file where the body starts."""
    digest: str = ""
    """The SHA-256 of the file's bytes: what the build cache knows the file by."""
    source: bytes | None = None
    """The file's bytes as checked, when the reading keeps them: `serve` keeps each file's last
    good reading so, to render its page again after the file broke."""
    mentions: tuple[str, ...] = ()
    """The components its text names (see `generator.catalog.mentions`)."""
    outline: Outline = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outline", outline_of(self.front_matter))

    def __getattr__(self, name: str) -> Any:
        load = self.__dict__.get("_load_front_matter") if name == "front_matter" else None
        if load is None:
            raise AttributeError(name)
        front_matter = self.__dict__["front_matter"] = load()
        del self.__dict__["_load_front_matter"]
        return front_matter

    def with_front_matter(self) -> RawAgent:
        """Return this reading with its frontmatter decoded, as a copy when it is decoded now: this
        one stays without it (a page's worker needs it; the main process of a large build would
        otherwise keep every file's)."""
        if "_load_front_matter" not in self.__dict__:
            return self
        copy = RawAgent.__new__(RawAgent)
        copy.__dict__.update(self.__dict__)
        _ = copy.front_matter  # decoded by the copy's __getattr__, kept by the copy alone
        return copy

    def __getstate__(self) -> dict[str, Any]:
        # Sent to a worker that renders its page: with its frontmatter, not the way to read it.
        _ = self.front_matter
        return dict(self.__dict__)


def raw_agent_to_plain(raw: RawAgent) -> list[Any]:
    """Return a reading without its body as JSON-ready data (`raw_agent_from_plain` reads it back)."""
    from generator.catalog.frontmatter import front_matter_to_plain

    assert raw.body is None, "the cache keeps readings without their bodies"
    return [os.fsdecode(raw.path), str(raw.rel_path), front_matter_to_plain(raw.front_matter), raw.body_line, raw.digest,
            list(raw.mentions)]


def raw_agent_from_plain(data: list[Any], known: Path | None = None) -> RawAgent:
    """Return the reading `raw_agent_to_plain` described; `known` is the file's path if at hand."""
    from generator.catalog.frontmatter import front_matter_from_plain

    path, rel_path, front_matter, body_line, digest, mentions = data
    return RawAgent(known if known is not None and os.fsdecode(known) == path else Path(path), PurePosixPath(rel_path),
                    front_matter_from_plain(front_matter), None, body_line, digest, mentions=_texts(mentions))


def _texts(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("not a list of text")
    return tuple(value)


def raw_agent_head_to_plain(raw: RawAgent) -> list[Any]:
    """Return what `raw_agent_from_head` needs of a reading: all of it but its frontmatter."""
    return [os.fsdecode(raw.path), str(raw.rel_path), raw.body_line, raw.digest, raw.outline.name, raw.outline.category,
            list(raw.mentions), raw.outline.weight]


def raw_agent_from_head(data: list[Any], load_front_matter: Callable[[], FrontMatter], known: Path | None = None) -> RawAgent:
    """Return the reading `raw_agent_head_to_plain` described, whose frontmatter `load_front_matter`
    gives when first asked for; `known` is the file's path if at hand."""
    path, rel_path, body_line, digest, name, category, mentions, weight = data
    if not all(isinstance(text, str) for text in (path, rel_path, digest, name, category)) or not isinstance(body_line, int):
        raise TypeError("not the head of a reading")
    if weight is not None and not isinstance(weight, float):
        raise TypeError("not the head of a reading")
    raw = RawAgent.__new__(RawAgent)
    raw.__dict__.update(
        path=known if known is not None and os.fsdecode(known) == path else Path(path), rel_path=PurePosixPath(rel_path),
        body=None, body_line=body_line, digest=digest, source=None, mentions=_texts(mentions),
        outline=Outline(name, category, weight),
        _load_front_matter=load_front_matter,
    )
    return raw


def find_agent_files(agents_dir: Path, report: Report) -> list[Path]:
    """List the agent files below `agents_dir`, sorted, never following links out of it."""
    return [Path(path) for path, _ in find_agent_entries(agents_dir, report)]


def find_agent_entries(agents_dir: Path, report: Report) -> list[tuple[str, os.stat_result | None]]:
    """List the agent files below `agents_dir` as `find_agent_files` does (not in a skill's folder,
    nor below a folder named `commands`), each by its absolute
    path's text and with its status (None if it vanished while listed): one system call a file,
    from the folder's listing. The paths stay text: a build with nothing changed needs no more."""
    if not agents_dir.is_dir():
        raise UsageError(agents_dir, 0, "agents folder not found (use --agents DIR)")
    root = agents_dir.resolve()
    found: list[tuple[str, os.stat_result | None]] = []
    pending = [str(root)]
    while pending:  # depth first, each folder's files before its subfolders, as os.walk goes
        subfolders = []
        try:
            with os.scandir(pending.pop()) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue  # unreadable: skipped, as os.walk does
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith(".") and not _holds_other_components(entry):
                    subfolders.append(entry.path)
            elif _has_agent_name(entry.name) and _is_regular_file(entry):
                if not entry.is_symlink() or _stays_inside(Path(entry.path), root, report):
                    found.append((entry.path, _status(entry)))
        pending.extend(reversed(subfolders))
    return found


SKILL_FILE = "SKILL.md"
COMMANDS_FOLDER = "commands"


def _holds_other_components(folder: os.DirEntry[str]) -> bool:
    """Tell whether a folder holds a skill (its SKILL.md) or commands, whose files are no agents."""
    return folder.name == COMMANDS_FOLDER or os.path.isfile(os.path.join(folder.path, SKILL_FILE))


def _has_agent_name(name: str) -> bool:
    return name.endswith(".md") and not name.startswith(".") and name.lower() not in SKIPPED_NAMES


def _is_regular_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()  # not a FIFO or a device, which would block the read
    except OSError:
        return False


def _status(entry: os.DirEntry[str]) -> os.stat_result | None:
    try:
        return entry.stat()
    except OSError:
        return None


def has_utf8_name(path: str | Path) -> bool:
    """Tell whether a file's path is UTF-8 text, as an address must be (the undecodable bytes
    of one that is not are lone surrogates)."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_agent_file(path: Path) -> bool:
    """Tell whether a file's name makes it an agent file, and it is a regular file."""
    return _has_agent_name(path.name) and path.is_file()  # not a FIFO or a device, which would block the read


def _stays_inside(path: Path, root: Path, report: Report) -> bool:
    if not path.is_symlink() or path.resolve().is_relative_to(root):
        return True
    report.add(Finding(path, 1, "warning", "skipped: this link points outside the agents folder", "link-outside"))
    return False


def read_agent(
    path: Path, agents_dir: Path, report: Report, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    data: bytes | None = None,
) -> RawAgent | None:
    """Read one agent file (or its `data`, already read); None, with a finding, when it is not text."""
    from generator.catalog.frontmatter import split_front_matter
    from generator.catalog.mentions import find_mentions

    data = read_agent_bytes(path, report, max_file_size) if data is None else data
    text = _decode(path, data, report) if data is not None else None
    if text is None or data is None:
        return None
    split = split_front_matter(text)
    rel_path = PurePosixPath(path.relative_to(agents_dir.resolve()).as_posix())
    return RawAgent(path, rel_path, split.front_matter, split.body, split.body_line, file_digest(data),
                    mentions=find_mentions(text))


def read_front_matter_again(path: Path, digest: str) -> FrontMatter:
    """Return the frontmatter of a file read and checked before, reading the file again (for a
    reading whose frontmatter the build cache lost); SiteError if its bytes are others now."""
    from generator.catalog.frontmatter import split_front_matter

    try:
        data = path.read_bytes()
    except OSError:
        data = None
    text = _decode(path, data, Report()) if data is not None and file_digest(data) == digest else None
    if text is None:
        raise SiteError(path, 1, "the file changed while the site was being built: build again")
    return split_front_matter(text).front_matter


def without_body(raw: RawAgent) -> RawAgent:
    """Return the reading without its body, as a build keeps it once the file is checked."""
    return replace(raw, body=None)


def read_again(raw: RawAgent, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> tuple[RawAgent, bytes]:
    """Read a checked file again: return the reading with its body, and the file's bytes.

    SiteError if the file changed since it was checked, so a page never shows other text.
    """
    report = Report()
    data = raw.source if raw.source is not None else read_agent_bytes(raw.path, report, max_file_size)
    unchanged = data is not None and (not raw.digest or file_digest(data) == raw.digest)
    text = _decode(raw.path, data, report) if data is not None and unchanged else None
    if data is None or text is None:
        raise SiteError(raw.path, 1, "the file changed while the site was being built: build again")
    body = raw.body if raw.body is not None else "\n".join(text.split("\n")[raw.body_line - 1 :])
    return replace(raw, body=body), data


def file_digest(data: bytes) -> str:
    """Return the digest the build cache knows a file's content by."""
    return hashlib.sha256(data).hexdigest()


def read_agent_bytes(path: Path, report: Report, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> bytes | None:
    """Read an agent file's bytes; None, with a finding, when it is unreadable, too large or empty."""
    try:
        with path.open("rb") as file:
            data = file.read(max_file_size + 1)
    except OSError as exc:
        _skip(report, path, "unreadable", f"cannot read the file ({exc.strerror})")
        return None
    if len(data) > max_file_size:
        _skip(report, path, "file-too-large",
              f"the file is over the size limit of {max_file_size:,} bytes (max_file_size)")
        return None
    if not data.strip():
        _skip(report, path, "empty-file", "the file is empty; write frontmatter with a name and a description")
        return None
    return data


def _skip(report: Report, path: Path, rule: str, message: str, line: int = 1) -> None:
    report.add(Finding(path, line, "error", f"skipped: {message}", rule))


def _decode(path: Path, data: bytes, report: Report) -> str | None:
    def skip(rule: str, message: str, line: int = 1) -> None:
        _skip(report, path, rule, message, line)

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _skip(report, path, "not-utf8", "the file is not UTF-8 text; save it as UTF-8",
              data.count(b"\n", 0, exc.start) + 1)
        return None
    from generator.markdown.sanitize import remove_control_characters

    # Control characters (ESC, BEL, NUL…) are not text: they would reach terminals and pages.
    return remove_control_characters(text.replace("\r\n", "\n").replace("\r", "\n"))
