"""Where each page lives below the site root, and the way from one page to another.

An agent of a catalog of agent files lives at `agents/<slug>/`; in a marketplace, every
component lives under its plugin (`plugins/<plugin>/agents/<name>/`), since two plugins may
hold components of one name. A component's slug says which: `<name>`, or `<plugin>/<name>`.
"""

from __future__ import annotations

import posixpath
import re

INDEX = "index.html"


def component_folder(kind: str, slug: str) -> str:
    """Return the folder below the site root of the page of a component (`agent`, `command`,
    `skill`) with this slug."""
    plugin, nested, name = slug.partition("/")
    return f"plugins/{plugin}/{kind}s/{name}" if nested else f"{kind}s/{slug}"


def agent_folder(slug: str) -> str:
    """Return the folder below the site root of the page of the agent with this slug."""
    return component_folder("agent", slug)


def component_url(kind: str, slug: str) -> str:
    """Return the path below the site root of a component's page."""
    return f"{component_folder(kind, slug)}/{INDEX}"


def skill_file_url(slug: str, file: str) -> str:
    """Return the path below the site root of the page that shows a file of a skill's folder.

    Each part of the file's path keeps letters, digits, `.`, `_` and `-`, any other character
    becoming `-`: a name with `#`, `?` or `%` would not survive as an address.
    """
    safe = "/".join(_UNSAFE.sub("-", part) or "-" for part in file.split("/"))
    return f"{component_folder('skill', slug)}/files/{safe}.html"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def skill_archive_url(slug: str) -> str:
    """Return the path below the site root of a skill's folder as a `.zip`."""
    return f"{component_folder('skill', slug)}.zip"


def page_url(slug: str) -> str:
    """Return the path below the site root of the page of the agent with this slug."""
    return f"{agent_folder(slug)}/{INDEX}"


def raw_file_url(slug: str) -> str:
    """Return the path below the site root of the raw file of the agent with this slug."""
    return raw_component_url("agent", slug)


def raw_component_url(kind: str, slug: str) -> str:
    """Return the path below the site root of a component's file as written (`<folder>.md`)."""
    return f"{component_folder(kind, slug)}.md"


PAGE_MARK = "/"
"""Starts a link target that is a page's path below the site root, not an agent's slug (see `target_url`)."""


def target_url(target: str) -> str:
    """Return the path below the site root a link target leads to: an agent's slug names its
    page; a skill's, a command's or a skill file's page is written as `/` and its path."""
    return target[len(PAGE_MARK):] if target.startswith(PAGE_MARK) else page_url(target)


def plugin_url(slug: str) -> str:
    """Return the path below the site root of the page of the plugin whose folder is `slug`."""
    return f"plugins/{slug}/{INDEX}"


def file_name(slug: str) -> str:
    """Return the name a component is installed under: its slug without its plugin."""
    return slug.rpartition("/")[2]


def root_of(url: str) -> str:
    """Return the way back to the site root from the page at `url` (`agents/x/index.html` → `../../`)."""
    return "../" * url.count("/")


def relative_url(target: str, source: str) -> str:
    """Return the link from the page at `source` to the file at `target`, both below the site root."""
    return posixpath.relpath(target, posixpath.dirname(source) or ".")
