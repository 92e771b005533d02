"""The search index: words counted by field, merged into chunks, and searched in Chromium."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from conftest import DEMO_AGENTS, build_catalog, serve_folder, write_agents

from generator.site import search, search_terms
from generator.site.search import INDEX_FILE, SEARCH_FOLDER, SearchIndex
from generator.site.search_terms import PageTerms, split_words

SHOWN = "[...document.querySelectorAll('[data-results] [data-agent]')].map(c => c.dataset.agent)"


def read_index(site: Path) -> tuple[dict, dict[str, list[int]]]:
    """Return index.json and every term's postings (pages whole, not as gaps), from the files as written."""
    folder = site / SEARCH_FOLDER
    index = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))
    postings: dict[str, list[int]] = {}
    for _, name in index["chunks"]:
        chunk = json.loads((folder / name).read_text(encoding="utf-8"))
        assert not set(chunk) & set(postings), "a term is in one chunk only"
        postings.update({term: whole_pages(numbers) for term, numbers in chunk.items()})
    return index, postings


def whole_pages(numbers: list[int]) -> list[int]:
    """Return postings with each page whole: the chunks write a page as its gap from the one before."""
    pages = list(itertools.accumulate(numbers[::2]))
    return [number for pair in zip(pages, numbers[1::2]) for number in pair]


def test_words_are_split_without_case_accents_or_punctuation() -> None:
    assert split_words("Kubernetes-Deployment: CrashLoopBackOff, mcp__server__tool") == [
        "kubernetes", "deployment", "crashloopbackoff", "mcp", "server", "tool"]
    assert split_words("Café Ünïcode naïve ÉCOLE") == ["cafe", "unicode", "naive", "ecole"]
    assert split_words("日本語 テキスト x²") == ["日本語", "テキスト", "x2"]


def test_a_name_weighs_more_than_a_body_and_every_page_is_listed(tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {
        "kubernetes-helper.md": "---\nname: kubernetes-helper\ndescription: Helps.\n---\n\n## Role\n\nPods.\n",
        "mentions.md": "---\nname: mentions\ndescription: Other.\n---\n\n## Role\n\nSometimes kubernetes.\n",
    })
    build_catalog(agents, tmp_path / "site")
    index, postings = read_index(tmp_path / "site")
    assert index["version"] == 2 and sorted(index["pages"]) == ["kubernetes-helper", "mentions"]
    assert "kubernetes" not in postings, "terms are stems"
    packed = {index["pages"][page]: weight for page, weight in zip(postings["kubernet"][::2], postings["kubernet"][1::2])}
    weights = {slug: weight >> 3 for slug, weight in packed.items()}
    assert weights["kubernetes-helper"] > weights["mentions"] >= 1
    assert packed["kubernetes-helper"] & search_terms.FIELD_BITS["name"] and not packed["mentions"] & search_terms.FIELD_BITS["name"]
    assert postings["role"][1] & search_terms.FIELD_BITS["heading"], "headings are indexed, and marked"
    assert "sometim" in postings and "the" not in postings and "the" in index["stop"], "stop words are left out"
    assert all(length > 0 for length in index["lengths"])
    fragment = json.loads((tmp_path / "site" / search.page_fragment_path("mentions")).read_text(encoding="utf-8"))
    assert fragment == [["role", "Role", "Sometimes kubernetes."]], "each section's text, for snippets"
    words = [word for _, name in index["words"] for word in json.loads((tmp_path / "site/search" / name).read_text())]
    assert sorted(words) == sorted(postings), "the word lists hold every term, for typos"


def test_snippet_text_joins_inline_markup_drops_hidden_characters_and_stays_small() -> None:
    body = ('<p><strong>Kubernetes</strong>: EKS and <code>AtomicBool::new(false)</code></p><ul><li>one</li><li>two</li></ul>'
            '<h2 id="raw">Raw \u202eheading<a class="anchor" href="#raw" aria-hidden="true">#</a></h2>'
            f'<p>{"word " * 5_000}</p><h3 id="{"x" * 900}">{"Long " * 900}</h3>')
    sections = search_terms.body_sections(body, {})
    assert sections[0] == ("", "", "Kubernetes: EKS and AtomicBool::new(false) one two")
    assert sections[1][:2] == ("raw", "Raw heading"), "no anchor, no override"
    assert len(sections[1][2]) <= search_terms.SECTION_CHARACTERS
    assert all(len(heading) <= 200 and len(title) <= 200 for heading, title, _ in sections)


def test_chunks_follow_javascript_string_order_and_cover_every_term(monkeypatch) -> None:
    monkeypatch.setattr(search, "CHUNK_CHARACTERS", 40)
    index = SearchIndex()
    terms = ["zeta", "alpha", "\U0001d400bold", "\uff41wide", "beta", "gamma", "delta", "epsilon"]
    index.add("one", PageTerms({term: number + 1 for number, term in enumerate(terms)}, len(terms)))
    index.add("two", PageTerms({"alpha": 3}, 1))
    files = index.render_files()
    meta = json.loads(files[f"{SEARCH_FOLDER}/{INDEX_FILE}"])
    firsts = [first for first, _ in meta["chunks"]]
    utf16 = sorted(terms, key=lambda term: term.encode("utf-16-be"))
    assert len(firsts) > 2 and firsts == sorted(firsts, key=lambda term: term.encode("utf-16-be"))
    assert utf16.index("\U0001d400bold") < utf16.index("\uff41wide"), "an astral letter sorts before U+FF41 in UTF-16"
    merged: dict[str, list[int]] = {}
    for first, name in meta["chunks"]:
        chunk = json.loads(files[f"{SEARCH_FOLDER}/{name}"])
        assert min(chunk, key=lambda term: term.encode("utf-16-be")) == first
        merged.update({term: whole_pages(numbers) for term, numbers in chunk.items()})
    assert merged["alpha"] == [0, 2, 1, 3] and sorted(merged) == sorted(terms)
    assert index.render_files() == files, "the same pages give the same files"


def test_pages_are_written_as_gaps_and_read_back_whole() -> None:
    index = SearchIndex()
    for number in range(12):
        index.add(f"p{number}", PageTerms({"every": 1, **({"some": 8 + number} if number in (2, 7, 11) else {})}, 1))
    files = index.render_files()
    meta = json.loads(files[f"{SEARCH_FOLDER}/{INDEX_FILE}"])
    written = {term: numbers for _, name in meta["chunks"] for term, numbers in json.loads(files[f"{SEARCH_FOLDER}/{name}"]).items()}
    assert written["some"] == [2, 10, 5, 15, 4, 19], "pages 2, 7 and 11 as 2, +5, +4"
    kept = SearchIndex.from_plain(index.to_plain(), lambda name: files.get(f"{SEARCH_FOLDER}/{name}"))
    kept.replace(7, PageTerms({"every": 1, "some": 15}, 1), PageTerms({"every": 1}, 1))
    changed, _ = kept.render_changes()
    rewritten = {term: numbers for path, text in changed.items() if not path.endswith(INDEX_FILE) and text.startswith("{")
                 for term, numbers in json.loads(text).items()}
    assert whole_pages(rewritten["some"]) == [2, 10, 11, 19]


@pytest.fixture(scope="module")
def small_chunked_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalog and an accented agent, with chunks so small that a query must pick among many."""
    root = tmp_path_factory.mktemp("chunked")
    shutil.copytree(DEMO_AGENTS, root / "agents")
    (root / "agents/café-critic.md").write_text(
        "---\nname: café-critic\ndescription: Reviews menus.\n---\n\n## Rôle\n\nJudges crème brûlée and 𝐁𝐨𝐥𝐝 plating.\n",
        encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "CHUNK_CHARACTERS", 1_000)
        build_catalog(root / "agents", root / "site")
    return root / "site"


def test_an_index_changed_again_and_again_writes_what_a_fresh_one_writes(monkeypatch) -> None:
    """serve keeps one index and replaces pages' words save after save; its files stay those of an
    index made afresh from the same pages, new terms, vanished terms and astral letters included."""
    monkeypatch.setattr(search, "CHUNK_CHARACTERS", 60)
    pages = {f"p{n}": PageTerms({f"word{n}": 3, "shared": n + 1, "zeta": 1}, 3) for n in range(6)}
    kept = SearchIndex()
    for slug, terms in pages.items():
        kept.add(slug, terms)
    kept.render_files()
    edits = [("p2", {"brandnew": 2, "shared": 9}), ("p4", {"\U0001f600smile": 1, "\uff41wide": 2}),
             ("p2", {"word2": 1}), ("p0", {}), ("p5", {"aaa": 1, "zeta": 4})]
    for slug, weights in edits:
        page = list(pages).index(slug)
        new = PageTerms(weights, len(weights))
        kept.replace(page, pages[slug], new)
        pages[slug] = new
        fresh = SearchIndex()
        for other, terms in pages.items():
            fresh.add(other, terms)
        assert kept.render_files() == fresh.render_files(), slug



def test_an_edit_reads_and_rewrites_only_the_chunks_that_hold_its_words(monkeypatch) -> None:
    """A chunk ends where its own last term says, so a page whose words changed touches the chunk
    of each changed word (and the next, should its end have moved), never the whole index."""
    monkeypatch.setattr(search, "CHUNK_CHARACTERS", 80)
    pages = {f"p{n:02}": PageTerms({f"word{n:02}": 3, f"other{n:02}": 1, "shared": 1}, 3) for n in range(60)}
    first = SearchIndex()
    for slug, terms in pages.items():
        first.add(slug, terms)
    texts = {path.removeprefix(f"{SEARCH_FOLDER}/"): text for path, text in first.render_files().items()}
    asked: list[str] = []
    kept = SearchIndex.from_plain(first.to_plain(), lambda name: asked.append(name) or texts.get(name))
    edited = PageTerms({"word07": 5, "other07": 1, "shared": 1}, 3)
    kept.replace(7, pages["p07"], edited)
    changed, unchanged = kept.render_changes()
    assert len(first.chunks) > 10
    assert 1 <= len(asked) <= 2 and len(changed) - 1 <= 2, "one chunk read and written (two if its end moved)"
    assert len(unchanged) >= len(first.chunks) - 2
    pages["p07"] = edited
    fresh = SearchIndex()
    for slug, terms in pages.items():
        fresh.add(slug, terms)
    assert kept.render_files() == fresh.render_files()


def test_an_index_whose_chunk_is_lost_says_so(monkeypatch) -> None:
    monkeypatch.setattr(search, "CHUNK_CHARACTERS", 40)
    first = SearchIndex()
    first.add("one", PageTerms({"alpha": 1, "beta": 2, "gamma": 3}, 3))
    first.render_files()
    kept = SearchIndex.from_plain(first.to_plain(), lambda name: None)
    with pytest.raises(search.ChunkMissing):
        kept.replace(0, PageTerms({"alpha": 1, "beta": 2, "gamma": 3}, 3), PageTerms({"alpha": 2}, 1))
        kept.render_changes()


@pytest.mark.parametrize(("query", "expected"), [
    ("goroutine", "go-concurrency-reviewer"),  # a prefix of "goroutines"
    ("goroutines", "go-concurrency-reviewer"),
    ("CREME brulee", "cafe-critic"),  # accents and case do not matter
    ("café", "cafe-critic"),
    ("bold", "cafe-critic"),  # mathematical bold letters are letters
    ("kubern deploy", "kubernetes-deployment-engineer"),  # every word a prefix
])
def test_queries_find_their_agent_through_small_chunks(browser, small_chunked_site: Path, query: str, expected: str) -> None:
    index, _ = read_index(small_chunked_site)
    assert len(index["chunks"]) > 20
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with serve_folder(small_chunked_site) as url:
        page.goto(url + "index.html")
        page.fill("#ap-search", query)
        page.wait_for_function(f"() => {SHOWN}.length > 0")
        assert page.evaluate(SHOWN)[0] == expected
    chunks = [u for u in requested if f"/{SEARCH_FOLDER}/" in u and not u.endswith(INDEX_FILE)]
    assert len(chunks) < len(index["chunks"]) / 2, "a query loads only the chunks its words may be in"
    page.close()


def test_pages_with_every_word_come_first_and_short_words_match_whole_words(browser, small_chunked_site: Path) -> None:
    page = browser.new_page()
    with serve_folder(small_chunked_site) as url:
        page.goto(url + "index.html")
        page.fill("#ap-search", "goroutines crème")  # no page has both: those with either, and it is said
        page.wait_for_function("() => document.querySelector('[data-result-count]').textContent.includes('matching the most')")
        assert sorted(page.evaluate(SHOWN)) == ["cafe-critic", "go-concurrency-reviewer"]
        page.fill("#ap-search", "goroutines channels")  # both words on one page only: it first, then the others
        page.wait_for_function("() => document.querySelector('[data-result-count]').textContent.includes('1 matches every')")
        assert page.evaluate(SHOWN)[0] == "go-concurrency-reviewer"
        page.fill("#ap-search", "go")
        page.wait_for_function(f"() => {SHOWN}.length > 0")
        assert "go-concurrency-reviewer" in page.evaluate(SHOWN)
        assert "cafe-critic" not in page.evaluate(SHOWN)
    page.close()


def test_a_missing_chunk_falls_back_to_the_cards_text(browser, tmp_path: Path) -> None:
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    build_catalog(tmp_path / "agents", tmp_path / "site")
    for chunk in (tmp_path / "site" / SEARCH_FOLDER).glob("*.json"):
        if chunk.name != INDEX_FILE:
            chunk.unlink()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with serve_folder(tmp_path / "site") as url:
        page.goto(url + "index.html")
        page.fill("#ap-search", "goroutines")
        page.wait_for_function(f"() => {SHOWN}.length === 1")
    assert page.evaluate(SHOWN) == ["go-concurrency-reviewer"] and not errors
    page.close()


def test_a_cached_index_of_an_older_build_is_fetched_again(browser, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(search, "CHUNK_CHARACTERS", 2_000)  # "goroutines" and "quokka" in other chunks
    shutil.copytree(DEMO_AGENTS, tmp_path / "agents")
    build_catalog(tmp_path / "agents", tmp_path / "site")
    page = browser.new_page()
    with serve_folder(tmp_path / "site", max_age=600) as url:  # as GitHub Pages lets browsers cache
        page.goto(url + "index.html")
        page.fill("#ap-search", "goroutines")  # the browser now keeps index.json
        page.wait_for_function(f"() => {SHOWN}.length === 1")
        kubernetes = next((tmp_path / "agents").rglob("kubernetes-deployment-engineer.md"))
        kubernetes.write_text(kubernetes.read_text() + "\nQuokka-safe rollouts.\n")
        build_catalog(tmp_path / "agents", tmp_path / "site")  # the chunk the kept index names is gone
        page.goto(url + "index.html?q=quokka")
        page.wait_for_function(f"() => {SHOWN}.join() === 'kubernetes-deployment-engineer'")
    page.close()


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_commands_and_skills_are_searched_by_their_text_and_kept_as_a_cold_build_makes_them(browser, tmp_path: Path) -> None:
    agents = write_agents(tmp_path, {
        "helper.md": "---\nname: helper\ndescription: Helps.\n---\n\n## Role\n\nPods.\n",
        "commands/release.md": "---\ndescription: Cut a release.\n---\n\n## Steps\n\nTag the **quokkaversion** and push.\n",
        "skills/pdf-tools/SKILL.md": "---\nname: pdf-tools\ndescription: Work with PDF files.\n---\n\n# Usage\n\nSplit wombatpages apart.\n",
    })
    build_catalog(agents, tmp_path / "site")
    index, postings = read_index(tmp_path / "site")
    assert {"command:release", "skill:pdf-tools"} <= set(index["pages"])
    assert index["pages"][postings["quokkavers"][0]] == "command:release", "a command's body is indexed"
    fragment = json.loads((tmp_path / "site" / search.page_fragment_path("skill:pdf-tools")).read_text(encoding="utf-8"))
    assert fragment == [["", "Usage", "Split wombatpages apart."]]
    page = browser.new_page()
    with serve_folder(tmp_path / "site") as url:
        page.goto(url + "index.html?q=wombatpages")
        page.wait_for_function("() => document.querySelector('[data-results] .card-match mark') !== null")
        assert page.evaluate(SHOWN) == ["skill:pdf-tools"]
        assert page.evaluate("document.querySelector('[data-results] .kind-label').textContent") == "skill"
        assert page.evaluate("document.querySelector('[data-results] .card-match mark').textContent") == "wombatpages"
    page.close()
    skill = agents / "skills/pdf-tools/SKILL.md"
    skill.write_text(skill.read_text().replace("wombatpages", "numbatpages"))
    build_catalog(agents, tmp_path / "site")
    shutil.copytree(agents, tmp_path / "cold" / "agents")
    build_catalog(tmp_path / "cold" / "agents", tmp_path / "cold" / "site")
    assert _files(tmp_path / "site") == _files(tmp_path / "cold" / "site")
    _, postings = read_index(tmp_path / "site")
    assert "numbatpag" in postings and "wombatpag" not in postings


@pytest.fixture(scope="module")
def words_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Agents whose words test how a query's words are matched and required."""
    root = tmp_path_factory.mktemp("words")
    agent = "---\nname: {name}\ndescription: {summary}\n---\n\n## Notes\n\n{body}\n"
    files = {
        "logic-helper.md": agent.format(name="logic-helper", summary="Reasons.", body="Logic and logins."),
        "log-keeper.md": agent.format(name="log-keeper", summary="Keeps records.", body="Structured logging."),
    }
    for number in range(10):  # "alpha" on every page, "beta" on four: both common
        body = "alpha beta" if number < 4 else "alpha"
        files[f"page-{number}.md"] = agent.format(name=f"page-{number}", summary="A page.", body=body)
    agents = write_agents(root, files)
    build_catalog(agents, root / "site")
    return root / "site"


def test_a_whole_word_matches_longer_words_only_as_typed(browser, words_site: Path) -> None:
    page = browser.new_page()
    with serve_folder(words_site) as url:
        page.goto(url + "index.html?q=logging")  # stemmed to "log", yet never "logic" or "logins"
        page.wait_for_function(f"() => {SHOWN}.length > 0")
        assert page.evaluate(SHOWN) == ["log-keeper"]
        page.goto(url + "index.html?q=logi")  # a word being typed finds the words it starts
        page.wait_for_function(f"() => {SHOWN}.length > 0")
        assert page.evaluate(SHOWN) == ["logic-helper"]
    page.close()


def test_two_common_words_are_both_required_while_enough_pages_have_both(browser, words_site: Path) -> None:
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with serve_folder(words_site) as url:
        page.goto(url + "index.html?q=alpha+beta")
        page.wait_for_function("() => document.querySelector('[data-results] .card-match') !== null")
        assert sorted(page.evaluate(SHOWN)) == [f"page-{number}" for number in range(4)]
        note = page.evaluate("document.querySelector('[data-result-count]').textContent")
        assert "not required" not in note and "matching the most" not in note
    build = json.loads((words_site / SEARCH_FOLDER / INDEX_FILE).read_text())["build"]
    fragments = [address for address in requested if "/search/pages/" in address]
    assert fragments and all(address.endswith(f"?v={build}") for address in fragments), "fragments are asked for by build"
    page.close()
