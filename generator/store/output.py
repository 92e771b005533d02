"""The only writers to the output folder: a full build goes to a staging folder that is swapped in
whole; a small update replaces single files, each through a rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from generator.errors import SiteError, UsageError

# Written into every site; a folder without it is not ours to replace.
SITE_MARKER = ".agentpages"
SITE_MARKER_TEXT = "Built by agentpages. Each build may replace or delete any file in this folder.\n"
# Tells GitHub Pages to publish the files as they are, without Jekyll.
NOJEKYLL = ".nojekyll"


def check_out_dir(out_dir: Path, agents_dir: Path) -> None:
    """Refuse an output folder that would overwrite the catalog or a folder that is not a site."""
    out, agents = out_dir.resolve(), agents_dir.resolve()
    if out == agents or agents.is_relative_to(out) or out.is_relative_to(agents):
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


def replace_file(root: Path, rel_path: str, content: str | bytes) -> bool:
    """Write one file through a temporary file and a rename, so a reader sees the old file or the
    new; leave it alone when it already holds `content`. Return whether it was written."""
    target = _inside(root, rel_path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except OSError:
        pass  # not there yet
    temporary = f"{rel_path}.{os.getpid()}.tmp"
    write_file(root, temporary, data)
    os.replace(root / temporary, target)
    return True


def replace_folder(root: Path, folder: str, files: dict[str, str | bytes]) -> None:
    """Make `folder` below `root` hold exactly `files` (paths below the root), in their order.

    Files are replaced one by one and the ones not listed removed last, so a reader who
    follows an index written after its chunks always finds them.
    """
    for rel_path, content in files.items():
        replace_file(root, rel_path, content)
    kept = {_inside(root, rel_path) for rel_path in files}
    for path in _inside(root, folder).iterdir():
        if path not in kept and path.is_file():
            path.unlink()


def remove_agent_page(root: Path, url: str) -> None:
    """Remove a removed agent's page (`agents/<slug>/index.html`) and raw file, or another file."""
    path = _inside(root, url)
    path.unlink(missing_ok=True)
    if path.name == "index.html" and path.parent != root:
        shutil.rmtree(path.parent, ignore_errors=True)
        path.parent.with_suffix(".md").unlink(missing_ok=True)


def copy_file(source: Path, root: Path, rel_path: str) -> None:
    """Copy `source` to `rel_path` below `root`."""
    target = _inside(root, rel_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def copy_tree(source: Path, root: Path, rel_path: str) -> None:
    """Copy a folder of static files below `root`, later copies replacing earlier ones."""
    if source.is_dir():
        shutil.copytree(source, _inside(root, rel_path), dirs_exist_ok=True)


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


class SiteFiles:
    """Every file of a site folder as it is on disk, each by its path below the folder and
    described by size, times, inode and mode: a deleted or edited file shows in the stamp,
    even one overwritten with its old modification time put back.

    Scanning a large site takes tens of milliseconds; after an update in place, only the
    files it wrote or removed are looked at again.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, str] | None = None
        """None when the folder is missing or some folder of it cannot be read."""
        self._stamp: str | None = None
        with contextlib.suppress(OSError):
            self.files = _describe_folder(root, "", missing_ok=False)

    def stamp(self) -> str:
        """Digest every file's path and description.

        A folder that is missing or cannot be read wholly gets a stamp of its own that no
        other equals: what it holds is unknown, so it never passes for the site a build left.
        """
        if self._stamp is None:
            self._stamp = self._digest() if self.files is not None else f"unknown {secrets.token_hex(16)}"
        return self._stamp

    def _digest(self) -> str:
        assert self.files is not None
        hasher = hashlib.sha256()
        for path in sorted(self.files):
            hasher.update(f"{path}\0{self.files[path]}\n".encode("utf-8", "surrogateescape"))
        return hasher.hexdigest()

    def look_again(self, rel_paths: Iterable[str], folders: Iterable[str] = ()) -> None:
        """Describe these files anew (written or removed since), and every file below `folders`."""
        self._stamp = None
        if self.files is None:
            return
        try:
            for rel_path in rel_paths:
                self.files.pop(rel_path, None)
                description = _describe(self.root / rel_path)
                if description is not None:
                    self.files[rel_path] = description
            for folder in folders:
                prefix = f"{folder}/"
                for rel_path in [path for path in self.files if path.startswith(prefix)]:
                    del self.files[rel_path]
                self.files.update(_describe_folder(self.root / folder, prefix))
        except OSError:
            self.files = None


def _describe_folder(folder: Path, prefix: str, missing_ok: bool = True) -> dict[str, str]:
    """Describe every file below `folder` by its path below the site root (`prefix` is the folder's).

    A folder that cannot be read raises OSError; `folder` itself may be missing if `missing_ok`.
    """
    found = {}
    pending = [(folder, prefix)]
    while pending:
        current, current_prefix = pending.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            if current == folder and missing_ok:
                return {}
            raise
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), f"{current_prefix}{entry.name}/"))
            else:
                found[current_prefix + entry.name] = _description(entry.stat(follow_symlinks=False), entry.inode())
    return found


def _describe(path: Path) -> str | None:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return None
    return None if stat.S_ISDIR(status.st_mode) else _description(status, status.st_ino)


def _description(status: os.stat_result, inode: int) -> str:
    # The inode apart: a DirEntry's stat() leaves it 0 on Windows, where inode() has it.
    return f"{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}\0{inode}\0{status.st_mode}"
