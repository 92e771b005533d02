"""`agentpages new`: a catalog repository ready to build, check and publish on GitHub Pages."""

from __future__ import annotations

import logging
from pathlib import Path

from generator import __version__
from generator.errors import SiteError, UsageError

log = logging.getLogger(__name__)

SCAFFOLD_DIR = Path(__file__).resolve().parent / "scaffold"
WORKFLOW_PATH = ".github/workflows/pages.yml"
CATALOG_INSTALL_COMMAND = "pip install -r requirements.txt"
"""How a catalog repository installs agentpages: the version pinned in requirements.txt."""

# Each scaffold file, by where it goes in the new catalog.
_FILES = {
    "agents/code-reviewer.md": "agents/code-reviewer.md",
    "agentpages.yml": "agentpages.yml",
    "README.md": "README.md",
    ".gitignore": "gitignore",
    WORKFLOW_PATH: "pages.yml",
}


def render_workflow(install_command: str) -> str:
    """Return the GitHub Pages workflow that installs agentpages with `install_command`."""
    return (SCAFFOLD_DIR / "pages.yml").read_text(encoding="utf-8").replace("__INSTALL_COMMAND__", install_command)


def scaffold_files(folder: Path) -> dict[str, str]:
    """Return every file of a new catalog in `folder`, by its path below it."""
    name = folder.resolve().name or "agents"
    title = name.replace("-", " ").replace("_", " ").strip().capitalize() or "Agent catalog"
    files = {
        target: (SCAFFOLD_DIR / source).read_text(encoding="utf-8")
        .replace("__TITLE__", title)
        .replace("__FOLDER__", name)
        for target, source in _FILES.items()
    }
    files[WORKFLOW_PATH] = render_workflow(CATALOG_INSTALL_COMMAND)
    files["requirements.txt"] = (
        f"agentpages=={__version__}\n"
        "# or the development version: agentpages @ git+https://github.com/<owner>/agentpages\n"
    )
    return files


def create_catalog(folder: Path) -> list[Path]:
    """Write a new catalog into `folder`; refuse, writing nothing, if any of its files exists."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(folder, 1, "exists and is not a folder")
    files = scaffold_files(folder)
    existing = sorted(rel for rel in files if (folder / rel).exists() or (folder / rel).is_symlink())
    if existing:
        others = f" (so do {', '.join(existing[1:])})" if len(existing) > 1 else ""
        raise SiteError(folder / existing[0], 1, f"already exists{others}; `agentpages new` never overwrites "
                        "files: choose a new or empty folder, or move these aside")
    written = []
    for rel, text in files.items():
        path = folder / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as file:  # "x": never replace a file that appeared meanwhile
                file.write(text)
        except OSError as exc:
            raise SiteError(path, 1, f"cannot write the file: {exc.strerror}") from None
        written.append(path)
    return written
