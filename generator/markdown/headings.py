"""The heading tree of a rendered body: light enough for the model to name without loading Markdown."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A heading of a rendered body, with the headings nested below it."""

    id: str
    title: str
    level: int
    children: tuple[Section, ...] = ()
