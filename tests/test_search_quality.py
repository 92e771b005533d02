"""Search on real catalogs, through the index page's search box in Chromium: the judged query set's
recall@10 and MRR (reported, see tests/search_eval.py and bench/search_quality.py), and the
behaviours behind them."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from conftest import REPO, build_catalog, serve_folder
from search_eval import (
    CORPORA,
    SETTLED,
    copy_corpora,
    judged_queries,
    our_answers,
    paths_by_page,
    report,
    score,
)

from generator.site.search_terms import split_words, stem

pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason="the shared corpora are not beside this checkout")

NAMES = "[...document.querySelectorAll('[data-results] [data-agent]')].map(card => card.querySelector('.card-title a').textContent)"
COUNT = "document.querySelector('[data-result-count]').textContent"


@pytest.fixture(scope="module")
def corpora_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpora-search")
    build_catalog(copy_corpora(root), root / "site")
    return root / "site"


@pytest.fixture(scope="module")
def served(corpora_site: Path):
    with serve_folder(corpora_site) as url:
        yield url


@pytest.fixture
def search(browser, served: str):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def ask(query: str) -> list[str]:
        page.goto(served + "index.html?q=" + urllib.parse.quote(query))
        page.wait_for_function(SETTLED)
        return page.evaluate(NAMES)
    ask.page = page  # type: ignore[attr-defined]
    yield ask
    assert not errors
    page.close()


def test_the_judged_queries_all_find_something_and_their_scores_are_reported(browser, served: str, corpora_site: Path,
                                                                            record_property) -> None:
    queries = judged_queries()
    assert len(queries) >= 40 and len({query.kind for query in queries}) >= 5
    page = browser.new_page()
    answers = our_answers(page, served, paths_by_page(corpora_site))
    scores = score(queries, answers)
    record_property("search_quality", report("agentpages", scores))
    print("\n" + report("agentpages", scores))
    assert scores.empty == 0, "every judged query finds something"
    page.close()


def test_an_agent_named_as_the_query_comes_first(search, corpora_site: Path) -> None:
    catalog = json.loads((corpora_site / "catalog.json").read_text(encoding="utf-8"))
    names = sorted({agent["name"] for agent in catalog["agents"]})[::17]
    assert len(names) >= 15
    for name in names:
        assert search(name)[0] == name, name
        spaced = " ".join(split_words(name))
        assert search(spaced)[0] == name, spaced


def test_a_name_that_repeats_a_word_comes_first_too(search) -> None:
    for name in ("database-cloud-optimization-database-architect", "observability-monitoring-observability-engineer"):
        assert search(name)[0] == name


def test_a_name_match_ranks_above_a_longer_word_it_starts(search) -> None:
    assert search("react")[0] == "react-specialist"  # not solidjs through "reactivity"
    assert all("test" in name for name in search("tests")[:3])  # not "tester" or "testcafe" first


def test_an_inflected_form_finds_the_base_form(search) -> None:
    assert stem("deploying") == stem("deployment") == "deploy"
    assert "deployment-engineer" in search("deploying")[:5]
    assert search("databases")[0].startswith("database")


def test_a_one_letter_typo_finds_the_word_and_says_so(search) -> None:
    assert search("pyhton")[0] == "python-pro"
    assert "Showing results for “python”" in search.page.evaluate(COUNT)
    assert search("typscript")[0] == "typescript-pro"


def test_stop_words_never_empty_the_results(search) -> None:
    assert search("review my pull request")
    assert search("the")  # only stop words: the cards' own text is searched
    assert search("python for the web")[0].startswith("python")


def test_when_no_page_has_every_word_those_with_most_come_and_it_is_said(search) -> None:
    found = search("kubernetes zzyzxquux")
    assert found and "kubernetes" in found[0]
    assert "matching the most" in search.page.evaluate(COUNT)


def test_results_show_a_snippet_with_the_words_marked_and_the_best_heading_linked(search) -> None:
    search("goroutines channels")
    page = search.page
    page.wait_for_function("() => document.querySelector('[data-results] .card-match') !== null")
    marked = page.evaluate("[...document.querySelectorAll('[data-results] .card-match mark')].map(m => m.textContent.toLowerCase())")
    assert marked and all(stem(word) in {"goroutin", "channel"} for word in marked)
    heading = page.evaluate("document.querySelector('[data-results] .card-heading').getAttribute('href')")
    assert re.fullmatch(r".*/agents/[^/]+/index\.html#[\w-]+", heading)
    target = urllib.parse.urlsplit(heading)
    page.goto(heading)
    assert page.evaluate("(id) => document.getElementById(id) !== null", target.fragment)


def test_the_browser_stems_every_word_of_the_corpora_as_the_build_does(browser) -> None:
    words = sorted({word for path in CORPORA.rglob("*.md") for word in split_words(path.read_text(encoding="utf-8", errors="replace"))})
    page = browser.new_page()
    page.goto("about:blank")
    page.add_script_tag(path=str(REPO / "templates/assets/stemmer.js"))
    browser_stems = page.evaluate("(words) => { const s = new EnglishStemmer(); return words.map(w => s.stemWord(w)); }", words)
    assert len(words) > 5_000
    assert [word for word, stemmed in zip(words, browser_stems) if stemmed != stem(word)] == []
    page.close()
