"""Which files of the catalog folder the site is made of, beyond the layout rules: the config's
`include` and `exclude` pattern lists, in gitignore's syntax (as MkDocs' `exclude_docs`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec  # imported where patterns are compiled: most catalogs have none


@dataclass(frozen=True)
class Selection:
    """The catalog files kept: those `include` matches (every file when it is empty) that
    `exclude` does not match. Paths are matched relative to the catalog folder."""

    root: Path
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _included: pathspec.PathSpec | None = field(init=False, repr=False, compare=False, default=None)
    _excluded: pathspec.PathSpec | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_included", compile_patterns(self.include) if self.include else None)
        object.__setattr__(self, "_excluded", compile_patterns(self.exclude) if self.exclude else None)

    @property
    def narrows(self) -> bool:
        """Tell whether the patterns leave out anything at all."""
        return bool(self.include or self.exclude)

    def keeps(self, path: Path | str) -> bool:
        """Tell whether a component's file (an agent, a command, a skill's SKILL.md) is part of the site."""
        if self._included is None and self._excluded is None:
            return True  # most catalogs: no pattern to match, and 20,000 paths not made relative
        rel = self._relative(path)
        if rel is None:
            return True
        if self._included is not None and not self._included.match_file(rel):
            return False
        return self._excluded is None or not self._excluded.match_file(rel)

    def shows(self, path: Path | str) -> bool:
        """Tell whether a file that belongs to a kept component (a skill's reference, a script) is
        shown: `exclude` alone decides, so including a skill's SKILL.md includes its folder."""
        if self._excluded is None:
            return True
        rel = self._relative(path)
        return rel is None or not self._excluded.match_file(rel)

    def _relative(self, path: Path | str) -> str | None:
        """Return the path below the catalog folder in `/` form, or None when it is not below it."""
        text = os.fspath(path)
        root = os.fspath(self.root)
        if not text.startswith(root + os.sep):
            return None
        return text[len(root) + 1:].replace(os.sep, "/")


def compile_patterns(patterns: tuple[str, ...] | list[str]) -> pathspec.PathSpec:
    """Compile gitignore-style patterns; ValueError naming the pattern that is not one."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)
