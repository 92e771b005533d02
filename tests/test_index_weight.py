"""The index stays light at any size: the page plus what one query loads, under 1 MB transferred.

Sizes are counted as a static host such as GitHub Pages sends them: gzip-compressed.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from conftest import build_catalog, serve_folder

from bench.catalogs import make_catalog

LIMIT = 1_000_000


def transferred_bytes(browser, site: Path, query: str) -> tuple[int, dict[str, int]]:
    """Load the index, run one query, and return the bytes a gzip-serving host would send, in
    all and by address."""
    sizes: dict[str, int] = {}
    context = browser.new_context()
    page = context.new_page()

    def record(response) -> None:
        sizes[response.url] = len(gzip.compress(response.body(), 6))

    page.on("response", record)
    with serve_folder(site) as url:
        page.goto(url + "index.html")
        page.fill("#ap-search", query)
        page.wait_for_function("() => /of \\d+ agents/.test(document.querySelector('[data-result-count]').textContent)")
        page.wait_for_load_state("networkidle")
    context.close()
    return sum(sizes.values()), sizes


@pytest.mark.parametrize("count", [360, 5000])
def test_index_and_one_query_stay_under_a_megabyte(browser, tmp_path: Path, count: int) -> None:
    make_catalog(tmp_path / "agents", count)
    build_catalog(tmp_path / "agents", tmp_path / "site")
    total, sizes = transferred_bytes(browser, tmp_path / "site", "kubernetes deployment")
    urls = sorted(sizes)
    searched = {url: size for url, size in sizes.items() if "/search/" in url}
    fragments = [url for url in searched if "/search/pages/" in url]
    chunks = [url for url in searched if url not in fragments and not url.endswith("/index.json")]
    assert 1 <= len(chunks) <= 4, f"the query loaded only the chunks of its two words: {chunks}"
    assert len(fragments) <= 10, "a snippet's text for each of the first results, no more"
    assert sum(searched.values()) < 60_000, f"the query's search files: {sum(searched.values()):,} bytes gzipped"
    assert not any("/agents/" in url and url.endswith(".html") for url in urls), "no agent page was loaded"
    assert total < LIMIT, f"{total:,} bytes for {count} agents"
