"""What a site folder holds on disk (SiteFiles): each file's size, times, inode and mode, and
the stamp that tells a build whether the folder is still as the last build left it."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import logging
import os
import secrets
import signal
import sys
import threading
import time
import weakref
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple, NoReturn

log = logging.getLogger(__name__)


class SiteFiles:
    """Every file and folder of a site folder as it is on disk, each by its path below the
    folder (a folder's ends with "/", the folder's own is "") and described by size, times,
    inode and mode: a deleted or edited file shows in the stamp, even one overwritten with its
    old modification time put back.

    Given the `layout` the last build left (see `layout`), only those paths are looked at, a
    system call each; a file added or removed by hand since changed its folder's times, so it
    shows too. Without one, the folder is walked. After an update in place, only the files it
    wrote or removed, and their folders, are looked at again (see `look_again`).

    `in_background` looks in a child process, where the system allows one and the layout has
    CHILD_FROM_PATHS paths or more, while the build goes on: at 20,000 agents the 80,000 system
    calls take half a second, about what reading the catalog's listing and the last build's
    plan takes beside them.
    """

    def __init__(self, root: Path, layout: Sequence[str] | None = None, in_background: bool = False) -> None:
        self.root = root
        self._layout = list(layout) if layout is not None else None
        self._entries: dict[str, str] | None = None
        self._looked = False
        self._stamp: str | None = None
        self._described: bytes | None = None
        """What the background look found, for `entries` to take apart when it is asked for."""
        worth_a_child = in_background and len(self._layout or ()) >= CHILD_FROM_PATHS
        self._look = _BackgroundLook.start(root, self._layout) if worth_a_child else None

    @property
    def entries(self) -> dict[str, str] | None:
        """Every file's and folder's description by its path; None when the folder is missing,
        some folder of it cannot be read, or something else changed it while it was written."""
        self._look_if_not_yet()
        if self._described is not None:
            self._entries, self._described = _entries_from(self._described), None
        return self._entries

    def stamp(self) -> str:
        """Digest every file's and folder's path and description.

        A folder whose files are unknown (see `entries`) gets a stamp of its own that no other
        equals, so it never passes for the site a build left.
        """
        self._look_if_not_yet()
        if self._stamp is None:
            self._stamp = _digest(self.entries) if self.entries is not None else f"unknown {secrets.token_hex(16)}"
        return self._stamp

    def layout(self) -> list[str] | None:
        """Return the path of every file and folder, sorted, for the next build to look at; None
        when they are unknown."""
        return sorted(self.entries) if self.entries is not None else None

    def new_layout(self) -> list[str] | None:
        """Return `layout` if it differs from the one this was made with; None when it is the same
        (an edit's site has the files it had: 80,000 paths at 20,000 agents need not be stored
        again) or unknown."""
        layout = self.layout()
        return None if layout is None or layout == self._layout else layout

    def look_again(self, rel_paths: Collection[str]) -> None:
        """Describe these files anew (written or removed since), and the folders they are in.

        Each of those folders is listed too: a file added there by hand while the site was
        being written changed the folder's times along with the writer, and only its name
        tells it apart. One that is there unnamed makes the files unknown. Call this (or make
        a new SiteFiles) after `wait_for_the_clock`, so a change made after the look cannot
        leave the times it saw.
        """
        entries = self.entries
        self._stamp = None
        if entries is None or not rel_paths:
            return
        folders = {f"{parent}/" if str(parent) != "." else "" for rel_path in rel_paths
                   for parent in PurePosixPath(rel_path).parents}
        for path in [*rel_paths, *folders]:
            entries.pop(path, None)
            description = _describe_entry(self.root, path)
            if description is not None:
                entries[path] = description
        try:
            children = _children(entries, folders & entries.keys())
            if any(_listed(self.root, folder) != names for folder, names in children.items()):
                self._entries = None
        except OSError:
            self._entries = None

    def _look_if_not_yet(self) -> None:
        if self._looked:
            return
        self._looked = True
        found = self._look.collect() if self._look is not None else None
        self._look = None
        if found is not None:
            log.debug("looked at the site folder's files in a child process")
            self._stamp, self._described = found.stamp, found.described
            return
        with contextlib.suppress(OSError):
            self._entries = _describe(self.root, self._layout)


CHILD_FROM_PATHS = 30_000
"""The fewest paths looked at in a child process (7,500 agents): the child's memory (5-10 MiB of
the parent's pages it copies) and its start pay off only where the look takes a tenth of a
second or more."""


class _Found(NamedTuple):
    """What a look in a child process found: the stamp (None for a folder whose files are
    unknown) and the descriptions, paths and descriptions each ended by a NUL."""

    stamp: str | None
    described: bytes | None


_UNKNOWN = b"-"
"""What the child process says of a folder whose files are unknown."""


class _BackgroundLook:
    """A child process, forked, describing a folder's files into a pipe.

    The child touches nothing the parent holds (no cache, no output, no log): it makes system
    calls, digests their answers and sends them, so forking is safe while nothing else runs.
    Ctrl-C and SIGTERM end it at once, as the system ends a process, never by the parent's
    handlers: an interrupt raised in the child would unwind through the parent's code.
    """

    def __init__(self, pid: int, pipe: int) -> None:
        self._pid, self._pipe = pid, pipe
        # A build that fails before it asks still waits for the child, which never outlives it.
        self._done = weakref.finalize(self, _collect, pid, pipe)

    @classmethod
    def start(cls, root: Path, layout: list[str] | None) -> _BackgroundLook | None:
        """Fork the child; None where forking is not safe (another system, or other threads running)."""
        if not sys.platform.startswith("linux") or threading.active_count() > 1:
            return None
        try:
            reading, writing = os.pipe()
        except OSError:
            return None
        # Until the child has its own handlers, and the parent a finalizer that waits for it.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING_SIGNALS)
        try:
            try:
                pid = os.fork()
            except OSError:
                os.close(reading)
                os.close(writing)
                return None
            if pid == 0:
                _be_the_child(reading, writing, root, layout, blocked)
            os.close(writing)
            return cls(pid, reading)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def collect(self) -> _Found | None:
        """Wait for the child's answer; None if it gave none (the parent then looks itself)."""
        self._done.detach()
        return _collect(self._pid, self._pipe)


_STOPPING_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _be_the_child(reading: int, writing: int, root: Path, layout: list[str] | None,
                  blocked: set[signal.Signals]) -> NoReturn:
    """Describe the folder, send the stamp and descriptions down `writing`, and end the process
    without running anything of the parent's: no exit handlers, no flushing its buffers."""
    code = 1
    try:
        for number in _STOPPING_SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(reading)
        gc.disable()  # a collection would touch, and so copy, every page of the parent's objects
        try:
            stamp, described = _described(root, layout)
        except OSError:
            stamp, described = _UNKNOWN, b""
        with open(writing, "wb") as sending:
            sending.write(stamp)
            sending.write(described)
        code = 0
    finally:
        os._exit(code)


def _described(root: Path, layout: list[str] | None) -> tuple[bytes, bytes | bytearray]:
    """Describe the folder as the child sends it: the stamp and a NUL, then each path and its
    description, each ended by a NUL. Given a sorted layout, each file's description goes
    straight into one growing buffer and the digest: objects kept for 80,000 files would take
    free slots all over the parent's memory, and so copy its pages (10 MiB at 5,000 agents)."""
    if layout is None or any(later <= earlier for earlier, later in zip(layout, itertools.islice(layout, 1, None))):
        entries = _describe(root, layout)
        described = "".join([f"{path}\0{description}\0" for path, description in entries.items()])
        return f"{_digest(entries)}\0".encode(), described.encode("utf-8", "surrogateescape")
    hasher, buffer = hashlib.sha256(), bytearray()
    for path in itertools.chain([""], (path for path in layout if path)):  # the folder's own first, as sorted
        description = _describe_entry(root, path)
        if description is None:
            if not path:
                raise FileNotFoundError(root)
            continue  # one gone is left out: the stamp shows it
        hasher.update(_digested_line(path, description))
        buffer += f"{path}\0{description}\0".encode("utf-8", "surrogateescape")
    return f"{hasher.hexdigest()}\0".encode(), buffer


def _collect(pid: int, pipe: int) -> _Found | None:
    """Read the child's answer to its end, then wait for the child to end: whatever stops the
    reading, the pipe is closed first (a child still sending then ends), and the child reaped."""
    try:
        with open(pipe, "rb") as receiving:
            message = receiving.read()
    except OSError:
        message = b""
    finally:
        ended = _wait_for(pid)
    if not ended or not message:
        return None
    if message == _UNKNOWN:
        return _Found(None, None)
    stamp, _, described = message.partition(b"\0")
    return _Found(stamp.decode("ascii"), described)


def _wait_for(pid: int) -> bool:
    """Wait for a child to end; tell whether it ended well."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return False
    return os.waitstatus_to_exitcode(status) == 0


def _entries_from(described: bytes) -> dict[str, str]:
    """Take apart the descriptions a child process sent: path, NUL, description, NUL, and so on."""
    fields = described.decode("utf-8", "surrogateescape").split("\0")
    return dict(zip(fields[0:-1:2], fields[1::2], strict=True))


def _digest(entries: dict[str, str]) -> str:
    """Digest every path and its description, in sorted order (`_described` streams the same)."""
    return hashlib.sha256(b"".join([_digested_line(path, entries[path]) for path in sorted(entries)])).hexdigest()


def _digested_line(path: str, description: str) -> bytes:
    return f"{path}\0{description}\n".encode("utf-8", "surrogateescape")


CLOCK_TICK_SECONDS = 0.02
"""Longer than a tick of the clock file systems take times from (at most 10 ms on Linux)."""
COARSE_TICK_SECONDS = 2.0
"""The tick of file systems that keep times in whole seconds or two (FAT, HFS+, some network ones)."""


def wait_for_the_clock(root: Path, written: Collection[str]) -> None:
    """Wait until the times files get have moved past those of the files just written below
    `root`: a tick of the kernel's clock, or two seconds where the file system keeps times in
    whole seconds (told by a written file's time in whole milliseconds)."""
    coarse = False
    for rel_path in list(written)[:10]:  # the first that is there (the others may be removals)
        parts = PurePosixPath(rel_path).parts
        if not parts or parts[0] == "/" or ".." in parts:
            continue  # never a file of the site's (the writer refuses such paths)
        with contextlib.suppress(OSError):
            coarse = os.lstat(root.joinpath(*parts)).st_mtime_ns % 1_000_000 == 0
            break
    time.sleep(COARSE_TICK_SECONDS if coarse else CLOCK_TICK_SECONDS)


def _listed(root: Path, folder: str) -> set[str]:
    """Return the names in one folder below `root`, a folder's with "/" after it."""
    with os.scandir(root / folder if folder else root) as listing:
        return {f"{entry.name}/" if entry.is_dir(follow_symlinks=False) else entry.name for entry in listing}


def _children(entries: Iterable[str], folders: Collection[str]) -> dict[str, set[str]]:
    """Return the names right below each of `folders` among the paths `entries`, a folder's
    with "/" after it."""
    children: dict[str, set[str]] = {folder: set() for folder in folders}
    for path in entries:
        if path:
            cut = path.rfind("/", 0, len(path) - 1)
            names = children.get(path[:cut + 1])
            if names is not None:
                names.add(path[cut + 1:])
    return children


def _describe(root: Path, layout: Sequence[str] | None) -> dict[str, str]:
    """Describe the paths of `layout` below `root`, or every file and folder below it without one."""
    return _describe_paths(root, layout) if layout is not None else _describe_folder(root)


def _describe_folder(root: Path) -> dict[str, str]:
    """Describe the folder `root` and every file and folder below it, by path below it.

    A folder that cannot be read (or `root` missing) raises OSError.
    """
    found = {"": _description(root.stat())}
    pending = [(str(root), "")]
    while pending:
        current, prefix = pending.pop()
        with os.scandir(current) as listing:
            entries = list(listing)
        for entry in entries:
            status = entry.stat(follow_symlinks=False)
            if entry.is_dir(follow_symlinks=False):
                found[f"{prefix}{entry.name}/"] = _description(status, entry.inode())
                pending.append((entry.path, f"{prefix}{entry.name}/"))
            else:
                found[prefix + entry.name] = _description(status, entry.inode())
    return found


def _describe_paths(root: Path, layout: Iterable[str]) -> dict[str, str]:
    """Describe the files and folders of `layout` that are there, by path below `root`; OSError
    if `root` itself is not."""
    found = {"": _description(root.stat())}
    for path in layout:
        description = _describe_entry(root, path) if path else found[""]
        if description is not None:
            found[path] = description  # one gone is left out: the stamp shows it
    return found


def _describe_entry(root: Path, path: str) -> str | None:
    """Describe one file or folder below `root` (the folder itself for ""), None if it is not there.

    A folder below is described by its own entry, not by what a link of its name leads to; the
    root is the folder the site is in, even when `--out` names a link to it.
    """
    try:
        return _description(os.lstat(f"{root}{os.sep}{path.removesuffix('/')}") if path else root.stat())
    except OSError:
        return None


def _description(status: os.stat_result, inode: int | None = None) -> str:
    # The inode apart: a DirEntry's stat() leaves it 0 on Windows, where inode() has it.
    inode = status.st_ino if inode is None else inode
    return f"{status.st_size} {status.st_mtime_ns} {status.st_ctime_ns} {inode} {status.st_mode}"
