"""The fingerprint: a digest of everything that changes every page (our code, the versions of
the libraries that render, the templates and the config). Every memo key starts with it."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
from pathlib import Path

from generator import __version__
from generator.config import SiteConfig, template_dirs
from generator.store.database import FORMAT, digest_parts

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The libraries whose output reaches the page: a new version may render differently.
_RENDERING_LIBRARIES = ("jinja2", "markdown", "pygments", "nh3", "pymdown-extensions",
                        "mdx-truly-sane-lists", "mdx-breakless-lists", "pyyaml")  # fmt: skip


_NOT_IN_PAGES = ("out_dir", "strict", "allowed_hosts")
"""Settings that change no page: where it goes, whether warnings fail, whom serve answers."""


def make_fingerprint(config: SiteConfig) -> str:
    """Return a digest of everything that changes every page: code, versions, templates and config."""
    parts = [f"format {FORMAT}", f"agentpages {__version__}"]
    versions = installed_versions()
    parts += [f"{name} {_library_version(versions, name)}" for name in _RENDERING_LIBRARIES]
    # Our own source too, so a checkout being worked on never serves pages of older code.
    for folder in (PACKAGE_DIR, *template_dirs(config)):
        parts += _folder_digests(folder)
    # The dataclass's fields, not vars(): a cached property (the compiled include/exclude) is no setting.
    settings = {field.name: getattr(config, field.name) for field in dataclasses.fields(config)
                if field.name not in _NOT_IN_PAGES}
    parts.append(repr(sorted((key, repr(value)) for key, value in settings.items())))
    return digest_parts(parts)
def _folder_digests(folder: Path) -> list[str]:
    """Return each file's path and content digest below `folder`, following links as copying does."""
    found = []
    for current, subfolders, files in os.walk(folder, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            path = Path(current) / name
            try:
                found += [str(path.relative_to(folder)), hashlib.sha256(path.read_bytes()).hexdigest()]
            except OSError:
                found += [str(path.relative_to(folder)), "unreadable"]
    return found


def installed_versions() -> dict[str, str]:
    """Return the version of every distribution installed on `sys.path`, by normalized name.

    Read from the `<name>-<version>.dist-info` (or `.egg-info`, as Debian's packages have)
    folder names, as importlib.metadata finds them, without importing it and the email parser
    it needs: a tenth of a build with nothing to do.
    """
    versions: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                stem, dot, kind = entry.name.rpartition(".")
                name, _, version = stem.partition("-")
                if dot and kind in ("dist-info", "egg-info") and version:
                    versions.setdefault(_normalized(name), version.partition("-")[0])
    return versions


def _library_version(versions: dict[str, str], name: str) -> str:
    """Return a library's version from `installed_versions`, or ask importlib.metadata."""
    known = versions.get(_normalized(name))
    if known is not None:
        return known
    import importlib.metadata  # only when the folder names did not tell

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


