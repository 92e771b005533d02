"""What a build digests to tell whether anything changed: its inputs' stamps, the site folder's
stamp, and everything the site is made of."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from generator.catalog.history import FileDates, repository_stamps
from generator.config import SiteConfig
from generator.store.site_folder import SiteFiles, wait_for_the_clock

if TYPE_CHECKING:
    from generator.pipeline.memo import Memo

PRIVATE_STAMP = "private"
"""The stamp of an output folder that only the writer touches: it is as the last build left it."""


def site_after(
    site_files: SiteFiles | None, config: SiteConfig, changed: list[str], in_place: bool,
) -> SiteFiles:
    """Return the output folder's files after a commit: looked at again where it changed."""
    if changed:
        wait_for_the_clock(config.out_dir, changed)
    if site_files is None or not in_place:
        return SiteFiles(config.out_dir)
    site_files.look_again(changed)
    return site_files


def input_state(config: SiteConfig, entries: list[tuple[str, str]]) -> str:
    """Describe every input but the templates and config: git's commit, index and shallow file, and
    every agent file's stamp (`entries` are the files' paths and stamps); "" when some file's
    stamp cannot be trusted."""
    if not all(stamp for _, stamp in entries):
        return ""
    lines = [f"{os.fsencode(path).hex()} {stamp}" for path, stamp in entries]
    return "\n".join([*repository_stamps(config.agents_dir), *lines])


def quick_state(inputs_key: str, site_stamp: str) -> str:
    """Describe a build's inputs and the site folder on disk: the inputs' digest (`inputs_digest`),
    then the folder's stamp; "" when the inputs are unknown."""
    return f"{inputs_key} {site_stamp}" if inputs_key else ""


def inputs_digest(cache: Memo, config: SiteConfig, inputs: str) -> str:
    """Digest the inputs' stamps (`input_state`) with the templates and config: the start of
    `quick_state`, which tells apart a build with other inputs before the site folder has been
    looked at; "" when some stamp cannot be trusted (`inputs` "")."""
    if not inputs:
        return ""
    parts = [cache.fingerprint, str(config.out_dir), inputs]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def dates_state(dates: dict[Path, FileDates], paths: list[Path]) -> str:
    """Digest when each of `paths` was added and last changed."""
    known = [(str(path), dates.get(path)) for path in paths]
    return hashlib.sha256(repr([(path, (day.added.timestamp(), day.updated.timestamp()) if day else None)
                                for path, day in known]).encode("utf-8", "surrogateescape")).hexdigest()


def site_state(fingerprint: str, config: SiteConfig, components: str,
               pages: Iterable[tuple[str, tuple[float, float] | None]]) -> str:
    """Digest everything the site is made of: every page's key and its file's dates as timestamps
    (`pages`, in catalog order; see `moments`), where it goes, and the commands, skills and plugins
    (`components`, their digest)."""
    hasher = hashlib.sha256(f"{fingerprint} {config.out_dir} {components}".encode())
    for key, known in pages:
        hasher.update(key.encode())
        hasher.update(f"{known[0]} {known[1]}".encode() if known else b"-")
    return hasher.hexdigest()


def moments(dates: FileDates | None) -> tuple[float, float] | None:
    """Return when a file was added and last changed as timestamps, what the memo keys hold of its dates."""
    return (dates.added.timestamp(), dates.updated.timestamp()) if dates else None
