"""Where a relative link in agent text leads on the site.

On GitHub, `[reviewer](../review/code-reviewer.md)` resolves against the agent file's folder.
On the site every page lives at `agents/<slug>/index.html`, so the sanitizer rewrites such a
link: to another agent file, it leads to that agent's page; to anything else (an image beside
the file, a placeholder such as `thumbnail_url`) it would be broken, so the link keeps only
its text and the image shows its alt text, and `check` reports it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class LinkContext:
    """What resolving one file's links needs: where it is, and every agent file's slug."""

    source: PurePosixPath
    """The file's path below the agents folder."""
    slugs: Mapping[PurePosixPath, str]
    """Every agent file's slug, by its path below the agents folder."""
    linked_files: set[PurePosixPath] = field(default_factory=set)
    """The files below the agents folder that the text links to, found or not."""


def is_relative_link(href: str) -> bool:
    """Tell whether a link depends on where the file sits: no scheme, not `#…`, not `//host`."""
    href = href.strip()
    return bool(href) and not href.startswith(("#", "//")) and not _SCHEME.match(href)


def target_path(href: str, source: PurePosixPath) -> PurePosixPath | None:
    """Return the path below the agents folder a relative link names, or None if it leaves it."""
    path = unquote(urlsplit(href.strip()).path)
    if not path or path.startswith("/"):
        return None  # `/…` starts at the repository's root, which the site does not hold
    joined = posixpath.normpath(posixpath.join(str(source.parent), path))
    if joined == ".." or joined.startswith("../"):
        return None
    return PurePosixPath(joined)


def resolve_link(href: str, context: LinkContext) -> str | None:
    """Return a relative link's address on an agent page, or None when it leads to no agent."""
    target = target_path(href, context.source)
    if target is None:
        return None
    context.linked_files.add(target)
    slug = context.slugs.get(target)
    if slug is None:
        return None
    fragment = urlsplit(href.strip()).fragment
    return f"../{slug}/index.html" + (f"#{fragment}" if fragment else "")
