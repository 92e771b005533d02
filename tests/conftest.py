"""Shared helpers: write tiny catalogs, build them, and parse the HTML that comes out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import html5lib
import pytest
from lxml import etree

from generator.build import BuildResult, build
from generator.config import load_config
from generator.errors import Report

REPO = Path(__file__).resolve().parent.parent
DEMO_AGENTS = REPO / "agents"
SEED = DEMO_AGENTS / "engineering" / "senior-backend-engineer.md"
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"


def parse_html(source: str | Path) -> etree._Element:
    """Parse HTML the way a browser does and return the root element (no namespaces)."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    return html5lib.parse(text, treebuilder="lxml", namespaceHTMLElements=False).getroot()


def text_of(element: etree._Element) -> str:
    """Return an element's visible text with whitespace folded."""
    return " ".join("".join(element.itertext()).split())


def write_agents(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write agent files (dedented when text) below `root/agents` and return that folder."""
    agents = root / "agents"
    for rel_path, content in files.items():
        path = agents / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    agents.mkdir(parents=True, exist_ok=True)
    return agents


def build_catalog(agents: Path, out: Path | None = None, strict: bool = False) -> BuildResult:
    """Build `agents` into `out` (default: `site` beside it) and return the result."""
    config = load_config(agents, out or agents.parent / "site", strict=strict)
    return build(config, Report())


@pytest.fixture
def agent_file():
    """Return a function making a minimal agent file's text from frontmatter lines and a body."""

    def make(front: str, body: str = "## Role\n\nDoes things.\n") -> str:
        return f"---\n{textwrap.dedent(front).strip()}\n---\n\n{body}"

    return make


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", help="rewrite tests/fixtures/golden-*/expected from this build"
    )
