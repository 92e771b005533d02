"""Search quality on the judged query set: agentpages' search box against Pagefind and lunr.

    python bench/search_quality.py [--out DIR]

Builds the shared corpora's 360 agent files into one site, then asks each engine every query
of tests/fixtures/search_queries.json and prints recall@10 and MRR (see tests/search_eval.py):

- agentpages: the index page's real search box, in headless Chromium;
- Pagefind (`pip install "pagefind[bin]"`): indexing the built agent pages, queried through its
  JavaScript API in a page of its own (without our Content-Security-Policy);
- lunr (`pip install lunr`, the Python port of lunr.js, which MkDocs' search uses): over each
  agent page's title and text, as MkDocs indexes a page.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from search_eval import (
    JudgedQuery,
    copy_corpora,
    judged_queries,
    our_answers,
    paths_by_page,
    report,
    score,
)

from generator.config import load_config
from generator.errors import Report
from generator.pipeline.build import build

PAGEFIND_PAGE = """<!doctype html><meta charset="utf-8"><title>pagefind</title>
<script type="module">
window.ask = async (query) => {
  const pagefind = await import("./pagefind/pagefind.js");
  const found = await pagefind.search(query);
  const data = await Promise.all(found.results.slice(0, 10).map((result) => result.data()));
  return data.map((item) => item.url);
};
window.ready = true;
</script>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where to build (default: a temporary folder)")
    args = parser.parse_args()
    queries = judged_queries()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.out or Path(scratch)
        agents = copy_corpora(root)
        site = root / "site"
        build(load_config(agents, site), Report(), use_cache=False)
        by_page = paths_by_page(site)
        print(f"{len(queries)} judged queries over {len(by_page)} agent pages")
        for name, scores in run_engines(site, by_page, queries):
            print(report(name, scores))


def run_engines(site: Path, by_page: dict[str, str], queries: list[JudgedQuery]):
    from conftest import serve_folder
    from playwright.sync_api import sync_playwright

    pagefind_ready = _index_with_pagefind(site)
    with sync_playwright() as playwright, serve_folder(site) as url:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        yield "agentpages", score(queries, our_answers(page, url, by_page))
        if pagefind_ready:
            yield "Pagefind", score(queries, _pagefind_answers(page, url, by_page))
        browser.close()
    yield "lunr", score(queries, _lunr_answers(site, by_page))


def _index_with_pagefind(site: Path) -> bool:
    try:
        subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site), "--glob", "agents/**/*.html"],
                       check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        print(f"Pagefind skipped: {error}")
        return False
    (site / "pagefind-query.html").write_text(PAGEFIND_PAGE, encoding="utf-8")
    return True


def _pagefind_answers(page, url: str, by_page: dict[str, str]):
    page.goto(url + "pagefind-query.html")
    page.wait_for_function("() => window.ready === true")

    def answers(query: str) -> list[str]:
        urls = page.evaluate("(query) => window.ask(query)", query)
        pages = [address.lstrip("/") + ("index.html" if address.endswith("/") else "") for address in urls]
        return [by_page[address] for address in pages if address in by_page]
    return answers


def _lunr_answers(site: Path, by_page: dict[str, str]):
    import lunr
    from lxml import html

    documents = []
    for address in by_page:
        tree = html.parse(str(site / address))
        main = tree.find(".//main")
        title = tree.findtext(".//h1") or ""
        documents.append({"id": address, "title": title.strip(), "text": " ".join((main if main is not None else tree.getroot()).itertext())})
    index = lunr.lunr(ref="id", fields=("title", "text"), documents=documents)

    def answers(query: str) -> list[str]:
        try:
            found = index.search(query)
        except Exception:  # noqa: BLE001 - lunr's query syntax refuses some input (":", "~"); MkDocs shows nothing then
            return []
        return [by_page[item["ref"]] for item in found[:10]]
    return answers


if __name__ == "__main__":
    main()
