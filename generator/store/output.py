"""The only writer to the output folder (SiteWriter): a build stages what changed beside the
folder, then puts it in place; also the check that a folder may be written. What the folder
holds on disk, and its stamp, are store/site_folder.py's."""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from generator.errors import SiteError, UsageError

# Written into every site; a folder without it is not ours to replace.
SITE_MARKER = ".agentpages"
SITE_MARKER_TEXT = "Built by agentpages. Each build may replace or delete any file in this folder.\n"
# Tells GitHub Pages to publish the files as they are, without Jekyll.
NOJEKYLL = ".nojekyll"


def check_out_dir(out_dir: Path, agents_dir: Path, may_be_inside: bool = False) -> None:
    """Refuse an output folder that would overwrite the catalog or a folder that is not a site.

    With `may_be_inside` (a marketplace, whose files are read only where its manifests lead),
    the output folder may lie inside the catalog's folder, as `site/` at a repository's root does.
    """
    out, agents = out_dir.resolve(), agents_dir.resolve()
    if out == agents or agents.is_relative_to(out) or (out.is_relative_to(agents) and not may_be_inside):
        raise UsageError(out_dir, 1, "the output folder must be outside the agents folder and not contain it")
    if out.exists() and not out.is_dir():
        raise UsageError(out_dir, 1, "the output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).exists():
        raise UsageError(
            out_dir, 1, "the output folder is not empty and was not built by agentpages; choose another --out"
        )


def make_staging_dir(out_dir: Path) -> Path:
    """Create an empty folder beside `out_dir` to build into."""
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-building-", dir=parent))
        # mkdtemp makes the folder private; a site is for web servers to read.
        staging.chmod(0o755)
        return staging
    except OSError as exc:
        raise SiteError(out_dir, 1, f"cannot create the output folder: {exc.strerror}") from None


def write_file(root: Path, rel_path: str, content: str | bytes) -> None:
    """Write one file below `root`, refusing any path that would leave it."""
    target = _inside(root, rel_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    target.write_bytes(data)


def _inside(root: Path, rel_path: str) -> Path:
    parts = PurePosixPath(rel_path).parts
    if not parts or PurePosixPath(rel_path).is_absolute() or ".." in parts:
        raise SiteError(root / rel_path, 1, "refusing to write outside the output folder")
    return root.joinpath(*parts)


def swap_in(staging: Path, out_dir: Path) -> None:
    """Replace `out_dir` with the finished staging folder, so readers never see half a site.

    If the folders cannot be swapped, the last site is put back and the staging folder removed.
    """
    out = out_dir.resolve()
    old = None
    try:
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(staging, out)
    except OSError as exc:
        discard(staging)
        kept = _put_back(old, out)
        where = f"; the last site is in {kept}" if kept else "; the site was not changed"
        raise SiteError(out_dir, 1, f"cannot replace the output folder: {exc.strerror}{where}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _put_back(old: Path | None, out: Path) -> Path | None:
    """Move the last site back from `old` after a failed swap; return where it stays if it cannot be."""
    if old is None:
        return None
    try:
        if (old / out.name).exists() and not out.exists():
            os.replace(old / out.name, out)
        old.rmdir()
    except OSError:
        return old / out.name if (old / out.name).exists() else None
    return None


def discard(staging: Path) -> None:
    """Remove a staging folder after a failed build."""
    shutil.rmtree(staging, ignore_errors=True)


class SiteWriter:
    """The one way a build's files reach the output folder: staged first, then put in place.

    Every file of the new site is named to the writer with a version (a digest of what it
    holds, or a key its content follows from). A file the folder already holds at that
    version is left alone; any other is written into a staging folder beside the output
    folder, by `add` or by a page worker writing below `root`. Nothing in the output folder
    changes before `commit`, so a build that fails before it changes nothing.

    `on_disk` is every file the folder holds, with the version it was written at, when that
    can be trusted (the folder is exactly as the last build left it); with None, every file
    is staged and the staging folder replaces the output folder whole.
    """

    def __init__(self, out_dir: Path, on_disk: Mapping[str, str] | None) -> None:
        self.out_dir = out_dir
        self.on_disk = on_disk
        self.root = make_staging_dir(out_dir)
        """The staging folder: workers write the files they stage below it."""
        self.versions: dict[str, str] = {}
        """Every file of the new site and its version."""
        self._staged: set[str] = set()

    def wants(self, rel_path: str, version: str) -> bool:
        """Tell whether a file at this version must be staged: the folder does not hold it so."""
        return self.on_disk is None or self.on_disk.get(rel_path) != version

    def add(self, rel_path: str, content: str | bytes, version: str | None = None) -> None:
        """Name a file of the new site, staging it unless the folder holds it already."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        version = version or hashlib.sha256(data).hexdigest()
        self.versions[rel_path] = version
        if self.wants(rel_path, version):
            write_file(self.root, rel_path, data)
            self._staged.add(rel_path)
        else:
            self._staged.discard(rel_path)  # a file named twice: the folder holds the later one

    def add_parts(self, rel_path: str, parts: Iterable[str]) -> None:
        """Name a file of the new site given in parts, writing each as it comes (a file of every
        agent can be 80 MB), staged unless the folder holds the same content already."""
        target = _inside(self.root, rel_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        with target.open("wb") as file:
            for part in parts:
                data = part.encode("utf-8")
                hasher.update(data)
                file.write(data)
        version = self.versions[rel_path] = hasher.hexdigest()
        if self.wants(rel_path, version):
            self._staged.add(rel_path)
        else:
            target.unlink()
            self._staged.discard(rel_path)

    def add_spliced(self, rel_path: str, splices: Sequence[Splice], size: int) -> None:
        """Name a file of the new site made from the one the folder holds at the same path (at the
        version `on_disk` gives it, `size` bytes long): each of `splices`, in order, replaces
        bytes of it that must be the ones it expects; the bytes between are copied as they are,
        in the kernel where it can (an edit changes one agent's object in an 80 MB catalog.json).
        ValueError, with nothing staged, if the file is not as expected. The version follows from
        the old one and the splices.
        """
        old_version = self.on_disk.get(rel_path) if self.on_disk is not None else None
        if old_version is None:
            raise ValueError(f"{rel_path} is not a file of the site as the last build left it")
        target = _inside(self.root, rel_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.partial")  # a file named before stays until this is whole
        hasher = hashlib.sha256(f"{old_version}\0".encode())
        try:
            with _inside(self.out_dir, rel_path).open("rb", buffering=0) as source, \
                    partial.open("wb", buffering=0) as file:
                if os.fstat(source.fileno()).st_size != size:
                    raise ValueError(f"{rel_path} is not {size:,} bytes long")
                cursor = 0
                for splice in [*splices, Splice(range(size, size), b"", "")]:
                    if splice.span.start < cursor or os.pread(source.fileno(), len(splice.span),
                                                              splice.span.start) != splice.old:
                        raise ValueError(f"{rel_path} does not hold what it is spliced at {splice.span.start:,}")
                    _copy_range(source, file, range(cursor, splice.span.start))
                    data = splice.new.encode("utf-8")
                    _write_all(file, data)
                    hasher.update(f"{cursor} {splice.span.start} {splice.span.stop} {len(data)}\0".encode() + data)
                    cursor = splice.span.stop
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        self.versions[rel_path] = hasher.hexdigest()
        self._staged.add(rel_path)

    def add_replaced(self, rel_path: str, replacements: Sequence[tuple[bytes, str]]) -> None:
        """Name a file of the new site made from the one the folder holds at the same path, each of
        `replacements` (old bytes, new text) found where it stands once in the file and replaced
        (see `add_spliced`); ValueError, with nothing staged, when one stands there not once."""
        with _inside(self.out_dir, rel_path).open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            if not size:
                raise ValueError(f"{rel_path} is empty")
            with mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as held:
                splices = [_found_once(held, rel_path, old, new) for old, new in replacements]
        self.add_spliced(rel_path, sorted(splices, key=lambda splice: splice.span.start), size)

    def keep(self, rel_path: str, version: str) -> None:
        """Name a file of the new site that the folder holds at this version (see `wants`)."""
        self.versions[rel_path] = version
        self._staged.discard(rel_path)

    def staged(self, rel_path: str, version: str) -> None:
        """Name a file of the new site that a worker wrote below `root` (put in place only if the
        folder does not hold it at this version)."""
        self.versions[rel_path] = version
        if self.wants(rel_path, version):
            self._staged.add(rel_path)
        else:
            self._staged.discard(rel_path)

    def add_tree(self, source: Path, rel_path: str) -> None:
        """Name every file of a folder of static files, later ones replacing earlier ones."""
        if not source.is_dir():
            return
        for current, subfolders, files in os.walk(source, followlinks=True):
            subfolders.sort()
            for name in sorted(files):
                path = Path(current) / name
                self.add(f"{rel_path}/{path.relative_to(source).as_posix()}", path.read_bytes())

    def commit(self) -> list[str]:
        """Put the staged files in place and remove the files the new site does not have; return
        the paths that changed, sorted.

        In place, search chunks go first, then the search index, the agents' files, and every
        other file, then removals: a reader following a link finds its target. A commit cut
        short leaves some files new and some old; the folder's stamp then differs from the
        one recorded, and the next build stages the whole site again.
        """
        if self.on_disk is None:
            swap_in(self.root, self.out_dir)
            return sorted(self.versions)
        out = self.out_dir.resolve()
        try:
            for rel_path in sorted(self._staged, key=_commit_order):
                target = _inside(out, rel_path)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(_inside(self.root, rel_path), target)
            removed = sorted(set(self.on_disk) - set(self.versions))
            for rel_path in removed:
                _inside(out, rel_path).unlink(missing_ok=True)
            _remove_empty_folders(out, removed)
        except OSError as exc:
            raise SiteError(Path(exc.filename or out), 1, f"cannot update the site: {exc.strerror}; "
                            "the next build writes it whole again") from None
        finally:
            discard(self.root)
        return sorted(self._staged | set(removed))

    def discard(self) -> None:
        """Forget the staged files (the build failed): the output folder stays as it was."""
        discard(self.root)


class Splice(NamedTuple):
    """A change to a file (see `SiteWriter.add_spliced`): its bytes `span`, which must be `old`, become `new`."""

    span: range
    old: bytes
    new: str


def _found_once(held: mmap.mmap, rel_path: str, old: bytes, new: str) -> Splice:
    """Return the splice of `old`, standing once in a file (`held`), for `new`."""
    start = held.find(old)
    if not old or start < 0 or held.find(old, start + 1) >= 0:
        raise ValueError(f"{rel_path} does not hold its old part once")
    return Splice(range(start, start + len(old)), old, new)


def _copy_range(source: io.FileIO, target: io.FileIO, span: range) -> None:
    """Append the bytes `span` of `source` to `target` (both unbuffered), in the kernel where it
    can, else read and written; OSError if `source` is shorter (it is not the file the range was
    taken from)."""
    offset, left = span.start, len(span)
    while left:
        copied = 0
        with contextlib.suppress(AttributeError, OSError):  # another system, or a kernel that cannot here
            copied = os.copy_file_range(source.fileno(), target.fileno(), left, offset)
        if copied == 0:  # refused, or a file system that copies nothing this way
            data = os.pread(source.fileno(), min(left, 1 << 20), offset)
            if not data:
                raise OSError(f"{source.name} is shorter than the site's record of it")
            _write_all(target, data)
            copied = len(data)
        offset, left = offset + copied, left - copied


def _write_all(target: io.FileIO, data: bytes) -> None:
    """Write all of `data` to an unbuffered file, which may take less at a time."""
    view = memoryview(data)
    while view:
        view = view[target.write(view) or 0:]


def _commit_order(rel_path: str) -> tuple[int, str]:
    if rel_path.startswith("search/"):
        return (1 if rel_path == "search/index.json" else 0, rel_path)
    return (2 if rel_path.startswith("agents/") else 3, rel_path)


def _remove_empty_folders(root: Path, removed: Iterable[str]) -> None:
    """Remove the folders that removing these files left empty, up to the root."""
    folders = {parent for rel_path in removed for parent in PurePosixPath(rel_path).parents if str(parent) != "."}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()  # only when empty
