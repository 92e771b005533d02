"""Agent bodies render as GitHub renders them.

Two kinds of test: fixture cases for each construct (tests/fixtures/gfm_cases.txt), and a
fidelity test over every file of the shared corpora. Both compare our output with cmark-gfm,
GitHub's own renderer, on the counts of list, table, code, heading and quote elements and on
the visible text, after both are sanitized the same way (GitHub sanitizes raw HTML too).
"""

from __future__ import annotations

from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from conftest import CORPORA, parse_html

from generator.catalog.frontmatter import split_front_matter
from generator.markdown.markup import MarkdownRenderer
from generator.markdown.sanitize import sanitize_html

CASES_FILE = Path(__file__).parent / "fixtures" / "gfm_cases.txt"
COUNTED_TAGS = ("li", "ul", "ol", "table", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote")

# Differences from GitHub we keep on purpose, by corpus file, with the reason.
KEPT_DIFFERENCES: dict[str, str] = {}


def github_html(markdown_text: str) -> str:
    """Render as GitHub does: cmark-gfm with raw HTML kept, then sanitized as we sanitize."""
    return sanitize_html(cmarkgfm.github_flavored_markdown_to_html(markdown_text, options=Options.CMARK_OPT_UNSAFE))


def shape(html: str) -> tuple[dict[str, int], str]:
    """Count the structural elements and fold the visible text of an HTML fragment."""
    root = parse_html(html)
    counts = {tag: len(root.findall(f".//{tag}")) for tag in COUNTED_TAGS}
    return counts, " ".join("".join(root.itertext()).split())


def read_cases() -> list[pytest.param]:
    """Read the fixture file into (markdown, xpaths) cases named by title and line."""
    lines = CASES_FILE.read_text(encoding="utf-8").split("\n")
    cases, index = [], 0
    while index < len(lines):
        if index + 1 < len(lines) and lines[index + 1] == "." and lines[index].strip():
            title, start = lines[index], index + 1
            source_end = lines.index(".", start + 1)
            checks_end = lines.index(".", source_end + 1)
            markdown_text = "\n".join(lines[start + 1 : source_end]) + "\n"
            xpaths = [line for line in lines[source_end + 1 : checks_end] if line.strip()]
            cases.append(pytest.param(markdown_text, xpaths, id=f"{title} (line {index + 1})"))
            index = checks_end + 1
        else:
            index += 1
    return cases


@pytest.fixture(scope="module")
def renderer() -> MarkdownRenderer:
    return MarkdownRenderer()


@pytest.mark.parametrize(("markdown_text", "xpaths"), read_cases())
def test_construct_renders_as_on_github(renderer: MarkdownRenderer, markdown_text: str, xpaths: list[str]) -> None:
    ours = renderer.render(markdown_text).html
    root = parse_html(ours)
    for xpath in xpaths:
        assert root.xpath(xpath), f"{xpath} does not hold on:\n{ours}"
    assert shape(ours) == shape(github_html(markdown_text)), ours


def test_fixture_file_has_cases() -> None:
    assert len(read_cases()) >= 25


CORPUS_FILES = sorted(p for p in CORPORA.rglob("*.md") if p.name != "README.md") if CORPORA.is_dir() else []


@pytest.mark.skipif(not CORPUS_FILES, reason="the shared corpora are not beside this checkout")
def test_every_corpus_body_has_github_shape(renderer: MarkdownRenderer) -> None:
    differing = []
    for path in CORPUS_FILES:
        body = split_front_matter(path.read_text(encoding="utf-8").replace("\r\n", "\n")).body
        name = path.relative_to(CORPORA).as_posix()
        if name not in KEPT_DIFFERENCES and shape(renderer.render(body).html) != shape(github_html(body)):
            differing.append(name)
    assert differing == [], f"{len(differing)} of {len(CORPUS_FILES)} files differ from GitHub"
