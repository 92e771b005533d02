"""Shared helpers: write tiny catalogs, build them, and parse the HTML that comes out."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import html5lib
import pytest
from lxml import etree

from generator.config import load_config
from generator.errors import Report
from generator.pipeline.build import BuildResult, build

REPO = Path(__file__).resolve().parent.parent
DEMO_AGENTS = REPO / "agents"
SEED = DEMO_AGENTS / "engineering" / "senior-backend-engineer.md"
SHARED = REPO.parent / "shared"
CORPORA = SHARED / "corpora"


@pytest.fixture(autouse=True)
def private_cache_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test a user cache folder of its own, outside every catalog it builds."""
    folder = tmp_path_factory.mktemp("user-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("AGENTPAGES_CACHE_DIR", raising=False)
    return folder


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


OUR_SCRIPTS = ("assets/theme.js", "assets/strings.js", "assets/site.js", "assets/stemmer.js", "assets/search.js")


def assert_no_danger(root: etree._Element) -> None:
    """Nothing on the page can run code or leave it: no scripts but ours, no handlers, no bad URLs."""
    for script in root.iter("script"):
        assert script.get("src", "").endswith(OUR_SCRIPTS) and not (script.text or "").strip(), etree.tostring(script)
    dangerous = root.xpath(
        "//iframe | //object | //embed | //form | //frame | //frameset | //base | //applet"
        " | //meta[translate(@http-equiv, 'REFSH', 'refsh') = 'refresh'] | //body//style"
    )
    assert not dangerous, [etree.tostring(e)[:200] for e in dangerous]
    handlers = root.xpath("//@*[starts-with(translate(name(), 'ON', 'on'), 'on')]")
    assert not handlers, [str(h) for h in handlers]
    for attribute in root.xpath("//@href | //@src | //@action | //@formaction | //@xlink:href | //@data",
                                namespaces={"xlink": "http://www.w3.org/1999/xlink"}):
        scheme = "".join(str(attribute).split()).lower()
        assert not scheme.startswith(("javascript:", "data:", "vbscript:")), str(attribute)
    inline_styles = root.xpath("//@style")
    assert not inline_styles, [str(s) for s in inline_styles]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalog built once, for tests that only read the site or serve it."""
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(DEMO_AGENTS, root / "agents")
    build_catalog(root / "agents")
    return root / "site"


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright; in CI it must be there, not skipped."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI runs the browser tests: install Debian's chromium (.ci/run does)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def serve_folder(folder: Path, max_age: int | None = None) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 on a free port; yield its base URL.

    With `max_age`, responses may be cached that many seconds, as GitHub Pages allows (600).
    """
    handler = functools.partial(_CachingHandler if max_age else _QuietHandler, directory=str(folder))
    _CachingHandler.max_age = max_age or 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


class _CachingHandler(_QuietHandler):
    max_age = 0

    def end_headers(self) -> None:
        self.send_header("Cache-Control", f"max-age={self.max_age}")
        super().end_headers()
