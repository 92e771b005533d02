"""What one search query transfers from a gzip-serving host, on a built site.

    python bench/search_transfer.py SITE [QUERY ...]

Opens SITE's index page in headless Chromium, types each query into the search box (a fresh
page each, so nothing is cached), waits for the results and their snippets, and sums the
gzip-compressed size (level 6, as hosts serve) of every file below `search/` the query
fetched: index.json, the chunks of its words, the word list a typo is looked up in, and the
fragments of the results' snippets. Default queries: a word, an inflected word, a typo, a
sentence.
"""

from __future__ import annotations

import gzip
import sys
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

QUERIES = ["kubernetes", "deploying", "pyhton", "review my pull request"]


def main() -> None:
    from conftest import serve_folder
    from playwright.sync_api import sync_playwright
    from search_eval import SETTLED

    site = Path(sys.argv[1])
    queries = sys.argv[2:] or QUERIES
    with sync_playwright() as playwright, serve_folder(site) as url:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        for query in queries:
            page = browser.new_page()
            fetched: list[str] = []
            page.on("requestfinished", lambda request, fetched=fetched: fetched.append(urllib.parse.urlsplit(request.url).path))
            page.goto(url + "index.html?q=" + urllib.parse.quote(query))
            page.wait_for_function(SETTLED)
            page.wait_for_load_state("networkidle")
            files = [path.lstrip("/") for path in fetched if path.startswith("/search/")]
            sizes = {path: len(gzip.compress((site / urllib.parse.unquote(path)).read_bytes(), 6)) for path in files}
            kinds = {"index": sum(size for path, size in sizes.items() if path.endswith("index.json")),
                     "fragments": sum(size for path, size in sizes.items() if "/pages/" in path)}
            kinds["chunks and word lists"] = sum(sizes.values()) - kinds["index"] - kinds["fragments"]
            detail = ", ".join(f"{kind} {size / 1024:.1f} KB" for kind, size in kinds.items())
            print(f"{query!r}: {sum(sizes.values()) / 1024:.1f} KB gzipped in {len(files)} files ({detail})")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
