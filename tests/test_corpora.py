"""Real public catalogs build without a crash, one page per agent file, every `##` navigable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CORPORA, build_catalog, parse_html, text_of

CATALOGS = sorted(p for p in CORPORA.iterdir() if p.is_dir()) if CORPORA.is_dir() else []


@pytest.mark.skipif(not CATALOGS, reason="the shared corpora are not beside this checkout")
@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: p.name)
def test_corpus_builds_every_agent(catalog: Path, tmp_path: Path) -> None:
    # The shared folder is read-only in CI: build from a copy.
    agents = tmp_path / "agents"
    shutil.copytree(catalog, agents)
    sources = [p for p in agents.rglob("*.md") if p.name.lower() != "readme.md"]

    result = build_catalog(agents, tmp_path / "site")

    assert len(result.catalog.agents) == len(sources)
    assert not result.report.errors
    pages = list((tmp_path / "site/agents").glob("*/index.html"))
    assert len(pages) == len(sources)
    for agent in result.catalog.agents:
        check_agent_page(parse_html(tmp_path / "site" / agent.url))
    index = parse_html(tmp_path / "site/index.html")
    assert len(index.xpath("//*[@data-agent]")) == len(sources)


def check_agent_page(root) -> None:
    """Every `##` heading has an id the contents list links to; no example tag shows as text."""
    (body,) = root.xpath("//*[@data-body]")
    navs = root.xpath("//nav[@aria-label='Contents']")
    if not body.xpath(".//h2 | .//h3") and not root.xpath("//*[@data-example]"):
        assert navs == [], "no empty contents landmark"
        return
    (nav,) = navs
    targets = {a.get("href")[1:] for a in nav.xpath(".//a[starts-with(@href, '#')]")}
    for heading in body.xpath(".//h2"):
        assert heading.get("id") in targets, text_of(heading)
    assert not root.xpath("//example | //commentary")
    for card in root.xpath("//*[@data-example]"):
        assert "<example" not in text_of(card).lower()
        assert "<commentary" not in text_of(card).lower()
    summary = root.xpath("//*[contains(@class, 'summary')]")[0]
    assert "<example" not in text_of(summary).lower()
