"""The small family of problems a user can see: fatal errors and findings."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning"]


def display_path(path: Path | str, here: str | None = None) -> str:
    """Return `path` as a terminal shows it: relative to the working directory (`here`, when
    known) when it lies below it, and with control characters written as escapes (a file's
    name is the catalog author's, and must not move the cursor or start a line of its own).
    A path that would start a line with `:` starts with `./`: `::error::…` at the start of a
    line is a command to a CI runner."""
    shown = escape_controls(relative_path(path, here))
    return f"./{shown}" if shown.startswith(":") else shown


def relative_path(path: Path | str, here: str | None = None) -> str:
    """Return `path` relative to the working directory (`here`, when known) when it lies below
    it, else absolute."""
    folder, name = os.path.split(os.fspath(path))
    here = os.getcwd() if here is None else here
    if name in ("", ".", ".."):
        return _display(os.fspath(path), here)
    shown = _display(folder, here)  # a catalog's findings share a few folders
    if shown == ".":
        return name
    joined = os.path.join(shown, name)
    return "." if joined == here else joined


def format_findings(findings: Iterable[Finding], with_column: bool = False) -> str:
    """Return each finding on a line of its own, as `str(finding)` (or `with_column()`) writes
    it: all at once, asking for the working directory once (a catalog may have thousands)."""
    here = os.getcwd()
    return "".join(f"{finding.as_line(display_path(finding.path_text, here), with_column)}\n" for finding in findings)


@functools.lru_cache(maxsize=1024)
def _display(path: str, here: str) -> str:
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, here)
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    return absolute if outside else relative


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                      "\ufeff\ufff9-\ufffb\ud800-\udfff]")
"""Control characters, and the invisible ones that reorder or hide what a terminal shows: bidi
controls, zero-width characters, line and paragraph separators; and the bytes of a file name
that is not UTF-8 (kept as lone surrogates), which no terminal can be sent."""


def escape_controls(text: str) -> str:
    """Write each control or invisible character of `text` as its escape (`\\x1b`, `\\n`,
    `\\u202e`), keeping the rest."""
    if text.isprintable():  # none of them is: the common case, without the search
        return text
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)


_TYPE_NAMES = {
    "str": "text", "int": "number", "float": "number", "bool": "true/false value",
    "list": "list", "dict": "mapping", "NoneType": "empty value",
}  # fmt: skip


def type_name(value: object) -> str:
    """Name a value's type the way a YAML author thinks of it: text, number, list, mapping."""
    kind = value.__name__ if isinstance(value, type) else type(value).__name__
    return _TYPE_NAMES.get(kind, kind)


class Finding:
    """One problem in one file, found by the rule named `rule`; it is not changed once made.

    Its file is kept as it was given: a Path, or the text a stored finding names it by (see
    `from_plain`), made a Path only when `path` is asked for. A build with nothing changed at
    20,000 agents with a finding each reads back 20,000 findings only to print them, and
    making their Paths was a tenth of its time.
    """

    __slots__ = ("_path", "_path_text", "column", "line", "message", "rule", "severity")
    _path: Path | None
    _path_text: str | None
    line: int
    severity: Severity
    message: str
    rule: str
    column: int

    def __init__(self, path: Path, line: int, severity: Severity, message: str, rule: str = "",
                 column: int = 1) -> None:
        self._set(path, None, line, severity, message, rule, column)

    def _set(self, path: Path | None, path_text: str | None, line: int, severity: Severity, message: str, rule: str,
             column: int) -> None:
        put = object.__setattr__
        put(self, "_path", path)
        put(self, "_path_text", path_text)
        put(self, "line", line)
        put(self, "severity", severity)
        put(self, "message", message)
        put(self, "rule", rule)
        put(self, "column", column)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a finding is not changed once made (its {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a finding is not changed once made (its {name})")

    @property
    def path(self) -> Path:
        """The file the finding is in."""
        if self._path is None:
            object.__setattr__(self, "_path", Path(self._path_text or ""))
        assert self._path is not None
        return self._path

    @property
    def path_text(self) -> str:
        """The file's path as text (`str(path)`), without making a Path of a stored finding's."""
        if self._path_text is None:
            object.__setattr__(self, "_path_text", os.fspath(self.path))
        assert self._path_text is not None
        return self._path_text

    def _fields(self) -> tuple[str, int, str, str, str, int]:
        return self.path_text, self.line, self.severity, self.message, self.rule, self.column

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, Finding) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (f"Finding(path={self.path!r}, line={self.line!r}, severity={self.severity!r}, "
                f"message={self.message!r}, rule={self.rule!r}, column={self.column!r})")

    def __reduce__(self) -> tuple[type[Finding], tuple[Any, ...]]:
        return Finding, (self.path, self.line, self.severity, self.message, self.rule, self.column)

    def __str__(self) -> str:
        """Return `path:line: severity: message [rule]`, as a build prints it."""
        return self.as_line(display_path(self.path_text))

    def with_column(self) -> str:
        """Return `path:line:col: severity: message [rule]`, as `check` prints it."""
        return self.as_line(display_path(self.path_text), with_column=True)

    def as_line(self, shown_path: str, with_column: bool = False) -> str:
        """Return the finding's line (see `__str__`, `with_column`) naming its file as `shown_path`."""
        where = f"{shown_path}:{self.line}:{self.column}" if with_column else f"{shown_path}:{self.line}"
        return f"{where}: {self.severity}: {self.one_line_message}{self._rule_tag}"

    @property
    def one_line_message(self) -> str:
        """The message on one line: a value quoted from a file cannot forge another finding."""
        return escape_controls(self.message)

    @property
    def _rule_tag(self) -> str:
        return f" [{self.rule}]" if self.rule else ""

    def to_plain(self) -> list[Any]:
        """Return the finding as JSON-ready data, for the build cache."""
        return [self.path_text, self.line, self.severity, self.message, self.rule, self.column]

    @classmethod
    def from_plain(cls, data: list[Any], known: tuple[str, Path] | None = None) -> Finding:
        """Return the finding `to_plain` described, naming its file by the text it holds; `known`
        is a path's text and the Path made of it already, shared when the finding names it."""
        path, line, severity, message, rule, column = data
        if not (isinstance(path, str) and isinstance(line, int) and isinstance(column, int)
                and isinstance(message, str) and isinstance(rule, str) and severity in ("error", "warning")):
            raise TypeError("not a finding")
        finding = cls.__new__(cls)
        finding._set(known[1] if known and known[0] == path else None, path, line, severity, message, rule, column)
        return finding


class SiteError(Exception):
    """A problem that stops the build; the CLI prints it and exits 1."""

    def __init__(self, path: Path | None, line: int, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message

    def __reduce__(self) -> tuple[type[SiteError], tuple[Path | None, int, str]]:
        # Raised in a build worker, it crosses back to the main process by pickling.
        return (type(self), (self.path, self.line, self.message))

    def __str__(self) -> str:
        message = escape_controls(self.message)  # it may quote a value of the file: one line, shown as written
        if self.path is None:
            return f"error: {message}"
        if self.line < 1:  # about a folder or a whole file: no line to name
            return f"{display_path(self.path)}: error: {message}"
        return f"{display_path(self.path)}:{self.line}: error: {message}"


class FileError(SiteError):
    """A file the build cannot go without cannot be read (a marketplace's manifest): said as a
    finding is, with its column and rule, so `check` can report it in any format."""

    def __init__(self, path: Path, line: int, message: str, column: int = 1, rule: str = "") -> None:
        super().__init__(path, line, message)
        self.column = column
        self.rule = rule

    def __reduce__(self) -> tuple[type[FileError], tuple[Path, int, str, int, str]]:  # type: ignore[override]
        assert self.path is not None
        return (type(self), (self.path, self.line, self.message, self.column, self.rule))

    def as_finding(self) -> Finding:
        assert self.path is not None
        return Finding(self.path, self.line, "error", self.message, self.rule, self.column)

    def __str__(self) -> str:
        return self.as_finding().with_column()


class UsageError(SiteError):
    """The command line names something that is not there; the CLI exits 2."""


class ConfigError(SiteError):
    """The config file is unreadable, has an unknown key or a value of the wrong type."""


class TemplateError(SiteError):
    """A template failed to load or render."""


class BuildFailed(SiteError):
    """Several problems were found; each was reported, and the build stops once."""


class Report:
    """The findings of one run, in the order they were made."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, finding: Finding) -> None:
        """Record one finding."""
        self.findings.append(finding)

    @property
    def warnings(self) -> list[Finding]:
        """Return the findings that are warnings."""
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def errors(self) -> list[Finding]:
        """Return the findings that are errors."""
        return [f for f in self.findings if f.severity == "error"]


def count_findings(report: Report) -> str:
    """Say how many errors and warnings a report holds, e.g. "1 error and 2 warnings"."""
    return count_findings_in(report.findings)


def count_findings_in(findings: list[Finding]) -> str:
    """Say how many errors and warnings there are among `findings`."""
    errors = sum(1 for f in findings if f.severity == "error")
    parts = [
        f"{count} {word}{'s' if count != 1 else ''}"
        for count, word in ((errors, "error"), (len(findings) - errors, "warning"))
        if count
    ]
    return " and ".join(parts) or "no problems"


def strict_failure(report: Report) -> BuildFailed:
    """Return the error a build in strict mode stops with when `report` holds findings."""
    return BuildFailed(None, 0, f"build failed in strict mode with {count_findings(report)}; the site was not changed")
