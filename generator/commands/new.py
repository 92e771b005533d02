"""`agentpages new`: a catalog repository ready to build, check and publish on GitHub Pages."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
from pathlib import Path
from typing import Any

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


# A marketplace's files instead: one plugin holding an agent, a command and a skill.
_MARKETPLACE_FILES = {
    ".claude-plugin/marketplace.json": "marketplace/marketplace.json",
    "plugins/review-kit/.claude-plugin/plugin.json": "marketplace/plugin.json",
    "plugins/review-kit/README.md": "marketplace/plugin-README.md",
    "plugins/review-kit/agents/code-reviewer.md": "agents/code-reviewer.md",
    "plugins/review-kit/commands/review.md": "marketplace/review.md",
    "plugins/review-kit/skills/review-checklist/SKILL.md": "marketplace/SKILL.md",
    "plugins/review-kit/skills/review-checklist/references/checklist.md": "marketplace/checklist.md",
    "agentpages.yml": "marketplace/agentpages.yml",
    "README.md": "marketplace/README.md",
    ".gitignore": "gitignore",
    WORKFLOW_PATH: "pages.yml",
}


def render_workflow(install_command: str) -> str:
    """Return the GitHub Pages workflow that installs agentpages with `install_command`."""
    return (SCAFFOLD_DIR / "pages.yml").read_text(encoding="utf-8").replace("__INSTALL_COMMAND__", install_command)


def scaffold_files(folder: Path, marketplace: bool = False) -> dict[str, str]:
    """Return every file of a new catalog in `folder` (a plugin marketplace with `marketplace`),
    by its path below it."""
    name = folder.resolve().name or "agents"
    title = " ".join(name.replace("-", " ").replace("_", " ").split()).capitalize() or "Agent catalog"
    files = {}
    for target, source in (_MARKETPLACE_FILES if marketplace else _FILES).items():
        text = (SCAFFOLD_DIR / source).read_text(encoding="utf-8")
        # In YAML the title is a quoted string, whatever the folder is called.
        title_text = json.dumps(title, ensure_ascii=False) if target == "agentpages.yml" else title
        files[target] = (text.replace("__TITLE__", title_text).replace("__FOLDER_KEBAB__", _kebab(name))
                         .replace("__FOLDER__", _url_safe(name)))
    files[WORKFLOW_PATH] = render_workflow(CATALOG_INSTALL_COMMAND)
    files["requirements.txt"] = install_requirement() + "\n"
    return files


def _kebab(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "marketplace"


def _url_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "agents"


def install_requirement() -> str:
    """Return the requirement line that installs this very agentpages: a pinned release, or its Git commit.

    A copy installed from a Git URL is pinned to that commit; any other is pinned to its
    version, which a catalog's CI can install once that version is published.
    """
    origin = _install_origin()
    vcs = origin.get("vcs_info") or {}
    if vcs.get("vcs") == "git" and origin.get("url", "").startswith("https://"):
        return f"agentpages @ git+{origin['url']}@{vcs['commit_id']}"
    return f"agentpages=={__version__}"


def is_from_local_files() -> bool:
    """Tell whether this agentpages was installed from a folder or file rather than an index or Git."""
    origin = _install_origin()
    return origin.get("url", "").startswith("file:") and "vcs_info" not in origin


def _install_origin() -> dict[str, Any]:
    """Return where pip installed agentpages from (PEP 610's direct_url.json), {} from an index."""
    try:
        return json.loads(importlib.metadata.distribution("agentpages").read_text("direct_url.json") or "{}")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return {}


def create_catalog(folder: Path, marketplace: bool = False) -> list[Path]:
    """Write a new catalog (a plugin marketplace with `marketplace`) into `folder`; refuse,
    writing nothing, if any of its files exists."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(folder, 1, "exists and is not a folder")
    files = scaffold_files(folder, marketplace)
    for rel in files:  # a file where a folder must go, or a link out of DIR: refuse before writing
        for parent in (folder / rel).parents:
            if parent == folder or not parent.is_relative_to(folder):
                break
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                raise SiteError(parent, 1, "is in the way: the new catalog needs a folder here; move it aside")
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
